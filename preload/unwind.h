/* Frame-pointer unwinding of an interrupted Go stack, with frames made
 * right by the pclntab.
 *
 * A plain frame-pointer walk loses a frame whenever the interrupted
 * function has not (or no longer) set up its frame: a frameless leaf, a
 * prologue, an epilogue. RBP then still holds the caller's frame pointer,
 * and the walk goes straight to the caller's caller. The function's pcsp
 * table gives the SP delta at the interrupted PC, hence the slot that holds
 * the return address, hence the true caller. The same happens in the middle
 * of a stack above a function the runtime entered by an injected call
 * (runtime.asyncPreempt for preemption, runtime.sigpanic for faults): the
 * frame below it was interrupted, not calling, and gets the same fix.
 *
 * Pure and async-signal-safe: every stack read is checked against the
 * [lo, hi) bounds the caller proves are mapped (the goroutine's or the
 * thread's stack), so a corrupt chain ends the walk instead of faulting. */
#ifndef GOPROF_UNWIND_H
#define GOPROF_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "pclntab.h"

struct code_range {
    uint64_t lo, hi;
};

#define UNWIND_MAX_INJECTED 4

struct unwind_env {
    const struct pcln *tab; /* Go functions, for the SP delta */
    uint64_t text_lo, text_hi;
    const struct code_range *ranges; /* other code (libc, vdso, ...) */
    int nranges;
    /* functions entered by an injected call (asyncPreempt, sigpanic) */
    struct code_range injected[UNWIND_MAX_INJECTED];
    int ninjected;
};

struct unwind_regs {
    uint64_t pc, sp, bp;
};

/* Fills env->injected from the table. */
void unwind_find_injected(struct unwind_env *env);

/* Writes up to max PCs (the interrupted PC first, then return addresses)
 * and returns how many. *truncated is set when the limit cut a stack that
 * went on. lo/hi == 0 means no bounds are known: only the PC is recorded. */
int unwind_fp(const struct unwind_env *env, const struct unwind_regs *r, uint64_t lo,
              uint64_t hi, uint64_t *pcs, int max, bool *truncated);

#endif
