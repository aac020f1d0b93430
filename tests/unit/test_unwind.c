/* Unit tests of unwind_fp (preload/unwind.c): frame-pointer walks over a
 * fake goroutine stack built in an array, with a synthetic pclntab giving
 * the SP deltas. The stack is laid out the way amd64 Go code leaves it:
 * CALL pushes the return address, a framed function then does PUSHQ BP;
 * MOVQ SP, BP; SUBQ $locals, SP. Words just outside [lo, hi) hold a valid
 * code address, so a walk that reads them shows it in its output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>

#include "gooffsets.h"
#include "synth_pclntab.h"
#include "unwind.h"

#define TEXT 0x401000u
/* Other code (a C library): a real mapped region, because the unwinder
 * reads the instruction before a C return address to check it is a call.
 * It holds NOPs, with a call instruction right before each offset in
 * CLIB_CALLS. */
static uint64_t clib_lo;
#define CLIB_LO clib_lo
#define CLIB_SIZE 0x10000
#define CLIB_HI (CLIB_LO + CLIB_SIZE)
static const uint32_t CLIB_CALLS[] = {0x100, 0x200, 0x1000};

/* A framed function of size s with l bytes of locals: PUSHQ BP at 0,
 * MOVQ SP, BP at 1, SUBQ at 4, body from 8, ADDQ, then POPQ BP at s-2 and
 * RET at s-1. */
#define FRAMED(s, l) SYNTH_STEPS({0, 0}, {1, 8}, {8, 8 + (l)}, {(s)-2, 8}, {(s)-1, 0})

enum { GOEXIT, FA, FB, FC, LEAF, LEAFL, NOSP, NEG, ASYNC, ASYNC2, SIGPANIC, GOPANIC, MCALL,
       PARKM, GOPARK, NF };
static const int LOCALS[NF] = {[FA] = 0x18, [FB] = 0x28, [FC] = 0x8, [ASYNC] = 0x30,
                               [PARKM] = 0x20, [GOPARK] = 0x18,
                               [ASYNC2] = 0x10, [SIGPANIC] = 0x20, [GOPANIC] = 0x10};

static const struct synth_func FUNCS[NF] = {
    [GOEXIT] = {.name = "runtime.goexit", .entry = 0x0, .size = 0x20, .pcsp = SYNTH_STEPS({0, 0})},
    [FA] = {.name = "main.a", .entry = 0x100, .size = 0x100, .pcsp = FRAMED(0x100, 0x18)},
    [FB] = {.name = "main.b", .entry = 0x200, .size = 0x100, .pcsp = FRAMED(0x100, 0x28)},
    [FC] = {.name = "main.c", .entry = 0x300, .size = 0x100, .pcsp = FRAMED(0x100, 0x8)},
    /* frameless: no BP save, no locals */
    [LEAF] = {.name = "main.leaf", .entry = 0x400, .size = 0x40, .pcsp = SYNTH_STEPS({0, 0})},
    /* frameless with 16 bytes of locals (an assembly NOFRAME function) */
    [LEAFL] = {.name = "main.leaflocals", .entry = 0x440, .size = 0x40,
               .pcsp = SYNTH_STEPS({0, 0}, {4, 0x10}, {0x3b, 0})},
    [NOSP] = {.name = "main.nosp", .entry = 0x480, .size = 0x40},
    /* a corrupt table: SP above the return address */
    [NEG] = {.name = "main.neg", .entry = 0x4c0, .size = 0x40, .pcsp = SYNTH_STEPS({0, -8})},
    [ASYNC] = {.name = "runtime.asyncPreempt", .entry = 0x500, .size = 0x100,
               .pcsp = FRAMED(0x100, 0x30)},
    [ASYNC2] = {.name = "runtime.asyncPreempt2", .entry = 0x600, .size = 0x100,
                .pcsp = FRAMED(0x100, 0x10)},
    [SIGPANIC] = {.name = "runtime.sigpanic", .entry = 0x700, .size = 0x100,
                  .pcsp = FRAMED(0x100, 0x20)},
    [GOPANIC] = {.name = "runtime.gopanic", .entry = 0x800, .size = 0x100,
                 .pcsp = FRAMED(0x100, 0x10)},
    /* mcall has no frame of its own (NOSPLIT $0-8) */
    [MCALL] = {.name = "runtime.mcall", .entry = 0x900, .size = 0x40, .pcsp = SYNTH_STEPS({0, 0})},
    [PARKM] = {.name = "runtime.park_m", .entry = 0x940, .size = 0x100,
               .pcsp = FRAMED(0x100, 0x20)},
    [GOPARK] = {.name = "runtime.gopark", .entry = 0xa40, .size = 0x100,
                .pcsp = FRAMED(0x100, 0x18)},
};
#define TEXT_END (TEXT + 0xb40)

static uint64_t pc(int f, uint32_t off) { return TEXT + FUNCS[f].entry + off; }

#define CANARY (TEXT + 0x244) /* inside main.b, but no frame returns there */
#define JUNK 0x5a5a5a5a5a5a5a5aull

static struct synth_pclntab SYN;
static struct pcln TAB;
static struct code_range CLIB;

static int group_setup(void **state)
{
    (void)state;
    uint8_t *code = mmap(NULL, CLIB_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
    if (code == MAP_FAILED)
        return -1;
    memset(code, 0x90, CLIB_SIZE);
    for (size_t i = 0; i < sizeof CLIB_CALLS / sizeof *CLIB_CALLS; i++)
        code[CLIB_CALLS[i] - 5] = 0xe8; /* call rel32 */
    code[0x300 - 2] = 0xff;             /* call *%rax */
    code[0x300 - 1] = 0xd0;
    code[0x400 - 3] = 0xff; /* call *0x8(%rbx) */
    code[0x400 - 2] = 0x53;
    code[0x400 - 1] = 0x08;
    mprotect(code, CLIB_SIZE, PROT_READ);
    clib_lo = (uint64_t)(uintptr_t)code;
    CLIB = (struct code_range){CLIB_LO, CLIB_HI};
    static const char *const files[] = {"/src/x.go"};
    struct synth_opts o = {.magic = 0xfffffff1u, .text_start = TEXT, .files = files,
                           .nfiles = 1};
    char err[256];
    if (synth_build(&SYN, &o, FUNCS, NF) != 0 ||
        pcln_open(&TAB, SYN.blob, SYN.size, 0, err, sizeof err) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    synth_free(&SYN);
    return 0;
}

static struct unwind_env env_plain(void)
{
    struct unwind_env e = {.tab = &TAB, .text_lo = TEXT, .text_hi = TEXT_END,
                           .ranges = &CLIB, .nranges = 1};
    return e;
}

static struct unwind_env env_injected(void)
{
    struct unwind_env e = env_plain();
    unwind_find_injected(&e);
    return e;
}

/* ---- the fake stack ------------------------------------------------------ */

#define GUARD 8
#define WORDS 48
struct stk {
    uint64_t mem[GUARD + WORDS + GUARD];
    int sp; /* index of the word SP points at */
    uint64_t bp;
};

static uint64_t word_addr(const struct stk *s, int i) { return (uint64_t)(uintptr_t)&s->mem[i]; }
static uint64_t stack_lo(const struct stk *s) { return word_addr(s, GUARD); }
static uint64_t stack_hi(const struct stk *s) { return word_addr(s, GUARD + WORDS); }

static void stk_init(struct stk *s)
{
    for (int i = 0; i < GUARD + WORDS + GUARD; i++)
        s->mem[i] = i < GUARD || i >= GUARD + WORDS ? CANARY : JUNK;
    s->sp = GUARD + WORDS;
    s->bp = 0;
}

static void push(struct stk *s, uint64_t v)
{
    assert_true(s->sp > GUARD);
    s->mem[--s->sp] = v;
}

/* CALL: the return address goes on the stack. */
static void call(struct stk *s, int f, uint32_t off) { push(s, pc(f, off)); }

/* PUSHQ BP; MOVQ SP, BP; SUBQ $locals, SP */
static void enter(struct stk *s, int f)
{
    push(s, s->bp);
    s->bp = word_addr(s, s->sp);
    for (int i = 0; i < LOCALS[f] / 8; i++)
        push(s, JUNK);
}

/* goexit -> main.a -> main.b -> (about to enter the callee). The frame
 * pointer saved by main.a is 0, which ends the chain. */
static void base(struct stk *s)
{
    stk_init(s);
    call(s, GOEXIT, 1);
    enter(s, FA);
    call(s, FA, 0x20);
    enter(s, FB);
    call(s, FB, 0x20);
}

static struct unwind_regs regs(const struct stk *s, uint64_t ip)
{
    return (struct unwind_regs){ip, word_addr(s, s->sp), s->bp};
}

#define MAXPCS 32
#define UNSET 0xeeeeeeeeeeeeeeeeull

static void expect_walk_bounds(const struct unwind_env *e, const struct unwind_regs *r,
                               uint64_t lo, uint64_t hi, int max, const uint64_t *want,
                               int nwant, bool want_trunc)
{
    uint64_t pcs[MAXPCS];
    for (int i = 0; i < MAXPCS; i++)
        pcs[i] = UNSET;
    bool trunc = !want_trunc;
    int n = unwind_fp(e, r, lo, hi, pcs, max, &trunc);
    for (int i = 0; i < n; i++)
        assert_true(pcs[i] != CANARY); /* read outside [lo, hi) */
    for (int i = 0; i < n && i < nwant; i++)
        if (pcs[i] != want[i])
            fail_msg("frame %d: got %#llx, want %#llx", i, (unsigned long long)pcs[i],
                     (unsigned long long)want[i]);
    assert_int_equal(n, nwant);
    assert_int_equal(trunc, want_trunc);
    for (int i = n; i < MAXPCS; i++)
        assert_true(pcs[i] == UNSET);
}

static void expect_walk(const struct unwind_env *e, const struct stk *s, uint64_t ip,
                        const uint64_t *want, int nwant)
{
    struct unwind_regs r = regs(s, ip);
    expect_walk_bounds(e, &r, stack_lo(s), stack_hi(s), MAXPCS, want, nwant, false);
}

#define N(a) ((int)(sizeof(a) / sizeof *(a)))

/* ---- first frame ------------------------------------------------------- */

static void test_framed_chain(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    struct stk s;
    base(&s);
    enter(&s, FC);
    /* In main.c's body: BP == SP + delta - 8, a plain chain walk. */
    const uint64_t want[] = {pc(FC, 0x30), pc(FB, 0x20), pc(FA, 0x20), pc(GOEXIT, 1)};
    expect_walk(&e, &s, want[0], want, N(want));
}

static void test_frameless_leaf(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    struct stk s;
    base(&s);
    /* main.leaf sets up nothing: BP is still main.b's, whose return address
     * a chain walk would take next, losing main.b itself. */
    const uint64_t want[] = {pc(LEAF, 0x10), pc(FB, 0x20), pc(FA, 0x20), pc(GOEXIT, 1)};
    expect_walk(&e, &s, want[0], want, N(want));
}

static void test_frameless_with_locals(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    struct stk s;
    base(&s);
    push(&s, JUNK);
    push(&s, JUNK); /* SUBQ $16, SP without a frame pointer */
    const uint64_t want[] = {pc(LEAFL, 0x20), pc(FB, 0x20), pc(FA, 0x20), pc(GOEXIT, 1)};
    expect_walk(&e, &s, want[0], want, N(want));
    /* Its RET: the locals are gone again. */
    base(&s);
    const uint64_t at_ret[] = {pc(LEAFL, 0x3b), pc(FB, 0x20), pc(FA, 0x20), pc(GOEXIT, 1)};
    expect_walk(&e, &s, at_ret[0], at_ret, N(at_ret));
}

static void test_no_pcsp_falls_back_to_chain(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    struct stk s;
    base(&s);
    /* Without an SP delta the walk can only follow the chain, which skips
     * the caller: what every case above would give without the table. */
    const uint64_t want[] = {pc(NOSP, 0x10), pc(FA, 0x20), pc(GOEXIT, 1)};
    expect_walk(&e, &s, want[0], want, N(want));
}

static void test_prologue(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    struct stk s;
    const uint64_t rest[] = {pc(FB, 0x20), pc(FA, 0x20), pc(GOEXIT, 1)};
    uint64_t want[4];
    memcpy(want + 1, rest, sizeof rest);

    base(&s); /* at the entry: delta 0 */
    want[0] = pc(FC, 0);
    expect_walk(&e, &s, want[0], want, 4);

    base(&s); /* after PUSHQ BP, before MOVQ SP, BP: delta 8, BP the caller's */
    push(&s, s.bp);
    want[0] = pc(FC, 1);
    expect_walk(&e, &s, want[0], want, 4);

    base(&s); /* after MOVQ SP, BP: delta 8 and the frame is set up */
    push(&s, s.bp);
    s.bp = word_addr(&s, s.sp);
    want[0] = pc(FC, 4);
    expect_walk(&e, &s, want[0], want, 4);
}

static void test_epilogue(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    struct stk s;
    const uint64_t rest[] = {pc(FB, 0x20), pc(FA, 0x20), pc(GOEXIT, 1)};
    uint64_t want[4];
    memcpy(want + 1, rest, sizeof rest);

    base(&s); /* at ADDQ: still the whole frame */
    enter(&s, FC);
    want[0] = pc(FC, 0xf0);
    expect_walk(&e, &s, want[0], want, 4);

    base(&s); /* after ADDQ, at POPQ BP: delta 8, BP still main.c's */
    push(&s, s.bp);
    s.bp = word_addr(&s, s.sp);
    want[0] = pc(FC, 0xfe);
    expect_walk(&e, &s, want[0], want, 4);

    base(&s); /* after POPQ BP, at RET: delta 0, BP main.b's again */
    want[0] = pc(FC, 0xff);
    expect_walk(&e, &s, want[0], want, 4);
}

/* ---- injected calls ------------------------------------------------------- */

static void test_find_injected(void **state)
{
    (void)state;
    struct unwind_env e = env_injected();
    assert_int_equal(e.ninjected, 2);
    assert_int_equal(e.injected[0].lo, pc(ASYNC, 0));
    assert_int_equal(e.injected[0].hi, pc(ASYNC2, 0));
    assert_int_equal(e.injected[1].lo, pc(SIGPANIC, 0));
    assert_int_equal(e.injected[1].hi, pc(GOPANIC, 0));

    /* A table without them (a C-only range or a stripped-down runtime). */
    const struct synth_func one[] = {{.name = "main.x", .entry = 0, .size = 0x10}};
    static const char *const files[] = {"x.go"};
    struct synth_opts o = {.magic = 0xfffffff1u, .text_start = TEXT, .files = files,
                           .nfiles = 1};
    struct synth_pclntab s;
    struct pcln t;
    char err[256];
    assert_int_equal(synth_build(&s, &o, one, 1), 0);
    assert_int_equal(pcln_open(&t, s.blob, s.size, 0, err, sizeof err), 0);
    struct unwind_env e2 = {.tab = &t, .ninjected = 3};
    unwind_find_injected(&e2);
    assert_int_equal(e2.ninjected, 0);
    synth_free(&s);
}

/* main.b -> (interrupted) callee; the signal handler injected a call to
 * entry (asyncPreempt or sigpanic), which called deeper. */
static void injected_stack(struct stk *s, int interrupted, uint32_t at, bool framed,
                           int entry, int deeper)
{
    base(s);
    if (framed)
        enter(s, interrupted);
    push(s, pc(interrupted, at)); /* the interrupted PC, as a return address */
    enter(s, entry);
    call(s, entry, 0x20);
    enter(s, deeper);
}

static void test_injected_asyncpreempt(void **state)
{
    (void)state;
    struct unwind_env e = env_injected();
    struct stk s;
    injected_stack(&s, LEAF, 0x10, false, ASYNC, ASYNC2);
    /* main.leaf was interrupted, not calling: its caller comes from its SP
     * delta, as for a first frame. */
    const uint64_t want[] = {pc(ASYNC2, 0x30), pc(ASYNC, 0x20), pc(LEAF, 0x10),
                             pc(FB, 0x20),     pc(FA, 0x20),    pc(GOEXIT, 1)};
    expect_walk(&e, &s, want[0], want, N(want));

    /* Without knowing asyncPreempt, main.b is lost. */
    struct unwind_env plain = env_plain();
    const uint64_t lost[] = {pc(ASYNC2, 0x30), pc(ASYNC, 0x20), pc(LEAF, 0x10),
                             pc(FA, 0x20), pc(GOEXIT, 1)};
    expect_walk(&plain, &s, lost[0], lost, N(lost));

    /* Interrupted in asyncPreempt itself. */
    base(&s);
    push(&s, pc(LEAF, 0x10));
    enter(&s, ASYNC);
    const uint64_t in_async[] = {pc(ASYNC, 0x40), pc(LEAF, 0x10), pc(FB, 0x20),
                                 pc(FA, 0x20), pc(GOEXIT, 1)};
    expect_walk(&e, &s, in_async[0], in_async, N(in_async));
}

static void test_injected_framed_and_prologue(void **state)
{
    (void)state;
    struct unwind_env e = env_injected();
    struct stk s;
    /* main.c had its frame: the chain is right and nothing is added. */
    injected_stack(&s, FC, 0x30, true, ASYNC, ASYNC2);
    const uint64_t framed[] = {pc(ASYNC2, 0x30), pc(ASYNC, 0x20), pc(FC, 0x30),
                               pc(FB, 0x20),     pc(FA, 0x20),    pc(GOEXIT, 1)};
    expect_walk(&e, &s, framed[0], framed, N(framed));

    /* main.c preempted between PUSHQ BP and MOVQ SP, BP. */
    base(&s);
    push(&s, s.bp);
    push(&s, pc(FC, 1));
    enter(&s, ASYNC);
    call(&s, ASYNC, 0x20);
    enter(&s, ASYNC2);
    const uint64_t pro[] = {pc(ASYNC2, 0x30), pc(ASYNC, 0x20), pc(FC, 1),
                            pc(FB, 0x20),     pc(FA, 0x20),    pc(GOEXIT, 1)};
    expect_walk(&e, &s, pro[0], pro, N(pro));
}

static void test_injected_sigpanic(void **state)
{
    (void)state;
    struct unwind_env e = env_injected();
    struct stk s;
    injected_stack(&s, LEAF, 0x18, false, SIGPANIC, GOPANIC);
    const uint64_t want[] = {pc(GOPANIC, 0x30), pc(SIGPANIC, 0x20), pc(LEAF, 0x18),
                             pc(FB, 0x20),      pc(FA, 0x20),       pc(GOEXIT, 1)};
    expect_walk(&e, &s, want[0], want, N(want));
}

/* ---- limits and bounds ---------------------------------------------------- */

static void test_depth_limit(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    struct stk s;
    base(&s);
    enter(&s, FC);
    const uint64_t all[] = {pc(FC, 0x30), pc(FB, 0x20), pc(FA, 0x20), pc(GOEXIT, 1)};
    struct unwind_regs r = regs(&s, all[0]);
    expect_walk_bounds(&e, &r, stack_lo(&s), stack_hi(&s), 0, all, 0, false);
    for (int max = 1; max < 4; max++)
        expect_walk_bounds(&e, &r, stack_lo(&s), stack_hi(&s), max, all, max, true);
    /* The stack ends exactly at the limit: nothing was cut. */
    expect_walk_bounds(&e, &r, stack_lo(&s), stack_hi(&s), 4, all, 4, false);
    expect_walk_bounds(&e, &r, stack_lo(&s), stack_hi(&s), 5, all, 4, false);
    /* The same with a first frame fixed through the pcsp table. */
    base(&s);
    r = regs(&s, pc(LEAF, 0));
    const uint64_t leaf[] = {pc(LEAF, 0), pc(FB, 0x20)};
    expect_walk_bounds(&e, &r, stack_lo(&s), stack_hi(&s), 1, leaf, 1, true);
    expect_walk_bounds(&e, &r, stack_lo(&s), stack_hi(&s), 2, leaf, 2, true);
}

static void test_no_bounds(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    struct stk s;
    base(&s);
    enter(&s, FC);
    struct unwind_regs r = regs(&s, pc(FC, 0x30));
    const uint64_t only[] = {pc(FC, 0x30)};
    expect_walk_bounds(&e, &r, 0, 0, MAXPCS, only, 1, false);
    /* SP outside the bounds, or bounds too small for one frame. */
    expect_walk_bounds(&e, &r, stack_lo(&s), r.sp, MAXPCS, only, 1, false);
    expect_walk_bounds(&e, &r, r.sp + 8, stack_hi(&s), MAXPCS, only, 1, false);
    expect_walk_bounds(&e, &r, r.sp, r.sp + 8, MAXPCS, only, 1, false);
    expect_walk_bounds(&e, &r, stack_hi(&s), stack_lo(&s), MAXPCS, only, 1, false);
}

/* A C function (chain walk only) whose frame pointer is bp. */
static void expect_c_walk(const struct stk *s, uint64_t bp, const uint64_t *want, int nwant)
{
    struct unwind_env e = env_plain();
    struct unwind_regs r = {want[0], word_addr(s, s->sp), bp};
    expect_walk_bounds(&e, &r, stack_lo(s), stack_hi(s), MAXPCS, want, nwant, false);
}

static void test_bp_out_of_bounds(void **state)
{
    (void)state;
    struct stk s;
    stk_init(&s);
    s.sp = GUARD + 4;
    /* The top two words of the stack look like a frame. */
    s.mem[GUARD + WORDS - 2] = 0;
    s.mem[GUARD + WORDS - 1] = pc(FA, 0x20);
    const uint64_t one[] = {CLIB_LO + 0x10};
    const uint64_t two[] = {CLIB_LO + 0x10, pc(FA, 0x20)};
    expect_c_walk(&s, stack_hi(&s) - 16, two, 2); /* the last frame that fits */
    expect_c_walk(&s, stack_hi(&s) - 8, one, 1);  /* [bp+8] would be past hi */
    expect_c_walk(&s, stack_hi(&s), one, 1);
    expect_c_walk(&s, stack_hi(&s) + 64, one, 1);
    expect_c_walk(&s, stack_lo(&s) - 16, one, 1); /* below lo */
    expect_c_walk(&s, word_addr(&s, s.sp - 2), one, 1); /* in bounds but below SP */
    expect_c_walk(&s, 0, one, 1);
    expect_c_walk(&s, UINT64_MAX - 7, one, 1);
}

static void test_bp_misaligned(void **state)
{
    (void)state;
    struct stk s;
    stk_init(&s);
    s.sp = GUARD + 4;
    /* A misaligned frame pointer whose 8 bytes at bp+8 straddle two words
     * that together read as a code address: refused all the same. */
    int k = GUARD + 20;
    uint64_t v = pc(FA, 0x20);
    s.mem[k] = (v & 0xffffffffu) << 32;
    s.mem[k + 1] = v >> 32;
    s.mem[k - 1] = 0;
    const uint64_t one[] = {CLIB_LO + 0x10};
    expect_c_walk(&s, word_addr(&s, k - 1) + 4, one, 1);
    /* The same bytes aligned would be followed. */
    s.mem[k] = v;
    const uint64_t two[] = {CLIB_LO + 0x10, v};
    expect_c_walk(&s, word_addr(&s, k - 1), two, 2);
}

static void test_chain_not_increasing(void **state)
{
    (void)state;
    struct stk s;
    stk_init(&s);
    s.sp = GUARD + 4;
    int f1 = GUARD + 10, f2 = GUARD + 20;
    s.mem[f1 + 1] = pc(FC, 0x20);
    s.mem[f2 + 1] = pc(FB, 0x20);
    const uint64_t want[] = {CLIB_LO + 0x10, pc(FC, 0x20), pc(FB, 0x20)};

    s.mem[f1] = word_addr(&s, f2);
    s.mem[f2] = word_addr(&s, f2); /* points at itself */
    expect_c_walk(&s, word_addr(&s, f1), want, 3);
    s.mem[f2] = word_addr(&s, f1); /* points back down */
    expect_c_walk(&s, word_addr(&s, f1), want, 3);
    s.mem[f2] = word_addr(&s, f2 + 1); /* one word up: overlaps the frame just read */
    expect_c_walk(&s, word_addr(&s, f1), want, 3);
    s.mem[f2] = word_addr(&s, f2 + 2); /* just above: a proper frame */
    s.mem[f2 + 3] = pc(FA, 0x20);
    s.mem[f2 + 2] = 0;
    const uint64_t ok[] = {CLIB_LO + 0x10, pc(FC, 0x20), pc(FB, 0x20), pc(FA, 0x20)};
    expect_c_walk(&s, word_addr(&s, f1), ok, 4);
}

static void test_return_address_not_code(void **state)
{
    (void)state;
    struct stk s;
    stk_init(&s);
    s.sp = GUARD + 4;
    int f1 = GUARD + 10, f2 = GUARD + 20;
    s.mem[f1] = word_addr(&s, f2);
    s.mem[f1 + 1] = pc(FC, 0x20);
    s.mem[f2] = 0;
    /* Not code, or code not right after a call instruction. */
    const uint64_t bad[] = {0, 0x1234, TEXT - 1, TEXT_END, CLIB_HI, UINT64_MAX, CLIB_LO,
                            CLIB_LO + 6, CLIB_LO + 0x180, CLIB_LO + 0x201};
    const uint64_t want[] = {CLIB_LO + 0x10, pc(FC, 0x20)};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s.mem[f2 + 1] = bad[i];
        expect_c_walk(&s, word_addr(&s, f1), want, 2);
    }
    /* Both ends of the Go text are code. */
    s.mem[f2 + 1] = TEXT_END - 1;
    const uint64_t last[] = {CLIB_LO + 0x10, pc(FC, 0x20), TEXT_END - 1};
    expect_c_walk(&s, word_addr(&s, f1), last, 3);
    /* In C code, each form of call instruction before the address counts. */
    static const uint32_t after[] = {0x200, 0x300, 0x400};
    for (size_t i = 0; i < sizeof after / sizeof *after; i++) {
        s.mem[f2 + 1] = CLIB_LO + after[i];
        const uint64_t clib[] = {CLIB_LO + 0x10, pc(FC, 0x20), CLIB_LO + after[i]};
        expect_c_walk(&s, word_addr(&s, f1), clib, 3);
    }
}

/* The walk must stop at the interrupted PC. */
static void expect_pc_only(const struct unwind_env *e, const struct unwind_regs *r, uint64_t lo,
                           uint64_t hi)
{
    expect_walk_bounds(e, r, lo, hi, MAXPCS, &r->pc, 1, false);
}

static void test_slot_out_of_bounds(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    struct stk s;
    stk_init(&s);
    /* SP at the last word: a frameless function's return address is that
     * word, but with a delta of 8 or 16 the slot would be past hi, where
     * the canary is. The frame pointer leads nowhere. */
    s.sp = GUARD + WORDS - 1;
    s.mem[s.sp] = pc(FB, 0x20);
    struct unwind_regs r = regs(&s, pc(LEAF, 0x8));
    const uint64_t ok[] = {pc(LEAF, 0x8), pc(FB, 0x20)};
    expect_walk_bounds(&e, &r, stack_lo(&s), stack_hi(&s), MAXPCS, ok, 2, false);
    r.pc = pc(FC, 1); /* delta 8 */
    expect_pc_only(&e, &r, stack_lo(&s), stack_hi(&s));
    r.pc = pc(LEAFL, 0x10); /* delta 16 */
    expect_pc_only(&e, &r, stack_lo(&s), stack_hi(&s));
    /* A negative delta would put the slot below SP (here: below lo). */
    s.sp = GUARD;
    s.mem[s.sp] = pc(FB, 0x20);
    r = regs(&s, pc(NEG, 0x8));
    expect_pc_only(&e, &r, stack_lo(&s), stack_hi(&s));
    /* A huge delta must not wrap around to a slot below SP. */
    r.pc = pc(FA, 0x30);
    r.sp = UINT64_MAX - 0x10;
    expect_pc_only(&e, &r, stack_lo(&s), UINT64_MAX);
}

static void test_c_frames(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    struct stk s;
    /* main.b called a C function (framed, as gcc -fno-omit-frame-pointer
     * does) which called another. */
    base(&s);
    enter(&s, FC); /* same layout: PUSH RBP; MOV RSP, RBP; SUB */
    push(&s, CLIB_LO + 0x100);
    enter(&s, FC);
    const uint64_t want[] = {CLIB_LO + 0x200, CLIB_LO + 0x100, pc(FB, 0x20), pc(FA, 0x20),
                             pc(GOEXIT, 1)};
    expect_walk(&e, &s, want[0], want, N(want));
}

/* ---- stitching at mcall ----------------------------------------------------- */

/* A goroutine that called mcall from gopark, and the g0 stack on which
 * mcall called park_m: g, m and their stacks, laid out with the offsets of
 * a real release. */
struct mcall_scene {
    struct stk gs, z;            /* the goroutine's stack, g0's */
    uint64_t curg[64], g0[64], m[64], other[64];
    struct go_offsets off;
    struct unwind_gctx gc;
    struct unwind_regs r;
};

static void set(uint64_t *obj, uint32_t off, uint64_t v) { obj[off / 8] = v; }

static void mcall_scene(struct mcall_scene *c, bool clear_bp)
{
    memset(c, 0, sizeof *c);
    assert_true(gooffsets_from_table(126, &c->off));
    /* goexit -> main.a -> gopark, which calls mcall(park_m) */
    stk_init(&c->gs);
    call(&c->gs, GOEXIT, 1);
    enter(&c->gs, FA);
    call(&c->gs, FA, 0x20);
    enter(&c->gs, GOPARK);
    uint64_t gopark_bp = c->gs.bp;
    set(c->curg, c->off.g_stack_lo, stack_lo(&c->gs));
    set(c->curg, c->off.g_stack_hi, stack_hi(&c->gs));
    set(c->curg, c->off.g_sched_pc, pc(GOPARK, 0x20)); /* mcall's return address */
    set(c->curg, c->off.g_sched_sp, word_addr(&c->gs, c->gs.sp));
    set(c->curg, c->off.g_sched_bp, gopark_bp);
    set(c->curg, c->off.g_m, (uint64_t)(uintptr_t)c->m);
    /* g0: from g0.sched.sp, mcall pushed gp and called park_m */
    stk_init(&c->z);
    set(c->g0, c->off.g_stack_lo, stack_lo(&c->z));
    set(c->g0, c->off.g_stack_hi, stack_hi(&c->z));
    set(c->g0, c->off.g_sched_sp, word_addr(&c->z, c->z.sp));
    push(&c->z, (uint64_t)(uintptr_t)c->curg);
    call(&c->z, MCALL, 0x10);
    c->z.bp = clear_bp ? 0 : gopark_bp; /* 1.25+ clear BP, older keep gopark's */
    enter(&c->z, PARKM);
    set(c->m, c->off.m_g0, (uint64_t)(uintptr_t)c->g0);
    set(c->m, c->off.m_curg, (uint64_t)(uintptr_t)c->curg);
    c->gc = (struct unwind_gctx){.lo = stack_lo(&c->z), .hi = stack_hi(&c->z), .on_g0 = true,
                                 .off = &c->off, .m = (uint64_t)(uintptr_t)c->m,
                                 .curg = (uint64_t)(uintptr_t)c->curg,
                                 .g0 = (uint64_t)(uintptr_t)c->g0};
    c->r = regs(&c->z, pc(PARKM, 0x30));
}

static void expect_gwalk(const struct unwind_env *e, const struct mcall_scene *c,
                         const uint64_t *want, int nwant)
{
    uint64_t pcs[MAXPCS];
    bool trunc;
    int n = unwind_go(e, &c->r, &c->gc, NULL, pcs, MAXPCS, &trunc);
    for (int i = 0; i < n && i < nwant; i++)
        if (pcs[i] != want[i])
            fail_msg("frame %d: got %#llx, want %#llx", i, (unsigned long long)pcs[i],
                     (unsigned long long)want[i]);
    assert_int_equal(n, nwant);
}

static void test_mcall_stitched(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    unwind_find_specials(&e);
    /* park_m sits under the function that called gopark, whether mcall
     * cleared BP (1.25+) or left gopark's (before) */
    const uint64_t want[] = {pc(PARKM, 0x30), pc(MCALL, 0x10), pc(GOPARK, 0x20), pc(FA, 0x20),
                             pc(GOEXIT, 1)};
    struct mcall_scene c;
    for (int clear = 0; clear <= 1; clear++) {
        mcall_scene(&c, clear);
        expect_gwalk(&e, &c, want, N(want));
    }
}

static void test_mcall_not_stitched(void **state)
{
    (void)state;
    struct unwind_env e = env_plain();
    unwind_find_specials(&e);
    const uint64_t at_mcall[] = {pc(PARKM, 0x30), pc(MCALL, 0x10)};
    struct mcall_scene c;
    /* The scheduler made another goroutine current (execute): the slot
     * mcall pushed still holds the one that parked. */
    mcall_scene(&c, true);
    set(c.m, c.off.m_curg, (uint64_t)(uintptr_t)c.other);
    c.gc.curg = (uint64_t)(uintptr_t)c.other;
    memcpy(c.other, c.curg, sizeof c.other);
    expect_gwalk(&e, &c, at_mcall, N(at_mcall));
    /* The saved SP is not on the goroutine's stack. */
    mcall_scene(&c, true);
    set(c.curg, c.off.g_sched_sp, stack_hi(&c.gs) + 64);
    expect_gwalk(&e, &c, at_mcall, N(at_mcall));
    /* The saved PC is not Go code. */
    mcall_scene(&c, true);
    set(c.curg, c.off.g_sched_pc, CLIB_LO + 0x100);
    expect_gwalk(&e, &c, at_mcall, N(at_mcall));
    /* mcall's frame is not where g0.sched.sp says it starts. */
    mcall_scene(&c, true);
    set(c.g0, c.off.g_sched_sp, stack_hi(&c.z) - 64);
    expect_gwalk(&e, &c, at_mcall, N(at_mcall));
    /* With the stitch, a depth limit that leaves no room for the
     * goroutine's frames truncates the stack. */
    mcall_scene(&c, true);
    uint64_t pcs[2];
    bool trunc = false;
    assert_int_equal(unwind_go(&e, &c.r, &c.gc, NULL, pcs, 2, &trunc), 2);
    assert_true(trunc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framed_chain),
        cmocka_unit_test(test_frameless_leaf),
        cmocka_unit_test(test_frameless_with_locals),
        cmocka_unit_test(test_no_pcsp_falls_back_to_chain),
        cmocka_unit_test(test_prologue),
        cmocka_unit_test(test_epilogue),
        cmocka_unit_test(test_find_injected),
        cmocka_unit_test(test_injected_asyncpreempt),
        cmocka_unit_test(test_injected_framed_and_prologue),
        cmocka_unit_test(test_injected_sigpanic),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_no_bounds),
        cmocka_unit_test(test_bp_out_of_bounds),
        cmocka_unit_test(test_bp_misaligned),
        cmocka_unit_test(test_chain_not_increasing),
        cmocka_unit_test(test_return_address_not_code),
        cmocka_unit_test(test_slot_out_of_bounds),
        cmocka_unit_test(test_c_frames),
        cmocka_unit_test(test_mcall_stitched),
        cmocka_unit_test(test_mcall_not_stitched),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
