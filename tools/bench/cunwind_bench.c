/* Measures the two ways GOPROF_UNWIND=mixed could unwind C frames, at the
 * bottom of a chain of C frames without frame pointers:
 *  - libunwind in place, as a signal handler would run it (unw_init_local
 *    on the interrupted context, unw_step to the top);
 *  - what goprof does: the handler copies the stack the C frames occupy,
 *    and the collector unwinds that copy with libunwind's remote API.
 * usage: cunwind_bench [DEPTH] [ITERATIONS]
 * prints "case NAME depth N ns_per_op X [bytes B] [frames F]" lines. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cchain.h"
#include "cunwind.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

struct job {
    long iters;
    int which; /* 0 in place, 1 copy, 2 remote from the copy */
    uint64_t top; /* the chain's outermost stack address */
    uint8_t *copy;
    uint32_t len;
    uint64_t ip, sp, bp;
    int frames;
    double ns;
    struct cunwind *cu;
};

static int bottom(void *arg)
{
    struct job *j = arg;
    unw_context_t ctx;
    unw_getcontext(&ctx);
    unw_cursor_t c;
    unw_init_local(&c, &ctx);
    unw_word_t ip, sp, bp;
    unw_get_reg(&c, UNW_REG_IP, &ip);
    unw_get_reg(&c, UNW_REG_SP, &sp);
    unw_get_reg(&c, UNW_X86_64_RBP, &bp);
    j->ip = ip, j->sp = sp, j->bp = bp;
    j->len = (uint32_t)(j->top - sp);
    uint64_t out[128];
    double t0 = now_ns();
    for (long i = 0; i < j->iters; i++) {
        if (j->which == 0) {
            unw_context_t x;
            unw_getcontext(&x);
            unw_cursor_t k;
            unw_init_local(&k, &x);
            int n = 0;
            while (n < 128 && unw_step(&k) > 0)
                n++;
            j->frames = n;
        } else if (j->which == 1) {
            memcpy(j->copy, (const void *)(uintptr_t)sp, j->len);
        } else {
            j->frames = cunwind_run(j->cu, ip, sp, bp, j->copy, j->len, false, out, 128);
        }
    }
    j->ns = (now_ns() - t0) / (double)j->iters;
    if (j->which == 1)
        memcpy(j->copy, (const void *)(uintptr_t)sp, j->len); /* for the remote case */
    return 0;
}

int main(int argc, char **argv)
{
    int depth = argc > 1 ? atoi(argv[1]) : 16;
    long iters = argc > 2 ? atol(argv[2]) : 100000;
    volatile char here;
    struct job j = {.iters = iters, .top = (uint64_t)(uintptr_t)&here};
    j.copy = malloc(1 << 20);
    j.cu = cunwind_new(0, 0);
    static const char *const names[] = {"libunwind in place (in the handler)",
                                        "copy of the C frames' stack (in the handler)",
                                        "libunwind remote on the copy (in the collector)"};
    for (int w = 0; w < 3; w++) {
        j.which = w;
        cchain(depth, bottom, &j);
        printf("case %s depth %d ns_per_op %.0f bytes %u frames %d\n", names[w], depth, j.ns,
               j.len, j.frames);
    }
    /* the fixed-size copy used when the C frames' extent is unknown */
    double t0 = now_ns();
    static uint8_t big[32 << 10];
    for (long i = 0; i < iters; i++) {
        memcpy(j.copy, big, sizeof big);
        __asm__ volatile("" ::: "memory");
    }
    printf("case copy of 32 KiB depth %d ns_per_op %.0f bytes %zu frames 0\n", depth,
           (now_ns() - t0) / (double)iters, sizeof big);
    return 0;
}
