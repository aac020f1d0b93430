#include "unwind.h"

#include <stdlib.h>

#include "gooffsets.h"

static bool in_range(const struct code_range *r, uint64_t pc)
{
    return pc >= r->lo && pc < r->hi;
}

static bool in_ranges(const struct code_range *r, int n, uint64_t pc)
{
    for (int i = 0; i < n; i++)
        if (in_range(&r[i], pc))
            return true;
    return false;
}

static bool in_text(const struct unwind_env *env, uint64_t pc)
{
    return pc >= env->text_lo && pc < env->text_hi;
}

static const struct code_range *code_range_of(const struct unwind_env *env, uint64_t pc)
{
    for (int i = 0; i < env->nranges; i++)
        if (in_range(&env->ranges[i], pc))
            return &env->ranges[i];
    return NULL;
}

static inline uint64_t load(uint64_t addr)
{
    return *(const volatile uint64_t *)(uintptr_t)addr;
}

static inline uint8_t load8(uint64_t addr)
{
    return *(const volatile uint8_t *)(uintptr_t)addr;
}

/* A return address into non-Go code must follow a call instruction. C
 * compiled without frame pointers leaves RBP holding anything, and this
 * rules out nearly every stale word a broken chain can point at. The code
 * bytes read lie in a mapped executable segment. */
static bool after_call(const struct unwind_env *env, uint64_t ra)
{
    const struct code_range *r = code_range_of(env, ra);
    if (!r || ra - r->lo < 7)
        return false;
    if (load8(ra - 5) == 0xe8) /* call rel32 */
        return true;
    /* call r/m64 (FF /2) with a 0-, 1- or 4-byte displacement, with or
     * without a SIB byte */
    for (int len = 2; len <= 7; len++) {
        uint8_t op = load8(ra - (uint64_t)len), modrm = load8(ra - (uint64_t)len + 1);
        if (op != 0xff || ((modrm >> 3) & 7) != 2)
            continue;
        int mod = modrm >> 6, rm = modrm & 7;
        int want = 2 + (rm == 4 && mod != 3) + (mod == 1 ? 1 : mod == 2 ? 4 : 0) +
                   (mod == 0 && rm == 5 ? 4 : 0);
        if (want == len)
            return true;
    }
    return false;
}

#define DELTA_CACHE_SLOTS 4096 /* a power of two */

/* The SP delta of a PC never changes, and samples land on the same hot
 * PCs again and again: a direct-mapped cache saves the binary search of
 * the function table (half the handler's walk at shallow depths). An
 * entry is one word, (pc << 16) | (delta + 1), written and read whole, so
 * a racing reader sees an old entry or the new one, never a torn one.
 * User-space PCs fit in 48 bits; deltas above 65534 are not cached. */
static bool sp_delta(const struct unwind_env *env, uint64_t pc, int32_t *delta)
{
    if (!in_text(env, pc))
        return false;
    _Atomic uint64_t *slot = NULL;
    if (env->delta_cache) {
        slot = &env->delta_cache[((pc >> 1) ^ (pc >> 13)) & (DELTA_CACHE_SLOTS - 1)];
        uint64_t e = atomic_load_explicit(slot, memory_order_relaxed);
        if (e >> 16 == pc && (e & 0xffff)) {
            *delta = (int32_t)(e & 0xffff) - 1;
            return true;
        }
    }
    struct pcln_func f;
    if (!pcln_find(env->tab, pc, &f) || !pcln_sp_delta(env->tab, &f, pc, delta) || *delta < 0)
        return false;
    if (slot && *delta < 0xffff && pc < (1ull << 48))
        atomic_store_explicit(slot, pc << 16 | (uint64_t)(*delta + 1), memory_order_relaxed);
    return true;
}

static void mark_pages(const struct unwind_env *env, const struct code_range *r)
{
    if (!env->special_pages || r->lo >= r->hi || r->lo < env->text_lo || r->hi > env->text_hi)
        return;
    for (uint64_t p = (r->lo - env->text_lo) >> 12; p <= (r->hi - 1 - env->text_lo) >> 12; p++)
        env->special_pages[p / 64] |= 1ull << (p % 64);
}

/* (Re)builds the page bitmap from the ranges found so far. Not for the
 * signal handler: it allocates. */
static void index_specials(struct unwind_env *env)
{
    if (!env->delta_cache)
        env->delta_cache = calloc(DELTA_CACHE_SLOTS, sizeof *env->delta_cache);
    uint64_t pages = env->text_hi > env->text_lo ? ((env->text_hi - env->text_lo) >> 12) + 1 : 0;
    free(env->special_pages);
    env->special_pages = pages ? calloc(pages / 64 + 1, 8) : NULL;
    for (int i = 0; i < env->ninjected; i++)
        mark_pages(env, &env->injected[i]);
    const struct code_range *more[] = {&env->systemstack, &env->morestack, &env->mcall,
                                       &env->asmcgocall, &env->cgocallback, &env->crosscall2};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++)
        mark_pages(env, more[i]);
}

void unwind_find_injected(struct unwind_env *env)
{
    static const char *const names[] = {"runtime.asyncPreempt", "runtime.sigpanic"};
    env->ninjected = 0;
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
        struct pcln_func f;
        if (pcln_find_name(env->tab, names[i], &f))
            env->injected[env->ninjected++] = (struct code_range){f.entry, f.end};
    }
    env->special_pages = NULL;
    env->delta_cache = NULL;
    index_specials(env);
}

static void find_range(const struct unwind_env *env, const char *name, struct code_range *r)
{
    struct pcln_func f;
    *r = pcln_find_name(env->tab, name, &f) ? (struct code_range){f.entry, f.end}
                                             : (struct code_range){0, 0};
}

void unwind_find_specials(struct unwind_env *env)
{
    unwind_find_injected(env);
    find_range(env, "runtime.systemstack", &env->systemstack);
    find_range(env, "runtime.morestack", &env->morestack);
    find_range(env, "runtime.mcall", &env->mcall);
    find_range(env, "runtime.asmcgocall", &env->asmcgocall);
    find_range(env, "runtime.cgocallback", &env->cgocallback);
    find_range(env, "crosscall2", &env->crosscall2);
    index_specials(env);
}

/* Is pc a Go PC that none of the special functions can contain? */
static inline bool ordinary(const struct unwind_env *env, uint64_t pc)
{
    uint64_t off = pc - env->text_lo;
    if (off >= env->text_hi - env->text_lo || !env->special_pages)
        return false;
    return !((env->special_pages[(off >> 12) / 64] >> ((off >> 12) % 64)) & 1);
}

/* How the caller of a frame is found.
 * CHAIN: the frame is set up; [bp] and [bp+8] name the caller.
 * INTERRUPTED: the frame may not be set up yet (or any more): its pcsp
 *   delta at pc locates the return address; bp is the register's value.
 * SPWALK: a call site whose bp is not known (a saved syscall or vDSO
 *   state, a stack switch): pcsp for every step, as the runtime's own
 *   unwinder does, until code without pcsp (C) needs the chain again. */
enum mode { CHAIN, INTERRUPTED, SPWALK };

struct frame {
    uint64_t pc, sp, bp;
    enum mode mode;
};

/* The runtime state a walk may need, read on first use. */
struct gstate {
    bool have_sched, have_sys, have_g0, have_curg_stack;
    uint64_t sched_sp, sched_pc, sched_bp;
    uint64_t sys_sp, sys_pc, sys_bp; /* sys_sp 0: curg is not in a cgo call */
    uint64_t g0_lo, g0_hi, g0_sched_sp;
    uint64_t curg_lo, curg_hi;
};

struct walk {
    const struct unwind_env *env;
    const struct unwind_gctx *g;
    struct gstate st;
    struct unwind_hole *hole;
    uint64_t lo, hi; /* bounds of the stack being walked */
    uint64_t *pcs;
    int n, max;
    bool truncated;
    bool on_curg_now; /* jumped from g0 to the goroutine */
    bool callback_done;
};

static bool push(struct walk *w, uint64_t pc)
{
    if (w->n == w->max) {
        w->truncated = true;
        return false;
    }
    w->pcs[w->n++] = pc;
    return true;
}

static bool on_stack(const struct walk *w, uint64_t addr, uint64_t len)
{
    return addr >= w->lo && w->hi >= len && addr <= w->hi - len;
}

/* Moves f to its caller. False when the caller cannot be found safely. */
static bool step(struct walk *w, struct frame *f)
{
    const struct unwind_env *env = w->env;
    uint64_t ra, nsp, nbp;
    enum mode nmode = CHAIN;
    int32_t delta;
    bool done = false;
    if (f->mode != CHAIN && !env->fp_only && sp_delta(env, f->pc, &delta)) {
        uint64_t slot = f->sp + (uint64_t)delta;
        if (slot < f->sp || !on_stack(w, slot, 8))
            return false;
        /* Both frame layouts (<=1.20 SUBQ/MOVQ/LEAQ, >=1.21 PUSHQ/MOVQ)
         * leave BP just below the return-address slot once the frame is
         * set up; then the chain below is right. */
        if (!(f->mode == INTERRUPTED && f->bp == slot - 8)) {
            ra = load(slot);
            nsp = slot + 8;
            if (f->mode == INTERRUPTED) {
                nbp = f->bp; /* still the caller's */
            } else {
                /* at a call site a Go frame with a frame saves BP there */
                nbp = delta >= 8 && on_stack(w, slot - 8, 8) ? load(slot - 8) : f->bp;
                nmode = SPWALK;
            }
            done = true;
        }
    }
    if (!done) {
        uint64_t bp = f->bp;
        if (bp < f->sp || !on_stack(w, bp, 16) || (bp & 7))
            return false;
        ra = load(bp + 8);
        nbp = load(bp);
        nsp = bp + 16;
    }
    if (!in_text(env, ra) && !after_call(env, ra))
        return false;
    /* Above a function entered by an injected call the frame was
     * interrupted, not calling. */
    if (in_ranges(env->injected, env->ninjected, f->pc))
        nmode = INTERRUPTED;
    *f = (struct frame){ra, nsp, nbp, nmode};
    return true;
}

static const struct gstate *sched(struct walk *w)
{
    const struct unwind_gctx *g = w->g;
    if (!w->st.have_sched && g->curg) {
        w->st.sched_sp = load(g->curg + g->off->g_sched_sp);
        w->st.sched_pc = load(g->curg + g->off->g_sched_pc);
        w->st.sched_bp = load(g->curg + g->off->g_sched_bp);
    }
    w->st.have_sched = true;
    return &w->st;
}

static const struct gstate *sys(struct walk *w)
{
    const struct unwind_gctx *g = w->g;
    if (!w->st.have_sys && g->curg) {
        w->st.sys_sp = load(g->curg + g->off->g_syscallsp);
        if (w->st.sys_sp) {
            w->st.sys_pc = load(g->curg + g->off->g_syscallpc);
            w->st.sys_bp = g->off->g_syscallbp ? load(g->curg + g->off->g_syscallbp) : 0;
        }
    }
    w->st.have_sys = true;
    return &w->st;
}

static const struct gstate *g0(struct walk *w)
{
    const struct unwind_gctx *g = w->g;
    if (!w->st.have_g0 && g->g0) {
        w->st.g0_lo = load(g->g0 + g->off->g_stack_lo);
        w->st.g0_hi = load(g->g0 + g->off->g_stack_hi);
        w->st.g0_sched_sp = load(g->g0 + g->off->g_sched_sp);
    }
    w->st.have_g0 = true;
    return &w->st;
}

static const struct gstate *curg_stack(struct walk *w)
{
    const struct unwind_gctx *g = w->g;
    if (!w->st.have_curg_stack && g->curg) {
        w->st.curg_lo = load(g->curg + g->off->g_stack_lo);
        w->st.curg_hi = load(g->curg + g->off->g_stack_hi);
    }
    w->st.have_curg_stack = true;
    return &w->st;
}

static void use_curg(struct walk *w)
{
    const struct gstate *s = curg_stack(w);
    w->lo = s->curg_lo;
    w->hi = s->curg_hi;
    w->on_curg_now = true;
}

/* Continue from the goroutine's saved cgocall state. */
static bool jump_to_cgocall(struct walk *w, struct frame *f)
{
    const struct gstate *s = sys(w);
    use_curg(w);
    *f = (struct frame){s->sys_pc, s->sys_sp, s->sys_bp, s->sys_bp ? INTERRUPTED : SPWALK};
    return true;
}

/* Stack switches that must be followed before stepping from f. Returns
 * false when the walk must stop. */
static bool stitch(struct walk *w, struct frame *f)
{
    const struct unwind_env *env = w->env;
    const struct unwind_gctx *g = w->g;
    if (g->on_g0 && !w->on_curg_now) {
        /* systemstack: the goroutine's state is in g.sched; the caller of
         * systemstack is found from there. */
        if (in_range(&env->systemstack, f->pc)) {
            const struct gstate *s = sched(w);
            use_curg(w);
            *f = (struct frame){f->pc, s->sched_sp, s->sched_bp, INTERRUPTED};
            return true;
        }
        /* morestack: the function that needed more stack, at its
         * prologue, replaces morestack, as in the runtime's unwinder. */
        if (in_range(&env->morestack, f->pc)) {
            const struct gstate *s = sched(w);
            w->pcs[w->n - 1] = s->sched_pc;
            use_curg(w);
            *f = (struct frame){s->sched_pc, s->sched_sp, s->sched_bp, INTERRUPTED};
            return true;
        }
        /* mcall saved the calling goroutine's state in its g.sched, cleared
         * BP (1.25+) and called fn(gp) on g0, with gp pushed as fn's
         * argument just below g0.sched.sp. The goroutine stays m.curg
         * until fn drops it (dropg: then schedule() runs for no one, and
         * the goroutine may already run on another thread), or until the
         * scheduler makes another goroutine current (execute). Only while
         * that slot still holds curg is curg.sched where the goroutine
         * stopped to call mcall; then park_m, goexit0 and gosched_m sit
         * under the function that blocked, exited or yielded. */
        if (in_range(&env->mcall, f->pc)) {
            const struct gstate *z = g0(w);
            if (!z->g0_sched_sp || f->sp != z->g0_sched_sp - 8 || !on_stack(w, f->sp, 8) ||
                load(f->sp) != g->curg)
                return true; /* the walk ends at mcall */
            const struct gstate *s = sched(w), *c = curg_stack(w);
            if (s->sched_sp < c->curg_lo || s->sched_sp >= c->curg_hi || !in_text(env, s->sched_pc))
                return true;
            if (!push(w, s->sched_pc))
                return false;
            use_curg(w);
            /* sched.pc is a return address into the caller of mcall, and
             * sched.sp the caller's SP at the call */
            *f = (struct frame){s->sched_pc, s->sched_sp, s->sched_bp, SPWALK};
            return true;
        }
        /* The C frames of a cgo call end in asmcgocall: go on from the
         * goroutine's saved cgocall state, which stands for asmcgocall's
         * frame as it does in the runtime's tracebacks. */
        if (in_range(&env->asmcgocall, f->pc) && sys(w)->sys_sp) {
            w->pcs[w->n - 1] = w->st.sys_pc;
            jump_to_cgocall(w, f);
        }
        return true;
    }
    /* A Go callback from C: cgocallback's frame on the goroutine stack
     * returns into the goroutine's earlier frames; the C frames between
     * (crosscall2 and its C callers) are on g0, above g0.sched.sp. */
    if (!w->callback_done && in_range(&env->cgocallback, f->pc) && g->g0 && g->g0 != g->curg &&
        !g->on_g0 && g0(w)->g0_sched_sp) {
        w->callback_done = true;
        int32_t d;
        uint64_t lo = w->lo, hi = w->hi;
        w->lo = w->st.g0_lo;
        w->hi = w->st.g0_hi;
        if (sp_delta(env, f->pc, &d) && on_stack(w, w->st.g0_sched_sp + (uint64_t)d, 8)) {
            uint64_t slot = w->st.g0_sched_sp + (uint64_t)d;
            struct frame c = {load(slot), slot + 8, 0, SPWALK};
            /* into crosscall2, then C until asmcgocall (or as far as the
             * C code's frames allow) */
            if (in_text(env, c.pc) && push(w, c.pc)) {
                if (w->hole) {
                    /* crosscall2 is Go assembly: its pcsp finds the C caller */
                    if (step(w, &c) && !in_text(env, c.pc))
                        *w->hole = (struct unwind_hole){true, w->n, c.pc, c.sp, c.bp, w->st.g0_hi};
                } else {
                    while (!in_range(&env->asmcgocall, c.pc) && step(w, &c) &&
                           !in_range(&env->asmcgocall, c.pc) && push(w, c.pc))
                        ;
                }
            }
        }
        w->lo = lo;
        w->hi = hi;
        /* cgocallback's frame on the goroutine has no saved BP worth
         * trusting: find its caller by pcsp. */
        f->mode = SPWALK;
    }
    return true;
}

int unwind_go(const struct unwind_env *env, const struct unwind_regs *r,
              const struct unwind_gctx *g, struct unwind_hole *hole, uint64_t *pcs, int max,
              bool *truncated)
{
    struct walk w = {.env = env, .g = g, .hole = hole, .lo = g->lo, .hi = g->hi, .pcs = pcs,
                     .max = max};
    *truncated = false;
    if (hole)
        hole->set = false;
    if (max <= 0)
        return 0;
    bool in_bounds = w.lo < w.hi && w.hi - w.lo >= 16 && r->sp >= w.lo && r->sp < w.hi;
    struct frame f = {r->pc, r->sp, r->bp, INTERRUPTED};
    /* Interrupted in C: the collector unwinds it; on g0 during a cgo call
     * the goroutine's side follows from its saved state. */
    if (hole && !in_text(env, r->pc) && !in_range(&env->vdso, r->pc) && in_bounds) {
        *hole = (struct unwind_hole){true, 0, r->pc, r->sp, r->bp, w.hi};
        if (!(g->on_g0 && sys(&w)->sys_sp))
            goto out;
        /* asmcgocall ran the C code from g0.sched.sp down: only that much
         * stack needs copying (plus asmcgocall's own return address). */
        uint64_t top = g0(&w)->g0_sched_sp;
        if (top > r->sp && top + 64 < hole->hi)
            hole->hi = top + 64;
        if (!push(&w, w.st.sys_pc))
            goto out;
        jump_to_cgocall(&w, &f);
        goto walk;
    }
    if (!push(&w, r->pc) || !in_bounds)
        goto out;
    /* In the vDSO: m.vdsoPC/vdsoSP are the Go caller's, on the goroutine's
     * stack or g0's. */
    if (in_range(&env->vdso, r->pc) && g->m && g->off->m_vdsosp) {
        uint64_t vsp = load(g->m + g->off->m_vdsosp), vpc = vsp ? load(g->m + g->off->m_vdsopc) : 0;
        if (vsp) {
            const struct gstate *s = curg_stack(&w);
            if (vsp >= s->curg_lo && vsp < s->curg_hi)
                use_curg(&w);
            if (!push(&w, vpc))
                goto out;
            f = (struct frame){vpc, vsp, 0, SPWALK};
        }
    }
walk:
    for (;;) {
        /* Fast path: set-up Go frames linked by frame pointers, none of
         * them special, walked in a tight loop. It hands anything else
         * (and the frame after it) to the careful steps below. */
        if (f.mode == CHAIN && ordinary(env, f.pc)) {
            uint64_t bp = f.bp, floor = f.sp, lo = w.lo, hi = w.hi;
            while (bp >= floor && bp >= lo && bp + 16 <= hi && bp + 16 > bp && !(bp & 7)) {
                uint64_t ra = load(bp + 8), next = load(bp);
                if (!ordinary(env, ra))
                    break;
                if (w.n == w.max) {
                    w.truncated = true;
                    goto out;
                }
                w.pcs[w.n++] = ra;
                f = (struct frame){ra, bp + 16, next, CHAIN};
                floor = bp + 16;
                bp = next;
            }
        }
        if (!stitch(&w, &f))
            break;
        if (!step(&w, &f)) {
            /* C frames that cannot be followed further: if this is a cgo
             * call, the goroutine's side is still known. */
            if (g->on_g0 && !w.on_curg_now && !in_text(env, f.pc) && sys(&w)->sys_sp) {
                if (!push(&w, w.st.sys_pc))
                    break;
                jump_to_cgocall(&w, &f);
                continue;
            }
            break;
        }
        if (!push(&w, f.pc))
            break;
    }
out:
    *truncated = w.truncated;
    return w.n;
}

int unwind_fp(const struct unwind_env *env, const struct unwind_regs *r, uint64_t lo,
              uint64_t hi, uint64_t *pcs, int max, bool *truncated)
{
    struct unwind_gctx g = {.lo = lo, .hi = hi};
    return unwind_go(env, r, &g, NULL, pcs, max, truncated);
}
