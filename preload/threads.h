/* Per-thread arming: every thread of the process gets its own sampling
 * source. New threads are caught by interposing pthread_create (the Go
 * runtime creates all its threads with it in cgo binaries); threads that
 * already exist are found in /proc/self/task. */
#ifndef GOPROF_THREADS_H
#define GOPROF_THREADS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "source.h"

struct thread_local {
    pid_t tid;
    uint64_t stack_lo, stack_hi; /* this thread's own stack, if known */
    struct source_arm arm;
};

extern __thread struct thread_local goprof_thread __attribute__((tls_model("initial-exec")));

/* Sets up thread tracking and arms the calling thread and every other
 * thread that exists. */
int threads_start(const struct source_cfg *cfg);
/* Starts a detached thread of the library's own, which is not sampled.
 * Returns 0 or an errno value. */
int threads_create_unsampled(pthread_t *t, void *(*fn)(void *), void *arg);
/* Async-signal-safe: the calling thread's id. */
pid_t threads_self_tid(void);

#endif
