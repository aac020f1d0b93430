/* A thread of ours that puts our handler back when the program took the
 * signal behind every libc entry point we interpose (a raw rt_sigaction
 * system call, or glibc's internal paths such as sigset()). Until it
 * does, the program's handler gets our samples and they are lost; the
 * check runs every WATCH_MS, one sigaction system call each time. The
 * thread blocks every signal, so process-directed signals never land on
 * it, and it is not sampled. */
#define _GNU_SOURCE
#include "watchdog.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "sigchain.h"
#include "threads.h"

#define WATCH_MS 50

static void *watch(void *unused)
{
    (void)unused;
    const struct timespec period = {0, WATCH_MS * 1000000L};
    for (;;) {
        nanosleep(&period, NULL);
        sigchain_verify();
    }
    return NULL;
}

int watchdog_start(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits it */
    pthread_t t;
    int rc = threads_create_unsampled(&t, watch, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        pthread_setname_np(t, "goprof-watch");
    return rc;
}
