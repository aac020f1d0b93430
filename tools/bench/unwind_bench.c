/* Microbenchmark of the handler's work per sample, without the kernel's
 * signal delivery: the unwinder on a stack laid out exactly as Go lays it
 * out, from the functions and pcsp tables of a real Go binary, and the
 * hand-off to the ring around it.
 *
 * usage: unwind_bench BINARY [DEPTH] [ITERATIONS]
 * prints one line per case: "case NAME depth N ns_per_op X" */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gobinary.h"
#include "ring.h"
#include "unwind.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A Go function with a frame, and a PC in it where the frame is set up. */
struct fn {
    uint64_t pc;
    int32_t delta;
};

/* Picks depth framed functions spread over the table, like a real stack's
 * mix of packages. The leaf is frameless (delta 0 at its PC). */
static int pick(const struct gobin *g, struct fn *out, int depth)
{
    const struct pcln *t = &g->tab;
    int n = 0, leaf = 0;
    for (uint64_t i = 0; i < t->nfunc && n < depth; i += 1 + t->nfunc / (uint64_t)(depth * 3)) {
        struct pcln_func f;
        uint32_t e, fo;
        memcpy(&e, t->base + t->pcln_off + i * 8, 4);
        memcpy(&fo, t->base + t->pcln_off + i * 8 + 4, 4);
        if (!pcln_find(t, t->text_start + e, &f))
            continue;
        /* a PC past the prologue with the largest delta: the frame body */
        struct fn best = {0, -1};
        for (uint64_t pc = f.entry; pc < f.end && pc < f.entry + 256; pc += 4) {
            int32_t d;
            if (pcln_sp_delta(t, &f, pc, &d) && d > best.delta)
                best = (struct fn){pc, d};
        }
        if (n == 0 && !leaf) {
            int32_t d;
            if (pcln_sp_delta(t, &f, f.entry, &d) && d == 0) {
                out[n++] = (struct fn){f.entry, 0}; /* the interrupted leaf, at entry */
                leaf = 1;
            }
            continue;
        }
        if (best.delta >= 16 && best.delta < 4096 && n > 0)
            out[n++] = best;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: unwind_bench GO-BINARY [DEPTH] [ITERATIONS]\n");
        return 2;
    }
    int depth = argc > 2 ? atoi(argv[2]) : 32;
    long iters = argc > 3 ? atol(argv[3]) : 1000000;
    struct elfimg img;
    struct gobin g;
    char err[512];
    if (elfimg_open(&img, argv[1], err, sizeof err) || gobin_open(&g, &img, err, sizeof err)) {
        fprintf(stderr, "unwind_bench: %s\n", err);
        return 1;
    }
    struct fn *fns = calloc((size_t)depth, sizeof *fns);
    int n = pick(&g, fns, depth);
    if (n < depth) {
        fprintf(stderr, "unwind_bench: only %d usable functions\n", n);
        return 1;
    }
    /* The stack: frame i's return address (the PC in frame i+1) sits at
     * sp_i + delta_i, its saved BP just below; BP chains to the next. */
    size_t bytes = 64;
    for (int i = 0; i < depth; i++)
        bytes += (size_t)fns[i].delta + 8;
    uint64_t *mem = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    memset(mem, 0, bytes);
    uint64_t base = (uint64_t)(uintptr_t)mem, sp = base, first_sp = base;
    uint64_t prev_bp_slot = 0;
    for (int i = 0; i < depth; i++) {
        uint64_t slot = sp + (uint64_t)fns[i].delta;
        *(uint64_t *)(uintptr_t)slot = i + 1 < depth ? fns[i + 1].pc : 0;
        if (fns[i].delta >= 8) {
            if (prev_bp_slot)
                *(uint64_t *)(uintptr_t)prev_bp_slot = slot - 8;
            prev_bp_slot = slot - 8;
        }
        sp = slot + 8;
    }
    uint64_t hi = sp + 16;
    struct unwind_env env = {.tab = &g.tab, .text_lo = g.text_start, .text_hi = g.text_end};
    unwind_find_specials(&env);
    /* The leaf is frameless: its return address is at SP and BP still
     * points at its caller's frame (frame 1's saved-BP slot). */
    struct unwind_regs regs = {fns[0].pc, first_sp, first_sp + 8 + (uint64_t)fns[1].delta - 8};
    struct unwind_gctx gc = {.lo = base, .hi = hi};
    uint64_t *pcs = calloc((size_t)depth + 8, sizeof *pcs);
    bool trunc;
    int got = unwind_go(&env, &regs, &gc, NULL, pcs, depth + 8, &trunc);
    if (got != depth) {
        fprintf(stderr, "unwind_bench: the walk found %d of %d frames\n", got, depth);
        return 1;
    }

    struct ring *r = ring_create((uint32_t)depth + 8, 0);
    struct ring_reader rd = {r, 0};
    static const char *const names[] = {"fp", "go", "go+ring"};
    for (int c = 0; c < 3; c++) {
        double best = 1e30;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now_ns();
            for (long i = 0; i < iters; i++) {
                if (c == 0) {
                    unwind_fp(&env, &regs, base, hi, pcs, depth + 8, &trunc);
                } else if (c == 1) {
                    unwind_go(&env, &regs, &gc, NULL, pcs, depth + 8, &trunc);
                } else {
                    /* what the handler does around the walk: claim a
                     * slot, walk into it, publish; the collector's side
                     * frees it here so the ring never fills */
                    uint64_t pos;
                    struct ring_slot *s = ring_claim(r, &pos);
                    s->nframes = (uint16_t)unwind_go(&env, &regs, &gc, NULL, s->pcs,
                                                     (int)r->depth, &trunc);
                    s->time = __builtin_ia32_rdtsc();
                    ring_publish(s, pos);
                    struct ring_slot *x;
                    if (ring_next(&rd, false, &x) == RING_READY)
                        ring_release(&rd, x);
                }
            }
            double ns = (now_ns() - t0) / (double)iters;
            if (ns < best)
                best = ns;
        }
        printf("case %s depth %d ns_per_op %.1f\n", names[c], depth, best);
    }
    return 0;
}
