#include "unwind.h"

static bool in_ranges(const struct code_range *r, int n, uint64_t pc)
{
    for (int i = 0; i < n; i++)
        if (pc >= r[i].lo && pc < r[i].hi)
            return true;
    return false;
}

static bool is_code(const struct unwind_env *env, uint64_t pc)
{
    return (pc >= env->text_lo && pc < env->text_hi) || in_ranges(env->ranges, env->nranges, pc);
}

static inline uint64_t load(uint64_t addr)
{
    return *(const volatile uint64_t *)(uintptr_t)addr;
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
}

/* For a Go function interrupted at pc with stack pointer sp, whose frame
 * pointer register holds bp: if the function had not set up its own frame
 * there, returns the slot of its return address (the caller a chain walk
 * would skip) through *slot. */
static bool missing_caller(const struct unwind_env *env, uint64_t pc, uint64_t sp, uint64_t bp,
                           uint64_t hi, uint64_t *slot)
{
    struct pcln_func f;
    int32_t delta;
    if (!(pc >= env->text_lo && pc < env->text_hi) || !pcln_find(env->tab, pc, &f) ||
        !pcln_sp_delta(env->tab, &f, pc, &delta) || delta < 0)
        return false;
    uint64_t s = sp + (uint64_t)delta;
    /* Both frame layouts (<=1.20 SUBQ/MOVQ/LEAQ, >=1.21 PUSHQ/MOVQ) leave
     * BP just below the return-address slot once the frame is set up. */
    if (s < sp || s > hi - 8 || bp == s - 8)
        return false;
    *slot = s;
    return true;
}

int unwind_fp(const struct unwind_env *env, const struct unwind_regs *r, uint64_t lo,
              uint64_t hi, uint64_t *pcs, int max, bool *truncated)
{
    int n = 0;
    *truncated = false;
    if (max <= 0)
        return 0;
    pcs[n++] = r->pc;
    if (!(lo < hi && r->sp >= lo && r->sp < hi && hi - lo >= 16))
        return n;

    /* State of the frame being unwound: its PC, its stack pointer when the
     * frame was interrupted rather than calling (sp_known), and the value
     * of the frame-pointer register in it. Each step moves to the caller:
     * through the pcsp table when the frame is not set up, else through the
     * chain ([bp] = caller's bp, [bp+8] = return address). */
    uint64_t pc = r->pc, sp = r->sp, bp = r->bp;
    bool sp_known = true;
    for (;;) {
        uint64_t slot, ra, nsp, nbp;
        if (sp_known && missing_caller(env, pc, sp, bp, hi, &slot)) {
            ra = load(slot);
            nsp = slot + 8;
            nbp = bp;
        } else {
            /* Frames only move toward the stack's top (higher addresses). */
            if (bp < sp || bp > hi - 16 || (bp & 7))
                break;
            ra = load(bp + 8);
            nbp = load(bp);
            nsp = bp + 16;
        }
        if (!is_code(env, ra))
            break;
        if (n == max) {
            *truncated = true;
            break;
        }
        pcs[n++] = ra;
        /* Above a function entered by an injected call the frame was
         * interrupted, not calling: its own frame may not be set up. */
        sp_known = in_ranges(env->injected, env->ninjected, pc);
        pc = ra;
        sp = nsp;
        bp = nbp;
    }
    return n;
}
