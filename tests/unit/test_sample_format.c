/* Unit tests of the sample file (collector/sample_format.c), the ring
 * between the signal handler and the collector (collector/ring.c) and the
 * collector's stack table (collector/stack_table.c), plus a quick
 * deterministic corruption test of the reader (no libFuzzer needed).
 *
 * Files are written with the real writer into a memfd and read back with
 * sf_load_mem or sf_load; hostile inputs are built by hand: raw record
 * content ("GOPROF\0" + version + records) compressed into zstd frames
 * here, or zstd frames assembled byte by byte. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "ring.h"
#include "sample_format.h"
#include "stack_table.h"

/* ---- small helpers ------------------------------------------------------ */

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

/* A growable byte string. */
struct bytes {
    uint8_t *p;
    size_t n, cap;
};

static void bput(struct bytes *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void bbyte(struct bytes *b, uint8_t v)
{
    bput(b, &v, 1);
}

static void buv(struct bytes *b, uint64_t v)
{
    while (v >= 0x80) {
        bbyte(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    bbyte(b, (uint8_t)v);
}

static void bzz(struct bytes *b, int64_t v)
{
    buv(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void bstr(struct bytes *b, const char *s)
{
    buv(b, strlen(s));
    bput(b, s, strlen(s));
}

/* Appends record type + length + payload. */
static void brec(struct bytes *b, unsigned type, const struct bytes *payload)
{
    bbyte(b, (uint8_t)type);
    buv(b, payload->n);
    bput(b, payload->p, payload->n);
}

static void bfree(struct bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Raw content start: magic + version byte. */
static void bmagic(struct bytes *b, uint8_t version)
{
    bput(b, "GOPROF\0", 7);
    bbyte(b, version);
}

/* A header record with the given version field. */
static void bheader(struct bytes *b, uint64_t version)
{
    struct bytes h = {0};
    buv(&h, version);
    for (int i = 0; i < 8; i++) /* pid .. unwind */
        buv(&h, 100 + (uint64_t)i);
    bstr(&h, "/bin/prog");
    bstr(&h, "bid");
    bstr(&h, "go1.26");
    bstr(&h, "gobid");
    bstr(&h, "prog -x");
    bstr(&h, "host");
    brec(b, SF_REC_HEADER, &h);
    bfree(&h);
}

/* Appends one zstd frame (checksum and content size on, as the writer
 * does) holding raw. */
static void zframe(struct bytes *out, const void *raw, size_t n)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_non_null(c);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
    size_t bound = ZSTD_compressBound(n);
    uint8_t *tmp = malloc(bound);
    assert_non_null(tmp);
    size_t k = ZSTD_compress2(c, tmp, bound, raw, n);
    assert_false(ZSTD_isError(k));
    bput(out, tmp, k);
    free(tmp);
    ZSTD_freeCCtx(c);
}

/* A file written by the real writer, with the offsets where its frames end. */
struct out {
    uint8_t *p;
    size_t n;
    size_t frame_end[256];
    int nframes;
};

static struct sfw *wopen(int *fd)
{
    *fd = memfd_create("goprof-test", MFD_CLOEXEC);
    assert_true(*fd >= 0);
    struct sfw *w = sfw_open(*fd, 3);
    assert_non_null(w);
    return w;
}

static void wflush(struct sfw *w, struct out *o)
{
    assert_int_equal(sfw_flush(w), 0);
    assert_null(sfw_error(w));
    assert_true(o->nframes < 256);
    size_t end = (size_t)sfw_bytes_written(w);
    if (!o->nframes || o->frame_end[o->nframes - 1] != end)
        o->frame_end[o->nframes++] = end;
}

/* Flushes, closes the writer and reads the whole file back into o. */
static void wfinish(struct sfw *w, int fd, struct out *o)
{
    wflush(w, o);
    sfw_close(w);
    off_t size = lseek(fd, 0, SEEK_END);
    assert_true(size >= 0);
    assert_int_equal((uint64_t)size, o->frame_end[o->nframes - 1]);
    o->n = (size_t)size;
    o->p = malloc(o->n ? o->n : 1);
    assert_non_null(o->p);
    assert_int_equal(pread(fd, o->p, o->n, 0), (ssize_t)o->n);
    close(fd);
}

static void out_free(struct out *o)
{
    free(o->p);
    memset(o, 0, sizeof *o);
}

/* Every reader error is one line that starts with "NAME: ". */
static void check_err(const char *err, const char *name, const char *needle)
{
    size_t n = strlen(name);
    if (strncmp(err, name, n) != 0 || err[n] != ':' || err[n + 1] != ' ')
        fail_msg("error does not start with \"%s: \": \"%s\"", name, err);
    if (strchr(err, '\n'))
        fail_msg("error is more than one line: \"%s\"", err);
    if (needle && !strstr(err, needle))
        fail_msg("error lacks \"%s\": \"%s\"", needle, err);
}

static struct sample_file *load_ok(const void *p, size_t n)
{
    char err[512] = "";
    struct sample_file *f = sf_load_mem("t.goprof", p, n, err, sizeof err);
    if (!f)
        fail_msg("load failed: %s", err);
    return f;
}

static void load_err(const void *p, size_t n, const char *needle)
{
    char err[512] = "";
    struct sample_file *f = sf_load_mem("t.goprof", p, n, err, sizeof err);
    if (f) {
        sf_free(f);
        fail_msg("a file that should be refused loaded (expected \"%s\")", needle);
    }
    check_err(err, "t.goprof", needle);
}

static void write_header(struct sfw *w)
{
    struct sf_header h = {
        .pid = 4242, .start_unix_ns = 1700000000123456789ull, .start_mono_ns = 5000000000ull,
        .hz = 997, .period_ns = 1003009, .source = SF_SOURCE_PERF, .depth_limit = 4096,
        .unwind = SF_UNWIND_MIXED, .exe_path = "/usr/local/bin/prog", .build_id = "abc123",
        .go_version = "go1.26.8", .go_build_id = "x/y/z", .cmdline = "prog -flag \"quoted\"",
        .hostname = "h"};
    sfw_header(w, &h);
}

/* ---- sample file: round trips ------------------------------------------- */

static void test_roundtrip_header_strings(void **state)
{
    (void)state;
    char *big = malloc(100001);
    assert_non_null(big);
    for (int i = 0; i < 100000; i++)
        big[i] = (char)('a' + i % 26);
    big[100000] = 0;
    struct sf_header h = {
        .version = 99 /* ignored: the writer writes its own */, .pid = UINT64_MAX,
        .start_unix_ns = 1700000000123456789ull, .start_mono_ns = 1ull << 63, .hz = 0,
        .period_ns = 127, .source = SF_SOURCE_TIMER, .depth_limit = 128,
        .unwind = SF_UNWIND_LIBUNWIND, .exe_path = "/tmp/a b/\xc3\xa9t\xc3\xa9",
        .build_id = "", .go_version = NULL /* written as "" */, .go_build_id = big,
        .cmdline = "a;b\tc\nd", .hostname = "host.example"};
    int fd;
    struct out o = {0};
    struct sfw *w = wopen(&fd);
    sfw_header(w, &h);
    sfw_trailer(w, 1700000001000000000ull, 6000000000ull);
    wfinish(w, fd, &o);

    struct sample_file *f = load_ok(o.p, o.n);
    assert_int_equal(f->hdr.version, SF_VERSION);
    assert_int_equal(f->hdr.pid, UINT64_MAX);
    assert_int_equal(f->hdr.start_unix_ns, 1700000000123456789ull);
    assert_int_equal(f->hdr.start_mono_ns, 1ull << 63);
    assert_int_equal(f->hdr.hz, 0);
    assert_int_equal(f->hdr.period_ns, 127);
    assert_int_equal(f->hdr.source, SF_SOURCE_TIMER);
    assert_int_equal(f->hdr.depth_limit, 128);
    assert_int_equal(f->hdr.unwind, SF_UNWIND_LIBUNWIND);
    assert_string_equal(f->hdr.exe_path, "/tmp/a b/\xc3\xa9t\xc3\xa9");
    assert_string_equal(f->hdr.build_id, "");
    assert_string_equal(f->hdr.go_version, "");
    assert_string_equal(f->hdr.go_build_id, big);
    assert_string_equal(f->hdr.cmdline, "a;b\tc\nd");
    assert_string_equal(f->hdr.hostname, "host.example");
    assert_string_equal(f->path, "t.goprof");
    assert_true(f->complete);
    assert_false(f->truncated);
    assert_int_equal(f->frames, 1);
    assert_int_equal(f->end_unix_ns, 1700000001000000000ull);
    assert_int_equal(f->end_mono_ns, 6000000000ull);
    assert_int_equal(f->nsamples, 0);
    assert_int_equal(f->nstacks, 0);
    assert_int_equal(f->nthreads, 0);
    assert_int_equal(f->nmaps, 0);
    sf_free(f);
    out_free(&o);
    free(big);
}

static void test_roundtrip_mappings(void **state)
{
    (void)state;
    struct sf_mapping m[] = {
        {0x400000, 0x401000, 0, SF_MAP_EXEC | SF_MAP_MAIN, "/bin/prog", "deadbeef"},
        {0x7f0000000000ull, 0x7f0000200000ull, 0x1000, SF_MAP_EXEC, "/lib/libc.so.6", ""},
        {0xffffffffff600000ull, 0xffffffffff601000ull, 0, SF_MAP_EXEC, "[vsyscall]", ""},
        {0, 1, UINT64_MAX, 0, "", "x"},
    };
    int fd;
    struct out o = {0};
    struct sfw *w = wopen(&fd);
    write_header(w);
    for (size_t i = 0; i < 4; i++)
        sfw_mapping(w, &m[i]);
    wfinish(w, fd, &o);
    struct sample_file *f = load_ok(o.p, o.n);
    assert_int_equal(f->nmaps, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f->maps[i].start, m[i].start);
        assert_int_equal(f->maps[i].end, m[i].end);
        assert_int_equal(f->maps[i].offset, m[i].offset);
        assert_int_equal(f->maps[i].flags, m[i].flags);
        assert_string_equal(f->maps[i].path, m[i].path);
        assert_string_equal(f->maps[i].build_id, m[i].build_id);
    }
    assert_false(f->complete); /* no trailer */
    assert_false(f->truncated);
    sf_free(f);
    out_free(&o);

    /* a mapping that ends before it starts is refused */
    w = wopen(&fd);
    write_header(w);
    sfw_mapping(w, &(struct sf_mapping){0x2000, 0x1000, 0, 0, "p", ""});
    wfinish(w, fd, &o);
    load_err(o.p, o.n, "mapping 0");
    out_free(&o);
}

static void test_roundtrip_stacks(void **state)
{
    (void)state;
    static uint64_t deep[SF_MAX_DEPTH];
    static const uint64_t wild[] = {0,
                                    UINT64_MAX,
                                    1,
                                    0x8000000000000000ull,
                                    0x7fffffffffffffffull,
                                    0x8000000000000001ull,
                                    0x400000,
                                    0xffffffffff600000ull,
                                    0x400000,
                                    0x400001,
                                    0x400000};
    for (uint32_t i = 0; i < SF_MAX_DEPTH; i++)
        deep[i] = (i & 1) ? rnd() : 0x400000 + i * 16;
    uint64_t one = 0x401234;
    int fd;
    struct out o = {0};
    struct sfw *w = wopen(&fd);
    write_header(w);
    sfw_stack(w, 0, 0, NULL, 0);
    sfw_stack(w, 1, SF_STACK_TRUNCATED, &one, 1);
    sfw_stack(w, 2, 0, deep, SF_MAX_DEPTH);
    sfw_stack(w, 3, 0x7fffffff, wild, sizeof wild / sizeof *wild);
    sfw_stack(w, 4, SF_STACK_TRUNCATED, deep, SF_MAX_DEPTH);
    wfinish(w, fd, &o);
    struct sample_file *f = load_ok(o.p, o.n);
    assert_int_equal(f->nstacks, 5);
    assert_int_equal(f->stacks[0].n, 0);
    assert_int_equal(f->stacks[0].flags, 0);
    assert_int_equal(f->stacks[1].n, 1);
    assert_int_equal(f->stacks[1].flags, SF_STACK_TRUNCATED);
    assert_int_equal(f->pcs[f->stacks[1].pcs_off], one);
    assert_int_equal(f->stacks[2].n, SF_MAX_DEPTH);
    assert_memory_equal(f->pcs + f->stacks[2].pcs_off, deep, sizeof deep);
    assert_int_equal(f->stacks[3].flags, 0x7fffffff);
    assert_int_equal(f->stacks[3].n, sizeof wild / sizeof *wild);
    assert_memory_equal(f->pcs + f->stacks[3].pcs_off, wild, sizeof wild);
    assert_int_equal(f->stacks[4].n, SF_MAX_DEPTH);
    assert_int_equal(f->stacks[4].flags, SF_STACK_TRUNCATED);
    assert_memory_equal(f->pcs + f->stacks[4].pcs_off, deep, sizeof deep);
    for (size_t i = 0; i < f->nstacks; i++) {
        assert_true(f->stacks[i].defined);
        assert_true(f->stacks[i].pcs_off + f->stacks[i].n <= f->npcs);
    }
    sf_free(f);
    out_free(&o);
}

static void test_stack_limits_and_sequence(void **state)
{
    (void)state;
    static uint64_t deep[SF_MAX_DEPTH + 1];
    int fd;
    struct out o = {0};
    /* one frame more than a reader accepts */
    struct sfw *w = wopen(&fd);
    write_header(w);
    sfw_stack(w, 0, 0, deep, SF_MAX_DEPTH + 1);
    wfinish(w, fd, &o);
    load_err(o.p, o.n, "4097 frames");
    out_free(&o);
    /* ids must come in order 0, 1, 2, ... */
    w = wopen(&fd);
    write_header(w);
    sfw_stack(w, 0, 0, deep, 1);
    sfw_stack(w, 2, 0, deep, 1);
    wfinish(w, fd, &o);
    load_err(o.p, o.n, "stack record 2 out of sequence");
    out_free(&o);
    /* threads too */
    w = wopen(&fd);
    write_header(w);
    sfw_thread(w, 1, 10, "t");
    wfinish(w, fd, &o);
    load_err(o.p, o.n, "thread record 1 out of sequence");
    out_free(&o);
}

static void test_roundtrip_threads(void **state)
{
    (void)state;
    int fd;
    struct out o = {0};
    struct sfw *w = wopen(&fd);
    write_header(w);
    sfw_thread(w, 0, 1234, "main");
    sfw_thread(w, 1, 0, NULL);
    sfw_thread(w, 2, UINT64_MAX, "a thread name that is longer than fifteen bytes");
    sfw_thread(w, 3, 1235, "");
    wfinish(w, fd, &o);
    struct sample_file *f = load_ok(o.p, o.n);
    assert_int_equal(f->nthreads, 4);
    assert_int_equal(f->threads[0].tid, 1234);
    assert_string_equal(f->threads[0].name, "main");
    assert_int_equal(f->threads[1].tid, 0);
    assert_string_equal(f->threads[1].name, "");
    assert_int_equal(f->threads[2].tid, UINT64_MAX);
    assert_string_equal(f->threads[2].name, "a thread name that is longer than fifteen bytes");
    assert_string_equal(f->threads[3].name, "");
    sf_free(f);
    out_free(&o);
}

struct want {
    uint32_t stack, thread;
    uint64_t goid, time_ns, weight;
};

static void check_samples(const struct sample_file *f, const struct want *ws, size_t n)
{
    assert_int_equal(f->nsamples, n);
    for (size_t i = 0; i < n; i++) {
        const struct sf_sample *s = &f->samples[i];
        if (s->stack != ws[i].stack || s->thread != ws[i].thread || s->goid != ws[i].goid ||
            s->time_us != ws[i].time_ns / 1000 || s->weight != (ws[i].weight ? ws[i].weight : 1))
            fail_msg("sample %zu: got stack %u thread %u goid %llu time %llu weight %llu; "
                     "wanted %u %u %llu %llu %llu",
                     i, s->stack, s->thread, (unsigned long long)s->goid,
                     (unsigned long long)s->time_us, (unsigned long long)s->weight, ws[i].stack,
                     ws[i].thread, (unsigned long long)ws[i].goid,
                     (unsigned long long)(ws[i].time_ns / 1000),
                     (unsigned long long)ws[i].weight);
    }
}

static void test_roundtrip_samples_many_batches(void **state)
{
    (void)state;
    enum { NSTACKS = 50, NTHREADS = 7, N = 3 * 4096 + 123 };
    struct want *ws = calloc(N, sizeof *ws);
    assert_non_null(ws);
    int fd;
    struct out o = {0};
    struct sfw *w = wopen(&fd);
    write_header(w);
    for (uint32_t i = 0; i < NSTACKS; i++) {
        uint64_t pcs[3] = {0x400000 + i, 0x500000, 0x600000 - i};
        sfw_stack(w, i, 0, pcs, 3);
    }
    for (uint32_t i = 0; i < NTHREADS; i++)
        sfw_thread(w, i, 100 + i, "t");
    uint64_t t = 5000000000ull;
    static const uint64_t weights[] = {1, 1, 2, 1, 1000, 1ull << 32, 0 /* read as 1 */, 3};
    static const uint64_t goids[] = {0, 1, 17, 1ull << 40, UINT64_MAX};
    for (size_t i = 0; i < N; i++) {
        /* mostly forward, sometimes a little back (threads' clocks are read
         * in handlers that race), sometimes a big jump */
        if (i % 97 == 5)
            t -= 3000 + rnd_below(5000);
        else if (i % 1000 == 999)
            t += 60000000000ull;
        else
            t += 1003009 + rnd_below(2000);
        ws[i] = (struct want){(uint32_t)rnd_below(NSTACKS), (uint32_t)rnd_below(NTHREADS),
                              goids[i % 5], t, weights[i % 8]};
        sfw_sample(w, ws[i].stack, ws[i].thread, ws[i].goid, ws[i].time_ns, ws[i].weight);
    }
    struct sf_counters k = {1, 2, 3, 4, 5, 6, 7, UINT64_MAX, 9};
    sfw_counters(w, &k);
    sfw_note(w, "a note");
    sfw_note(w, "");
    sfw_trailer(w, 1700000009000000000ull, t + 1);
    wfinish(w, fd, &o);

    struct sample_file *f = load_ok(o.p, o.n);
    check_samples(f, ws, N);
    assert_int_equal(f->counters.signals, 1);
    assert_int_equal(f->counters.samples, 2);
    assert_int_equal(f->counters.dropped_signals, 3);
    assert_int_equal(f->counters.dropped_weight, 4);
    assert_int_equal(f->counters.torn, 5);
    assert_int_equal(f->counters.threads, 6);
    assert_int_equal(f->counters.forwarded, 7);
    assert_int_equal(f->counters.timer_errors, UINT64_MAX);
    assert_int_equal(f->counters.handler_ns, 9);
    assert_int_equal(f->nnotes, 2);
    assert_string_equal(f->notes[0], "a note");
    assert_string_equal(f->notes[1], "");
    assert_true(f->complete);
    assert_false(f->truncated);
    assert_int_equal(f->end_unix_ns, 1700000009000000000ull);
    assert_int_equal(f->end_mono_ns, t + 1);
    assert_int_equal(f->frames, 1);
    sf_free(f);
    out_free(&o);
    free(ws);
}

/* Without a trailer the end is the latest sample (not the last one). */
static void test_end_without_trailer(void **state)
{
    (void)state;
    int fd;
    struct out o = {0};
    struct sfw *w = wopen(&fd);
    write_header(w);
    uint64_t pc = 1;
    sfw_stack(w, 0, 0, &pc, 1);
    sfw_thread(w, 0, 1, "t");
    sfw_sample(w, 0, 0, 0, 7000000000ull, 1);
    sfw_sample(w, 0, 0, 0, 9000000000ull, 1);
    sfw_sample(w, 0, 0, 0, 8999990000ull, 1);
    wfinish(w, fd, &o);
    struct sample_file *f = load_ok(o.p, o.n);
    assert_false(f->complete);
    assert_false(f->truncated);
    assert_int_equal(f->end_unix_ns, 0);
    assert_int_equal(f->end_mono_ns, 9000000000ull);
    sf_free(f);
    out_free(&o);
}

/* Many frames: explicit flushes, and the writer's own at ~1 MiB. */
static void test_roundtrip_many_frames(void **state)
{
    (void)state;
    enum { N = 250000 };
    struct want *ws = calloc(N, sizeof *ws);
    assert_non_null(ws);
    int fd;
    struct out o = {0};
    struct sfw *w = wopen(&fd);
    write_header(w);
    wflush(w, &o);
    uint32_t nstacks = 0;
    sfw_thread(w, 0, 1, "t");
    uint64_t t = 1ull << 40;
    for (size_t i = 0; i < N; i++) {
        if (i % 50000 == 0)
            wflush(w, &o);
        /* new stacks keep coming, interleaved with samples (as in the
         * collector) and incompressible enough to fill frames */
        if (i % 4 == 0) {
            uint64_t pcs[4] = {rnd(), rnd(), rnd(), rnd()};
            sfw_stack(w, nstacks++, 0, pcs, 4);
        }
        t += rnd_below(1u << 30);
        ws[i] = (struct want){(uint32_t)rnd_below(nstacks), 0, rnd(), t, 1 + rnd_below(5)};
        sfw_sample(w, ws[i].stack, 0, ws[i].goid, ws[i].time_ns, ws[i].weight);
    }
    sfw_trailer(w, 1, 2);
    wfinish(w, fd, &o);
    struct sample_file *f = load_ok(o.p, o.n);
    check_samples(f, ws, N);
    assert_int_equal(f->nstacks, nstacks);
    assert_true(f->complete);
    /* explicit flushes make 6 frames; the 1 MiB limit makes more */
    print_message("# %llu frames, %zu bytes\n", (unsigned long long)f->frames, o.n);
    assert_true(f->frames > 6);
    sf_free(f);
    out_free(&o);
    free(ws);
}

/* sf_load from a path, and through a pipe. */
static void test_load_path_and_pipe(void **state)
{
    (void)state;
    char dir[] = "/tmp/goprof-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/p.goprof", dir);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    struct sfw *w = sfw_open(fds[1], 19);
    write_header(w);
    uint64_t pc = 0x401000;
    sfw_stack(w, 0, 0, &pc, 1);
    sfw_thread(w, 0, 9, "x");
    sfw_sample(w, 0, 0, 5, 1000000, 3);
    assert_int_equal(sfw_flush(w), 0);
    sfw_trailer(w, 10, 20);
    assert_int_equal(sfw_flush(w), 0);
    uint64_t written = sfw_bytes_written(w);
    sfw_close(w);
    close(fds[1]);
    uint8_t buf[65536];
    size_t n = 0;
    for (ssize_t k; (k = read(fds[0], buf + n, sizeof buf - n)) > 0;)
        n += (size_t)k;
    close(fds[0]);
    assert_int_equal(n, written);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, n, fp), n);
    fclose(fp);

    struct sample_file *f = sf_load(path, err, sizeof err);
    if (!f)
        fail_msg("%s", err);
    assert_string_equal(f->path, path);
    assert_int_equal(f->frames, 2);
    assert_int_equal(f->nsamples, 1);
    assert_int_equal(f->samples[0].weight, 3);
    assert_int_equal(f->samples[0].goid, 5);
    assert_int_equal(f->samples[0].time_us, 1000);
    assert_true(f->complete);
    sf_free(f);

    /* empty file, missing file, directory: errors naming the path */
    fp = fopen(path, "wb");
    fclose(fp);
    assert_null(sf_load(path, err, sizeof err));
    check_err(err, path, "empty");
    assert_int_equal(unlink(path), 0);
    assert_null(sf_load(path, err, sizeof err));
    check_err(err, path, "cannot open");
    assert_null(sf_load(dir, err, sizeof err));
    check_err(err, dir, "not a regular file");
    rmdir(dir);
}

/* ---- sample file: cut short ---------------------------------------------- */

/* A file of three frames: header, maps, stacks, threads and samples; more
 * samples; more samples, counters and (optionally) the trailer. */
static void three_frames(struct out *o, bool trailer, size_t per_frame[3])
{
    int fd;
    struct sfw *w = wopen(&fd);
    write_header(w);
    sfw_mapping(w, &(struct sf_mapping){0x400000, 0x800000, 0, SF_MAP_EXEC | SF_MAP_MAIN,
                                        "/bin/prog", "b"});
    for (uint32_t i = 0; i < 20; i++) {
        uint64_t pcs[2] = {0x401000 + i * 4, 0x402000};
        sfw_stack(w, i, 0, pcs, 2);
    }
    sfw_thread(w, 0, 1, "main");
    sfw_thread(w, 1, 2, "worker");
    uint64_t t = 1000000000;
    size_t counts[3] = {300, 5000, 40};
    for (int fr = 0; fr < 3; fr++) {
        for (size_t i = 0; i < counts[fr]; i++) {
            t += 1000000;
            sfw_sample(w, (uint32_t)rnd_below(20), (uint32_t)(i & 1), i, t, 1);
        }
        if (fr == 2) {
            sfw_counters(w, &(struct sf_counters){.signals = 5340, .samples = 5340});
            if (trailer)
                sfw_trailer(w, 99, t);
        }
        wflush(w, o);
        per_frame[fr] = counts[fr];
    }
    wfinish(w, fd, o);
    assert_int_equal(o->nframes, 3);
}

static void test_truncated_last_frame(void **state)
{
    (void)state;
    struct out o = {0};
    size_t per[3];
    three_frames(&o, true, per);
    struct sample_file *full = load_ok(o.p, o.n);
    assert_true(full->complete);
    assert_false(full->truncated);
    assert_int_equal(full->frames, 3);
    assert_int_equal(full->nsamples, per[0] + per[1] + per[2]);
    assert_int_equal(full->counters.signals, 5340);

    size_t start = o.frame_end[1], end = o.frame_end[2];
    /* cut exactly at the frame boundary: nothing is half-written */
    struct sample_file *f = load_ok(o.p, start);
    assert_false(f->truncated);
    assert_false(f->complete);
    assert_int_equal(f->frames, 2);
    sf_free(f);
    /* cut at every byte inside the last frame */
    for (size_t cut = start + 1; cut < end; cut++) {
        char err[512] = "";
        f = sf_load_mem("t.goprof", o.p, cut, err, sizeof err);
        if (!f)
            fail_msg("file cut at byte %zu (last frame is %zu..%zu) is refused: %s", cut, start,
                     end, err);
        if (!f->truncated || f->complete || f->frames != 2 || f->nsamples != per[0] + per[1])
            fail_msg("file cut at byte %zu: truncated=%d complete=%d frames=%llu samples=%zu",
                     cut, f->truncated, f->complete, (unsigned long long)f->frames, f->nsamples);
        assert_memory_equal(f->samples, full->samples, f->nsamples * sizeof *f->samples);
        assert_int_equal(f->counters.signals, 0); /* they were in the lost frame */
        assert_int_equal(f->end_unix_ns, 0);
        assert_int_equal(f->end_mono_ns, f->samples[f->nsamples - 1].time_us * 1000);
        sf_free(f);
    }
    sf_free(full);
    out_free(&o);

    /* the same file without a trailer: loads, but is not complete */
    three_frames(&o, false, per);
    f = load_ok(o.p, o.n);
    assert_false(f->complete);
    assert_false(f->truncated);
    assert_int_equal(f->frames, 3);
    assert_int_equal(f->nsamples, per[0] + per[1] + per[2]);
    sf_free(f);
    out_free(&o);
}

static void test_truncated_first_frame_and_empty(void **state)
{
    (void)state;
    struct out o = {0};
    size_t per[3];
    three_frames(&o, true, per);
    for (size_t cut = 1; cut < o.frame_end[0]; cut++) {
        char err[512] = "";
        struct sample_file *f = sf_load_mem("t.goprof", o.p, cut, err, sizeof err);
        if (f)
            fail_msg("file cut at byte %zu of its first frame loaded", cut);
        check_err(err, "t.goprof", "truncated");
    }
    load_err(o.p, 0, "empty");
    load_err("", 0, "empty");
    out_free(&o);
}

/* ---- sample file: refused ------------------------------------------------- */

static void test_bad_magic_and_version(void **state)
{
    (void)state;
    struct bytes raw = {0}, z = {0};
    /* not zstd at all */
    load_err("hello, world\n", 13, "not zstd");
    load_err("\x28\xb5", 2, NULL);
    /* zstd, but its content is something else */
    bput(&raw, "NOTGOPRF", 8);
    bheader(&raw, 1);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "bad magic");
    bfree(&raw);
    bfree(&z);
    bput(&raw, "GOP", 3);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "bad magic");
    bfree(&raw);
    bfree(&z);
    zframe(&z, "", 0);
    load_err(z.p, z.n, "bad magic");
    bfree(&z);
    /* a newer version byte */
    bmagic(&raw, 7);
    bheader(&raw, 7);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "version 7");
    bfree(&raw);
    bfree(&z);
    bmagic(&raw, 0);
    bheader(&raw, 1);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "version 0");
    bfree(&raw);
    bfree(&z);
    /* a newer version in the header record */
    bmagic(&raw, 1);
    bheader(&raw, 7);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "version 7");
    bfree(&raw);
    bfree(&z);
    /* the magic alone: no header */
    bmagic(&raw, 1);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "header");
    bfree(&raw);
    bfree(&z);
}

static void test_corrupt_middle_frame(void **state)
{
    (void)state;
    struct out o = {0};
    size_t per[3];
    three_frames(&o, true, per);
    size_t a = o.frame_end[0], b = o.frame_end[1];
    /* a byte in the middle of the middle frame's compressed data */
    size_t at = a + (b - a) / 2;
    o.p[at] ^= 0x10;
    load_err(o.p, o.n, "corrupt");
    o.p[at] ^= 0x10;
    /* its checksum */
    o.p[b - 1] ^= 0x01;
    load_err(o.p, o.n, "corrupt");
    o.p[b - 1] ^= 0x01;
    /* its magic number */
    o.p[a] ^= 0xff;
    load_err(o.p, o.n, "corrupt");
    o.p[a] ^= 0xff;
    /* Every other single-bit change of the middle frame is refused too,
     * or (a bit zstd does not use) changes nothing: never wrong data. A
     * change that makes the frame run past the end of the file looks like
     * a cut, but the complete frame after it shows it is not one. */
    struct sample_file *good = load_ok(o.p, o.n);
    unsigned refused = 0, same = 0;
    for (size_t i = a; i < b; i++) {
        for (int bit = 0; bit < 8; bit++) {
            o.p[i] ^= (uint8_t)(1u << bit);
            char err[512] = "";
            struct sample_file *f = sf_load_mem("t.goprof", o.p, o.n, err, sizeof err);
            o.p[i] ^= (uint8_t)(1u << bit);
            if (!f) {
                check_err(err, "t.goprof", NULL);
                refused++;
                continue;
            }
            if (!f->truncated && f->frames == 3 && f->nsamples == good->nsamples &&
                       f->npcs == good->npcs && f->complete) {
                same++;
                assert_memory_equal(f->pcs, good->pcs, f->npcs * sizeof *f->pcs);
            } else {
                fail_msg("flipping bit %d of byte %zu (middle frame %zu..%zu) loaded "
                         "frames=%llu samples=%zu truncated=%d",
                         bit, i, a, b, (unsigned long long)f->frames, f->nsamples, f->truncated);
            }
            assert_memory_equal(f->samples, good->samples, f->nsamples * sizeof *f->samples);
            sf_free(f);
        }
    }
    print_message("# %u bit flips refused, %u changed nothing\n", refused, same);
    sf_free(good);
    out_free(&o);
}

/* A zstd frame (no checksum, single segment) that declares content_size
 * bytes but holds the 8 given bytes in one raw block. */
static void lying_frame(struct bytes *b, uint64_t content_size, const void *data8)
{
    static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    bput(b, magic, 4);
    bbyte(b, 0xe0); /* 8-byte content size, single segment */
    for (int i = 0; i < 8; i++)
        bbyte(b, (uint8_t)(content_size >> (8 * i)));
    uint32_t bh = 1 /* last */ | 0 << 1 /* raw */ | 8 << 3;
    bbyte(b, (uint8_t)bh);
    bbyte(b, (uint8_t)(bh >> 8));
    bbyte(b, (uint8_t)(bh >> 16));
    bput(b, data8, 8);
}

static void test_huge_declared_frame(void **state)
{
    (void)state;
    struct bytes z = {0};
    /* sanity: the hand-made frame is valid when honest */
    struct bytes raw = {0};
    bmagic(&raw, 1);
    assert_int_equal(raw.n, 8);
    lying_frame(&z, 8, raw.p);
    load_err(z.p, z.n, "header"); /* decoded fine: only the magic, no header */
    bfree(&z);
    /* 1 TiB, 2^62 and one byte over the limit: refused before allocating
     * (an attempt would have failed with "out of memory") */
    static const uint64_t sizes[] = {1ull << 40, 1ull << 62, (256ull << 20) + 1};
    for (size_t i = 0; i < 3; i++) {
        lying_frame(&z, sizes[i], raw.p);
        load_err(z.p, z.n, "declares");
        bfree(&z);
    }
    /* the same after a good first frame */
    struct out o = {0};
    size_t per[3];
    three_frames(&o, false, per);
    bput(&z, o.p, o.frame_end[0]);
    lying_frame(&z, 1ull << 40, raw.p);
    load_err(z.p, z.n, "declares");
    bfree(&z);
    /* and one that declares a little more than it holds */
    lying_frame(&z, 9, raw.p);
    load_err(z.p, z.n, "corrupt");
    bfree(&z);
    out_free(&o);
    bfree(&raw);
}

static void test_undefined_references(void **state)
{
    (void)state;
    int fd;
    struct out o = {0};
    uint64_t pc = 0x401000;
    /* a sample of a stack that was never defined */
    struct sfw *w = wopen(&fd);
    write_header(w);
    sfw_stack(w, 0, 0, &pc, 1);
    sfw_thread(w, 0, 1, "t");
    sfw_sample(w, 0, 0, 0, 1000, 1);
    sfw_sample(w, 1, 0, 0, 2000, 1);
    wfinish(w, fd, &o);
    load_err(o.p, o.n, "undefined stack 1");
    out_free(&o);
    /* of a thread that was never defined */
    w = wopen(&fd);
    write_header(w);
    sfw_stack(w, 0, 0, &pc, 1);
    sfw_thread(w, 0, 1, "t");
    sfw_sample(w, 0, 3, 0, 1000, 1);
    wfinish(w, fd, &o);
    load_err(o.p, o.n, "undefined thread 3");
    out_free(&o);
    /* with no stacks or threads at all */
    w = wopen(&fd);
    write_header(w);
    sfw_sample(w, 0, 0, 0, 1000, 1);
    wfinish(w, fd, &o);
    load_err(o.p, o.n, "undefined stack 0");
    out_free(&o);
}

/* Hand-built records: a stack of two frames, a thread and samples. */
static void brecords(struct bytes *raw, bool extra_bytes)
{
    struct bytes r = {0};
    buv(&r, 0);
    buv(&r, 0);
    buv(&r, 2);
    bzz(&r, 0x401000);
    bzz(&r, -0x800);
    if (extra_bytes)
        bput(&r, "later fields", 12);
    brec(raw, SF_REC_STACK, &r);
    bfree(&r);
    buv(&r, 0);
    buv(&r, 77);
    bstr(&r, "main");
    if (extra_bytes)
        bput(&r, "\x01\x02", 2);
    brec(raw, SF_REC_THREAD, &r);
    bfree(&r);
    buv(&r, 2);    /* samples */
    buv(&r, 1000); /* base time */
    buv(&r, 0);    /* stacks */
    buv(&r, 0);
    buv(&r, 0); /* threads */
    buv(&r, 0);
    buv(&r, 5); /* goids */
    buv(&r, 6);
    bzz(&r, 0); /* times */
    bzz(&r, -1);
    buv(&r, 0); /* weights - 1 */
    buv(&r, 9);
    if (extra_bytes)
        bput(&r, "\xff\xff\xff", 3);
    brec(raw, SF_REC_SAMPLES, &r);
    bfree(&r);
}

static void check_brecords(const struct sample_file *f)
{
    assert_int_equal(f->nstacks, 1);
    assert_int_equal(f->stacks[0].n, 2);
    assert_int_equal(f->pcs[0], 0x401000);
    assert_int_equal(f->pcs[1], 0x400800);
    assert_int_equal(f->nthreads, 1);
    assert_int_equal(f->threads[0].tid, 77);
    assert_string_equal(f->threads[0].name, "main");
    assert_int_equal(f->nsamples, 2);
    assert_int_equal(f->samples[0].goid, 5);
    assert_int_equal(f->samples[1].goid, 6);
    assert_int_equal(f->samples[0].time_us, 1000);
    assert_int_equal(f->samples[1].time_us, 999);
    assert_int_equal(f->samples[0].weight, 1);
    assert_int_equal(f->samples[1].weight, 10);
}

static void test_unknown_records_skipped(void **state)
{
    (void)state;
    struct bytes raw = {0}, z = {0}, r = {0};
    bmagic(&raw, 1);
    bheader(&raw, 1);
    /* record types a later version might add, before and between ours */
    bput(&r, "\x05\x80\x80\x01something", 13);
    brec(&raw, 200, &r);
    brec(&raw, 0, &(struct bytes){0});
    brec(&raw, 255, &r);
    brecords(&raw, false);
    brec(&raw, 9, &r);
    zframe(&z, raw.p, raw.n);
    /* a later frame holding only an unknown record */
    struct bytes raw2 = {0};
    brec(&raw2, 42, &r);
    zframe(&z, raw2.p, raw2.n);
    struct sample_file *f = load_ok(z.p, z.n);
    check_brecords(f);
    assert_int_equal(f->frames, 2);
    sf_free(f);
    bfree(&raw);
    bfree(&raw2);
    bfree(&z);
    bfree(&r);

    /* known records with fields appended by a later version */
    bmagic(&raw, 1);
    bheader(&raw, 1);
    brecords(&raw, true);
    zframe(&z, raw.p, raw.n);
    f = load_ok(z.p, z.n);
    check_brecords(f);
    assert_string_equal(f->hdr.hostname, "host");
    sf_free(f);
    bfree(&raw);
    bfree(&z);
}

static void test_malformed_records(void **state)
{
    (void)state;
    struct bytes raw = {0}, z = {0}, r = {0};
    /* a first record that is not the header */
    bmagic(&raw, 1);
    brecords(&raw, false);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "not a header");
    bfree(&raw);
    bfree(&z);
    /* two headers */
    bmagic(&raw, 1);
    bheader(&raw, 1);
    bheader(&raw, 1);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "second header");
    bfree(&raw);
    bfree(&z);
    /* a record longer than its frame */
    bmagic(&raw, 1);
    bheader(&raw, 1);
    bbyte(&raw, SF_REC_NOTE);
    buv(&raw, 100);
    bput(&raw, "\x03xyz", 4);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "runs past");
    bfree(&raw);
    bfree(&z);
    /* a record whose payload ends inside a field */
    bmagic(&raw, 1);
    bheader(&raw, 1);
    bstr(&r, "a longer note");
    r.n -= 3;
    brec(&raw, SF_REC_NOTE, &r);
    bfree(&r);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "cut short");
    bfree(&raw);
    bfree(&z);
    /* a varint of more than 64 bits */
    bmagic(&raw, 1);
    bheader(&raw, 1);
    bput(&r, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
    brec(&raw, SF_REC_COUNTERS, &r);
    bfree(&r);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "cut short");
    bfree(&raw);
    bfree(&z);
    /* a sample batch declaring more samples than it has bytes for */
    bmagic(&raw, 1);
    bheader(&raw, 1);
    brecords(&raw, false);
    buv(&r, 1ull << 40);
    buv(&r, 0);
    bput(&r, "\0\0\0\0\0", 5);
    brec(&raw, SF_REC_SAMPLES, &r);
    bfree(&r);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "declares");
    bfree(&raw);
    bfree(&z);
    /* a weight no collector writes */
    bmagic(&raw, 1);
    bheader(&raw, 1);
    brecords(&raw, false);
    buv(&r, 1);
    buv(&r, 0);
    bput(&r, "\0\0\0\0", 4);
    buv(&r, 1ull << 32);
    brec(&raw, SF_REC_SAMPLES, &r);
    bfree(&r);
    zframe(&z, raw.p, raw.n);
    load_err(z.p, z.n, "weight");
    bfree(&raw);
    bfree(&z);
    /* garbage after the last frame */
    bmagic(&raw, 1);
    bheader(&raw, 1);
    zframe(&z, raw.p, raw.n);
    bput(&z, "garbage!", 8);
    load_err(z.p, z.n, "corrupt");
    bfree(&raw);
    bfree(&z);
}

static void test_note_limit(void **state)
{
    (void)state;
    int fd;
    struct out o = {0};
    struct sfw *w = wopen(&fd);
    write_header(w);
    char text[32];
    for (int i = 0; i < 1100; i++) {
        snprintf(text, sizeof text, "note %d", i);
        sfw_note(w, text);
    }
    wfinish(w, fd, &o);
    struct sample_file *f = load_ok(o.p, o.n);
    assert_int_equal(f->nnotes, 1024);
    assert_string_equal(f->notes[1023], "note 1023");
    sf_free(f);
    out_free(&o);
}

/* ---- quick corruption test ----------------------------------------------- */

/* The structural promises a loaded file keeps whatever its input. */
static void check_loaded(const struct sample_file *f)
{
    assert_non_null(f->hdr.exe_path);
    assert_non_null(f->hdr.hostname);
    for (size_t i = 0; i < f->nstacks; i++) {
        assert_true(f->stacks[i].n <= SF_MAX_DEPTH);
        assert_true(f->stacks[i].pcs_off + f->stacks[i].n <= f->npcs);
    }
    for (size_t i = 0; i < f->nsamples; i++) {
        assert_true(f->samples[i].stack < f->nstacks);
        assert_true(f->samples[i].thread < f->nthreads);
        assert_true(f->samples[i].weight >= 1);
    }
    for (size_t i = 0; i < f->nmaps; i++) {
        assert_true(f->maps[i].end > f->maps[i].start);
        assert_non_null(f->maps[i].path);
    }
    for (size_t i = 0; i < f->nthreads; i++)
        assert_non_null(f->threads[i].name);
    for (size_t i = 0; i < f->nnotes; i++)
        assert_non_null(f->notes[i]);
}

static void try_load(const uint8_t *p, size_t n, unsigned *ok, unsigned *refused)
{
    char err[512] = "";
    struct sample_file *f = sf_load_mem("fuzz.goprof", p, n, err, sizeof err);
    if (f) {
        check_loaded(f);
        sf_free(f);
        ++*ok;
    } else {
        check_err(err, "fuzz.goprof", NULL);
        ++*refused;
    }
}

/* Decompresses one frame. */
static void unframe(const uint8_t *p, size_t n, struct bytes *raw)
{
    unsigned long long cs = ZSTD_getFrameContentSize(p, n);
    assert_true(cs < (1u << 26));
    raw->n = 0;
    bput(raw, "", 0);
    uint8_t *tmp = malloc(cs + 1);
    size_t k = ZSTD_decompress(tmp, cs, p, n);
    assert_false(ZSTD_isError(k));
    bput(raw, tmp, k);
    free(tmp);
}

static void mutate(struct bytes *b)
{
    int kinds = 1 + (int)rnd_below(3);
    for (int m = 0; m < kinds && b->n; m++) {
        size_t at = rnd_below(b->n);
        switch (rnd_below(7)) {
        case 0: b->p[at] ^= (uint8_t)(1u << rnd_below(8)); break;
        case 1: b->p[at] = (uint8_t)rnd(); break;
        case 2: b->p[at] = (uint8_t)(rnd_below(2) ? 0xff : 0x00); break;
        case 3: b->n = at; break; /* cut */
        case 4: /* delete a few bytes */ {
            size_t k = 1 + rnd_below(8);
            if (at + k > b->n)
                k = b->n - at;
            memmove(b->p + at, b->p + at + k, b->n - at - k);
            b->n -= k;
            break;
        }
        case 5: /* insert a few random bytes */ {
            size_t k = 1 + rnd_below(8);
            uint8_t ins[8];
            for (size_t i = 0; i < k; i++)
                ins[i] = (uint8_t)rnd();
            bput(b, ins, k); /* grow, then shift into place */
            memmove(b->p + at + k, b->p + at, b->n - k - at);
            memcpy(b->p + at, ins, k);
            break;
        }
        default: /* a big varint where a small one was */ {
            static const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
            size_t k = rnd_below(5) + 1;
            if (at + k <= b->n)
                memcpy(b->p + at, big + 5 - k, k);
            break;
        }
        }
    }
}

static void test_quick_corruption(void **state)
{
    (void)state;
    struct out o = {0};
    size_t per[3];
    three_frames(&o, true, per);
    /* the frames' raw content, to corrupt what the record parser sees
     * (zstd's checksum catches nearly every change of the compressed bytes) */
    struct bytes raw[3] = {{0}};
    size_t prev = 0;
    for (int i = 0; i < 3; i++) {
        unframe(o.p + prev, o.frame_end[i] - prev, &raw[i]);
        prev = o.frame_end[i];
    }
    unsigned ok = 0, refused = 0;
    struct bytes b = {0}, m = {0};
    for (int iter = 0; iter < 3000; iter++) {
        b.n = 0;
        if (iter % 3 == 0) {
            /* compressed bytes */
            bput(&b, o.p, o.n);
            mutate(&b);
        } else {
            /* one frame's records, recompressed with a valid checksum */
            int which = (int)rnd_below(3);
            for (int i = 0; i < 3; i++) {
                m.n = 0;
                bput(&m, raw[i].p, raw[i].n);
                if (i == which)
                    mutate(&m);
                zframe(&b, m.p, m.n);
            }
            if (iter % 7 == 1) /* and cut somewhere */
                b.n = rnd_below(b.n + 1);
        }
        try_load(b.p, b.n, &ok, &refused);
    }
    /* random bytes, and random bytes behind a zstd magic */
    for (int iter = 0; iter < 500; iter++) {
        b.n = 0;
        if (iter & 1)
            bput(&b, "\x28\xb5\x2f\xfd", 4);
        size_t n = rnd_below(64);
        for (size_t i = 0; i < n; i++)
            bbyte(&b, (uint8_t)rnd());
        try_load(b.p, b.n, &ok, &refused);
    }
    print_message("# %u mutated files loaded, %u refused\n", ok, refused);
    assert_true(ok > 0);
    assert_true(refused > 0);
    for (int i = 0; i < 3; i++)
        bfree(&raw[i]);
    bfree(&b);
    bfree(&m);
    out_free(&o);
}

/* ---- ring ------------------------------------------------------------------ */

static struct ring *ring_new(uint32_t depth)
{
    struct ring *r = ring_create(depth, 0);
    assert_non_null(r);
    assert_int_equal(r->magic, RING_MAGIC);
    assert_int_equal(r->depth, depth);
    assert_true(r->nslots >= 2 && (r->nslots & (r->nslots - 1)) == 0);
    assert_true(r->slot_size >= sizeof(struct ring_slot) + depth * 8);
    assert_int_equal(r->slot_size % 64, 0);
    return r;
}

static void ring_del(struct ring *r)
{
    uint64_t n;
    uint32_t sz;
    size_t bytes = ring_bytes(r->depth, 0, &n, &sz);
    assert_int_equal(munmap(r, bytes), 0);
}

static void fill(struct ring_slot *s, uint64_t pos, uint32_t depth)
{
    s->tid = (uint32_t)pos;
    s->nframes = (uint16_t)(pos % (depth + 1));
    s->flags = (uint16_t)(pos & 1);
    s->time = pos * 1000;
    s->goid = pos ^ 0x55;
    s->weight = pos + 1;
    for (uint32_t i = 0; i < s->nframes; i++)
        s->pcs[i] = pos * 100000 + i;
}

static void check_slot(const struct ring_slot *s, uint64_t pos, uint32_t depth)
{
    if (s->tid != (uint32_t)pos || s->nframes != pos % (depth + 1) || s->time != pos * 1000 ||
        s->goid != (pos ^ 0x55) || s->weight != pos + 1)
        fail_msg("slot of sample %llu holds another sample (tid %u)", (unsigned long long)pos,
                 s->tid);
    for (uint32_t i = 0; i < s->nframes; i++)
        assert_int_equal(s->pcs[i], pos * 100000 + i);
}

static void test_ring_basic(void **state)
{
    (void)state;
    const uint32_t depth = 1024;
    struct ring *r = ring_new(depth);
    struct ring_reader rd = {r, 0};
    struct ring_slot *s;
    uint64_t pos = 0;
    assert_int_equal(ring_next(&rd, false, &s), RING_EMPTY);
    assert_int_equal(ring_next(&rd, true, &s), RING_EMPTY);
    /* several laps through the ring, a few slots at a time */
    uint64_t produced = 0, consumed = 0;
    while (consumed < 5 * r->nslots + 3) {
        size_t k = 1 + rnd_below(r->nslots);
        for (size_t i = 0; i < k; i++) {
            s = ring_claim(r, &pos);
            if (!s)
                break;
            assert_int_equal(pos, produced);
            fill(s, pos, depth);
            ring_publish(s, pos);
            produced++;
        }
        k = 1 + rnd_below(r->nslots);
        for (size_t i = 0; i < k; i++) {
            enum ring_next st = ring_next(&rd, false, &s);
            if (st == RING_EMPTY) {
                assert_int_equal(consumed, produced);
                break;
            }
            assert_int_equal(st, RING_READY);
            check_slot(s, consumed, depth);
            ring_release(&rd, s);
            consumed++;
        }
    }
    ring_del(r);
}

static void test_ring_full_and_out_of_order(void **state)
{
    (void)state;
    const uint32_t depth = 1024;
    struct ring *r = ring_new(depth);
    struct ring_reader rd = {r, 0};
    struct ring_slot *s, *first;
    uint64_t pos = 0, first_pos = 0;
    /* claim every slot (publishing all but the first): the next claim fails */
    first = ring_claim(r, &first_pos);
    assert_non_null(first);
    fill(first, first_pos, depth);
    for (uint64_t i = 1; i < r->nslots; i++) {
        s = ring_claim(r, &pos);
        assert_non_null(s);
        assert_int_equal(pos, i);
        fill(s, pos, depth);
        ring_publish(s, pos);
    }
    assert_null(ring_claim(r, &pos));
    assert_null(ring_claim(r, &pos));
    /* the consumer waits for the unpublished first slot */
    assert_int_equal(ring_next(&rd, false, &s), RING_EMPTY);
    ring_publish(first, first_pos);
    for (uint64_t i = 0; i < 3; i++) {
        assert_int_equal(ring_next(&rd, false, &s), RING_READY);
        check_slot(s, i, depth);
        ring_release(&rd, s);
    }
    /* three slots are free again, no more */
    for (uint64_t i = 0; i < 3; i++) {
        s = ring_claim(r, &pos);
        assert_non_null(s);
        assert_int_equal(pos, r->nslots + i);
        fill(s, pos, depth);
        ring_publish(s, pos);
    }
    assert_null(ring_claim(r, &pos));
    for (uint64_t i = 3; i < r->nslots + 3; i++) {
        assert_int_equal(ring_next(&rd, false, &s), RING_READY);
        check_slot(s, i, depth);
        ring_release(&rd, s);
    }
    assert_int_equal(ring_next(&rd, false, &s), RING_EMPTY);
    assert_int_equal(ring_next(&rd, true, &s), RING_EMPTY);
    ring_del(r);
}

static void test_ring_torn(void **state)
{
    (void)state;
    const uint32_t depth = 16;
    struct ring *r = ring_new(depth);
    struct ring_reader rd = {r, 0};
    struct ring_slot *s, *a, *b, *c;
    uint64_t pa = 0, pb = 0, pc = 0;
    a = ring_claim(r, &pa);
    b = ring_claim(r, &pb); /* this producer "dies" before publishing */
    c = ring_claim(r, &pc);
    assert_true(a && b && c);
    fill(a, pa, depth);
    ring_publish(a, pa);
    fill(c, pc, depth);
    ring_publish(c, pc);
    assert_int_equal(ring_next(&rd, false, &s), RING_READY);
    assert_ptr_equal(s, a);
    check_slot(s, 0, depth);
    ring_release(&rd, s);
    /* while producers may live, a claimed slot is only not ready yet */
    assert_int_equal(ring_next(&rd, false, &s), RING_EMPTY);
    assert_int_equal(ring_next(&rd, false, &s), RING_EMPTY);
    /* once they are gone, it is torn; skipping it reaches the next one */
    assert_int_equal(ring_next(&rd, true, &s), RING_TORN);
    assert_ptr_equal(s, b);
    ring_release(&rd, s);
    assert_int_equal(ring_next(&rd, true, &s), RING_READY);
    assert_ptr_equal(s, c);
    check_slot(s, 2, depth);
    ring_release(&rd, s);
    assert_int_equal(ring_next(&rd, true, &s), RING_EMPTY);
    /* the torn slot is usable again one lap later */
    for (uint64_t i = 3; i < r->nslots + 3; i++) {
        s = ring_claim(r, &pa);
        assert_non_null(s);
        assert_int_equal(pa, i);
        ring_publish(s, pa);
    }
    assert_ptr_equal(ring_slot_at(r, r->nslots + 1), b);
    assert_null(ring_claim(r, &pa)); /* slot 3 is published, not yet released */
    ring_del(r);
}

/* Producers on real threads, the consumer on this one. */
struct producer {
    struct ring *r;
    uint32_t id;
    uint64_t n;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (uint64_t i = 0; i < p->n;) {
        uint64_t pos = 0;
        struct ring_slot *s = ring_claim(p->r, &pos);
        if (!s) {
            sched_yield();
            continue;
        }
        s->tid = p->id;
        s->nframes = (uint16_t)(i % (p->r->depth + 1));
        s->time = i;
        s->goid = ~i;
        s->weight = 1;
        for (uint32_t k = 0; k < s->nframes; k++)
            s->pcs[k] = ((uint64_t)p->id << 48) | (i << 8) | k;
        ring_publish(s, pos);
        i++;
    }
    return NULL;
}

static void test_ring_threads(void **state)
{
    (void)state;
    enum { NPROD = 4, PER = 100000 };
    struct ring *r = ring_new(32);
    struct ring_reader rd = {r, 0};
    pthread_t th[NPROD];
    struct producer pr[NPROD];
    for (uint32_t i = 0; i < NPROD; i++) {
        pr[i] = (struct producer){r, i, PER};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &pr[i]), 0);
    }
    uint64_t next[NPROD] = {0}, got = 0;
    while (got < (uint64_t)NPROD * PER) {
        struct ring_slot *s;
        enum ring_next st = ring_next(&rd, false, &s);
        if (st == RING_EMPTY) {
            sched_yield();
            continue;
        }
        assert_int_equal(st, RING_READY);
        assert_true(s->tid < NPROD);
        uint64_t i = next[s->tid]++;
        /* each producer's samples arrive once, in its order, intact */
        if (s->time != i || s->goid != ~i || s->nframes != i % (r->depth + 1))
            fail_msg("producer %u: sample %llu arrived as %llu", s->tid, (unsigned long long)i,
                     (unsigned long long)s->time);
        for (uint32_t k = 0; k < s->nframes; k++)
            assert_int_equal(s->pcs[k], ((uint64_t)s->tid << 48) | (i << 8) | k);
        ring_release(&rd, s);
        got++;
    }
    for (int i = 0; i < NPROD; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NPROD; i++)
        assert_int_equal(next[i], PER);
    struct ring_slot *s;
    assert_int_equal(ring_next(&rd, true, &s), RING_EMPTY);
    ring_del(r);
}

/* ---- stack table --------------------------------------------------------- */

/* A copy of stack_table.c's hash, to build stacks whose hashes are equal.
 * (If the real one changes the stacks merely stop colliding; the checks
 * that they stay apart still hold.) */
static uint64_t hash_init(uint32_t n, uint32_t flags)
{
    return 0x9e3779b97f4a7c15ull ^ ((uint64_t)n << 32 | flags);
}

static uint64_t hash_step(uint64_t h, uint64_t pc)
{
    h ^= pc;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    return h;
}

static void test_stack_table_dedup(void **state)
{
    (void)state;
    struct stack_table *t = stack_table_new();
    assert_non_null(t);
    bool is_new;
    uint64_t a[3] = {0x401000, 0x402000, 0x403000};
    uint64_t empty[1] = {0};
    assert_int_equal(stack_table_intern(t, a, 3, 0, &is_new), 0);
    assert_true(is_new);
    assert_int_equal(stack_table_intern(t, a, 3, 0, &is_new), 0);
    assert_false(is_new);
    uint64_t copy[3];
    memcpy(copy, a, sizeof a); /* compared by content, not by pointer */
    assert_int_equal(stack_table_intern(t, copy, 3, 0, &is_new), 0);
    assert_false(is_new);
    /* prefixes and suffixes are other stacks */
    assert_int_equal(stack_table_intern(t, a, 2, 0, &is_new), 1);
    assert_true(is_new);
    assert_int_equal(stack_table_intern(t, a + 1, 2, 0, &is_new), 2);
    assert_true(is_new);
    /* so is the empty stack, once */
    assert_int_equal(stack_table_intern(t, empty, 0, 0, &is_new), 3);
    assert_true(is_new);
    assert_int_equal(stack_table_intern(t, empty, 0, 0, &is_new), 3);
    assert_false(is_new);
    /* the same frames with other flags */
    assert_int_equal(stack_table_intern(t, a, 3, SF_STACK_TRUNCATED, &is_new), 4);
    assert_true(is_new);
    assert_int_equal(stack_table_intern(t, empty, 0, SF_STACK_TRUNCATED, &is_new), 5);
    assert_true(is_new);
    assert_int_equal(stack_table_intern(t, a, 3, 0, &is_new), 0);
    assert_false(is_new);
    assert_int_equal(stack_table_intern(t, a, 3, SF_STACK_TRUNCATED, &is_new), 4);
    assert_false(is_new);
    assert_int_equal(stack_table_count(t), 6);
    stack_table_free(t);
    stack_table_free(NULL);
    /* the empty stack first, into a table that holds no frames yet */
    t = stack_table_new();
    assert_int_equal(stack_table_intern(t, empty, 0, 0, &is_new), 0);
    assert_true(is_new);
    assert_int_equal(stack_table_intern(t, empty, 0, 0, &is_new), 0);
    assert_false(is_new);
    assert_int_equal(stack_table_intern(t, a, 1, 0, &is_new), 1);
    assert_true(is_new);
    stack_table_free(t);
}

static void test_stack_table_equal_hashes(void **state)
{
    (void)state;
    struct stack_table *t = stack_table_new();
    bool is_new;
    /* one frame, flags 0 and 1: {p} and {p ^ 1} hash alike */
    uint64_t p0 = 0x401000, p1 = 0x401001;
    assert_int_equal(hash_step(hash_init(1, 0), p0), hash_step(hash_init(1, 1), p1));
    int64_t i0 = stack_table_intern(t, &p0, 1, 0, &is_new);
    assert_true(is_new);
    int64_t i1 = stack_table_intern(t, &p1, 1, 1, &is_new);
    assert_true(is_new);
    assert_int_not_equal(i0, i1);
    assert_int_equal(stack_table_intern(t, &p0, 1, 0, &is_new), i0);
    assert_int_equal(stack_table_intern(t, &p1, 1, 1, &is_new), i1);

    /* Thousands of two-frame stacks with one hash: the second frame undoes
     * the difference the first one made. They fill one probe chain and
     * survive the table growing several times. */
    enum { N = 5000 };
    uint64_t (*st)[2] = malloc(N * sizeof *st);
    int64_t *ids = malloc(N * sizeof *ids);
    const uint64_t h0 = hash_init(2, 0);
    const uint64_t target = hash_step(hash_step(h0, 0x400000), 0x500000);
    for (size_t i = 0; i < N; i++) {
        st[i][0] = 0x400000 + i * 8;
        uint64_t mid = hash_step(h0, st[i][0]);
        /* solve hash_step(mid, x) == target: undo xorshift and multiply */
        uint64_t v = target;
        v ^= v >> 32; /* inverse of h ^= h >> 32 */
        uint64_t inv = 0xff51afd7ed558ccdull; /* inverse of the odd multiplier */
        for (int k = 0; k < 6; k++)
            inv *= 2 - 0xff51afd7ed558ccdull * inv;
        v *= inv;
        st[i][1] = v ^ mid;
        assert_int_equal(hash_step(mid, st[i][1]), target);
    }
    size_t base = stack_table_count(t);
    for (size_t i = 0; i < N; i++) {
        ids[i] = stack_table_intern(t, st[i], 2, 0, &is_new);
        assert_true(is_new);
        assert_int_equal(ids[i], (int64_t)(base + i));
    }
    for (size_t i = N; i-- > 0;) {
        assert_int_equal(stack_table_intern(t, st[i], 2, 0, &is_new), ids[i]);
        assert_false(is_new);
    }
    assert_int_equal(stack_table_count(t), base + N);
    free(st);
    free(ids);
    stack_table_free(t);
}

static void test_stack_table_random(void **state)
{
    (void)state;
    enum { N = 60000, MAXD = 40 };
    struct stack_table *t = stack_table_new();
    uint64_t *pcs = malloc((size_t)N * MAXD * sizeof *pcs);
    uint32_t *n = malloc(N * sizeof *n), *fl = malloc(N * sizeof *fl);
    int64_t *ids = malloc(N * sizeof *ids);
    bool is_new;
    /* random stacks over few PCs, so many share prefixes; some repeat */
    size_t distinct = 0;
    for (size_t i = 0; i < N; i++) {
        n[i] = (uint32_t)rnd_below(MAXD + 1);
        fl[i] = (uint32_t)rnd_below(2);
        for (uint32_t k = 0; k < n[i]; k++)
            pcs[i * MAXD + k] = 0x400000 + rnd_below(4) * 16;
        ids[i] = stack_table_intern(t, pcs + i * MAXD, n[i], fl[i], &is_new);
        assert_true(ids[i] >= 0);
        /* new exactly when no earlier stack is equal */
        int64_t same = -1;
        for (size_t j = 0; j < i && same < 0; j++)
            if (n[j] == n[i] && fl[j] == fl[i] &&
                !memcmp(pcs + j * MAXD, pcs + i * MAXD, n[i] * sizeof *pcs))
                same = ids[j];
        if (same >= 0) {
            assert_false(is_new);
            assert_int_equal(ids[i], same);
        } else {
            assert_true(is_new);
            assert_int_equal(ids[i], (int64_t)distinct++);
        }
        if (i == 3000) /* the quadratic check above is only for the start */
            break;
    }
    /* then many more, checked by interning them all again */
    for (size_t i = 3001; i < N; i++) {
        n[i] = (uint32_t)rnd_below(MAXD + 1);
        fl[i] = (uint32_t)rnd_below(2);
        for (uint32_t k = 0; k < n[i]; k++)
            pcs[i * MAXD + k] = rnd_below(3) ? rnd() : 0x400000;
        ids[i] = stack_table_intern(t, pcs + i * MAXD, n[i], fl[i], &is_new);
        assert_true(ids[i] >= 0);
        if (is_new)
            assert_int_equal(ids[i], (int64_t)distinct++);
    }
    assert_int_equal(stack_table_count(t), distinct);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(stack_table_intern(t, pcs + i * MAXD, n[i], fl[i], &is_new), ids[i]);
        assert_false(is_new);
    }
    assert_int_equal(stack_table_count(t), distinct);
    free(pcs);
    free(n);
    free(fl);
    free(ids);
    stack_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_header_strings),
        cmocka_unit_test(test_roundtrip_mappings),
        cmocka_unit_test(test_roundtrip_stacks),
        cmocka_unit_test(test_stack_limits_and_sequence),
        cmocka_unit_test(test_roundtrip_threads),
        cmocka_unit_test(test_roundtrip_samples_many_batches),
        cmocka_unit_test(test_end_without_trailer),
        cmocka_unit_test(test_roundtrip_many_frames),
        cmocka_unit_test(test_load_path_and_pipe),
        cmocka_unit_test(test_truncated_last_frame),
        cmocka_unit_test(test_truncated_first_frame_and_empty),
        cmocka_unit_test(test_bad_magic_and_version),
        cmocka_unit_test(test_corrupt_middle_frame),
        cmocka_unit_test(test_huge_declared_frame),
        cmocka_unit_test(test_undefined_references),
        cmocka_unit_test(test_unknown_records_skipped),
        cmocka_unit_test(test_malformed_records),
        cmocka_unit_test(test_note_limit),
        cmocka_unit_test(test_quick_corruption),
        cmocka_unit_test(test_ring_basic),
        cmocka_unit_test(test_ring_full_and_out_of_order),
        cmocka_unit_test(test_ring_torn),
        cmocka_unit_test(test_ring_threads),
        cmocka_unit_test(test_stack_table_dedup),
        cmocka_unit_test(test_stack_table_equal_hashes),
        cmocka_unit_test(test_stack_table_random),
    };
    return cmocka_run_group_tests_name("sample_format, ring, stack_table", tests, NULL, NULL);
}
