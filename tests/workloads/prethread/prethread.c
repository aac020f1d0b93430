/* A shared library whose constructor starts a CPU-burning thread, for the
 * test that a thread which exists before goprof starts is sampled
 * (arm_others in preload/threads.c).
 *
 * The dynamic loader runs the constructors of preloaded libraries in the
 * reverse of their LD_PRELOAD order (after their dependencies), so with
 *     LD_PRELOAD="libgoprof.so prethread.so"
 * this constructor runs, and the thread exists, before goprof's. The
 * constructor checks that: goprof installs its handler for its signal
 * (GOPROF_SIGNAL, 42 by default) in its own constructor, so the kernel's
 * action for that signal is still SIG_DFL when goprof has not started.
 *
 * The thread sleeps 50 ms (goprof arms it meanwhile), burns PRETHREAD_CPU
 * seconds of its own CPU time, prints
 *     prethread TID cpu SECONDS goprof_first 0|1
 * on stdout and creates the file PRETHREAD_DONE (the torture workload's
 * -until file, which ends the program). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int goprof_first = -1;

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *burn(void *unused)
{
    (void)unused;
    const char *s = getenv("PRETHREAD_CPU");
    double want = s ? atof(s) : 0.3;
    struct timespec nap = {0, 50 * 1000 * 1000};
    nanosleep(&nap, NULL);
    volatile uint64_t x = 1;
    while (thread_cpu() < want)
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
    dprintf(1, "prethread %ld cpu %.6f goprof_first %d\n", (long)syscall(SYS_gettid),
            thread_cpu(), goprof_first);
    const char *done = getenv("PRETHREAD_DONE");
    if (done)
        close(open(done, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    return NULL;
}

/* The kernel's action, not what an interposed sigaction would say. */
static int handler_installed(int sig)
{
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } k;
    memset(&k, 0, sizeof k);
    if (syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof k.mask) != 0)
        return -1;
    return k.handler != (void *)SIG_DFL;
}

__attribute__((constructor)) static void start(void)
{
    const char *s = getenv("GOPROF_SIGNAL");
    goprof_first = handler_installed(s ? atoi(s) : 42);
    pthread_t t;
    if (pthread_create(&t, NULL, burn, NULL) != 0)
        dprintf(2, "prethread: cannot create the thread\n");
    else
        pthread_detach(t);
}
