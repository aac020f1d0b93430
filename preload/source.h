/* Sampling sources: what makes a thread receive our signal every 1/hz of
 * the CPU time it uses. Two engines behind one small interface:
 *  - timer: a POSIX timer on the thread's CPU-time clock (SIGEV_THREAD_ID).
 *    It fires on the scheduler tick, so at rates above CONFIG_HZ one signal
 *    stands for 1 + si_overrun expirations, and the sample is weighted so.
 *  - perf:  a perf_event_open software cpu-clock event per thread, driven
 *    by an hrtimer, delivering our signal to its thread (F_SETOWN_EX +
 *    F_SETSIG): one signal per period, at any rate. */
#ifndef GOPROF_SOURCE_H
#define GOPROF_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sample_format.h"

#define SOURCE_COOKIE ((void *)0x676f70726f66ull) /* "goprof", in si_value */

struct source_arm {
    int kind; /* SF_SOURCE_TIMER / SF_SOURCE_PERF, 0 when unarmed */
    int timer_id;
    int fd;
};

struct source_cfg {
    int kind;
    unsigned hz;
    int signo;
    bool exclude_kernel; /* perf only: set when perf_event_paranoid demands it */
};

/* Tries a perf event on this thread. Returns 0 and fills *exclude_kernel,
 * or -1 with the reason in why. */
int source_perf_probe(unsigned hz, bool *exclude_kernel, char *why, size_t whylen);
/* Arms sampling of thread tid (any thread of this process). */
int source_arm(const struct source_cfg *c, pid_t tid, struct source_arm *out, char *why,
               size_t whylen);
void source_disarm(struct source_arm *a);

/* Async-signal-safe: is this delivery one of our samples? */
bool source_is_ours(const siginfo_t *si);

/* The engines, used by source.c. */
int source_timer_arm(const struct source_cfg *c, pid_t tid, struct source_arm *out, char *why,
                     size_t whylen);
void source_timer_disarm(struct source_arm *a);
int source_perf_arm(const struct source_cfg *c, pid_t tid, struct source_arm *out, char *why,
                    size_t whylen);
void source_perf_disarm(struct source_arm *a);
bool source_perf_owns_fd(int fd);
/* Async-signal-safe, on the thread the event samples: how many periods
 * this delivery of event fd stands for (0: none, a leftover of its
 * shortened first period). */
uint64_t source_perf_weight(int fd, pid_t tid);
/* In a forked child: closes the inherited perf fds. Async-signal-safe. */
void source_perf_forget_all(void);
/* Async-signal-safe, on the sampled thread (tid): how many periods this
 * delivery stands for; 0 when it is not a sample to record. */
static inline uint64_t source_weight(const siginfo_t *si, pid_t tid)
{
    if (si->si_code == SI_TIMER && si->si_overrun > 0)
        return 1 + (uint64_t)(si->si_overrun < 1000000 ? si->si_overrun : 1000000);
    if (si->si_code == POLL_IN)
        return source_perf_weight(si->si_fd, tid);
    return 1;
}

#endif
