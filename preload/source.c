/* Dispatch between the sampling engines; see source.h. */
#include "source.h"

int source_arm(const struct source_cfg *c, pid_t tid, struct source_arm *out, char *why,
               size_t whylen)
{
    if (c->kind == SF_SOURCE_PERF)
        return source_perf_arm(c, tid, out, why, whylen);
    return source_timer_arm(c, tid, out, why, whylen);
}

void source_disarm(struct source_arm *a)
{
    if (a->kind == SF_SOURCE_TIMER)
        source_timer_disarm(a);
    else if (a->kind == SF_SOURCE_PERF)
        source_perf_disarm(a);
    a->kind = 0;
}

bool source_is_ours(const siginfo_t *si)
{
    if (si->si_code == SI_TIMER)
        return si->si_value.sival_ptr == SOURCE_COOKIE;
    if (si->si_code == POLL_IN)
        return source_perf_owns_fd(si->si_fd);
    return false;
}
