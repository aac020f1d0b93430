#define _GNU_SOURCE
#include "threads.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "goinfo.h"
#include "log.h"
#include "ring.h"
#include "sigchain.h"

extern struct ring *goprof_ring;

__thread struct thread_local goprof_thread __attribute__((tls_model("initial-exec")));

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                                 void *);
static pthread_create_fn real_pthread_create;
static struct source_cfg source_cfg;
static pthread_key_t exit_key;
static _Atomic bool active;
static _Atomic int arm_errors_reported;

pid_t threads_self_tid(void)
{
    if (!goprof_thread.tid)
        goprof_thread.tid = (pid_t)syscall(SYS_gettid);
    return goprof_thread.tid;
}

static void count_arm_error(pid_t tid, const char *why)
{
    if (goprof_ring)
        atomic_fetch_add(&goprof_ring->counters.timer_errors, 1);
    if (atomic_fetch_add(&arm_errors_reported, 1) == 0)
        goprof_log("cannot sample thread %d: %s (its CPU time is not profiled; "
                   "the count is in the file)", (int)tid, why);
}

static void arm_self(void)
{
    struct thread_local *t = &goprof_thread;
    t->tid = (pid_t)syscall(SYS_gettid);
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            t->stack_lo = (uint64_t)(uintptr_t)addr;
            t->stack_hi = t->stack_lo + size;
        }
        pthread_attr_destroy(&attr);
    }
    char why[160];
    if (source_arm(&source_cfg, t->tid, &t->arm, why, sizeof why) != 0) {
        count_arm_error(t->tid, why);
        return;
    }
    if (goprof_ring)
        atomic_fetch_add(&goprof_ring->counters.threads, 1);
    /* A key with a destructor is the one hook that runs however the thread
     * ends (return or pthread_exit). */
    pthread_setspecific(exit_key, (void *)1);
}

static void thread_exit(void *unused)
{
    (void)unused;
    if (goprof_thread.arm.kind)
        source_disarm(&goprof_thread.arm);
}

struct start {
    void *(*fn)(void *);
    void *arg;
};

static void *trampoline(void *p)
{
    struct start s = *(struct start *)p;
    free(p);
    if (atomic_load(&active))
        arm_self();
    return s.fn(s.arg);
}

__attribute__((visibility("default"))) int pthread_create(pthread_t *t,
                                                          const pthread_attr_t *attr,
                                                          void *(*fn)(void *), void *arg)
{
    if (!real_pthread_create)
        real_pthread_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    if (!real_pthread_create)
        return EAGAIN;
    if (!atomic_load(&active))
        return real_pthread_create(t, attr, fn, arg);
    /* The runtime calls pthread_create on g0 (asmcgocall), after initsig:
     * the moment to find g's TLS slot and to check nobody went around our
     * sigaction. */
    goinfo_calibrate_g();
    sigchain_verify();
    struct start *s = malloc(sizeof *s);
    if (!s)
        return real_pthread_create(t, attr, fn, arg);
    s->fn = fn;
    s->arg = arg;
    int rc = real_pthread_create(t, attr, trampoline, s);
    if (rc != 0)
        free(s);
    return rc;
}

int threads_create_unsampled(pthread_t *t, void *(*fn)(void *), void *arg)
{
    if (!real_pthread_create)
        real_pthread_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    if (!real_pthread_create)
        return ENOSYS;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 << 10);
    int rc = real_pthread_create(t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return rc;
}

/* Threads that exist before we start (when the library is started late,
 * or a constructor before ours made threads). Their timers are never
 * disarmed by us; the kernel drops them with the thread. */
static void arm_others(pid_t self)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == self)
            continue;
        struct source_arm arm;
        char why[160];
        if (source_arm(&source_cfg, tid, &arm, why, sizeof why) != 0)
            count_arm_error(tid, why);
        else if (goprof_ring)
            atomic_fetch_add(&goprof_ring->counters.threads, 1);
    }
    closedir(d);
}

/* A child forked without exec (a cgo helper calling fork()) shares the
 * ring with us (MAP_SHARED): anything it sampled would land in our file,
 * under our pid. It is not profiled: no new thread is armed, the handler
 * drops whatever reaches it, and the perf fds it inherited (events of our
 * threads, not its own) are closed. POSIX timers are not inherited. Go's
 * own fork+exec does not go through fork(): it never gets here. */
static void forked_child(void)
{
    atomic_store(&active, false);
    goprof_ring = NULL;
    goprof_thread.arm.kind = 0;
    source_perf_forget_all();
}

int threads_start(const struct source_cfg *cfg)
{
    source_cfg = *cfg;
    if (!real_pthread_create)
        real_pthread_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    if (pthread_key_create(&exit_key, thread_exit) != 0 ||
        pthread_atfork(NULL, NULL, forked_child) != 0)
        return -1;
    atomic_store(&active, true);
    arm_self();
    arm_others(goprof_thread.tid);
    return 0;
}
