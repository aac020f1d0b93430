/* Dispatch between the sampling engines; see source.h. */
#include "source.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static _Atomic int fallback_reported;

int source_arm(const struct source_cfg *c, pid_t tid, struct source_arm *out, char *why,
               size_t whylen)
{
    if (c->kind != SF_SOURCE_PERF)
        return source_timer_arm(c, tid, out, why, whylen);
    if (source_perf_arm(c, tid, out, why, whylen) == 0)
        return 0;
    /* No perf event for this thread (out of file descriptors, most
     * likely): the timer needs none, and its samples are weighted. */
    char twhy[160];
    if (source_timer_arm(c, tid, out, twhy, sizeof twhy) != 0) {
        size_t l = strlen(why);
        snprintf(why + l, whylen - l, "; %s", twhy);
        return -1;
    }
    if (atomic_fetch_add(&fallback_reported, 1) == 0)
        goprof_log("thread %d: %s; it and threads like it are sampled with the "
                   "CPU-time timer instead", (int)tid, why);
    return 0;
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
