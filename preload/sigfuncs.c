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

static sighandler_t call_real(const char *name, int sig, sighandler_t h)
{
    signal_fn f = (signal_fn)dlsym(RTLD_NEXT, name);
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
    return call_real("signal", sig, h);
}

__attribute__((visibility("default"))) sighandler_t bsd_signal(int sig, sighandler_t h)
{
    if (sigchain_owns(sig))
        return via_sigaction(sig, h, SA_RESTART);
    return call_real("bsd_signal", sig, h);
}

/* System V semantics: one delivery, then back to the default. */
__attribute__((visibility("default"))) sighandler_t sysv_signal(int sig, sighandler_t h)
{
    if (sigchain_owns(sig))
        return via_sigaction(sig, h, SA_RESETHAND | SA_NODEFER);
    return call_real("sysv_signal", sig, h);
}

__attribute__((visibility("default"))) sighandler_t __sysv_signal(int sig, sighandler_t h)
{
    if (sigchain_owns(sig))
        return via_sigaction(sig, h, SA_RESETHAND | SA_NODEFER);
    return call_real("__sysv_signal", sig, h);
}
