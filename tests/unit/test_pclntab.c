/* Unit tests of common/pclntab.c on synthetic tables (synth_pclntab.c) in
 * the Go 1.18/1.19 and Go 1.20+ layouts, the latter with the header's
 * textStart set (Go 1.20-1.25) and zero (Go 1.26, text start passed in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pclntab.h"
#include "synth_pclntab.h"

#define TEXT 0x401000u

struct layout {
    uint32_t magic;
    uint64_t header_text; /* textStart written to the header */
    uint64_t pass_text;   /* text start given to pcln_open */
};

static const struct layout L118 = {PCLN_MAGIC_GO118, TEXT, 0};
static const struct layout L120 = {PCLN_MAGIC_GO120, TEXT, 0};
static const struct layout L126 = {PCLN_MAGIC_GO120, 0, TEXT};

static const char *const FILES[] = {"/src/a.go", "/src/inner.go", "/src/mid.go",
                                    "/src/outer.go"};

/* main.outer inlines main.mid at 0x08, which inlines main.inner at 0x24:
 * [0x10,0x20) is inner's code, [0x20,0x30) mid's, the rest outer's. */
static const struct synth_inl OUTER_INL[] = {
    {.name = "main.mid", .parent_pc = 0x08, .start_line = 40, .parent = -1, .file = 3,
     .line = 31},
    {.name = "main.inner", .parent_pc = 0x24, .start_line = 50, .parent = 0, .file = 2,
     .line = 21},
};

static const struct synth_func FUNCS[] = {
    {.name = "main.first", .entry = 0x20, .size = 0x30, .pcsp = SYNTH_STEPS({0, 0}),
     .pcfile = SYNTH_STEPS({0, 0}), .pcln = SYNTH_STEPS({0, 5}, {0x10, 6}), .start_line = 4,
     .funcid = 0, .flag = PCLN_FLAG_ASM},
    /* PUSHQ BP (1 byte); MOVQ SP, BP (3); SUBQ $0x20, SP (4); body;
     * ADDQ $0x20, SP (4) at 0x3a; POPQ BP at 0x3e; RET at 0x3f. */
    {.name = "main.prologue", .entry = 0x60, .size = 0x40,
     .pcsp = SYNTH_STEPS({0, 0}, {1, 8}, {8, 0x28}, {0x3e, 8}, {0x3f, 0}),
     .pcfile = SYNTH_STEPS({0, 0}), .pcln = SYNTH_STEPS({0, 10}, {8, 11}, {0x20, 12}, {0x3a, 13}),
     .start_line = 10, .funcid = 7, .flag = PCLN_FLAG_SPWRITE},
    {.name = "main.outer", .entry = 0x100, .size = 0x80,
     .pcsp = SYNTH_STEPS({0, 0}, {1, 8}, {8, 0x48}, {0x7e, 8}, {0x7f, 0}),
     .pcfile = SYNTH_STEPS({0, 3}, {0x10, 1}, {0x20, 2}, {0x30, 3}),
     .pcln = SYNTH_STEPS({0, 30}, {0x08, 31}, {0x0c, 32}, {0x10, 51}, {0x18, 52}, {0x20, 20},
                         {0x24, 21}, {0x28, 22}, {0x30, 33}),
     .pcinl = SYNTH_STEPS({0, -1}, {0x10, 1}, {0x20, 0}, {0x30, -1}), .inl = OUTER_INL,
     .ninl = 2, .start_line = 29},
    /* cu_offset 1: its file 0 is cutab[1]. */
    {.name = "main.last", .entry = 0x200, .size = 0x10, .pcsp = SYNTH_STEPS({0, 0}),
     .pcfile = SYNTH_STEPS({0, 0}), .pcln = SYNTH_STEPS({0, 99}), .cu_offset = 1,
     .start_line = 98, .funcid = 3, .flag = PCLN_FLAG_TOPFRAME},
    /* no pc-value tables at all */
    {.name = "main.bare", .entry = 0x210, .size = 0x10},
};
#define NFUNCS ((int)(sizeof FUNCS / sizeof *FUNCS))
#define F_FIRST 0
#define F_PROLOGUE 1
#define F_OUTER 2
#define F_LAST 3
#define F_BARE 4
#define TEXT_END (TEXT + 0x220)

struct fx {
    const struct layout *L;
    struct synth_pclntab s;
    struct pcln t;
};

static void build(struct synth_pclntab *s, const struct layout *L, uint8_t minlc)
{
    struct synth_opts o = {.magic = L->magic, .text_start = L->header_text, .minlc = minlc,
                           .files = FILES, .nfiles = 4};
    assert_int_equal(synth_build(s, &o, FUNCS, NFUNCS), 0);
}

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->L = *state;
    build(&x->s, x->L, 1);
    char err[256] = "";
    if (pcln_open(&x->t, x->s.blob, x->s.size, x->L->pass_text, err, sizeof err) != 0)
        fail_msg("pcln_open: %s", err);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    synth_free(&x->s);
    free(x);
    return 0;
}

static struct pcln_func find(const struct fx *x, uint64_t pc)
{
    struct pcln_func f;
    if (!pcln_find(&x->t, pc, &f))
        fail_msg("pcln_find(%#llx) found nothing", (unsigned long long)pc);
    return f;
}

static struct pcln_func func_at(const struct fx *x, int i)
{
    return find(x, TEXT + FUNCS[i].entry);
}

static void assert_str(const char *got, const char *want)
{
    assert_non_null(got);
    assert_string_equal(got, want);
}

/* ---- header ---------------------------------------------------------- */

static void test_open_fields(void **state)
{
    struct fx *x = *state;
    const struct pcln *t = &x->t;
    assert_int_equal(t->magic, x->L->magic);
    assert_int_equal(t->minlc, 1);
    assert_int_equal(t->nfunc, NFUNCS);
    assert_int_equal(t->nfiles, 4);
    assert_int_equal(t->text_start, TEXT);
    assert_int_equal(t->header_text_start, x->L->header_text);
    assert_int_equal(t->func_size, x->L->magic == PCLN_MAGIC_GO118 ? 40 : 44);
    assert_int_equal(t->funcname_off, x->s.funcname_off);
    assert_int_equal(t->cu_off, x->s.cu_off);
    assert_int_equal(t->file_off, x->s.file_off);
    assert_int_equal(t->pctab_off, x->s.pctab_off);
    assert_int_equal(t->pcln_off, x->s.pcln_off);
    assert_int_equal(t->funcname_size, x->s.cu_off - x->s.funcname_off);
    assert_int_equal(t->pcln_size, x->s.size - x->s.pcln_off);
    assert_true(pcln_looks_valid(x->s.blob, x->s.size));
}

static uint8_t *blob_copy(const struct fx *x)
{
    uint8_t *b = malloc(x->s.size);
    assert_non_null(b);
    memcpy(b, x->s.blob, x->s.size);
    return b;
}

static void set64(uint8_t *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }
static void set32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }

/* pcln_open must fail with a message containing want. */
static void expect_open_error(const struct fx *x, const uint8_t *b, uint64_t size,
                              const char *want)
{
    struct pcln t;
    char err[256] = "";
    assert_int_equal(pcln_open(&t, b, size, x->L->pass_text, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void expect_open_ok(const struct fx *x, const uint8_t *b, uint64_t size)
{
    struct pcln t;
    char err[256] = "";
    if (pcln_open(&t, b, size, x->L->pass_text, err, sizeof err) != 0)
        fail_msg("pcln_open failed: %s", err);
}

static void test_bad_magic(void **state)
{
    struct fx *x = *state;
    uint8_t *b = blob_copy(x);
    set32(b, 0, 0x12345678);
    expect_open_error(x, b, x->s.size, "bad pclntab magic 0x12345678");
    assert_false(pcln_looks_valid(b, x->s.size));
    set32(b, 0, 0xfffffffb); /* Go 1.2 - 1.15 */
    expect_open_error(x, b, x->s.size, "Go 1.2-1.17");
    set32(b, 0, 0xfffffffa); /* Go 1.16 - 1.17 */
    expect_open_error(x, b, x->s.size, "Go 1.2-1.17");
    assert_false(pcln_looks_valid(b, x->s.size));
    set32(b, 0, 0xfffffff2); /* a future layout we do not know */
    expect_open_error(x, b, x->s.size, "bad pclntab magic");
    free(b);
}

static void test_bad_arch(void **state)
{
    struct fx *x = *state;
    uint8_t *b = blob_copy(x);
    b[7] = 4; /* 32-bit pointers */
    expect_open_error(x, b, x->s.size, "not for a 64-bit target");
    assert_false(pcln_looks_valid(b, x->s.size));
    b[7] = 8;
    b[4] = 1; /* pad must be 0 */
    expect_open_error(x, b, x->s.size, "not for a 64-bit target");
    b[4] = 0;
    b[6] = 3; /* no architecture has this instruction quantum */
    expect_open_error(x, b, x->s.size, "quantum 3");
    assert_false(pcln_looks_valid(b, x->s.size));
    b[6] = 1;
    expect_open_ok(x, b, x->s.size);
    free(b);
}

static void test_truncated_header(void **state)
{
    struct fx *x = *state;
    static const uint64_t sizes[] = {0, 1, 8, 71};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        expect_open_error(x, x->s.blob, sizes[i], "too small");
        assert_false(pcln_looks_valid(x->s.blob, sizes[i]));
    }
    /* A whole header whose sub-tables lie past the end. */
    expect_open_error(x, x->s.blob, 72, "outside the table");
    /* Cut inside the function table: the offsets still fit, nfunc no more. */
    expect_open_error(x, x->s.blob, x->s.pcln_off + 16, "function count");
}

static void test_offsets_out_of_range(void **state)
{
    struct fx *x = *state;
    for (int i = 0; i < 5; i++) {
        uint8_t *b = blob_copy(x);
        uint64_t orig;
        memcpy(&orig, b + 32 + 8 * i, 8);
        set64(b, 32 + 8 * i, x->s.size + 1);
        char want[64];
        snprintf(want, sizeof want, "sub-table offset %d", i);
        expect_open_error(x, b, x->s.size, want);
        set64(b, 32 + 8 * i, 8); /* inside the header */
        expect_open_error(x, b, x->s.size, want);
        set64(b, 32 + 8 * i, UINT64_MAX);
        expect_open_error(x, b, x->s.size, want);
        set64(b, 32 + 8 * i, orig);
        expect_open_ok(x, b, x->s.size);
        free(b);
    }
}

static void test_offsets_out_of_order(void **state)
{
    struct fx *x = *state;
    /* Swap each adjacent pair of sub-table offsets. */
    for (int i = 0; i < 4; i++) {
        uint8_t *b = blob_copy(x);
        uint64_t a, c;
        memcpy(&a, b + 32 + 8 * i, 8);
        memcpy(&c, b + 40 + 8 * i, 8);
        assert_true(a < c);
        set64(b, 32 + 8 * i, c);
        set64(b, 40 + 8 * i, a);
        expect_open_error(x, b, x->s.size, "out of order");
        free(b);
    }
}

static void test_nfunc(void **state)
{
    struct fx *x = *state;
    uint8_t *b = blob_copy(x);
    uint64_t pcln_size = x->s.size - x->s.pcln_off;
    set64(b, 8, 0);
    expect_open_error(x, b, x->s.size, "function count 0");
    assert_false(pcln_looks_valid(b, x->s.size));
    /* nfunc+1 functab entries of 8 bytes must fit in the pcln table. */
    set64(b, 8, pcln_size / 8);
    expect_open_error(x, b, x->s.size, "does not fit");
    set64(b, 8, pcln_size / 8 - 1);
    expect_open_ok(x, b, x->s.size);
    set64(b, 8, UINT64_MAX);
    expect_open_error(x, b, x->s.size, "does not fit");
    set64(b, 8, 1u << 26);
    assert_false(pcln_looks_valid(b, x->s.size));
    /* A pcln table too small to hold even one entry. */
    set64(b, 8, 1);
    expect_open_error(x, b, x->s.pcln_off, "does not fit");
    expect_open_error(x, b, x->s.pcln_off + 7, "does not fit");
    free(b);
}

static void test_text_start(void **state)
{
    struct fx *x = *state;
    struct pcln t;
    char err[256] = "";
    if (x->L->header_text) {
        /* The header's value wins over the one passed in. */
        assert_int_equal(pcln_open(&t, x->s.blob, x->s.size, 0x900000, err, sizeof err), 0);
        assert_int_equal(t.text_start, TEXT);
    } else {
        assert_int_equal(pcln_open(&t, x->s.blob, x->s.size, 0x900000, err, sizeof err), 0);
        assert_int_equal(t.text_start, 0x900000);
        assert_int_equal(t.header_text_start, 0);
        struct pcln_func f;
        assert_true(pcln_find(&t, 0x900000 + FUNCS[F_LAST].entry, &f));
        assert_int_equal(f.entry, 0x900000 + FUNCS[F_LAST].entry);
        /* Nothing to go by: refuse rather than symbolize against 0. */
        assert_int_equal(pcln_open(&t, x->s.blob, x->s.size, 0, err, sizeof err), -1);
        assert_non_null(strstr(err, "no text start"));
    }
}

static void test_funcinfo(void **state)
{
    struct fx *x = *state;
    bool go118 = x->L->magic == PCLN_MAGIC_GO118;
    for (int i = 0; i < NFUNCS; i++) {
        struct pcln_func f = func_at(x, i);
        struct pcln_funcinfo fi;
        assert_true(pcln_info(&x->t, &f, &fi));
        assert_int_equal(fi.name_off, x->s.name_off[i]);
        assert_int_equal(fi.start_line, go118 ? 0 : FUNCS[i].start_line);
        assert_int_equal(fi.funcid, FUNCS[i].funcid);
        assert_int_equal(fi.flag, FUNCS[i].flag);
        assert_int_equal(fi.cu_offset, FUNCS[i].cu_offset);
        assert_int_equal(fi.npcdata, FUNCS[i].pcinl ? 3 : 0);
        assert_int_equal(fi.nfuncdata, FUNCS[i].inl ? 4 : 0);
        assert_int_equal(fi.pcsp == 0, FUNCS[i].pcsp == NULL);
    }
    /* funcdata[FUNCDATA_InlTree] is the tree's offset from gofunc. */
    struct pcln_func f = func_at(x, F_OUTER);
    uint32_t off;
    assert_true(pcln_funcdata(&x->t, &f, PCLN_FUNCDATA_INLTREE, &off));
    assert_int_equal(off, x->s.inl_off[F_OUTER]);
    assert_false(pcln_funcdata(&x->t, &f, 0, &off)); /* ^0: absent */
    assert_false(pcln_funcdata(&x->t, &f, 4, &off)); /* beyond nfuncdata */
    assert_true(pcln_pcdata(&x->t, &f, PCLN_PCDATA_INLTREEINDEX, &off));
    assert_false(pcln_pcdata(&x->t, &f, 0, &off)); /* 0: absent */
    f = func_at(x, F_FIRST);
    assert_false(pcln_funcdata(&x->t, &f, PCLN_FUNCDATA_INLTREE, &off));
    assert_false(pcln_pcdata(&x->t, &f, PCLN_PCDATA_INLTREEINDEX, &off));
}

/* ---- lookups ----------------------------------------------------------- */

static void expect_find(const struct fx *x, uint64_t pc, int i)
{
    struct pcln_func f = find(x, pc);
    uint64_t end = i + 1 < NFUNCS ? FUNCS[i + 1].entry : FUNCS[i].entry + FUNCS[i].size;
    assert_int_equal(f.index, i);
    assert_int_equal(f.entry, TEXT + FUNCS[i].entry);
    assert_int_equal(f.end, TEXT + end);
    assert_str(pcln_func_name(&x->t, &f), FUNCS[i].name);
}

static void test_find(void **state)
{
    struct fx *x = *state;
    struct pcln_func f;
    for (int i = 0; i < NFUNCS; i++) {
        uint64_t e = TEXT + FUNCS[i].entry;
        expect_find(x, e, i);
        expect_find(x, e + FUNCS[i].size / 2, i);
        expect_find(x, e + FUNCS[i].size - 1, i);
    }
    /* A function runs up to the next entry, padding included. */
    expect_find(x, TEXT + 0x50, F_FIRST);
    expect_find(x, TEXT + 0x5f, F_FIRST);
    expect_find(x, TEXT + 0x60, F_PROLOGUE);
    /* Before the first function, and before the text. */
    assert_false(pcln_find(&x->t, TEXT + 0x1f, &f));
    assert_false(pcln_find(&x->t, TEXT, &f));
    assert_false(pcln_find(&x->t, TEXT - 1, &f));
    assert_false(pcln_find(&x->t, 0, &f));
    /* At and after the end of the last function. */
    assert_false(pcln_find(&x->t, TEXT_END, &f));
    assert_false(pcln_find(&x->t, TEXT_END + 1, &f));
    assert_false(pcln_find(&x->t, UINT64_MAX, &f));
    /* Far above: pc - text must not wrap into the table as a u32. */
    assert_false(pcln_find(&x->t, TEXT + 0x100000000ull + 0x30, &f));
}

static void test_sp_delta(void **state)
{
    struct fx *x = *state;
    struct pcln_func f = func_at(x, F_PROLOGUE);
    static const struct {
        uint32_t pc;
        int32_t delta;
    } want[] = {{0, 0},     {1, 8},     {2, 8},  {7, 8},  {8, 0x28},
                {0x20, 0x28}, {0x3d, 0x28}, {0x3e, 8}, {0x3f, 0}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        int32_t d = -99;
        assert_true(pcln_sp_delta(&x->t, &f, f.entry + want[i].pc, &d));
        assert_int_equal(d, want[i].delta);
    }
    int32_t d;
    assert_false(pcln_sp_delta(&x->t, &f, f.entry - 1, &d));
    /* Past the function's own code the table has ended. */
    assert_false(pcln_sp_delta(&x->t, &f, f.entry + 0x40, &d));
    /* No table at all. */
    f = func_at(x, F_BARE);
    assert_false(pcln_sp_delta(&x->t, &f, f.entry, &d));
}

static void test_minlc4(void **state)
{
    struct fx *x = *state;
    /* arm64: pc deltas are in 4-byte instructions. */
    const struct synth_func fns[] = {
        {.name = "a", .entry = 0x40, .size = 0x40,
         .pcsp = SYNTH_STEPS({0, 0}, {4, 16}, {0x38, 0}), .pcfile = SYNTH_STEPS({0, 0}),
         .pcln = SYNTH_STEPS({0, 7})},
    };
    struct synth_opts o = {.magic = x->L->magic, .text_start = x->L->header_text, .minlc = 4,
                           .files = FILES, .nfiles = 1};
    struct synth_pclntab s;
    assert_int_equal(synth_build(&s, &o, fns, 1), 0);
    struct pcln t;
    char err[256];
    assert_int_equal(pcln_open(&t, s.blob, s.size, x->L->pass_text, err, sizeof err), 0);
    assert_int_equal(t.minlc, 4);
    struct pcln_func f;
    assert_true(pcln_find(&t, TEXT + 0x40, &f));
    int32_t d;
    assert_true(pcln_sp_delta(&t, &f, f.entry, &d));
    assert_int_equal(d, 0);
    assert_true(pcln_sp_delta(&t, &f, f.entry + 4, &d));
    assert_int_equal(d, 16);
    assert_true(pcln_sp_delta(&t, &f, f.entry + 0x37, &d));
    assert_int_equal(d, 16);
    assert_true(pcln_sp_delta(&t, &f, f.entry + 0x38, &d));
    assert_int_equal(d, 0);
    synth_free(&s);
}

static void expect_line(const struct fx *x, int fn, uint32_t pc, const char *file, int32_t line)
{
    struct pcln_func f = func_at(x, fn);
    const char *got = NULL;
    int32_t ln = -1;
    if (!pcln_file_line(&x->t, &f, f.entry + pc, &got, &ln))
        fail_msg("no position for %s+%#x", FUNCS[fn].name, pc);
    assert_str(got, file);
    assert_int_equal(ln, line);
}

static void test_file_line(void **state)
{
    struct fx *x = *state;
    expect_line(x, F_FIRST, 0, "/src/a.go", 5);
    expect_line(x, F_FIRST, 0x10, "/src/a.go", 6);
    expect_line(x, F_PROLOGUE, 0x1f, "/src/a.go", 11);
    expect_line(x, F_PROLOGUE, 0x3f, "/src/a.go", 13);
    expect_line(x, F_OUTER, 0, "/src/outer.go", 30);
    expect_line(x, F_OUTER, 0x14, "/src/inner.go", 51);
    expect_line(x, F_OUTER, 0x18, "/src/inner.go", 52);
    expect_line(x, F_OUTER, 0x24, "/src/mid.go", 21);
    expect_line(x, F_OUTER, 0x7f, "/src/outer.go", 33);
    /* cu_offset 1 shifts the file numbers by one. */
    expect_line(x, F_LAST, 0, "/src/inner.go", 99);
    struct pcln_func f = func_at(x, F_BARE);
    const char *file;
    int32_t line;
    assert_false(pcln_file_line(&x->t, &f, f.entry, &file, &line));
}

static void test_file_line_bad_cutab(void **state)
{
    struct fx *x = *state;
    /* File 0 of CU 0 is missing (^0), file 1 of CU 0 is past the cutab. */
    static const int cutab[] = {-1};
    const struct synth_func fns[] = {
        {.name = "a", .entry = 0, .size = 0x20, .pcfile = SYNTH_STEPS({0, 0}, {0x10, 1}),
         .pcln = SYNTH_STEPS({0, 3})},
    };
    struct synth_opts o = {.magic = x->L->magic, .text_start = x->L->header_text,
                           .files = FILES, .nfiles = 1, .cutab = cutab, .ncutab = 1};
    struct synth_pclntab s;
    assert_int_equal(synth_build(&s, &o, fns, 1), 0);
    struct pcln t;
    char err[256];
    assert_int_equal(pcln_open(&t, s.blob, s.size, x->L->pass_text, err, sizeof err), 0);
    struct pcln_func f;
    assert_true(pcln_find(&t, TEXT, &f));
    const char *file;
    int32_t line;
    assert_false(pcln_file_line(&t, &f, TEXT, &file, &line));
    assert_false(pcln_file_line(&t, &f, TEXT + 0x10, &file, &line));
    /* The frame is still reported, with an unknown position. */
    struct pcln_frame fr[2];
    assert_int_equal(pcln_frames(&t, &f, TEXT, NULL, 0, fr, 2), 1);
    assert_str(fr[0].function, "a");
    assert_str(fr[0].file, "?");
    assert_int_equal(fr[0].line, 0);
    synth_free(&s);
}

static void test_name_at(void **state)
{
    struct fx *x = *state;
    const struct pcln *t = &x->t;
    assert_str(pcln_name_at(t, x->s.name_off[F_PROLOGUE]), "main.prologue");
    /* An offset into the middle of a name is its suffix. */
    assert_str(pcln_name_at(t, x->s.name_off[F_PROLOGUE] + 5), "prologue");
    assert_null(pcln_name_at(t, -1));
    assert_null(pcln_name_at(t, INT64_MIN));
    assert_null(pcln_name_at(t, (int64_t)t->funcname_size));
    assert_null(pcln_name_at(t, INT64_MAX));
    /* The last byte of the table is the NUL of its last name. */
    assert_str(pcln_name_at(t, (int64_t)t->funcname_size - 1), "");

    /* Without a NUL the last name would run on into the cutab, where a
     * zero byte follows soon: refused instead. */
    uint8_t *b = blob_copy(x);
    uint64_t last = x->s.name_off[F_BARE];
    for (uint64_t p = last + strlen("main.bare"); p < t->funcname_size; p++)
        b[x->s.funcname_off + p] = 'x'; /* its NUL and the alignment padding */
    struct pcln t2;
    char err[256];
    assert_int_equal(pcln_open(&t2, b, x->s.size, x->L->pass_text, err, sizeof err), 0);
    assert_null(pcln_name_at(&t2, (int64_t)last));
    assert_null(pcln_name_at(&t2, (int64_t)t->funcname_size - 1));
    assert_str(pcln_name_at(&t2, x->s.name_off[F_FIRST]), "main.first");
    struct pcln_func f;
    assert_true(pcln_find(&t2, TEXT + FUNCS[F_BARE].entry, &f));
    assert_null(pcln_func_name(&t2, &f));
    assert_false(pcln_find_name(&t2, "main.bare", &f));
    free(b);
}

static void test_find_name(void **state)
{
    struct fx *x = *state;
    for (int i = 0; i < NFUNCS; i++) {
        struct pcln_func f, g = func_at(x, i);
        assert_true(pcln_find_name(&x->t, FUNCS[i].name, &f));
        assert_int_equal(f.entry, g.entry);
        assert_int_equal(f.end, g.end);
        assert_int_equal(f.off, g.off);
        assert_int_equal(f.index, i);
    }
    struct pcln_func f;
    assert_false(pcln_find_name(&x->t, "main.prolog", &f));
    assert_false(pcln_find_name(&x->t, "main.prologuex", &f));
    assert_false(pcln_find_name(&x->t, "", &f));
    /* Inlined-only functions have names but no functab entry. */
    assert_false(pcln_find_name(&x->t, "main.inner", &f));
}

/* ---- inlining ------------------------------------------------------------ */

struct want_frame {
    const char *function, *file;
    int32_t line, start_line;
    bool inlined;
};

static void expect_frames(const struct fx *x, uint32_t pc, bool expand,
                          const struct want_frame *want, int nwant)
{
    struct pcln_func f = func_at(x, F_OUTER);
    uint64_t size = 0;
    const uint8_t *tree = expand ? synth_inltree(&x->s, F_OUTER, &size) : NULL;
    struct pcln_frame fr[8];
    memset(fr, 0, sizeof fr);
    int n = pcln_frames(&x->t, &f, f.entry + pc, tree, size, fr, 8);
    assert_int_equal(n, nwant);
    bool go118 = x->L->magic == PCLN_MAGIC_GO118;
    for (int i = 0; i < n; i++) {
        assert_str(fr[i].function, want[i].function);
        assert_str(fr[i].file, want[i].file);
        assert_int_equal(fr[i].line, want[i].line);
        assert_int_equal(fr[i].start_line, go118 ? 0 : want[i].start_line);
        assert_int_equal(fr[i].inlined, want[i].inlined);
    }
}

static void test_frames_inline(void **state)
{
    struct fx *x = *state;
    /* Each level's position is the outer function's at the PC of that
     * level: the innermost at pc, the others at their call sites. */
    const struct want_frame in_inner[] = {
        {"main.inner", "/src/inner.go", 52, 50, true},
        {"main.mid", "/src/mid.go", 21, 40, true},
        {"main.outer", "/src/outer.go", 31, 29, false},
    };
    expect_frames(x, 0x18, true, in_inner, 3);
    const struct want_frame in_mid[] = {
        {"main.mid", "/src/mid.go", 22, 40, true},
        {"main.outer", "/src/outer.go", 31, 29, false},
    };
    expect_frames(x, 0x2a, true, in_mid, 2);
    const struct want_frame in_outer[] = {{"main.outer", "/src/outer.go", 33, 29, false}};
    expect_frames(x, 0x40, true, in_outer, 1);
    const struct want_frame before_call[] = {{"main.outer", "/src/outer.go", 32, 29, false}};
    expect_frames(x, 0x0c, true, before_call, 1);
}

static void test_frames_no_inline(void **state)
{
    struct fx *x = *state;
    /* Not expanded: the outer function at the innermost position, which is
     * what go tool addr2line prints too. */
    const struct want_frame w[] = {{"main.outer", "/src/inner.go", 52, 29, false}};
    expect_frames(x, 0x18, false, w, 1);
    /* A function without an inline tree expands to itself. */
    struct pcln_func f = func_at(x, F_PROLOGUE);
    uint64_t size;
    const uint8_t *tree = synth_inltree(&x->s, F_OUTER, &size);
    struct pcln_frame fr[4];
    assert_int_equal(pcln_frames(&x->t, &f, f.entry + 0x20, tree, size, fr, 4), 1);
    assert_str(fr[0].function, "main.prologue");
    assert_int_equal(fr[0].line, 12);
    assert_false(fr[0].inlined);
}

static void test_frames_limits(void **state)
{
    struct fx *x = *state;
    struct pcln_func f = func_at(x, F_OUTER);
    uint64_t size;
    const uint8_t *tree = synth_inltree(&x->s, F_OUTER, &size);
    struct pcln_frame fr[4];
    assert_int_equal(pcln_frames(&x->t, &f, f.entry + 0x18, tree, size, fr, 0), 0);
    /* max 1 still names the function the code belongs to. */
    assert_int_equal(pcln_frames(&x->t, &f, f.entry + 0x18, tree, size, fr, 1), 1);
    assert_str(fr[0].function, "main.outer");
    assert_false(fr[0].inlined);
    assert_int_equal(pcln_frames(&x->t, &f, f.entry + 0x18, tree, size, fr, 2), 2);
    assert_str(fr[0].function, "main.inner");
    assert_str(fr[1].function, "main.outer");
    /* A tree cut short of the entry the pc needs: stop expanding there. */
    unsigned rec = x->L->magic == PCLN_MAGIC_GO118 ? 20 : 16;
    assert_int_equal(size, 2 * rec);
    assert_int_equal(pcln_frames(&x->t, &f, f.entry + 0x18, tree, rec, fr, 4), 1);
    assert_str(fr[0].function, "main.outer");
    assert_int_equal(pcln_frames(&x->t, &f, f.entry + 0x2a, tree, rec, fr, 4), 2);
    assert_str(fr[0].function, "main.mid");
}

static void test_frames_corrupt_tree(void **state)
{
    struct fx *x = *state;
    /* Entry 0's parent PC is its own code (a loop), entry 1's is negative
     * and entry 2's past the function. */
    static const struct synth_inl bad[] = {
        {.name = "main.self", .parent_pc = 0x4},
        {.name = "main.neg", .parent_pc = -1},
        {.name = "main.past", .parent_pc = 0x10},
    };
    const struct synth_func fns[] = {
        {.name = "main.f", .entry = 0, .size = 0x10, .pcfile = SYNTH_STEPS({0, 0}),
         .pcln = SYNTH_STEPS({0, 1}, {8, 2}, {0xc, 3}),
         .pcinl = SYNTH_STEPS({0, 0}, {8, 1}, {0xc, 2}), .inl = bad, .ninl = 3},
    };
    struct synth_opts o = {.magic = x->L->magic, .text_start = x->L->header_text,
                           .files = FILES, .nfiles = 1};
    struct synth_pclntab s;
    assert_int_equal(synth_build(&s, &o, fns, 1), 0);
    struct pcln t;
    char err[256];
    assert_int_equal(pcln_open(&t, s.blob, s.size, x->L->pass_text, err, sizeof err), 0);
    struct pcln_func f;
    assert_true(pcln_find(&t, TEXT + 2, &f));
    uint64_t size;
    const uint8_t *tree = synth_inltree(&s, 0, &size);
    static struct pcln_frame fr[1000];
    /* The loop must end. */
    int n = pcln_frames(&t, &f, TEXT + 2, tree, size, fr, 1000);
    assert_true(n > 1 && n <= 257);
    assert_str(fr[0].function, "main.self");
    assert_str(fr[n - 1].function, "main.f");
    /* A call site outside the function ends the expansion; the function
     * keeps the last position that was known. */
    for (uint64_t pc = TEXT + 9; pc <= TEXT + 0xd; pc += 4) {
        assert_int_equal(pcln_frames(&t, &f, pc, tree, size, fr, 1000), 2);
        assert_str(fr[0].function, pc == TEXT + 9 ? "main.neg" : "main.past");
        assert_str(fr[1].function, "main.f");
        assert_str(fr[1].file, "/src/a.go");
        assert_int_equal(fr[1].line, pc == TEXT + 9 ? 2 : 3);
    }
    synth_free(&s);
}

static void test_functab_corrupt(void **state)
{
    struct fx *x = *state;
    uint8_t *b = blob_copy(x);
    struct pcln t;
    char err[256];
    struct pcln_func f;
    uint64_t ft = x->s.pcln_off;
    /* main.prologue's funcoff points at main.outer's record, whose entry
     * does not match: not attributed to the wrong function. */
    uint32_t outer_funcoff;
    memcpy(&outer_funcoff, b + ft + F_OUTER * 8 + 4, 4);
    set32(b, ft + F_PROLOGUE * 8 + 4, outer_funcoff);
    assert_int_equal(pcln_open(&t, b, x->s.size, x->L->pass_text, err, sizeof err), 0);
    assert_false(pcln_find(&t, TEXT + FUNCS[F_PROLOGUE].entry + 4, &f));
    assert_true(pcln_find(&t, TEXT + FUNCS[F_OUTER].entry + 4, &f));
    assert_int_equal(f.index, F_OUTER);
    /* funcoff past the table */
    set32(b, ft + F_PROLOGUE * 8 + 4, UINT32_MAX - 8);
    assert_false(pcln_find(&t, TEXT + FUNCS[F_PROLOGUE].entry + 4, &f));
    /* An absurd npcdata makes the record unusable. */
    memcpy(b, x->s.blob, x->s.size);
    uint64_t rec = x->s.pcln_off + x->s.funcs_off; /* main.first's _func */
    set32(b, rec + 28, 5000);
    assert_true(pcln_find(&t, TEXT + FUNCS[F_FIRST].entry, &f));
    struct pcln_funcinfo fi;
    assert_false(pcln_info(&t, &f, &fi));
    int32_t d;
    assert_false(pcln_sp_delta(&t, &f, f.entry, &d));
    free(b);
}

/* ---- corruption ---------------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    /* xorshift64: reproducible runs without depending on libc's rand */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* How far the corrupt tables got, so that a test whose every table was
 * refused by pcln_open (and so proved nothing) fails. */
static struct {
    int opened, found, inlined;
} reach;

/* A string the reader returned lies in [base, base+size), NUL included. */
static void assert_in_blob(const char *s, const uint8_t *base, uint64_t size)
{
    if (!strcmp(s, "?") && (s < (const char *)base || s >= (const char *)base + size))
        return; /* the reader's own placeholder */
    assert_true(s >= (const char *)base && s < (const char *)base + size);
    assert_non_null(memchr(s, 0, (size_t)((const char *)base + size - s)));
}

static void exercise_func(const struct pcln *t, const struct pcln_func *f, uint64_t pc,
                          const uint8_t *tree, uint64_t tree_size)
{
    int32_t v;
    (void)pcln_sp_delta(t, f, pc, &v);
    const char *file, *name = pcln_func_name(t, f);
    if (name)
        assert_in_blob(name, t->base, t->size);
    int32_t line;
    if (pcln_file_line(t, f, pc, &file, &line))
        assert_in_blob(file, t->base, t->size);
    uint32_t off;
    for (unsigned i = 0; i < 6; i++) {
        (void)pcln_pcdata(t, f, i, &off);
        (void)pcln_funcdata(t, f, i, &off);
    }
    struct pcln_frame fr[8];
    int max = 1 + (int)(rnd() % 8);
    int n = pcln_frames(t, f, pc, tree, tree_size, fr, max);
    assert_true(n >= 0 && n <= max);
    reach.inlined += n > 1;
    for (int i = 0; i < n; i++) {
        assert_in_blob(fr[i].function, t->base, t->size);
        assert_in_blob(fr[i].file, t->base, t->size);
    }
}

/* Runs every lookup over a table that may be corrupt. Reads outside
 * [data, data+size) hit a guard page (see guarded_copy) and crash. */
static void exercise(const uint8_t *data, uint64_t size, uint64_t pass_text,
                     const uint8_t *tree, uint64_t tree_size)
{
    struct pcln t;
    char err[256];
    if (pcln_open(&t, data, size, pass_text, err, sizeof err) != 0)
        return;
    assert_true(t.base == data && t.size == size);
    reach.opened++;
    for (int k = 0; k < 40; k++) {
        uint64_t pc = k < NFUNCS ? TEXT + FUNCS[k].entry : TEXT + rnd() % 0x240;
        if (k == 39)
            pc = rnd();
        struct pcln_func f;
        if (pcln_find(&t, pc, &f)) {
            assert_true(f.entry <= pc && pc < f.end);
            reach.found++;
            exercise_func(&t, &f, pc, tree, tree_size);
        }
    }
    for (int k = 0; k < 8; k++) {
        const char *s = pcln_name_at(&t, (int64_t)(rnd() % (t.funcname_size + 8)) - 4);
        if (s)
            assert_in_blob(s, data, size);
    }
    struct pcln_func f;
    if (pcln_find_name(&t, FUNCS[rnd() % NFUNCS].name, &f))
        exercise_func(&t, &f, f.entry, tree, tree_size);
}

static void exercise_guarded(const uint8_t *data, uint64_t size, uint64_t pass_text,
                             const uint8_t *tree, uint64_t tree_size, bool at_end)
{
    struct guarded g, gt;
    assert_int_equal(guarded_copy(&g, data, size, at_end), 0);
    assert_int_equal(guarded_copy(&gt, tree, tree_size, at_end), 0);
    exercise(g.p, size, pass_text, gt.p, tree_size);
    guarded_free(&gt);
    guarded_free(&g);
}

static void test_corrupt_bitflips(void **state)
{
    struct fx *x = *state;
    uint64_t tsize;
    const uint8_t *tree = synth_inltree(&x->s, F_OUTER, &tsize);
    uint8_t *b = malloc(x->s.size), *tb = malloc(tsize);
    assert_non_null(b);
    assert_non_null(tb);
    rng_state = 0x9e3779b97f4a7c15ull ^ x->L->magic ^ x->L->header_text;
    memset(&reach, 0, sizeof reach);
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(b, x->s.blob, x->s.size);
        memcpy(tb, tree, tsize);
        int flips = 1 + (int)(rnd() % 6);
        for (int k = 0; k < flips; k++) {
            /* Half of the flips land past the header, where they survive
             * pcln_open and reach the lookups. */
            uint64_t pos = k % 2 ? 72 + rnd() % (x->s.size - 72) : rnd() % x->s.size;
            b[pos] ^= (uint8_t)(1u << (rnd() % 8));
        }
        if (iter % 3 == 0)
            tb[rnd() % tsize] ^= (uint8_t)(1u << (rnd() % 8));
        exercise_guarded(b, x->s.size, x->L->pass_text, tb, tsize, iter % 2);
    }
    /* Whole bytes set to extremes, where a bit flip rarely gets. */
    for (int iter = 0; iter < 2000; iter++) {
        memcpy(b, x->s.blob, x->s.size);
        static const uint8_t vals[] = {0x00, 0xff, 0x7f, 0x80};
        for (int k = 0; k < 3; k++)
            b[72 + rnd() % (x->s.size - 72)] = vals[rnd() % 4];
        exercise_guarded(b, x->s.size, x->L->pass_text, tree, tsize, iter % 2);
    }
    free(b);
    free(tb);
    /* Most flips must leave a table that opens and resolves PCs. */
    assert_true(reach.opened > 2500);
    assert_true(reach.found > 2500 * 20);
    assert_true(reach.inlined > 100);
}

static void test_corrupt_truncated(void **state)
{
    struct fx *x = *state;
    uint64_t tsize;
    const uint8_t *tree = synth_inltree(&x->s, F_OUTER, &tsize);
    rng_state = 0x243f6a8885a308d3ull ^ x->L->magic;
    memset(&reach, 0, sizeof reach);
    for (uint64_t size = 0; size <= x->s.size; size++) {
        exercise_guarded(x->s.blob, size, x->L->pass_text, tree, tsize, true);
        /* and the inline tree cut short */
        exercise_guarded(x->s.blob, x->s.size, x->L->pass_text, tree, size % (tsize + 1), true);
    }
    /* Cuts inside the _func records still open (the functab is whole)
     * and must stay safe; the tree cuts all resolve PCs. */
    uint64_t funcs_start = x->s.pcln_off + x->s.funcs_off;
    assert_true(reach.opened >= (int)(x->s.size - funcs_start) + (int)x->s.size);
    assert_true(reach.inlined > 0);
}

#define VARIANTS(f)                                                              \
    {#f " go1.18", f, setup, teardown, (void *)&L118},                           \
        {#f " go1.20", f, setup, teardown, (void *)&L120},                       \
        {#f " go1.26", f, setup, teardown, (void *)&L126}

int main(void)
{
    const struct CMUnitTest tests[] = {
        VARIANTS(test_open_fields),
        VARIANTS(test_bad_magic),
        VARIANTS(test_bad_arch),
        VARIANTS(test_truncated_header),
        VARIANTS(test_offsets_out_of_range),
        VARIANTS(test_offsets_out_of_order),
        VARIANTS(test_nfunc),
        VARIANTS(test_text_start),
        VARIANTS(test_funcinfo),
        VARIANTS(test_find),
        VARIANTS(test_sp_delta),
        VARIANTS(test_minlc4),
        VARIANTS(test_file_line),
        VARIANTS(test_file_line_bad_cutab),
        VARIANTS(test_name_at),
        VARIANTS(test_find_name),
        VARIANTS(test_frames_inline),
        VARIANTS(test_frames_no_inline),
        VARIANTS(test_frames_limits),
        VARIANTS(test_frames_corrupt_tree),
        VARIANTS(test_functab_corrupt),
        VARIANTS(test_corrupt_bitflips),
        VARIANTS(test_corrupt_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
