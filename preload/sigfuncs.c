/* The older ways to set a handler: signal(), bsd_signal(), sysv_signal().
 * glibc implements them with its internal sigaction, which the exported
 * one (sigchain.c) never sees, so C code calling signal(GOPROF_SIGNAL, h)
 * would take the signal from us (and h would get every sample). For our
 * signal they are rebuilt here on the interposed sigaction, with glibc's
 * semantics; every other signal goes to the real function. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "sigchain.h"

typedef sighandler_t (*signal_fn)(int, sighandler_t);

static sighandler_t via_sigaction(int sig, sighandler_t h, int flags)
{
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = h;
    act.sa_flags = flags;
    sigemptyset(&act.sa_mask);
    if (!(flags & SA_NODEFER))
        sigaddset(&act.sa_mask, sig);
    if (sigaction(sig, &act, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

enum { F_SIGNAL, F_BSD_SIGNAL, F_SYSV_SIGNAL, F___SYSV_SIGNAL, NFUNCS };
static const char *const names[NFUNCS] = {"signal", "bsd_signal", "sysv_signal",
                                          "__sysv_signal"};
static signal_fn real[NFUNCS];

/* signal() is async-signal-safe and SysV-style handlers call it to re-arm
 * themselves; dlsym is not (it takes the loader's lock). So the real
 * functions are looked up once, when the library loads, in every process
 * (the library interposes these even where it stays inert). */
__attribute__((constructor)) static void resolve(void)
{
    for (int i = 0; i < NFUNCS; i++)
        real[i] = (signal_fn)dlsym(RTLD_NEXT, names[i]);
}

static sighandler_t call_real(int which, int sig, sighandler_t h)
{
    signal_fn f = real[which];
    if (!f)
        f = (signal_fn)dlsym(RTLD_NEXT, names[which]); /* before our constructor */
    if (!f) {
        errno = ENOSYS;
        return SIG_ERR;
    }
    return f(sig, h);
}

/* BSD semantics: the handler stays, interrupted calls restart. */
__attribute__((visibility("default"))) sighandler_t signal(int sig, sighandler_t h)
{
    if (sigchain_owns(sig))
        return via_sigaction(sig, h, SA_RESTART);
    return call_real(F_SIGNAL, sig, h);
}

__attribute__((visibility("default"))) sighandler_t bsd_signal(int sig, sighandler_t h)
{
    if (sigchain_owns(sig))
        return via_sigaction(sig, h, SA_RESTART);
    return call_real(F_BSD_SIGNAL, sig, h);
}

/* System V semantics: one delivery, then back to the default. */
__attribute__((visibility("default"))) sighandler_t sysv_signal(int sig, sighandler_t h)
{
    if (sigchain_owns(sig))
        return via_sigaction(sig, h, SA_RESETHAND | SA_NODEFER);
    return call_real(F_SYSV_SIGNAL, sig, h);
}

__attribute__((visibility("default"))) sighandler_t __sysv_signal(int sig, sighandler_t h)
{
    if (sigchain_owns(sig))
        return via_sigaction(sig, h, SA_RESETHAND | SA_NODEFER);
    return call_real(F___SYSV_SIGNAL, sig, h);
}
