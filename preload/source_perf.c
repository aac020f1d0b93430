/* The perf_event cpu-clock engine; see source.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "source.h"

/* Which fds are our perf events: the handler's test for a POLL_IN signal.
 * first: events still in their first, shortened period. */
#define MAX_TRACKED_FD 65536
static _Atomic uint64_t perf_fds[MAX_TRACKED_FD / 64];
static _Atomic uint64_t first[MAX_TRACKED_FD / 64];
static uint64_t full_period; /* ns */

static void set_bit(_Atomic uint64_t *set, int fd, bool on)
{
    if (fd < 0 || fd >= MAX_TRACKED_FD)
        return;
    uint64_t bit = 1ull << (fd % 64);
    if (on)
        atomic_fetch_or(&set[fd / 64], bit);
    else
        atomic_fetch_and(&set[fd / 64], ~bit);
}

static void track_fd(int fd, bool on)
{
    set_bit(first, fd, on);
    set_bit(perf_fds, fd, on);
}

bool source_perf_owns_fd(int fd)
{
    return fd >= 0 && fd < MAX_TRACKED_FD &&
           (atomic_load_explicit(&perf_fds[fd / 64], memory_order_relaxed) >> (fd % 64)) & 1;
}

static int perf_open(uint64_t period, pid_t tid, bool exclude_kernel)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.sample_period = period;
    a.wakeup_events = 1; /* a signal on every overflow */
    a.disabled = 1;
    a.exclude_kernel = exclude_kernel;
    a.exclude_hv = 1;
    return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

int source_perf_probe(unsigned hz, bool *exclude_kernel, char *why, size_t whylen)
{
    /* Kernel time is part of CPU time: count it when perf_event_paranoid
     * allows, else fall back to user time only. */
    for (int ek = 0; ek < 2; ek++) {
        int fd = perf_open(1000000000ull / hz, 0, ek);
        if (fd >= 0) {
            close(fd);
            *exclude_kernel = ek;
            return 0;
        }
        if (errno != EACCES && errno != EPERM)
            break;
    }
    snprintf(why, whylen, "perf_event_open(cpu-clock): %s", strerror(errno));
    return -1;
}

/* The first period of the event of thread tid: a point spread over
 * [1, full_period] by the tid (see source_perf_arm). */
static uint64_t first_period(pid_t tid)
{
    return 1 + ((unsigned)tid * 2654435761u) % full_period;
}

int source_perf_arm(const struct source_cfg *c, pid_t tid, struct source_arm *out, char *why,
                    size_t whylen)
{
    /* The first period is cut to a point spread over [1, period] by the
     * tid, as the timer's first expiry is: a thread's unfinished last
     * period is lost when it exits, and a random phase makes the samples
     * of threads that live a few periods count their CPU time right on
     * average (with a full first period, 1000 threads of 1.5 ms each at
     * 1 kHz got 0.6 s of samples for 1.0 s of CPU). */
    full_period = 1000000000ull / c->hz;
    uint64_t phase = first_period(tid);
    int fd = perf_open(phase, tid, c->exclude_kernel);
    if (fd < 0) {
        snprintf(why, whylen, "perf_event_open: %s", strerror(errno));
        return -1;
    }
    /* Each event is a file descriptor of the program's: never take more
     * than a quarter of what RLIMIT_NOFILE allows it. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)fd >= rl.rlim_cur / 4) {
        snprintf(why, whylen, "perf events would use more than a quarter of the "
                 "file descriptors (RLIMIT_NOFILE %llu)", (unsigned long long)rl.rlim_cur);
        close(fd);
        return -1;
    }
    struct f_owner_ex owner = {F_OWNER_TID, tid};
    if (fcntl(fd, F_SETFL, O_ASYNC) != 0 || fcntl(fd, F_SETSIG, c->signo) != 0 ||
        fcntl(fd, F_SETOWN_EX, &owner) != 0) {
        snprintf(why, whylen, "fcntl on perf event: %s", strerror(errno));
        close(fd);
        return -1;
    }
    track_fd(fd, true);
    if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0) {
        snprintf(why, whylen, "enabling perf event: %s", strerror(errno));
        track_fd(fd, false);
        close(fd);
        return -1;
    }
    out->kind = SF_SOURCE_PERF;
    out->fd = fd;
    out->timer_id = -1;
    return 0;
}

/* The first period of each thread's event is shortened (see
 * source_perf_arm), and the kernel keeps re-arming an event with its
 * current period. While the thread has our signal blocked (every thread the
 * Go runtime starts does, until minit), the short period repeats and
 * queues a real-time signal each time: a thread whose first period was
 * 20 us and that burned 50 ms with the signal blocked was sent 2,600
 * signals for 50 periods of CPU, then took 9 ms to receive them, while the
 * full period's own signals queued behind them. So a thread's deliveries
 * are weighed by the event's count until they are paced by the full
 * period again: each stands for the whole periods its count passed since
 * the last one (the first period being the short one), the backlog for
 * none. The first delivery sets the full period. In the common case that
 * costs two read()s and one ioctl per thread. */
static __thread struct {
    int fd;           /* the event being settled; -1 or stale: none */
    bool on;
    int64_t acc;      /* the count up to which periods are accounted */
    uint64_t last;    /* the count at the previous delivery */
} settling __attribute__((tls_model("initial-exec")));

uint64_t source_perf_weight(int fd, pid_t tid)
{
    if (fd < 0 || fd >= MAX_TRACKED_FD)
        return 1;
    uint64_t bit = 1ull << (fd % 64), count;
    int64_t p = (int64_t)full_period;
    if (atomic_load_explicit(&first[fd / 64], memory_order_relaxed) & bit &&
        atomic_fetch_and(&first[fd / 64], ~bit) & bit) {
        uint64_t full = full_period;
        ioctl(fd, PERF_EVENT_IOC_PERIOD, &full);
        if (read(fd, &count, sizeof count) != (ssize_t)sizeof count)
            return 1;
        settling.fd = fd;
        settling.on = true;
        settling.acc = (int64_t)first_period(tid) - p;
        settling.last = count;
        int64_t n = ((int64_t)count - settling.acc) / p;
        settling.acc += n * p;
        return n > 0 ? (uint64_t)n : 0;
    }
    if (!settling.on || settling.fd != fd)
        return 1;
    if (read(fd, &count, sizeof count) != (ssize_t)sizeof count) {
        settling.on = false;
        return 1;
    }
    int64_t n, since = (int64_t)count - settling.acc;
    if ((int64_t)(count - settling.last) >= p / 2) {
        /* paced by the period again: settled, rounding off the part of a
         * period that the timer's new phase leaves over */
        settling.on = false;
        n = (since + p / 2) / p;
    } else {
        n = since / p;
        settling.acc += n * p;
    }
    settling.last = count;
    return n > 0 ? (uint64_t)n : 0;
}

void source_perf_disarm(struct source_arm *a)
{
    ioctl(a->fd, PERF_EVENT_IOC_DISABLE, 0);
    track_fd(a->fd, false);
    close(a->fd);
}

void source_perf_forget_all(void)
{
    for (int w = 0; w < MAX_TRACKED_FD / 64; w++) {
        atomic_store(&first[w], 0);
        uint64_t bits = atomic_exchange(&perf_fds[w], 0);
        for (int b = 0; bits; b++, bits >>= 1)
            if (bits & 1)
                close(w * 64 + b);
    }
}
