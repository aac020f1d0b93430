/* Unit tests of how return addresses are symbolized (symbolize() in
 * tools/symbolize.c, and loc_for in tools/report.c, which says which PC of
 * a recorded stack is which): a return address stands for the call before
 * it and is symbolized at pc-1; the interrupted PC, a stack's leaf, as it
 * is. The addresses are the ones where that makes a difference: a return
 * address that is the first byte of a new line, of the code after an
 * inlined call, or of the next function (a call as a function's last
 * instruction, as C code calling a noreturn function ends). One exception:
 * a return address at a Go function's entry is a PC the runtime saved as if
 * returning there (systemstack_switch before Go 1.21), and Go's traceback
 * does not move it either.
 *
 * The functions live in a small synthetic Go executable (synth_elf.c)
 * written to a temporary directory, with Go code symbolized from its
 * pclntab and C code from its symbol table, as goprof-report does. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pclntab.h"
#include "report.h"
#include "sample_format.h"
#include "symbolize.h"
#include "synth_elf.h"
#include "synth_pclntab.h"

#define T SYNTH_ELF_TEXT

static const char *const FILES[] = {"/src/main.go", "/src/inlined.go"};

/* main.caller inlines main.inlined at its line 22 (pc 0x10). */
static const struct synth_inl CALLER_INL[] = {
    {.name = "main.inlined", .parent_pc = 0x10, .start_line = 30, .parent = -1, .file = 0,
     .line = 22},
};

static const struct synth_func FUNCS[] = {
    /* A call at [0x0b,0x10) on line 21 returns to 0x10, the first byte of
     * line 22; the inlined body [0x18,0x20) ends with a call that returns
     * to 0x20, main.caller's own line 23. */
    {.name = "main.caller", .entry = 0x00, .size = 0x40, .pcsp = SYNTH_STEPS({0, 0}),
     .pcfile = SYNTH_STEPS({0, 0}, {0x18, 1}, {0x20, 0}),
     .pcln = SYNTH_STEPS({0, 20}, {0x08, 21}, {0x10, 22}, {0x18, 31}, {0x20, 23}),
     .pcinl = SYNTH_STEPS({0, -1}, {0x18, 0}, {0x20, -1}), .inl = CALLER_INL, .ninl = 1,
     .start_line = 19},
    {.name = "runtime.systemstack_switch", .entry = 0x40, .size = 0x20,
     .pcsp = SYNTH_STEPS({0, 0}), .pcfile = SYNTH_STEPS({0, 0}), .pcln = SYNTH_STEPS({0, 50}),
     .start_line = 49},
    /* The last Go function ends with a call at [0x7b,0x80), line 61. */
    {.name = "main.last", .entry = 0x60, .size = 0x20, .pcsp = SYNTH_STEPS({0, 0}),
     .pcfile = SYNTH_STEPS({0, 0}), .pcln = SYNTH_STEPS({0, 60}, {0x18, 61}), .start_line = 59},
};
#define NFUNCS ((int)(sizeof FUNCS / sizeof *FUNCS))

/* C after the Go text: c_noreturn ends with a call at [0x9b,0xa0). */
static const struct synth_csym CSYMS[] = {{"c_noreturn", 0x80, 0x20}, {"c_next", 0xa0, 0x20}};

/* What each address is, as a return address and as the interrupted PC:
 * frames innermost first, "function file:line" for Go, "function (C)". */
static const struct {
    uint32_t off;
    const char *as_return, *as_leaf;
} CASES[] = {
    {0x10, "main.caller /src/main.go:21", "main.caller /src/main.go:22"},
    {0x20, "main.inlined /src/inlined.go:31 (inlined);main.caller /src/main.go:22",
     "main.caller /src/main.go:23"},
    {0x80, "main.last /src/main.go:61", "c_noreturn (C)"},
    {0xa0, "c_noreturn (C)", "c_next (C)"},
    {0x40, "runtime.systemstack_switch /src/main.go:50",
     "runtime.systemstack_switch /src/main.go:50"},
    {0x0c, "main.caller /src/main.go:21", "main.caller /src/main.go:21"},
};
#define NCASES ((int)(sizeof CASES / sizeof *CASES))

struct fx {
    char dir[64], exe[96], samples[96];
    size_t exe_size;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    snprintf(x->dir, sizeof x->dir, "/tmp/goprof-symbolize-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    snprintf(x->exe, sizeof x->exe, "%s/app", x->dir);
    snprintf(x->samples, sizeof x->samples, "%s/samples.zst", x->dir);
    struct synth_opts so = {.magic = PCLN_MAGIC_GO120, .text_start = T, .files = FILES,
                            .nfiles = 2};
    struct synth_pclntab s;
    assert_int_equal(synth_build(&s, &so, FUNCS, NFUNCS), 0);
    struct synth_elf_opts eo = {.tab = &s, .fns = FUNCS, .nfns = NFUNCS, .csyms = CSYMS,
                                .ncsyms = 2, .etext = 0x80, .go_version = "go1.22.1"};
    uint8_t *elf = synth_elf(&eo, &x->exe_size);
    assert_non_null(elf);
    assert_int_equal(synth_write_file(x->exe, elf, x->exe_size), 0);
    free(elf);
    synth_free(&s);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    unlink(x->samples);
    unlink(x->exe);
    rmdir(x->dir);
    free(x);
    return 0;
}

static void append(char *out, size_t outlen, const char *fn, const char *file, int32_t line,
                   bool inlined, bool c)
{
    size_t l = strlen(out);
    if (c)
        snprintf(out + l, outlen - l, "%s%s (C)", l ? ";" : "", fn);
    else
        snprintf(out + l, outlen - l, "%s%s %s:%d%s", l ? ";" : "", fn, file, line,
                 inlined ? " (inlined)" : "");
}

static void test_symbolize_return_addresses(void **state)
{
    struct fx *x = *state;
    struct symbolizer *sym = symbolizer_new(true);
    assert_non_null(sym);
    char err[512] = "";
    struct binary *b = symbolizer_binary(sym, x->exe, err, sizeof err);
    if (!b)
        fail_msg("%s", err);
    assert_true(b->is_go);
    for (int i = 0; i < NCASES; i++)
        for (int ret = 0; ret < 2; ret++) {
            struct sym_frame fr[8];
            int n = symbolize(sym, b, T + CASES[i].off, ret, fr, 8);
            char got[512] = "";
            for (int k = 0; k < n; k++)
                append(got, sizeof got, fr[k].function, fr[k].file, fr[k].line, fr[k].inlined,
                       fr[k].kind == FRAME_C);
            const char *want = ret ? CASES[i].as_return : CASES[i].as_leaf;
            if (strcmp(got, want) != 0)
                fail_msg("text+%#x as %s: got \"%s\", want \"%s\"", CASES[i].off,
                         ret ? "a return address" : "the interrupted PC", got, want);
        }
    symbolizer_free(sym);
}

/* Recorded stacks, leaf first, each with its own weight to find it by. */
static const uint64_t STACKS[][4] = {
    {T + 0x10, T + 0xa0},
    {T + 0x30, T + 0x10, T + 0x80},
    {T + 0xa0, T + 0x20, T + 0x40},
};
static const uint32_t STACK_LEN[] = {2, 3, 3};
static const char *const STACK_WANT[] = {
    "main.caller /src/main.go:22;c_noreturn (C)",
    "main.caller /src/main.go:23;main.caller /src/main.go:21;main.last /src/main.go:61",
    "c_next (C);main.inlined /src/inlined.go:31 (inlined);main.caller /src/main.go:22;"
    "runtime.systemstack_switch /src/main.go:50",
};
#define NSTACKS 3

static void write_samples(const struct fx *x)
{
    int fd = open(x->samples, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    struct sfw *w = sfw_open(fd, 3);
    assert_non_null(w);
    struct sf_header h = {.pid = 42, .start_unix_ns = 1700000000000000000ull,
                          .start_mono_ns = 1000000000ull, .hz = 1000, .period_ns = 1000000,
                          .source = SF_SOURCE_PERF, .depth_limit = 64, .unwind = SF_UNWIND_GO,
                          .exe_path = x->exe, .build_id = "", .go_version = "go1.22.1",
                          .go_build_id = "", .cmdline = "app", .hostname = "h"};
    sfw_header(w, &h);
    struct sf_mapping m = {SYNTH_ELF_BASE, SYNTH_ELF_BASE + x->exe_size, 0,
                           SF_MAP_EXEC | SF_MAP_MAIN, x->exe, ""};
    sfw_mapping(w, &m);
    sfw_thread(w, 0, 4242, "app");
    for (int i = 0; i < NSTACKS; i++) {
        sfw_stack(w, (uint64_t)i, 0, STACKS[i], STACK_LEN[i]);
        sfw_sample(w, (uint64_t)i, 0, 1, h.start_mono_ns + 1000u * (unsigned)i,
                   (uint64_t)i + 1);
    }
    struct sf_counters k = {.signals = 6, .samples = 6, .threads = 1};
    sfw_counters(w, &k);
    sfw_trailer(w, h.start_unix_ns + 1000000, h.start_mono_ns + 1000000);
    assert_int_equal(sfw_flush(w), 0);
    assert_null(sfw_error(w));
    sfw_close(w);
    close(fd);
}

/* The same PCs through goprof-report's model: the leaf of each recorded
 * stack is the interrupted PC, every other PC a return address, and one
 * PC that is both in different stacks gets two locations. */
static void test_report_locations(void **state)
{
    struct fx *x = *state;
    write_samples(x);
    struct report r;
    struct report_opts o = {.expand_inline = true, .quiet = true};
    char *files[] = {x->samples};
    char err[512] = "";
    if (report_build(&r, files, 1, &o, err, sizeof err) != 0)
        fail_msg("report_build: %s", err);
    assert_int_equal(r.nsamples, NSTACKS);
    for (size_t i = 0; i < r.nsamples; i++) {
        const struct rp_sample *s = &r.samples[i];
        assert_true(s->count >= 1 && s->count <= NSTACKS);
        char got[1024] = "";
        for (uint32_t k = 0; k < s->nlocs; k++) {
            const struct rp_loc *l = &r.locs[r.loc_ids[s->loc_off + k]];
            for (uint32_t j = 0; j < l->nlines; j++) {
                const struct rp_line *ln = &r.lines[l->line_off + j];
                const struct rp_func *f = &r.funcs[ln->func];
                append(got, sizeof got, f->name, f->file, ln->line, j + 1 < l->nlines,
                       f->kind == FRAME_C);
            }
        }
        const char *want = STACK_WANT[s->count - 1];
        if (strcmp(got, want) != 0)
            fail_msg("stack %llu: got \"%s\", want \"%s\"", (unsigned long long)s->count - 1,
                     got, want);
    }
    report_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_symbolize_return_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_locations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
