#define _GNU_SOURCE
#include "sampler.h"

#include <stdatomic.h>
#include <time.h>
#include <ucontext.h>

#include "goinfo.h"
#include "sample_format.h"
#include "source.h"
#include "threads.h"

struct ring *goprof_ring;
static struct unwind_env env;

void sampler_init(const struct unwind_env *e)
{
    env = *e;
}

/* Bounds of the stack the thread was running on: the current goroutine's
 * (or g0's) stack from g, else the thread's own stack. Only memory inside
 * these bounds is read by the unwinder. */
static void stack_bounds(uint64_t sp, uint64_t *lo, uint64_t *hi)
{
    uint64_t g = goinfo_current_g();
    if (g) {
        const volatile uint64_t *gp = (const volatile uint64_t *)(uintptr_t)g;
        uint64_t glo = gp[G_STACK_LO / 8], ghi = gp[G_STACK_HI / 8];
        if (sp >= glo && sp < ghi) {
            *lo = glo;
            *hi = ghi;
            return;
        }
    }
    if (sp >= goprof_thread.stack_lo && sp < goprof_thread.stack_hi) {
        *lo = goprof_thread.stack_lo;
        *hi = goprof_thread.stack_hi;
        return;
    }
    *lo = *hi = 0;
}

void sampler_take(siginfo_t *si, void *ucontext)
{
    struct ring *r = goprof_ring;
    if (!r || atomic_load_explicit(&r->stopped, memory_order_relaxed))
        return;
    uint64_t weight = source_weight(si);
    atomic_fetch_add_explicit(&r->counters.signals, 1, memory_order_relaxed);
    uint64_t pos;
    struct ring_slot *s = ring_claim(r, &pos);
    if (!s) {
        atomic_fetch_add_explicit(&r->counters.dropped_signals, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->counters.dropped_weight, weight, memory_order_relaxed);
        return;
    }
    const mcontext_t *mc = &((const ucontext_t *)ucontext)->uc_mcontext;
    struct unwind_regs regs = {(uint64_t)mc->gregs[REG_RIP], (uint64_t)mc->gregs[REG_RSP],
                               (uint64_t)mc->gregs[REG_RBP]};
    uint64_t lo, hi;
    stack_bounds(regs.sp, &lo, &hi);
    bool truncated;
    int n = unwind_fp(&env, &regs, lo, hi, s->pcs, (int)r->depth, &truncated);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s->tid = (uint32_t)threads_self_tid();
    s->nframes = (uint16_t)n;
    s->flags = truncated ? SF_STACK_TRUNCATED : 0;
    s->time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    s->goid = 0;
    s->weight = weight;
    ring_publish(s, pos);
    atomic_fetch_add_explicit(&r->counters.samples, weight, memory_order_relaxed);
}
