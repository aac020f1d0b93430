/* Keeps our handler first on our signal while the program (the Go
 * runtime's initsig, os/signal, C code) believes it owns the signal.
 *
 * In cgo binaries the runtime sets handlers through libc's sigaction
 * (runtime/cgo x_cgo_sigaction), so this library exports sigaction: calls
 * for our signal are recorded as the "program's action" and never reach
 * the kernel; every other call goes straight through. The handler passes
 * anything that is not our sample on to the program's action. */
#ifndef GOPROF_SIGCHAIN_H
#define GOPROF_SIGCHAIN_H

#include <signal.h>
#include <stdbool.h>

typedef void (*sample_fn)(siginfo_t *si, void *uc);

/* Installs handler_main on signo (SA_ONSTACK, all signals blocked while it
 * runs). is_ours decides per signal; samples go to on_sample. */
int sigchain_install(int signo, bool (*is_ours)(const siginfo_t *), sample_fn on_sample);
/* The real libc sigaction, for the library's own use. */
int sigchain_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
/* True when sig is the signal we hold (sigaction calls for it are kept
 * from the kernel). */
bool sigchain_owns(int sig);
/* Checks that our handler is still the kernel's, re-installing it if the
 * program went around sigaction (a raw syscall). Not async-signal-safe. */
void sigchain_verify(void);

#endif
