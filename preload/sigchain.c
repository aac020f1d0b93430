#define _GNU_SOURCE
#include "sigchain.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring.h"

extern struct ring *goprof_ring; /* for the forwarded-signal counter */

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction;

static int our_signo; /* 0 until installed */
static bool (*is_ours_fn)(const siginfo_t *);
static sample_fn on_sample_fn;

/* The program's action for our signal. Written by sigaction calls (rare),
 * read by the handler at any time: writers fill a fresh slot and then
 * publish its index, so a handler never sees a half-written action. */
#define PROG_SLOTS 8
static struct sigaction prog_act[PROG_SLOTS];
static _Atomic unsigned prog_idx;
static _Atomic unsigned prog_next = 1;

static sigaction_fn get_real(void)
{
    if (!real_sigaction)
        real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    return real_sigaction;
}

/* sigaction is async-signal-safe and dlsym is not: look the real one up
 * when the library loads, in every process (it is interposed even where
 * the library stays inert), not at the first call, which may come from a
 * signal handler. */
__attribute__((constructor)) static void resolve_sigaction(void)
{
    get_real();
}

int sigchain_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    sigaction_fn f = get_real();
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    return f(sig, act, old);
}

static void set_prog_action(const struct sigaction *act);

/* What the kernel would do with a signal whose action is SIG_DFL: for a
 * real-time signal, end the process. */
static void default_action(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigchain_real_sigaction(sig, &dfl, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
}

/* Hands a delivery that is not our sample to the program's action, as the
 * kernel would have. SIG_IGN and SIG_DFL are values of the handler whatever
 * the flags say (Go's signal.Ignore sets SIG_IGN with SA_SIGINFO). */
static void forward(int sig, siginfo_t *si, void *uc)
{
    struct sigaction a =
        prog_act[atomic_load_explicit(&prog_idx, memory_order_acquire) % PROG_SLOTS];
    if (a.sa_handler == SIG_IGN)
        return;
    if (a.sa_handler == SIG_DFL) {
        default_action(sig);
        return;
    }
    if (a.sa_flags & SA_RESETHAND) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        set_prog_action(&dfl);
    }
    if (a.sa_flags & SA_SIGINFO)
        a.sa_sigaction(sig, si, uc);
    else
        a.sa_handler(sig);
}

static void handler_main(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    if (is_ours_fn(si)) {
        on_sample_fn(si, uc);
    } else {
        if (goprof_ring)
            atomic_fetch_add_explicit(&goprof_ring->counters.forwarded, 1,
                                      memory_order_relaxed);
        forward(sig, si, uc);
    }
    errno = saved_errno;
}

static void set_prog_action(const struct sigaction *act)
{
    unsigned slot = atomic_fetch_add(&prog_next, 1) % PROG_SLOTS;
    prog_act[slot] = *act;
    atomic_store_explicit(&prog_idx, slot, memory_order_release);
}

/* SA_ONSTACK: goroutine stacks are small and Go gives every thread a
 * signal stack. All signals but the synchronous ones are blocked while the
 * handler runs; a fault must still be reported as itself. */
static void our_action(struct sigaction *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sa_sigaction = handler_main;
    sa->sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&sa->sa_mask);
    sigdelset(&sa->sa_mask, SIGSEGV);
    sigdelset(&sa->sa_mask, SIGBUS);
    sigdelset(&sa->sa_mask, SIGFPE);
    sigdelset(&sa->sa_mask, SIGILL);
    sigdelset(&sa->sa_mask, SIGTRAP);
}

int sigchain_install(int signo, bool (*is_ours)(const siginfo_t *), sample_fn on_sample)
{
    struct sigaction sa, old;
    our_action(&sa);
    is_ours_fn = is_ours;
    on_sample_fn = on_sample;
    if (sigchain_real_sigaction(signo, &sa, &old) != 0)
        return -1;
    set_prog_action(&old);
    our_signo = signo;
    return 0;
}

void sigchain_verify(void)
{
    struct sigaction cur;
    if (!our_signo || sigchain_real_sigaction(our_signo, NULL, &cur) != 0)
        return;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == handler_main)
        return;
    /* Someone set the kernel's action behind sigaction's back: adopt their
     * action as the program's and put ours back in front. */
    set_prog_action(&cur);
    struct sigaction sa;
    our_action(&sa);
    sigchain_real_sigaction(our_signo, &sa, NULL);
}

bool sigchain_owns(int sig)
{
    return our_signo && sig == our_signo;
}

/* The interposed libc entry point. */
__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction *act,
                                                     struct sigaction *old)
{
    if (!our_signo || sig != our_signo)
        return sigchain_real_sigaction(sig, act, old);
    if (old)
        *old = prog_act[atomic_load_explicit(&prog_idx, memory_order_acquire) % PROG_SLOTS];
    if (act)
        set_prog_action(act);
    return 0;
}
