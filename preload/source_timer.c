/* The POSIX CPU-time timer engine; see source.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "source.h"

/* The kernel's clock id for another thread's CPU clock (CPUCLOCK_SCHED |
 * CPUCLOCK_PERTHREAD_MASK, tid in the upper bits): glibc has no wrapper
 * that takes a tid, so the raw syscalls are used throughout. */
static clockid_t thread_cpu_clock(pid_t tid)
{
    return (clockid_t)((~(unsigned)tid << 3) | 6);
}

int source_timer_arm(const struct source_cfg *c, pid_t tid, struct source_arm *out, char *why,
                     size_t whylen)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = c->signo;
    sev.sigev_value.sival_ptr = SOURCE_COOKIE;
    sev._sigev_un._tid = tid;
    int id = -1;
    if (syscall(SYS_timer_create, thread_cpu_clock(tid), &sev, &id) != 0) {
        snprintf(why, whylen, "timer_create: %s", strerror(errno));
        return -1;
    }
    long period = 1000000000L / (long)c->hz;
    /* A first expiry spread over the period keeps threads started together
     * from being sampled in lockstep. */
    long first = 1 + (long)(((unsigned)tid * 2654435761u) % (unsigned long)period);
    struct itimerspec its = {{period / 1000000000L, period % 1000000000L},
                             {first / 1000000000L, first % 1000000000L}};
    if (syscall(SYS_timer_settime, id, 0, &its, NULL) != 0) {
        snprintf(why, whylen, "timer_settime: %s", strerror(errno));
        syscall(SYS_timer_delete, id);
        return -1;
    }
    out->kind = SF_SOURCE_TIMER;
    out->timer_id = id;
    out->fd = -1;
    return 0;
}

void source_timer_disarm(struct source_arm *a)
{
    syscall(SYS_timer_delete, a->timer_id);
}
