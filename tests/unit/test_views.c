/* Unit tests of the human views and the filters of goprof-report, on a
 * report built by hand: the flame tree (tools/flame.c) and its colour
 * classes, the SVG writer (tools/out_svg.c, tools/xmlout.c), the top list
 * (tools/out_top.c), the folded writer's names, the filters
 * (tools/filter.c) and the view options (tools/view_args.c). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "flame.h"
#include "frames.h"
#include "output.h"
#include "report.h"
#include "view_args.h"
#include "xmlout.h"

/* ---- the hand-built report ------------------------------------------------- */

enum {
    F_GOEXIT, F_MAIN, F_WORK, F_LEAF, F_SYSSTACK, F_GCDRAIN, F_CFUNC, F_OTHER, F_LEAF2,
    F_MSTART, F_SCHED, F_WEIRD, NF
};

static struct rp_func funcs[NF] = {
    [F_GOEXIT] = {"runtime.goexit", "asm.s", 1, FRAME_GO},
    [F_MAIN] = {"main.main", "main.go", 1, FRAME_GO},
    [F_WORK] = {"main.work", "main.go", 10, FRAME_GO},
    [F_LEAF] = {"main.leaf", "main.go", 20, FRAME_GO},
    [F_SYSSTACK] = {"runtime.systemstack", "asm.s", 2, FRAME_GO},
    [F_GCDRAIN] = {"runtime.gcDrain", "mgc.go", 3, FRAME_GO},
    [F_CFUNC] = {"c_func", "", 0, FRAME_C},
    [F_OTHER] = {"main.other", "main.go", 30, FRAME_GO},
    [F_LEAF2] = {"main.leaf", "other.go", 5, FRAME_GO}, /* same name, other file */
    [F_MSTART] = {"runtime.mstart", "asm.s", 4, FRAME_GO},
    [F_SCHED] = {"runtime.schedule", "proc.go", 5, FRAME_GO},
    [F_WEIRD] = {"weird <&>\"' \xff name", "", 0, FRAME_C},
};

/* one location per function, and loc NF: main.leaf (other.go) inlined
 * into main.work */
static struct rp_line lines[NF + 2];
static struct rp_loc locs[NF + 1];

enum { L_INLINED = NF };

/* samples, leaf first */
static uint32_t ids[] = {
    F_LEAF, F_WORK, F_MAIN, F_GOEXIT,        /* S0 x6 */
    L_INLINED, F_MAIN, F_GOEXIT,             /* S1 x2: leaf (inlined), work, main */
    F_GCDRAIN, F_SYSSTACK, F_MAIN, F_GOEXIT, /* S2 x3 */
    F_CFUNC, F_WORK, F_MAIN, F_GOEXIT,       /* S3 x4 */
    F_SCHED, F_MSTART,                       /* S4 x1 */
    F_WEIRD,                                 /* S5 x1 */
    F_OTHER, F_MAIN, F_GOEXIT,               /* S6 x3 */
};
static struct rp_sample samples[] = {
    {0, 4, 6, 6000000, 0, 0, ""}, {4, 3, 2, 2000000, 0, 0, ""}, {7, 4, 3, 3000000, 0, 0, ""}, {11, 4, 4, 4000000, 0, 0, ""},
    {15, 2, 1, 1000000, 0, 0, ""}, {17, 1, 1, 1000000, 0, 0, ""}, {18, 3, 3, 3000000, 0, 0, ""},
};
#define TOTAL 20

#define N(a) (sizeof(a) / sizeof *(a))
/* A report over the given arrays. */
#define WIRE(r, fn, ln, lc, id, sm) wire(r, fn, N(fn), ln, N(ln), lc, N(lc), id, N(id), sm, N(sm))

static void wire(struct report *r, struct rp_func *fn, size_t nfn, struct rp_line *ln, size_t nln,
                 struct rp_loc *lc, size_t nlc, uint32_t *id, size_t nid, struct rp_sample *sm,
                 size_t nsm)
{
    memset(r, 0, sizeof *r);
    r->funcs = fn;
    r->nfuncs = nfn;
    r->lines = ln;
    r->nlines = nln;
    r->locs = lc;
    r->nlocs = nlc;
    r->loc_ids = id;
    r->nloc_ids = nid;
    r->samples = sm;
    r->nsamples = nsm;
    for (size_t i = 0; i < nsm; i++)
        r->total_count += sm[i].count;
}

static void make_report(struct report *r)
{
    for (int i = 0; i < NF; i++) {
        lines[i] = (struct rp_line){(uint32_t)i, 1};
        locs[i] = (struct rp_loc){0, 0x1000 + (uint64_t)i, (uint32_t)i, 1, false};
    }
    lines[NF] = (struct rp_line){F_LEAF2, 7};    /* innermost */
    lines[NF + 1] = (struct rp_line){F_WORK, 12}; /* its caller */
    locs[L_INLINED] = (struct rp_loc){0, 0x2000, NF, 2, false};
    WIRE(r, funcs, lines, locs, ids, samples);
    assert_int_equal(r->total_count, TOTAL);
    r->program = "/opt/app/prog";
    r->hz = 1000;
    r->period_ns = 1000000;
    r->start_unix_ns = 1000000000000ull;
    r->end_unix_ns = r->start_unix_ns + 2500000000ull;
    r->dropped = 7;
    r->threads = 3;
    r->nfiles = 1;
    r->source = "perf cpu-clock";
}

/* Output of a writer into a string:
 *     struct capture c;
 *     char *out = captured(&c, write_x(..., capture(&c), c.err, sizeof c.err));
 */
struct capture {
    char *buf;
    size_t len;
    FILE *f;
    char err[256];
};

static FILE *capture(struct capture *c)
{
    memset(c, 0, sizeof *c);
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
    return c->f;
}

static char *captured(struct capture *c, int rc)
{
    fclose(c->f);
    if (rc != 0)
        fail_msg("writer failed: %s", c->err);
    return c->buf;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* ---- frames --------------------------------------------------------------------- */

static void test_sample_funcs(void **state)
{
    (void)state;
    struct report r;
    make_report(&r);
    struct funcbuf b = {0};
    assert_int_equal(sample_funcs(&r, &samples[1], false, &b), 0);
    assert_int_equal(b.n, 4);
    uint32_t root_first[] = {F_GOEXIT, F_MAIN, F_WORK, F_LEAF2};
    assert_memory_equal(b.v, root_first, sizeof root_first);
    assert_int_equal(sample_funcs(&r, &samples[1], true, &b), 0);
    uint32_t leaf_first[] = {F_LEAF2, F_WORK, F_MAIN, F_GOEXIT};
    assert_memory_equal(b.v, leaf_first, sizeof leaf_first);
    funcbuf_free(&b);

    uint32_t *canon = canon_funcs(&r);
    assert_non_null(canon);
    assert_int_equal(canon[F_LEAF2], F_LEAF);
    assert_int_equal(canon[F_LEAF], F_LEAF);
    assert_int_equal(canon[F_WORK], F_WORK);
    free(canon);
}

/* ---- the flame tree -------------------------------------------------------------- */

static const struct flame_node *child_named(const struct flame *fl, const struct report *r,
                                            const struct flame_node *p, const char *name)
{
    for (uint32_t c = p->child; c != FLAME_NONE; c = fl->nodes[c].sibling)
        if (!strcmp(r->funcs[fl->nodes[c].func].name, name))
            return &fl->nodes[c];
    fail_msg("no child %s", name);
    return NULL;
}

static void test_flame_tree(void **state)
{
    (void)state;
    struct report r;
    make_report(&r);
    struct flame fl;
    char err[256];
    assert_int_equal(flame_build(&fl, &r, false, err, sizeof err), 0);
    const struct flame_node *root = &fl.nodes[0];
    assert_int_equal(root->count, TOTAL);
    assert_int_equal(fl.max_depth, 4);
    /* root's children in name order, laid out left to right */
    const char *order[] = {"runtime.goexit", "runtime.mstart", funcs[F_WEIRD].name};
    uint64_t xs[] = {0, 18, 19}, counts[] = {18, 1, 1};
    uint32_t c = root->child;
    for (int i = 0; i < 3; i++, c = fl.nodes[c].sibling) {
        assert_true(c != FLAME_NONE);
        assert_string_equal(r.funcs[fl.nodes[c].func].name, order[i]);
        assert_int_equal(fl.nodes[c].x, xs[i]);
        assert_int_equal(fl.nodes[c].count, counts[i]);
        assert_int_equal(fl.nodes[c].depth, 1);
    }
    assert_int_equal(c, FLAME_NONE);
    const struct flame_node *goexit = child_named(&fl, &r, root, "runtime.goexit");
    const struct flame_node *mn = child_named(&fl, &r, goexit, "main.main");
    const struct flame_node *work = child_named(&fl, &r, mn, "main.work");
    const struct flame_node *other = child_named(&fl, &r, mn, "main.other");
    const struct flame_node *ss = child_named(&fl, &r, mn, "runtime.systemstack");
    assert_int_equal(other->x, 0);
    assert_int_equal(work->x, 3);
    assert_int_equal(ss->x, 15);
    assert_int_equal(work->count, 12);
    /* main.leaf from two files and an inlined frame: one frame of 8 */
    const struct flame_node *leaf = child_named(&fl, &r, work, "main.leaf");
    const struct flame_node *cf = child_named(&fl, &r, work, "c_func");
    assert_int_equal(leaf->count, 8);
    assert_int_equal(leaf->x, 7);
    assert_int_equal(cf->x, 3);
    assert_int_equal(leaf->depth, 4);
    /* colour classes */
    assert_int_equal(root->cls, FC_OTHER);
    assert_int_equal(goexit->cls, FC_RUNTIME);
    assert_int_equal(mn->cls, FC_GO);
    assert_int_equal(cf->cls, FC_C);
    assert_int_equal(ss->cls, FC_RUNTIME);
    assert_int_equal(child_named(&fl, &r, ss, "runtime.gcDrain")->cls, FC_SYSTEM);
    const struct flame_node *ms = child_named(&fl, &r, root, "runtime.mstart");
    assert_int_equal(ms->cls, FC_SYSTEM);
    assert_int_equal(child_named(&fl, &r, ms, "runtime.schedule")->cls, FC_SYSTEM);
    assert_int_equal(child_named(&fl, &r, root, funcs[F_WEIRD].name)->cls, FC_C);
    flame_free(&fl);

    /* reversed: the leaf functions under the root, with their own samples */
    assert_int_equal(flame_build(&fl, &r, true, err, sizeof err), 0);
    root = &fl.nodes[0];
    assert_int_equal(child_named(&fl, &r, root, "main.leaf")->count, 8);
    assert_int_equal(child_named(&fl, &r, root, "c_func")->count, 4);
    const struct flame_node *gc = child_named(&fl, &r, root, "runtime.gcDrain");
    assert_int_equal(gc->cls, FC_SYSTEM); /* classified on the real stack */
    assert_int_equal(child_named(&fl, &r, gc, "runtime.systemstack")->cls, FC_RUNTIME);
    assert_int_equal(fl.max_depth, 4);
    flame_free(&fl);
}

static void test_classify(void **state)
{
    (void)state;
    static struct rp_func fn[] = {
        {"runtime.systemstack.abi0", "", 0, FRAME_GO}, {"runtime.gcDrain", "", 0, FRAME_GO},
        {"runtime.cgocallback", "", 0, FRAME_GO},      {"main.callback", "", 0, FRAME_GO},
        {"runtime.mallocgc", "", 0, FRAME_GO},         {"runtime.mcall", "", 0, FRAME_GO},
        {"internal/runtime/atomic.Load", "", 0, FRAME_GO}, {"libc_thing", "", 0, FRAME_C},
        {"[truncated]", "", 0, FRAME_UNKNOWN},         {"runtime.mstart1", "", 0, FRAME_GO},
        {"runtime.systemstackx", "", 0, FRAME_GO},
    };
    struct report r;
    memset(&r, 0, sizeof r);
    r.funcs = fn;
    r.nfuncs = N(fn);
    uint8_t cls[8];
    uint32_t a[] = {0, 1, 2, 3, 4};
    classify_stack(&r, a, 5, cls);
    uint8_t want_a[] = {FC_RUNTIME, FC_SYSTEM, FC_RUNTIME, FC_GO, FC_RUNTIME};
    assert_memory_equal(cls, want_a, 5);
    uint32_t b[] = {8, 5, 6, 7};
    classify_stack(&r, b, 4, cls);
    uint8_t want_b[] = {FC_OTHER, FC_RUNTIME, FC_SYSTEM, FC_C};
    assert_memory_equal(cls, want_b, 4);
    uint32_t c[] = {9, 4, 10, 1};
    classify_stack(&r, c, 4, cls);
    /* a name that only starts like a switch is no switch */
    uint8_t want_c[] = {FC_SYSTEM, FC_SYSTEM, FC_SYSTEM, FC_SYSTEM};
    assert_memory_equal(cls, want_c, 4);
    uint32_t d[] = {10, 1};
    classify_stack(&r, d, 2, cls);
    uint8_t want_d[] = {FC_RUNTIME, FC_RUNTIME};
    assert_memory_equal(cls, want_d, 2);
}

/* ---- the SVG ---------------------------------------------------------------------------- */

static void test_svg(void **state)
{
    (void)state;
    struct capture c;
    struct report r;
    make_report(&r);
    struct view_opts v = VIEW_OPTS_DEFAULT;
    v.min_width = 0;
    char *svg = captured(&c, write_svg(&r, &v, capture(&c), c.err, sizeof c.err));
    /* every node is a frame: root, goexit, main, work, leaf, c_func, other,
     * systemstack, gcDrain, mstart, schedule, weird */
    assert_int_equal(count_of(svg, "<g class=\"f "), 12);
    assert_non_null(strstr(svg, "<title>all (20 samples, 100.00%)</title>"));
    assert_non_null(strstr(svg, "<title>main.leaf (8 samples, 40.00%)</title>"));
    /* 8 of 20 samples in 1180 px, 7 samples left of it, at depth 4 of a
     * 72 + 5 * 16 + 34 px picture */
    assert_non_null(strstr(svg, "data-x=\"7\" data-w=\"8\"><title>main.leaf"));
    assert_non_null(strstr(svg, "<rect x=\"423.00\" y=\"72.0\" width=\"472.00\""));
    assert_non_null(strstr(svg, "height=\"186\" viewBox=\"0 0 1200 186\""));
    /* markup and bad bytes in names cannot break the XML */
    assert_non_null(strstr(svg, "weird &lt;&amp;&gt;&quot;&apos; \xef\xbf\xbd name ("));
    assert_null(strstr(svg, "\xff"));
    assert_non_null(strstr(svg, "class=\"f sys\""));
    assert_non_null(strstr(svg, "class=\"f c\""));
    assert_non_null(strstr(svg, "<text id=\"title\" x=\"600\" y=\"24\">prog: CPU flame graph</text>"));
    assert_non_null(strstr(svg, "2.50 s, 20 samples at 1000 Hz (perf cpu-clock), 7 dropped, 3 threads"));
    assert_non_null(strstr(svg, "window.GOPROF = {total: 20, width: 1200, xpad: 10, font: 12, "
                                "inverted: false"));
    assert_non_null(strstr(svg, "function zoom("));
    assert_non_null(strstr(svg, "</svg>\n"));
    free(svg);

    /* narrow frames left out, labels cut to fit, a title of one's own */
    v.min_width = 100; /* px: 1180 * 2/20 = 118 keeps 2 samples, drops 1 */
    v.width = 400;     /* 380 px: 1 sample = 19 px */
    v.title = "a < b";
    v.reverse = true;
    svg = captured(&c, write_svg(&r, &v, capture(&c), c.err, sizeof c.err));
    assert_non_null(strstr(svg, ">a &lt; b</text>"));
    assert_non_null(strstr(svg, "inverted: true"));
    /* kept: frames of 6 samples (114 px) or more: all, main.leaf and its
     * callers; c_func (4 samples, 76 px) and smaller ones are left out */
    assert_null(strstr(svg, "<title>c_func"));
    assert_null(strstr(svg, "<title>runtime.schedule"));
    assert_null(strstr(svg, "<title>weird"));
    assert_non_null(strstr(svg, "<title>main.leaf (8 samples"));
    /* 8 samples = 152 px: 20 characters fit, "main.leaf" whole */
    assert_non_null(strstr(svg, ">main.leaf</text>"));
    free(svg);

    /* no samples: still a valid picture */
    r.nsamples = 0;
    v = (struct view_opts)VIEW_OPTS_DEFAULT;
    svg = captured(&c, write_svg(&r, &v, capture(&c), c.err, sizeof c.err));
    assert_non_null(strstr(svg, ">no samples</text>"));
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
}

static void test_svg_labels(void **state)
{
    (void)state;
    struct capture c;
    static struct rp_func fn[] = {{"pkg.averyveryverylongfunctionname", "", 0, FRAME_GO},
                                  {"pkg.short", "", 0, FRAME_GO}, {"pkg.é€😀abcdefghij", "", 0, FRAME_GO}};
    static struct rp_line ln[] = {{0, 0}, {1, 0}, {2, 0}};
    static struct rp_loc lc[] = {{0, 1, 0, 1, false}, {0, 2, 1, 1, false}, {0, 3, 2, 1, false}};
    static uint32_t id[] = {0, 1, 2};
    static struct rp_sample sm[] = {{0, 1, 10, 0, 0, 0, ""}, {1, 1, 88, 0, 0, 0, ""}, {2, 1, 20, 0, 0, 0, ""}};
    struct report r;
    WIRE(&r, fn, ln, lc, id, sm);
    struct view_opts v = VIEW_OPTS_DEFAULT;
    char *svg = captured(&c, write_svg(&r, &v, capture(&c), c.err, sizeof c.err));
    /* 10 samples = 100 px: (100 - 6) / 7.08 = 13 characters: 11 and ".." */
    assert_non_null(strstr(svg, ">pkg.averyve..</text>"));
    /* 20 samples = 200 px: 27 characters; the name has 17 (characters,
     * not its 23 bytes) */
    assert_non_null(strstr(svg, ">pkg.é€😀abcdefghij</text>"));
    free(svg);
    char *out = captured(&c, write_folded(&r, capture(&c), c.err, sizeof c.err));
    assert_non_null(strstr(out, "pkg.é€😀abcdefghij 20\n"));
    free(out);
}

static void test_xml_text(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    xml_text(f, "a\x01\xc0\xaf\xed\xa0\x80" "é<", SIZE_MAX);
    fputc('|', f);
    xml_text(f, "é€😀x", 3);
    fclose(f);
    assert_string_equal(buf, "a \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                             "é&lt;|é€😀");
    free(buf);
    assert_int_equal(utf8_chars("aé\xff😀"), 4);
    assert_int_equal(utf8_chars(""), 0);
}

/* ---- top list and folded ---------------------------------------------------------------- */

static void test_top(void **state)
{
    (void)state;
    struct capture c;
    struct report r;
    make_report(&r);
    struct view_opts v = VIEW_OPTS_DEFAULT;
    v.nodecount = 3;
    char *out = captured(&c, write_top(&r, &v, capture(&c), c.err, sizeof c.err));
    assert_non_null(strstr(out, "Program:  /opt/app/prog\n"));
    assert_non_null(strstr(out, "Duration: 2.50 s\n"));
    assert_non_null(strstr(out, "Samples:  20 (0.02 s of CPU, 1% of one core)\n"));
    assert_non_null(strstr(out, "Dropped:  7 samples\n"));
    assert_non_null(strstr(out, "Threads:  3\n"));
    assert_non_null(strstr(out, "Rate:     1000 Hz (perf cpu-clock)\n"));
    assert_non_null(strstr(out, "Showing top 3 of 11 functions by flat, 15 of 20 samples (75.00%)\n"));
    const char *rows = strstr(out, "      flat   flat%    sum%        cum    cum%\n");
    assert_non_null(rows);
    assert_string_equal(strchr(rows, '\n') + 1,
                        "         8  40.00%  40.00%          8  40.00%  main.leaf\n"
                        "         4  20.00%  60.00%          4  20.00%  c_func\n"
                        "         3  15.00%  75.00%          3  15.00%  main.other\n");
    free(out);

    v.by_cum = true;
    v.nodecount = 0;
    out = captured(&c, write_top(&r, &v, capture(&c), c.err, sizeof c.err));
    rows = strchr(strstr(out, "   cum%\n"), '\n') + 1;
    /* recursion-free cum; ties by flat, then name */
    const char *want = "         0   0.00%   0.00%         18  90.00%  main.main\n"
                       "         0   0.00%   0.00%         18  90.00%  runtime.goexit\n"
                       "         0   0.00%   0.00%         12  60.00%  main.work\n"
                       "         8  40.00%  40.00%          8  40.00%  main.leaf\n";
    assert_true(!strncmp(rows, want, strlen(want)));
    assert_int_equal(count_of(rows, "\n"), 11);
    free(out);
}

static void test_folded_unknown_name(void **state)
{
    (void)state;
    struct capture c;
    static struct rp_func fn[] = {{"", "", 0, FRAME_UNKNOWN}, {"root", "", 0, FRAME_GO}};
    static struct rp_line ln[] = {{0, 0}, {1, 0}};
    static struct rp_loc lc[] = {{0, 1, 0, 1, false}, {0, 2, 1, 1, false}};
    static uint32_t id[] = {0, 1};
    static struct rp_sample sm[] = {{0, 2, 3, 0, 0, 0, ""}};
    struct report r;
    WIRE(&r, fn, ln, lc, id, sm);
    char *out = captured(&c, write_folded(&r, capture(&c), c.err, sizeof c.err));
    assert_string_equal(out, "root;[unknown] 3\n");
    free(out);
}

/* ---- filters ----------------------------------------------------------------------------- */

static void test_filter_stacks(void **state)
{
    (void)state;
    struct report r;
    make_report(&r);
    struct rp_sample copy[sizeof samples / sizeof *samples];
    memcpy(copy, samples, sizeof copy);
    r.samples = copy;
    char err[256];
    struct filter_spec s = {.to = -1, .focus = "leaf|c_func"};
    struct report_filter *f = filter_new(&s, err, sizeof err);
    assert_non_null(f);
    assert_true(filter_stack(f, &r, ids + samples[1].loc_off, samples[1].nlocs)); /* inlined */
    assert_false(filter_stack(f, &r, ids + samples[2].loc_off, samples[2].nlocs));
    filter_stacks(f, &r);
    assert_int_equal(r.nsamples, 3); /* S0, S1, S3 */
    assert_int_equal(r.total_count, 12);
    filter_free(f);

    make_report(&r);
    memcpy(copy, samples, sizeof copy);
    r.samples = copy;
    s = (struct filter_spec){.to = -1, .ignore = "^runtime\\.(systemstack|mstart)$"};
    f = filter_new(&s, err, sizeof err);
    filter_stacks(f, &r);
    assert_int_equal(r.nsamples, 5);
    assert_int_equal(r.total_count, 16);
    filter_free(f);

    s = (struct filter_spec){.to = -1, .focus = "("};
    assert_null(filter_new(&s, err, sizeof err));
    assert_non_null(strstr(err, "--focus '(' is not a valid regular expression"));
    s = (struct filter_spec){.to = -1};
    assert_false(filter_spec_active(&s));
    s.from = 1;
    assert_true(filter_spec_active(&s));
}

static void test_filter_samples(void **state)
{
    (void)state;
    struct sf_thread threads[] = {{100, "main"}, {101, "worker"}};
    struct sf_sample raw[] = {
        {0, 0, 5, 1000000, 1},  /* t = 0 s, thread main, goroutine 5 */
        {0, 1, 6, 1500000, 1},  /* 0.5 s, worker, 6 */
        {0, 1, 7, 2000000, 1},  /* 1.0 s, worker, 7 */
        {0, 0, 5, 2500000, 1},  /* 1.5 s, main, 5 */
    };
    struct sample_file sf;
    memset(&sf, 0, sizeof sf);
    sf.hdr.start_mono_ns = 1000000000ull;
    sf.threads = threads;
    sf.nthreads = 2;
    struct sf_sample s[4];
    char err[256];
    struct {
        struct filter_spec spec;
        int kept;
        uint64_t first_goid;
    } cases[] = {
        {{.from = 0.5, .to = 1.5}, 2, 6},         /* [0.5, 1.5) */
        {{.to = 1}, 2, 5},
        {{.from = 1.2, .to = -1}, 1, 5},
        {{.to = -1, .threads = (char *[]){"worker"}, .nthreads = 1}, 2, 6},
        {{.to = -1, .threads = (char *[]){"nobody", "100"}, .nthreads = 2}, 2, 5},
        {{.to = -1, .goids = (uint64_t[]){7, 5}, .ngoids = 2}, 3, 5},
        {{.from = 0.2, .to = -1, .goids = (uint64_t[]){5}, .ngoids = 1}, 1, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(s, raw, sizeof s);
        sf.samples = s;
        sf.nsamples = 4;
        struct report_filter *f = filter_new(&cases[i].spec, err, sizeof err);
        assert_non_null(f);
        filter_samples(f, &sf);
        if ((int)sf.nsamples != cases[i].kept || sf.samples[0].goid != cases[i].first_goid)
            fail_msg("case %zu: kept %zu, first goroutine %llu", i, sf.nsamples,
                     (unsigned long long)sf.samples[0].goid);
        filter_free(f);
    }

    struct filter_spec w = {.from = 2, .to = 5};
    struct report_filter *f = filter_new(&w, err, sizeof err);
    uint64_t start = 10000000000ull, end = 20000000000ull;
    filter_window(f, &start, &end);
    assert_int_equal(start, 12000000000ull);
    assert_int_equal(end, 15000000000ull);
    start = 10000000000ull, end = 13000000000ull;
    filter_window(f, &start, &end); /* the file ends before --to */
    assert_int_equal(end, 13000000000ull);
    filter_free(f);
}

static void test_view_args(void **state)
{
    (void)state;
    struct view_args a;
    view_args_init(&a);
    static const struct option base[] = {{"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    struct option all[64];
    assert_non_null(view_args_options(base, all, 64));
    assert_null(view_args_options(base, all, 3));
    int width = 0, thread = 0, n = 0;
    for (; all[n].name; n++) {
        if (!strcmp(all[n].name, "width"))
            width = all[n].val;
        if (!strcmp(all[n].name, "thread"))
            thread = all[n].val;
    }
    assert_true(n > 10 && width && thread);
    assert_string_equal(all[0].name, "output");
    assert_int_equal(view_args_parse(&a, width, "800"), 1);
    assert_int_equal(a.view.width, 800);
    /* bad values are refused (and said on stderr) */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    assert_int_equal(view_args_parse(&a, width, "80x"), -1);
    assert_int_equal(view_args_parse(&a, width, "100"), -1);
    assert_int_equal(view_args_parse(&a, thread, ",,"), -1);
    fclose(stderr);
    stderr = saved;
    assert_int_equal(view_args_parse(&a, thread, "1,2,worker"), 1);
    assert_int_equal(a.filter.nthreads, 3);
    assert_string_equal(a.filter.threads[2], "worker");
    assert_int_equal(view_args_parse(&a, 'o', "x"), 0); /* not ours */
    assert_true(filter_spec_active(&a.filter));
    view_args_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_funcs),   cmocka_unit_test(test_flame_tree),
        cmocka_unit_test(test_classify),       cmocka_unit_test(test_svg),
        cmocka_unit_test(test_svg_labels),     cmocka_unit_test(test_xml_text),
        cmocka_unit_test(test_top),            cmocka_unit_test(test_folded_unknown_name),
        cmocka_unit_test(test_filter_stacks),  cmocka_unit_test(test_filter_samples),
        cmocka_unit_test(test_view_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
