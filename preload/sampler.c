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
static struct unwind_env env, env_fp;
static int strategy;

void sampler_init(const struct unwind_env *e, int unwind)
{
    env = *e;
    env_fp = *e;
    env_fp.fp_only = true;
    strategy = unwind;
}

/* The runtime's offsets: DWARF's once the collector has published them
 * (ring.h), the table's before; source NULL when neither is known. */
static inline const struct go_offsets *offsets(const struct ring *r)
{
    if (atomic_load_explicit(&r->off_state, memory_order_acquire) == RING_OFF_DWARF)
        return &r->off;
    return &goinfo.off;
}

static inline uint64_t load(uint64_t addr)
{
    return *(const volatile uint64_t *)(uintptr_t)addr;
}

/* Runtime pointers are trusted to be what the offsets say, but a value
 * that cannot be a user-space object is never followed. */
static inline bool plausible(uint64_t p)
{
    return p && !(p & 7) && p < (1ull << 47);
}

static void thread_bounds(uint64_t sp, uint64_t *lo, uint64_t *hi)
{
    if (sp >= goprof_thread.stack_lo && sp < goprof_thread.stack_hi) {
        *lo = goprof_thread.stack_lo;
        *hi = goprof_thread.stack_hi;
    }
}

/* The goroutine context of the sample, from g (thread-local storage) and
 * its m: the stack to walk, the goroutine's id. The rest of the runtime
 * state the walk reads only when it meets a stack switch. */
static void read_gctx(const struct go_offsets *o, uint64_t sp, struct unwind_gctx *c,
                      uint64_t *goid, uint32_t *flags)
{
    uint64_t g = goinfo_current_g();
    if (!g) {
        if (atomic_load_explicit(&goinfo.g_known, memory_order_relaxed))
            *flags |= SF_STACK_NO_G;
        thread_bounds(sp, &c->lo, &c->hi);
        return;
    }
    uint64_t glo = load(g + G_STACK_LO), ghi = load(g + G_STACK_HI);
    if (sp >= glo && sp < ghi) {
        c->lo = glo;
        c->hi = ghi;
    } else {
        thread_bounds(sp, &c->lo, &c->hi);
    }
    uint64_t m = load(g + G_M);
    if (!o->source || !plausible(m))
        return;
    uint64_t g0 = load(m + o->m_g0), curg = load(m + o->m_curg);
    if (g != curg && g == load(m + o->m_gsignal))
        *flags |= SF_STACK_SIGNAL;
    c->off = o;
    c->m = m;
    c->g0 = plausible(g0) ? g0 : 0;
    if (plausible(curg)) {
        c->curg = curg;
        *goid = load(curg + o->g_goid);
        c->on_g0 = g == g0 && curg != g0;
    }
}

/* A raw copy of the interrupted stack, for the collector's libunwind.
 * The bytes belong to whatever frames are there: under AddressSanitizer
 * (make asan) the redzones of instrumented frames would read as overflows,
 * so that build copies word by word, uninstrumented. */
#if defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize_address)) static void copy_stack(void *dst, uint64_t src, uint64_t len)
{
    volatile uint64_t *d = dst;
    const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)src;
    for (uint64_t i = 0; i < len / 8; i++)
        d[i] = p[i];
}
#else
static inline void copy_stack(void *dst, uint64_t src, uint64_t len)
{
    __builtin_memcpy(dst, (const void *)(uintptr_t)src, len);
}
#endif

void sampler_take(siginfo_t *si, void *ucontext)
{
    /* The TSC is read at both ends to report the handler's own cost; it
     * costs a few cycles where clock_gettime would cost tens of ns. */
    uint64_t t0 = __builtin_ia32_rdtsc();
    struct ring *r = goprof_ring;
    if (!r || atomic_load_explicit(&r->stopped, memory_order_relaxed))
        return;
    uint32_t tid = (uint32_t)threads_self_tid();
    uint64_t weight = source_weight(si, (pid_t)tid);
    struct ring_stripe *k = ring_stripe_of(&r->counters, tid);
    atomic_fetch_add_explicit(&k->signals, 1, memory_order_relaxed);
    if (weight == 0 || strategy == SF_UNWIND_NONE)
        return; /* the benchmark's floor: the signal and nothing else */
    uint64_t pos;
    struct ring_slot *s = ring_claim(r, &pos);
    if (!s) {
        atomic_fetch_add_explicit(&k->dropped_signals, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&k->dropped_weight, weight, memory_order_relaxed);
        return;
    }
    /* The slot was last written a whole lap ago, and read since by the
     * collector on another core: ask for its lines now, so that their
     * misses overlap the walk instead of stalling each PC it stores. */
    for (uint32_t off = 64; off < 64 + 8 * r->depth && off < 64 + 8 * 64; off += 64)
        __builtin_prefetch((const char *)s + off, 1, 3);
    const mcontext_t *mc = &((const ucontext_t *)ucontext)->uc_mcontext;
    struct unwind_regs regs = {(uint64_t)mc->gregs[REG_RIP], (uint64_t)mc->gregs[REG_RSP],
                               (uint64_t)mc->gregs[REG_RBP]};
    struct unwind_gctx gc = {0};
    uint64_t goid = 0;
    uint32_t flags = 0;
    const struct go_offsets *o = offsets(r);
    read_gctx(o, regs.sp, &gc, &goid, &flags);
    bool truncated = false;
    int n = 0;
    struct unwind_hole hole = {0};
    /* The collector found no offsets in DWARF for a release the table
     * does not know: frame pointers only, as the file's header says. */
    int st = !o->source && strategy != SF_UNWIND_FP &&
                     atomic_load_explicit(&r->off_state, memory_order_relaxed) == RING_OFF_NONE
                 ? SF_UNWIND_FP
                 : strategy;
    switch (st) {
    case SF_UNWIND_FP:
        n = unwind_fp(&env_fp, &regs, gc.lo, gc.hi, s->pcs, (int)r->depth, &truncated);
        break;
    case SF_UNWIND_GO:
        n = unwind_go(&env, &regs, &gc, NULL, s->pcs, (int)r->depth, &truncated);
        break;
    case SF_UNWIND_MIXED:
        n = unwind_go(&env, &regs, &gc, &hole, s->pcs, (int)r->depth, &truncated);
        break;
    case SF_UNWIND_LIBUNWIND:
        /* all of it for the collector */
        if (gc.lo < gc.hi && regs.sp >= gc.lo && regs.sp < gc.hi)
            hole = (struct unwind_hole){true, 0, regs.pc, regs.sp, regs.bp, gc.hi};
        else
            s->pcs[n++] = regs.pc;
        break;
    }
    s->hole = RING_NO_HOLE;
    s->copy_len = 0;
    if (hole.set && r->copy_max) {
        /* [sp, hi) lies on the stack the walk proved mapped */
        uint64_t len = hole.hi - hole.sp < r->copy_max ? hole.hi - hole.sp : r->copy_max;
        copy_stack(ring_slot_copy(r, s), hole.sp, len);
        s->hole = (uint16_t)hole.at;
        s->copy_len = (uint32_t)len;
        s->c_ip = hole.ip;
        s->c_sp = hole.sp;
        s->c_bp = hole.bp;
    }
    if (r->tsc_time) {
        s->time = t0;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s->time = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    }
    s->tid = tid;
    s->nframes = (uint16_t)n;
    s->flags = (uint16_t)(flags | (truncated ? SF_STACK_TRUNCATED : 0));
    s->goid = goid;
    s->weight = weight;
    ring_publish(s, pos);
    atomic_fetch_add_explicit(&k->samples, weight, memory_order_relaxed);
    atomic_fetch_add_explicit(&k->handler_ticks, __builtin_ia32_rdtsc() - t0,
                              memory_order_relaxed);
}
