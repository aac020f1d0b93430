/* Unwinding of an interrupted Go stack from the signal context: frame
 * pointers where they can be trusted, the pclntab's pcsp tables where they
 * cannot, and stitching across the stack switches of the runtime.
 *
 * - A frameless leaf, a prologue or an epilogue leaves RBP pointing at the
 *   caller's frame, so a plain frame-pointer walk drops the caller. The
 *   function's pcsp table gives the SP delta at the PC, hence the slot of
 *   the return address and the true caller. The same holds above a
 *   function the runtime enters by an injected call (runtime.asyncPreempt,
 *   runtime.sigpanic): the frame below it was interrupted, not calling.
 * - On the system stack (g0), runtime.systemstack and runtime.morestack
 *   continue on the goroutine that switched there, from its saved
 *   g.sched, as the runtime's own unwinder does; so does runtime.mcall,
 *   while the goroutine that called it is still m.curg (until the
 *   scheduler drops it), which the runtime's unwinder does not do.
 * - C code called through cgo runs on g0; once its frames end, the walk
 *   goes on from the goroutine's saved syscall state (the cgocall frame).
 *   A Go callback from C continues through cgocallback into the C frames
 *   on g0 and back into the Go frames that made the cgo call.
 * - A PC in the vDSO continues from m.vdsoPC/vdsoSP.
 *
 * Pure and async-signal-safe: every stack read is checked against the
 * bounds of the stack it belongs to, which the caller proves are mapped;
 * a corrupt chain ends the walk instead of faulting. */
#ifndef GOPROF_UNWIND_H
#define GOPROF_UNWIND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pclntab.h"

struct code_range {
    uint64_t lo, hi;
};

#define UNWIND_MAX_INJECTED 4

struct unwind_env {
    const struct pcln *tab; /* Go functions, for SP deltas */
    uint64_t text_lo, text_hi;
    const struct code_range *ranges; /* other code (libc, vdso, ...) */
    int nranges;
    /* functions entered by an injected call (asyncPreempt, sigpanic) */
    struct code_range injected[UNWIND_MAX_INJECTED];
    int ninjected;
    /* the runtime's stack-switching functions; empty ranges when absent */
    struct code_range systemstack, morestack, mcall, asmcgocall, cgocallback, crosscall2;
    struct code_range vdso;
    bool fp_only; /* GOPROF_UNWIND=fp: the plain chain, no pcsp fix */
    /* One bit per 4 KiB page of Go text that holds one of the functions
     * above: the fast path leaves ordinary frames to a tight loop and
     * everything on these pages to the careful one. Built by the find
     * functions; NULL means every page is treated as special. */
    uint64_t *special_pages;
    /* PC -> SP delta, remembered across samples (see sp_delta). NULL: no
     * cache. Allocated by the find functions. */
    _Atomic uint64_t *delta_cache;
};

struct unwind_regs {
    uint64_t pc, sp, bp;
};

struct go_offsets;

/* What the sampler knows about the thread's goroutines: the stack the
 * sample was taken on, and the runtime objects from which the walk reads,
 * only when a stack switch needs them, the goroutine's saved state
 * (curg.sched, curg.syscall*), g0's and the vDSO call's (m.vdso*). All
 * zero means "no goroutine context": a plain walk of [lo, hi). */
struct unwind_gctx {
    uint64_t lo, hi;
    bool on_g0;   /* the stack is g0's and a goroutine is current */
    const struct go_offsets *off;
    uint64_t m, curg, g0; /* 0 when unknown */
};

/* C frames the walk leaves to the collector (libunwind, from a copy of the
 * stack) instead of following them by frame pointers. */
struct unwind_hole {
    bool set;
    int at;              /* index in pcs where the C frames belong */
    uint64_t ip, sp, bp; /* registers at the innermost of them */
    uint64_t hi;         /* end of the stack they are on */
};

/* Fills env->injected from the table. */
void unwind_find_injected(struct unwind_env *env);
/* Fills every special range (injected ones included). */
void unwind_find_specials(struct unwind_env *env);

/* Writes up to max PCs (the interrupted PC first, then return addresses)
 * and returns how many. *truncated is set when the limit cut a stack that
 * went on. With hole non-NULL, C frames are not walked: where they would
 * be, *hole says where to put them and how to unwind them. */
int unwind_go(const struct unwind_env *env, const struct unwind_regs *r,
              const struct unwind_gctx *g, struct unwind_hole *hole, uint64_t *pcs, int max,
              bool *truncated);

/* unwind_go without goroutine context, over the stack [lo, hi). lo/hi == 0
 * means no bounds are known: only the PC is recorded. */
int unwind_fp(const struct unwind_env *env, const struct unwind_regs *r, uint64_t lo,
              uint64_t hi, uint64_t *pcs, int max, bool *truncated);

#endif
