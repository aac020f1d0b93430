/* Unit tests of the report's output formats: the pprof writer
 * (tools/out_pprof.c, checked with independent decoders: `protoc
 * --decode_raw` and, when Go is installed, `go tool pprof`), the folded
 * stacks writer (tools/out_folded.c) and the protobuf primitives
 * (tools/protobuf.c, decoded here by hand). Reports are built by hand. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "output.h"
#include "protobuf.h"
#include "report.h"
#include "tmpdir.h"

/* ---- helpers ------------------------------------------------------------- */

/* The whole file, NUL-terminated (for text); NULL if it cannot be read. */
static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    uint8_t *p = malloc(cap + 1);
    for (size_t k; (k = fread(p + len, 1, cap - len, f)) > 0;) {
        len += k;
        if (len == cap)
            p = realloc(p, (cap *= 2) + 1);
    }
    fclose(f);
    p[len] = 0;
    *n = len;
    return p;
}

static void write_all(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Runs a shell command; returns its exit status, stdout in *out (and
 * stderr in *errout when not NULL). */
static int run(const char *cmd, char **out, char **errout)
{
    char full[4096], op[256], ep[256];
    snprintf(op, sizeof op, "%s/cmd.out", tmpdir);
    snprintf(ep, sizeof ep, "%s/cmd.err", tmpdir);
    snprintf(full, sizeof full, "%s >'%s' 2>'%s'", cmd, op, ep);
    int st = system(full);
    size_t n;
    *out = (char *)read_all(op, &n);
    char *e = (char *)read_all(ep, &n);
    if (errout)
        *errout = e;
    else
        free(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Decompresses a gzip file. */
static uint8_t *gunzip(const uint8_t *z, size_t zn, size_t *n)
{
    assert_true(zn >= 18);
    assert_int_equal(z[0], 0x1f); /* gzip, as go tool pprof expects */
    assert_int_equal(z[1], 0x8b);
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(inflateInit2(&s, 16 + 15), Z_OK);
    size_t cap = 1 << 16, len = 0;
    uint8_t *p = malloc(cap);
    s.next_in = (Bytef *)z;
    s.avail_in = (uInt)zn;
    int rc;
    do {
        if (len == cap)
            p = realloc(p, cap *= 2);
        s.next_out = p + len;
        s.avail_out = (uInt)(cap - len);
        rc = inflate(&s, Z_NO_FLUSH);
        len = cap - s.avail_out;
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
    } while (rc != Z_STREAM_END);
    assert_int_equal(s.avail_in, 0); /* one gzip member, nothing after it */
    inflateEnd(&s);
    *n = len;
    return p;
}

/* ---- a hand-built report --------------------------------------------------- */

enum { F_LEAF, F_HELPER, F_CALLER, F_MAIN, F_RTMAIN, F_GETPID, F_OTHER, NFUNCS };

static struct rp_func funcs[NFUNCS] = {
    [F_LEAF] = {"main.leaf", "/src/app/main.go", 10, FRAME_GO},
    [F_HELPER] = {"main.inlinedHelper", "/src/app/helper.go", 20, FRAME_GO},
    [F_CALLER] = {"main.caller", "/src/app/main.go", 30, FRAME_GO},
    [F_MAIN] = {"main.main", "/src/app/main.go", 40, FRAME_GO},
    [F_RTMAIN] = {"runtime.main", "/usr/local/go/src/runtime/proc.go", 250, FRAME_GO},
    [F_GETPID] = {"getpid", "", 0, FRAME_C},
    [F_OTHER] = {"main.other", "/src/app/main.go", 50, FRAME_GO},
};

static struct rp_line lines[] = {
    {F_LEAF, 12},                     /* loc 0 */
    {F_HELPER, 22}, {F_CALLER, 33},   /* loc 1: helper inlined into caller */
    {F_MAIN, 45},                     /* loc 2 */
    {F_RTMAIN, 255},                  /* loc 3 */
    {F_GETPID, 0},                    /* loc 4 */
    {F_OTHER, 52},                    /* loc 5 */
    {F_HELPER, 23}, {F_CALLER, 33},   /* loc 6: another PC of the same inlined call */
};

static struct rp_map maps[] = {
    {0x400000, 0x500000, 0, "/opt/app/bin", "abcdef0123", true},
    {0x7f0000000000ull, 0x7f0000100000ull, 0x1000, "/lib/x86_64-linux-gnu/libc.so.6", "",
     false},
};

static struct rp_loc locs[] = {
    {1, 0x401010, 0, 1, false},       {1, 0x401234, 1, 2, false}, {1, 0x401500, 3, 1, false},
    {1, 0x402000, 4, 1, false},       {2, 0x7f0000001234ull, 5, 1, false},
    {1, 0x401600, 6, 1, false},       {1, 0x401238, 7, 2, false},
};

/* Sample stacks, leaf first. */
static uint32_t loc_ids[] = {
    0, 1, 2, 3, /* S0: leaf <- helper/caller <- main <- runtime.main */
    4, 1, 2, 3, /* S1: getpid <- ... */
    5, 2, 3,    /* S2: other <- main <- runtime.main */
    6, 2, 3,    /* S3: helper/caller (other PC) is the leaf */
    0, 6, 2, 3, /* S4: the names of S0 through another PC */
};

#define PERIOD 10000000ull
static struct rp_sample samples[] = {
    {0, 4, 5, 5 * PERIOD, 0, 0, ""}, {4, 4, 3, 3 * PERIOD, 0, 0, ""}, {8, 3, 2, 2 * PERIOD, 0, 0, ""},
    {11, 3, 1, 1 * PERIOD, 0, 0, ""}, {14, 4, 4, 4 * PERIOD, 0, 0, ""},
};

static void make_report(struct report *r)
{
    memset(r, 0, sizeof *r);
    r->funcs = funcs;
    r->nfuncs = NFUNCS;
    r->lines = lines;
    r->nlines = sizeof lines / sizeof *lines;
    r->maps = maps;
    r->nmaps = sizeof maps / sizeof *maps;
    r->locs = locs;
    r->nlocs = sizeof locs / sizeof *locs;
    r->loc_ids = loc_ids;
    r->nloc_ids = sizeof loc_ids / sizeof *loc_ids;
    r->samples = samples;
    r->nsamples = sizeof samples / sizeof *samples;
    r->program = "/opt/app/bin";
    r->period_ns = PERIOD;
    r->hz = 100;
    r->start_unix_ns = 1700000000000000000ull;
    r->end_unix_ns = 1700000002500000000ull;
    r->total_count = 15;
    r->dropped = 7;
    r->source = "cpu timer";
}

/* Writes r as pprof into DIR/name; returns the path (static buffer). */
static const char *pprof_file(const struct report *r, const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    char err[256] = "";
    if (write_pprof(r, f, err, sizeof err) != 0)
        fail_msg("write_pprof: %s", err);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* ---- protoc --decode_raw output, parsed ---------------------------------- */

enum { PV_INT, PV_BYTES, PV_MSG };

struct pnode {
    unsigned field;
    int kind;
    uint64_t v;
    uint8_t *b;
    size_t blen;
    struct pnode *kids;
    size_t nkids;
};

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\n')
        s++;
    return s;
}

/* Parses "N: value", "N { ... }" lines until "}" or the end. */
static const char *parse_text(const char *s, struct pnode *parent)
{
    for (;;) {
        s = skip_ws(s);
        if (!*s || *s == '}')
            return s;
        struct pnode n = {0};
        char *e;
        n.field = (unsigned)strtoul(s, &e, 10);
        if (e == s)
            fail_msg("decode_raw output: expected a field number at \"%.40s\"", s);
        s = e;
        if (s[0] == ' ' && s[1] == '{') {
            n.kind = PV_MSG;
            s = parse_text(s + 2, &n);
            if (*s != '}')
                fail_msg("decode_raw output: unterminated message");
            s++;
        } else if (s[0] == ':' && s[1] == ' ' && s[2] == '"') {
            n.kind = PV_BYTES;
            s += 3;
            n.b = malloc(strlen(s) + 1);
            while (*s && *s != '"') {
                if (*s != '\\') {
                    n.b[n.blen++] = (uint8_t)*s++;
                    continue;
                }
                s++;
                if (*s >= '0' && *s <= '7') {
                    unsigned v = 0;
                    for (int k = 0; k < 3 && *s >= '0' && *s <= '7'; k++)
                        v = v * 8 + (unsigned)(*s++ - '0');
                    n.b[n.blen++] = (uint8_t)v;
                } else if (*s == 'x') {
                    n.b[n.blen++] = (uint8_t)strtoul(s + 1, &e, 16);
                    s = e;
                } else {
                    char c = *s++;
                    n.b[n.blen++] = (uint8_t)(c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c);
                }
            }
            if (*s != '"')
                fail_msg("decode_raw output: unterminated string");
            s++;
        } else if (s[0] == ':' && s[1] == ' ') {
            n.kind = PV_INT;
            n.v = strtoull(s + 2, &e, 0);
            if (e == s + 2)
                fail_msg("decode_raw output: bad value at \"%.40s\"", s);
            s = e;
        } else {
            fail_msg("decode_raw output: unexpected \"%.40s\"", s);
        }
        parent->kids = realloc(parent->kids, (parent->nkids + 1) * sizeof *parent->kids);
        parent->kids[parent->nkids++] = n;
    }
}

static void pnode_free(struct pnode *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        pnode_free(&n->kids[i]);
    free(n->kids);
    free(n->b);
}

/* The i-th child with this field number, or NULL. */
static const struct pnode *kid(const struct pnode *n, unsigned field, size_t i)
{
    for (size_t k = 0; k < n->nkids; k++)
        if (n->kids[k].field == field && i-- == 0)
            return &n->kids[k];
    return NULL;
}

static size_t nkid(const struct pnode *n, unsigned field)
{
    size_t c = 0;
    for (size_t k = 0; k < n->nkids; k++)
        c += n->kids[k].field == field;
    return c;
}

static uint64_t int_field(const struct pnode *n, unsigned field, uint64_t dflt)
{
    const struct pnode *k = kid(n, field, 0);
    if (!k)
        return dflt; /* proto3: absent is zero */
    if (k->kind != PV_INT)
        fail_msg("field %u is not a varint", field);
    return k->v;
}

/* A packed repeated varint field, decoded by hand from its bytes. */
static size_t packed(const struct pnode *n, unsigned field, uint64_t *out, size_t max)
{
    const struct pnode *k = kid(n, field, 0);
    if (!k)
        return 0;
    if (nkid(n, field) != 1)
        fail_msg("packed field %u appears %zu times", field, nkid(n, field));
    if (k->kind != PV_BYTES)
        fail_msg("packed field %u is not shown as bytes (kind %d)", field, k->kind);
    size_t c = 0;
    for (size_t i = 0; i < k->blen;) {
        uint64_t v = 0;
        for (unsigned sh = 0;; sh += 7) {
            assert_true(i < k->blen && sh < 64);
            v |= (uint64_t)(k->b[i] & 0x7f) << sh;
            if (!(k->b[i++] & 0x80))
                break;
        }
        assert_true(c < max);
        out[c++] = v;
    }
    return c;
}

/* ---- pprof through protoc --decode_raw ------------------------------------ */

struct decoded {
    struct pnode root;
    char **strs;
    size_t nstrs;
};

static const char *str_at(const struct decoded *d, uint64_t i)
{
    if (i >= d->nstrs)
        fail_msg("string index %llu out of the table (%zu strings)", (unsigned long long)i,
                 d->nstrs);
    return d->strs[i];
}

static void decode_profile(const char *gz_path, struct decoded *d)
{
    size_t zn, n;
    uint8_t *z = read_all(gz_path, &zn);
    assert_non_null(z);
    uint8_t *raw = gunzip(z, zn, &n);
    free(z);
    char raw_path[256], cmd[512];
    snprintf(raw_path, sizeof raw_path, "%s.raw", gz_path);
    write_all(raw_path, raw, n);
    free(raw);
    snprintf(cmd, sizeof cmd, "protoc --decode_raw <'%s'", raw_path);
    char *out, *err;
    int st = run(cmd, &out, &err);
    if (st != 0)
        fail_msg("protoc --decode_raw failed (%d): %s", st, err);
    free(err);
    memset(d, 0, sizeof *d);
    const char *end = parse_text(out, &d->root);
    if (*end)
        fail_msg("decode_raw output: stray \"%.40s\"", end);
    free(out);
    d->nstrs = nkid(&d->root, 6);
    d->strs = calloc(d->nstrs, sizeof *d->strs);
    for (size_t i = 0; i < d->nstrs; i++) {
        const struct pnode *s = kid(&d->root, 6, i);
        if (s->kind != PV_BYTES)
            fail_msg("string_table[%zu] was not shown as a string (pick other test names)", i);
        d->strs[i] = strndup((const char *)s->b, s->blen);
    }
}

static void decoded_free(struct decoded *d)
{
    for (size_t i = 0; i < d->nstrs; i++)
        free(d->strs[i]);
    free(d->strs);
    pnode_free(&d->root);
}

static void check_value_type(const struct decoded *d, const struct pnode *vt, const char *type,
                             const char *unit)
{
    assert_non_null(vt);
    assert_int_equal(vt->kind, PV_MSG);
    assert_string_equal(str_at(d, int_field(vt, 1, 0)), type);
    assert_string_equal(str_at(d, int_field(vt, 2, 0)), unit);
}

static void test_pprof_decode_raw(void **state)
{
    (void)state;
    struct report r;
    make_report(&r);
    struct decoded d;
    decode_profile(pprof_file(&r, "p.pb.gz"), &d);
    const struct pnode *root = &d.root;

    /* string_table: "" first, then each string once */
    assert_true(d.nstrs > 1);
    assert_string_equal(d.strs[0], "");
    for (size_t i = 1; i < d.nstrs; i++) {
        assert_true(d.strs[i][0] != 0);
        for (size_t j = 1; j < i; j++)
            if (!strcmp(d.strs[i], d.strs[j]))
                fail_msg("string \"%s\" is in the table twice", d.strs[i]);
    }

    /* sample_type: samples/count, cpu/nanoseconds; period, default type */
    assert_int_equal(nkid(root, 1), 2);
    check_value_type(&d, kid(root, 1, 0), "samples", "count");
    check_value_type(&d, kid(root, 1, 1), "cpu", "nanoseconds");
    check_value_type(&d, kid(root, 11, 0), "cpu", "nanoseconds");
    assert_int_equal(int_field(root, 12, 0), PERIOD);
    assert_string_equal(str_at(&d, int_field(root, 14, 0)), "cpu");
    assert_int_equal(int_field(root, 9, 0), r.start_unix_ns);
    assert_int_equal(int_field(root, 10, 0), r.end_unix_ns - r.start_unix_ns);
    assert_int_equal(nkid(root, 13), 1);
    const char *comment = str_at(&d, int_field(root, 13, 0));
    assert_non_null(strstr(comment, "/opt/app/bin"));
    assert_non_null(strstr(comment, "100 Hz"));
    assert_non_null(strstr(comment, "7 samples dropped"));

    /* functions: ids 1..n, names and files through the table */
    assert_int_equal(nkid(root, 5), NFUNCS);
    for (size_t i = 0; i < NFUNCS; i++) {
        const struct pnode *f = kid(root, 5, i);
        assert_int_equal(f->kind, PV_MSG);
        uint64_t id = int_field(f, 1, 0);
        assert_true(id >= 1 && id <= NFUNCS);
        const struct rp_func *want = &funcs[id - 1];
        assert_string_equal(str_at(&d, int_field(f, 2, 0)), want->name);
        assert_string_equal(str_at(&d, int_field(f, 3, 0)), want->name);
        assert_string_equal(str_at(&d, int_field(f, 4, 0)), want->file);
        assert_int_equal(int_field(f, 5, 0), (uint64_t)want->start_line);
    }

    /* mappings */
    assert_int_equal(nkid(root, 3), 2);
    for (size_t i = 0; i < 2; i++) {
        const struct pnode *m = kid(root, 3, i);
        uint64_t id = int_field(m, 1, 0);
        assert_true(id == 1 || id == 2);
        const struct rp_map *want = &maps[id - 1];
        assert_int_equal(int_field(m, 2, 0), want->start);
        assert_int_equal(int_field(m, 3, 0), want->limit);
        assert_int_equal(int_field(m, 4, 0), want->offset);
        assert_string_equal(str_at(&d, int_field(m, 5, 0)), want->file);
        assert_string_equal(str_at(&d, int_field(m, 6, 0)), want->build_id);
        for (unsigned fld = 7; fld <= 10; fld++) /* has_functions .. has_inline_frames */
            assert_int_equal(int_field(m, fld, 0), want->symbolized ? 1 : 0);
    }

    /* locations: lines innermost first */
    size_t nl = sizeof locs / sizeof *locs;
    assert_int_equal(nkid(root, 4), nl);
    for (size_t i = 0; i < nl; i++) {
        const struct pnode *l = kid(root, 4, i);
        uint64_t id = int_field(l, 1, 0);
        assert_true(id >= 1 && id <= nl);
        const struct rp_loc *want = &locs[id - 1];
        assert_int_equal(int_field(l, 2, 0), want->map);
        assert_int_equal(int_field(l, 3, 0), want->address);
        assert_int_equal(nkid(l, 4), want->nlines);
        for (uint32_t k = 0; k < want->nlines; k++) {
            const struct pnode *ln = kid(l, 4, k);
            assert_int_equal(ln->kind, PV_MSG);
            const struct rp_line *wl = &lines[want->line_off + k];
            assert_int_equal(int_field(ln, 1, 0), wl->func + 1);
            assert_int_equal(int_field(ln, 2, 0), (uint64_t)wl->line);
        }
    }
    /* the inlined location by name: helper (inlined) first, then its caller */
    const struct pnode *l2 = kid(root, 4, 1);
    assert_int_equal(int_field(l2, 1, 0), 2);
    assert_string_equal(funcs[int_field(kid(l2, 4, 0), 1, 0) - 1].name, "main.inlinedHelper");
    assert_string_equal(funcs[int_field(kid(l2, 4, 1), 1, 0) - 1].name, "main.caller");

    /* samples: packed location ids (leaf first) and packed values */
    size_t ns = sizeof samples / sizeof *samples;
    assert_int_equal(nkid(root, 2), ns);
    for (size_t i = 0; i < ns; i++) {
        const struct pnode *s = kid(root, 2, i);
        uint64_t ids[16], vals[4];
        size_t n = packed(s, 1, ids, 16);
        assert_int_equal(n, samples[i].nlocs);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(ids[k], loc_ids[samples[i].loc_off + k] + 1);
        assert_int_equal(packed(s, 2, vals, 4), 2);
        assert_int_equal(vals[0], samples[i].count);
        assert_int_equal(vals[1], samples[i].nanos);
    }
    decoded_free(&d);
}

/* The longest stack a report makes: 4096 frames, the truncation marker
 * and a --group-by root. */
static void test_pprof_deepest_stack(void **state)
{
    (void)state;
    enum { N = SF_MAX_DEPTH + 2 };
    static uint32_t ids[N];
    for (size_t i = 0; i < N; i++)
        ids[i] = (uint32_t)(i % 7);
    ids[N - 1] = 2; /* the root, which must not be lost */
    struct rp_sample s = {0, N, 1, PERIOD, 0, 0, ""};
    struct report r;
    make_report(&r);
    r.loc_ids = ids;
    r.nloc_ids = N;
    r.samples = &s;
    r.nsamples = 1;
    struct decoded d;
    decode_profile(pprof_file(&r, "deep.pb.gz"), &d);
    static uint64_t got[N + 8];
    size_t n = packed(kid(&d.root, 2, 0), 1, got, N + 8);
    assert_int_equal(n, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(got[i], ids[i] + 1);
    decoded_free(&d);
}

/* A report with nothing in it is still a valid profile. */
static void test_pprof_empty(void **state)
{
    (void)state;
    struct report r;
    memset(&r, 0, sizeof r);
    struct decoded d;
    decode_profile(pprof_file(&r, "empty.pb.gz"), &d);
    assert_string_equal(d.strs[0], "");
    assert_int_equal(nkid(&d.root, 2), 0);
    assert_int_equal(nkid(&d.root, 1), 2);
    assert_non_null(strstr(str_at(&d, int_field(&d.root, 13, 0)), "goprof: ?"));
    decoded_free(&d);
}

/* ---- pprof through go tool pprof -------------------------------------------- */

static bool have_go(void)
{
    return system("command -v go >/dev/null 2>&1") == 0;
}

static char *go_pprof(const char *args, const char *path)
{
    char cmd[1024], *out, *err;
    /* never fetch a toolchain; a build cache of our own if there is none */
    snprintf(cmd, sizeof cmd,
             "if [ -z \"$GOCACHE\" ] && [ -z \"$HOME\" ]; then export GOCACHE='%s/gocache'; fi; "
             "GOTOOLCHAIN=local GOFLAGS= PPROF_TMPDIR='%s' timeout 600 go tool pprof %s '%s'",
             tmpdir, tmpdir, args, path);
    int st = run(cmd, &out, &err);
    if (st != 0)
        fail_msg("go tool pprof %s failed (%d):\n%s\n%s", args, st, out, err);
    free(err);
    return out;
}

/* Output with each line's leading and trailing blanks removed and runs
 * of blanks made one space. */
static char *squeeze(char *s)
{
    char *w = s;
    bool line_start = true;
    for (const char *r = s; *r; r++) {
        if (*r == ' ' || *r == '\t') {
            if (!line_start && r[1] && r[1] != ' ' && r[1] != '\t' && r[1] != '\n')
                *w++ = ' ';
            continue;
        }
        *w++ = *r;
        line_start = *r == '\n';
    }
    *w = 0;
    return s;
}

/* The line of -top output for name: flat, cum, and whether pprof marks
 * the function as inlined. */
static bool top_row(const char *out, const char *name, double *flat, double *cum, bool *inl)
{
    for (const char *l = out; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char line[512], nm[256], pct1[32], pct2[32], pct3[32];
        snprintf(line, sizeof line, "%.*s", (int)len, l);
        l += len + (e != NULL);
        int used = 0;
        if (sscanf(line, "%lf %31s %31s %lf %31s %n", flat, pct1, pct2, cum, pct3, &used) < 5 ||
            !used)
            continue;
        snprintf(nm, sizeof nm, "%s", line + used);
        *inl = false;
        size_t nl = strlen(nm);
        if (nl > 9 && !strcmp(nm + nl - 9, " (inline)")) {
            nm[nl - 9] = 0;
            *inl = true;
        }
        if (!strcmp(nm, name))
            return true;
    }
    return false;
}

static void test_pprof_go_tool(void **state)
{
    (void)state;
    if (!have_go()) {
        print_message("# go is not on PATH: go tool pprof not run\n");
        return;
    }
    struct report r;
    make_report(&r);
    const char *path = pprof_file(&r, "go.pb.gz");

    char *raw = squeeze(go_pprof("-raw", path));
    assert_non_null(strstr(raw, "PeriodType: cpu nanoseconds"));
    assert_non_null(strstr(raw, "Period: 10000000"));
    assert_non_null(strstr(raw, "samples/count cpu/nanoseconds"));
    for (size_t i = 0; i < NFUNCS; i++)
        if (!strstr(raw, funcs[i].name))
            fail_msg("go tool pprof -raw does not show %s:\n%s", funcs[i].name, raw);
    /* each sample: "count nanos: loc ids" */
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        char want[128];
        int n = snprintf(want, sizeof want, "\n%llu %llu: ", (unsigned long long)samples[i].count,
                         (unsigned long long)samples[i].nanos);
        for (uint32_t k = 0; k < samples[i].nlocs; k++)
            n += snprintf(want + n, sizeof want - (size_t)n, "%s%u", k ? " " : "",
                          loc_ids[samples[i].loc_off + k] + 1);
        snprintf(want + n, sizeof want - (size_t)n, "\n");
        if (!strstr(raw, want))
            fail_msg("go tool pprof -raw lacks sample \"%s\":\n%s", want, raw);
    }
    /* the inlined frame first, then its caller, in one location */
    assert_non_null(strstr(raw, "\n2: 0x401234 M=1 main.inlinedHelper /src/app/helper.go:22"));
    assert_non_null(strstr(raw, "s=20\nmain.caller /src/app/main.go:33"));
    free(raw);

    /* counts per function, flat (leaf) and cumulative */
    static const struct {
        const char *name;
        double flat, cum;
    } want[] = {
        {"main.leaf", 9, 9},   {"getpid", 3, 3},         {"main.other", 2, 2},
        {"main.inlinedHelper", 1, 13}, {"main.caller", 0, 13}, {"main.main", 0, 15},
        {"runtime.main", 0, 15},
    };
    char *top = go_pprof("-top -sample_index=samples", path);
    assert_non_null(strstr(top, "of 15 total"));
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        double flat, cum;
        bool inl;
        if (!top_row(top, want[i].name, &flat, &cum, &inl))
            fail_msg("go tool pprof -top does not list %s:\n%s", want[i].name, top);
        if (inl != !strcmp(want[i].name, "main.inlinedHelper"))
            fail_msg("go tool pprof -top: %s %s marked inlined:\n%s", want[i].name,
                     inl ? "is" : "is not", top);
        if (flat != want[i].flat || cum != want[i].cum)
            fail_msg("%s: flat %g cum %g, wanted %g %g:\n%s", want[i].name, flat, cum,
                     want[i].flat, want[i].cum, top);
    }
    free(top);
    /* the default sample type is CPU time */
    top = go_pprof("-top", path);
    assert_non_null(strstr(top, "Type: cpu"));
    assert_non_null(strstr(top, "of 150ms total"));
    if (!strstr(top, "90ms") || !strstr(top, "main.leaf"))
        fail_msg("go tool pprof -top:\n%s", top);
    free(top);
}

/* ---- folded stacks --------------------------------------------------------- */

static char *folded(const struct report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    char err[256] = "";
    if (write_folded(r, f, err, sizeof err) != 0)
        fail_msg("write_folded: %s", err);
    fclose(f);
    return buf;
}

static void test_folded(void **state)
{
    (void)state;
    struct report r;
    make_report(&r);
    char *out = folded(&r);
    /* root first; the inlined helper after its caller; S0 and S4 (other
     * PCs, same names) merged; sorted */
    assert_string_equal(out,
                        "runtime.main;main.main;main.caller;main.inlinedHelper 1\n"
                        "runtime.main;main.main;main.caller;main.inlinedHelper;getpid 3\n"
                        "runtime.main;main.main;main.caller;main.inlinedHelper;main.leaf 9\n"
                        "runtime.main;main.main;main.other 2\n");
    free(out);
}

static void test_folded_names(void **state)
{
    (void)state;
    static struct rp_func fn[] = {
        {"a;b", "", 0, FRAME_C},
        {"line\nbreak\rand\ttab", "", 0, FRAME_C},
        {"(*T).M[go.shape.int] é", "", 0, FRAME_GO},
        {"root", "", 0, FRAME_GO},
    };
    static struct rp_line ln[] = {{0, 0}, {1, 0}, {2, 0}, {3, 0}};
    static struct rp_loc lc[] = {
        {0, 1, 0, 1, false}, {0, 2, 1, 1, false}, {0, 3, 2, 1, false}, {0, 4, 3, 1, false}};
    static uint32_t ids[] = {0, 1, 2, 3, /**/ 3, /**/ 0, 1, 2, 3, /**/ 3};
    static struct rp_sample sm[] = {{0, 4, 2, 0, 0, 0, ""}, {4, 1, 5, 0, 0, 0, ""},
                                    {5, 4, 40, 0, 0, 0, ""}, {9, 1, 1, 0, 0, 0, ""}};
    struct report r;
    memset(&r, 0, sizeof r);
    r.funcs = fn;
    r.nfuncs = 4;
    r.lines = ln;
    r.nlines = 4;
    r.locs = lc;
    r.nlocs = 4;
    r.loc_ids = ids;
    r.nloc_ids = sizeof ids / sizeof *ids;
    r.samples = sm;
    r.nsamples = 4;
    char *out = folded(&r);
    assert_string_equal(out, "root 6\n"
                             "root;(*T).M[go.shape.int] é;line break and tab;a_b 42\n");
    free(out);
    /* no samples: no lines */
    r.nsamples = 0;
    out = folded(&r);
    assert_string_equal(out, "");
    free(out);
}

/* ---- protobuf primitives ------------------------------------------------ */

struct rd {
    const uint8_t *p, *end;
};

static uint64_t rd_varint(struct rd *d)
{
    uint64_t v = 0;
    for (unsigned sh = 0;; sh += 7) {
        assert_true(d->p < d->end);
        assert_true(sh < 64);
        uint8_t b = *d->p++;
        v |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80))
            return v;
    }
}

static void test_pb_varint(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        size_t len;
        uint8_t bytes[10];
    } cases[] = {
        {0, 1, {0x00}},
        {1, 1, {0x01}},
        {127, 1, {0x7f}},
        {128, 2, {0x80, 0x01}},
        {300, 2, {0xac, 0x02}},
        {16383, 2, {0xff, 0x7f}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {(1ull << 63) - 1, 9, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
        {1ull << 63, 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
        {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    struct bytebuf b = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pb_reset(&b);
        bytebuf_uvarint(&b, cases[i].v);
        assert_int_equal(b.len, cases[i].len);
        assert_memory_equal(b.p, cases[i].bytes, cases[i].len);
        struct rd d = {b.p, b.p + b.len};
        assert_int_equal(rd_varint(&d), cases[i].v);
    }
    /* every power of two and its neighbours round trip */
    pb_reset(&b);
    for (unsigned k = 0; k < 64; k++)
        for (int dlt = -1; dlt <= 1; dlt++)
            bytebuf_uvarint(&b, (1ull << k) + (uint64_t)(int64_t)dlt);
    struct rd d = {b.p, b.p + b.len};
    for (unsigned k = 0; k < 64; k++)
        for (int dlt = -1; dlt <= 1; dlt++)
            assert_int_equal(rd_varint(&d), (1ull << k) + (uint64_t)(int64_t)dlt);
    assert_ptr_equal(d.p, d.end);
    assert_false(b.oom);
    bytebuf_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
}

static void test_pb_fields(void **state)
{
    (void)state;
    struct bytebuf b = {0};
    pb_uint64(&b, 1, 150);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.p, "\x08\x96\x01", 3);
    /* field numbers that need a two-byte key */
    pb_reset(&b);
    pb_uint64(&b, 15, 0);
    pb_uint64(&b, 16, 0);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.p, "\x78\x00\x80\x01\x00", 5);
    /* the *_opt forms leave zero out */
    pb_reset(&b);
    pb_uint64_opt(&b, 1, 0);
    pb_int64_opt(&b, 2, 0);
    pb_bool_opt(&b, 3, false);
    assert_int_equal(b.len, 0);
    pb_uint64_opt(&b, 1, 1);
    pb_int64_opt(&b, 2, -1);
    pb_bool_opt(&b, 3, true);
    struct rd d = {b.p, b.p + b.len};
    assert_int_equal(rd_varint(&d), 1 << 3 | 0);
    assert_int_equal(rd_varint(&d), 1);
    assert_int_equal(rd_varint(&d), 2 << 3 | 0);
    /* int64 is two's complement, ten bytes for a negative value */
    const uint8_t *before = d.p;
    assert_int_equal((int64_t)rd_varint(&d), -1);
    assert_int_equal(d.p - before, 10);
    assert_int_equal(rd_varint(&d), 3 << 3 | 0);
    assert_int_equal(rd_varint(&d), 1);
    assert_ptr_equal(d.p, d.end);
    /* strings and bytes: key, length, data */
    pb_reset(&b);
    pb_string(&b, 6, "");
    pb_string(&b, 6, "cpu");
    static uint8_t big[300];
    memset(big, 0xab, sizeof big);
    pb_bytes(&b, 7, big, sizeof big);
    d = (struct rd){b.p, b.p + b.len};
    assert_int_equal(rd_varint(&d), 6 << 3 | 2);
    assert_int_equal(rd_varint(&d), 0);
    assert_int_equal(rd_varint(&d), 6 << 3 | 2);
    assert_int_equal(rd_varint(&d), 3);
    assert_memory_equal(d.p, "cpu", 3);
    d.p += 3;
    assert_int_equal(rd_varint(&d), 7 << 3 | 2);
    assert_int_equal(rd_varint(&d), 300);
    assert_memory_equal(d.p, big, 300);
    d.p += 300;
    assert_ptr_equal(d.p, d.end);
    bytebuf_free(&b);
}

static void test_pb_packed_and_message(void **state)
{
    (void)state;
    struct bytebuf b = {0}, m = {0};
    static const uint64_t v[] = {0, 127, 128, 1ull << 63, 16384, 1};
    pb_packed_uint64(&b, 1, v, 6);
    struct rd d = {b.p, b.p + b.len};
    assert_int_equal(rd_varint(&d), 1 << 3 | 2);
    /* the length is the sum of the varints' lengths */
    assert_int_equal(rd_varint(&d), 1 + 1 + 2 + 10 + 3 + 1);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(rd_varint(&d), v[i]);
    assert_ptr_equal(d.p, d.end);
    /* no values: no field at all */
    pb_reset(&b);
    pb_packed_uint64(&b, 1, v, 0);
    pb_packed_int64(&b, 2, NULL, 0);
    assert_int_equal(b.len, 0);
    /* negative int64s take ten bytes each */
    static const int64_t s[] = {-1, 5, INT64_MIN};
    pb_packed_int64(&b, 2, s, 3);
    d = (struct rd){b.p, b.p + b.len};
    assert_int_equal(rd_varint(&d), 2 << 3 | 2);
    assert_int_equal(rd_varint(&d), 21);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal((int64_t)rd_varint(&d), s[i]);
    assert_ptr_equal(d.p, d.end);
    /* an embedded message: key, length, its bytes; the message is reset */
    pb_reset(&b);
    pb_uint64(&m, 1, 42);
    pb_string(&m, 2, "x");
    size_t mlen = m.len;
    pb_message(&b, 4, &m);
    assert_int_equal(m.len, 0);
    assert_false(b.oom);
    d = (struct rd){b.p, b.p + b.len};
    assert_int_equal(rd_varint(&d), 4 << 3 | 2);
    assert_int_equal(rd_varint(&d), mlen);
    assert_int_equal(rd_varint(&d), 1 << 3 | 0);
    assert_int_equal(rd_varint(&d), 42);
    assert_int_equal(rd_varint(&d), 2 << 3 | 2);
    assert_int_equal(rd_varint(&d), 1);
    assert_int_equal(*d.p++, 'x');
    assert_ptr_equal(d.p, d.end);
    /* an empty message still appears (as a zero length field) */
    pb_message(&b, 5, &m);
    assert_int_equal(b.p[b.len - 2], 5 << 3 | 2);
    assert_int_equal(b.p[b.len - 1], 0);
    /* a message longer than 127 bytes gets a two-byte length */
    for (int i = 0; i < 100; i++)
        pb_uint64(&m, 1, 1000);
    pb_reset(&b);
    pb_message(&b, 1, &m);
    d = (struct rd){b.p, b.p + b.len};
    assert_int_equal(rd_varint(&d), 1 << 3 | 2);
    assert_int_equal(rd_varint(&d), 300);
    assert_int_equal(d.end - d.p, 300);
    bytebuf_free(&b);
    bytebuf_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pprof_decode_raw),
        cmocka_unit_test(test_pprof_deepest_stack),
        cmocka_unit_test(test_pprof_empty),
        cmocka_unit_test(test_pprof_go_tool),
        cmocka_unit_test(test_folded),
        cmocka_unit_test(test_folded_names),
        cmocka_unit_test(test_pb_varint),
        cmocka_unit_test(test_pb_fields),
        cmocka_unit_test(test_pb_packed_and_message),
    };
    return cmocka_run_group_tests_name("pprof, folded, protobuf", tests, tmpdir_setup, tmpdir_teardown);
}
