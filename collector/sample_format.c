/* Writer and reader of the sample file; see sample_format.h and
 * docs/FORMAT.md. The varint/record framing is ours (a few lines);
 * compression and integrity (frame checksums) come from zstd. */
#define _GNU_SOURCE
#include "sample_format.h"

#include "bytebuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

/* ---- encoding helpers (varints: common/bytebuf.c) ----------------- */
static void buf_zz(struct bytebuf *b, int64_t v)
{
    bytebuf_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void buf_str(struct bytebuf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    bytebuf_uvarint(b, n);
    bytebuf_put(b, s, n);
}

/* ---- writer ------------------------------------------------------------ */
#define SFW_FRAME_LIMIT (1u << 20) /* end a frame at ~1 MiB of records */
#define SFW_BATCH_LIMIT 4096

struct sfw {
    int fd;
    ZSTD_CCtx *cctx;
    struct bytebuf raw, rec, out;
    struct bytebuf col_stack, col_thread, col_goid, col_time, col_weight;
    size_t nbatch;
    uint64_t batch_base_us, batch_prev_us;
    uint64_t written;
    char err[256];
};

static void sfw_fail(struct sfw *w, const char *fmt, ...)
{
    if (w->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

struct sfw *sfw_open(int fd, int level)
{
    struct sfw *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fd = fd;
    w->cctx = ZSTD_createCCtx();
    if (!w->cctx) {
        free(w);
        return NULL;
    }
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1);
    uint8_t magic[8];
    memcpy(magic, SF_MAGIC, 7);
    magic[7] = SF_VERSION;
    bytebuf_put(&w->raw, magic, sizeof magic);
    return w;
}

const char *sfw_error(const struct sfw *w)
{
    return w->err[0] ? w->err : NULL;
}

static void emit(struct sfw *w, enum sf_record type)
{
    uint8_t t = (uint8_t)type;
    bytebuf_put(&w->raw, &t, 1);
    bytebuf_uvarint(&w->raw, w->rec.len);
    bytebuf_put(&w->raw, w->rec.p, w->rec.len);
    w->rec.len = 0;
    if (w->raw.oom || w->rec.oom)
        sfw_fail(w, "out of memory while encoding samples");
    if (w->raw.len >= SFW_FRAME_LIMIT)
        sfw_flush(w);
}

void sfw_header(struct sfw *w, const struct sf_header *h)
{
    struct bytebuf *r = &w->rec;
    bytebuf_uvarint(r, SF_VERSION);
    bytebuf_uvarint(r, h->pid);
    bytebuf_uvarint(r, h->start_unix_ns);
    bytebuf_uvarint(r, h->start_mono_ns);
    bytebuf_uvarint(r, h->hz);
    bytebuf_uvarint(r, h->period_ns);
    bytebuf_uvarint(r, h->source);
    bytebuf_uvarint(r, h->depth_limit);
    bytebuf_uvarint(r, h->unwind);
    buf_str(r, h->exe_path);
    buf_str(r, h->build_id);
    buf_str(r, h->go_version);
    buf_str(r, h->go_build_id);
    buf_str(r, h->cmdline);
    buf_str(r, h->hostname);
    emit(w, SF_REC_HEADER);
}

void sfw_mapping(struct sfw *w, const struct sf_mapping *m)
{
    struct bytebuf *r = &w->rec;
    bytebuf_uvarint(r, m->start);
    bytebuf_uvarint(r, m->end);
    bytebuf_uvarint(r, m->offset);
    bytebuf_uvarint(r, m->flags);
    buf_str(r, m->path);
    buf_str(r, m->build_id);
    emit(w, SF_REC_MAPPING);
}

void sfw_stack(struct sfw *w, uint64_t id, uint32_t flags, const uint64_t *pcs, uint32_t n)
{
    struct bytebuf *r = &w->rec;
    bytebuf_uvarint(r, id);
    bytebuf_uvarint(r, flags);
    bytebuf_uvarint(r, n);
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        buf_zz(r, (int64_t)(pcs[i] - prev));
        prev = pcs[i];
    }
    emit(w, SF_REC_STACK);
}

void sfw_thread(struct sfw *w, uint64_t idx, uint64_t tid, const char *name)
{
    struct bytebuf *r = &w->rec;
    bytebuf_uvarint(r, idx);
    bytebuf_uvarint(r, tid);
    buf_str(r, name);
    emit(w, SF_REC_THREAD);
}

static void flush_batch(struct sfw *w)
{
    if (!w->nbatch)
        return;
    struct bytebuf *r = &w->rec;
    bytebuf_uvarint(r, w->nbatch);
    bytebuf_uvarint(r, w->batch_base_us);
    /* Column order: similar values side by side compress far better. */
    struct bytebuf *cols[] = {&w->col_stack, &w->col_thread, &w->col_goid,
                          &w->col_time, &w->col_weight};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
        bytebuf_put(r, cols[i]->p, cols[i]->len);
        if (cols[i]->oom)
            sfw_fail(w, "out of memory while encoding samples");
        cols[i]->len = 0;
    }
    w->nbatch = 0;
    emit(w, SF_REC_SAMPLES);
}

void sfw_sample(struct sfw *w, uint64_t stack_id, uint64_t thread_idx, uint64_t goid,
                uint64_t time_ns, uint64_t weight)
{
    uint64_t us = time_ns / 1000;
    if (!w->nbatch)
        w->batch_base_us = w->batch_prev_us = us;
    bytebuf_uvarint(&w->col_stack, stack_id);
    bytebuf_uvarint(&w->col_thread, thread_idx);
    bytebuf_uvarint(&w->col_goid, goid);
    buf_zz(&w->col_time, (int64_t)(us - w->batch_prev_us));
    bytebuf_uvarint(&w->col_weight, weight ? weight - 1 : 0);
    w->batch_prev_us = us;
    if (++w->nbatch >= SFW_BATCH_LIMIT)
        flush_batch(w);
}

void sfw_counters(struct sfw *w, const struct sf_counters *c)
{
    flush_batch(w);
    struct bytebuf *r = &w->rec;
    bytebuf_uvarint(r, c->signals);
    bytebuf_uvarint(r, c->samples);
    bytebuf_uvarint(r, c->dropped_signals);
    bytebuf_uvarint(r, c->dropped_weight);
    bytebuf_uvarint(r, c->torn);
    bytebuf_uvarint(r, c->threads);
    bytebuf_uvarint(r, c->forwarded);
    bytebuf_uvarint(r, c->timer_errors);
    bytebuf_uvarint(r, c->handler_ns);
    emit(w, SF_REC_COUNTERS);
}

void sfw_note(struct sfw *w, const char *text)
{
    buf_str(&w->rec, text);
    emit(w, SF_REC_NOTE);
}

void sfw_trailer(struct sfw *w, uint64_t end_unix_ns, uint64_t end_mono_ns)
{
    flush_batch(w);
    bytebuf_uvarint(&w->rec, end_unix_ns);
    bytebuf_uvarint(&w->rec, end_mono_ns);
    emit(w, SF_REC_TRAILER);
}

int sfw_flush(struct sfw *w)
{
    flush_batch(w);
    if (w->err[0])
        return -1;
    if (!w->raw.len)
        return 0;
    size_t bound = ZSTD_compressBound(w->raw.len);
    if (w->out.cap < bound) {
        uint8_t *p = realloc(w->out.p, bound);
        if (!p) {
            sfw_fail(w, "out of memory while compressing samples");
            return -1;
        }
        w->out.p = p;
        w->out.cap = bound;
    }
    size_t n = ZSTD_compress2(w->cctx, w->out.p, w->out.cap, w->raw.p, w->raw.len);
    if (ZSTD_isError(n)) {
        sfw_fail(w, "zstd: %s", ZSTD_getErrorName(n));
        return -1;
    }
    w->raw.len = 0;
    for (size_t off = 0; off < n;) {
        ssize_t k = write(w->fd, w->out.p + off, n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            sfw_fail(w, "%s", k < 0 ? strerror(errno) : "short write");
            return -1;
        }
        off += (size_t)k;
    }
    w->written += n;
    return 0;
}

uint64_t sfw_bytes_written(const struct sfw *w)
{
    return w->written;
}

void sfw_close(struct sfw *w)
{
    if (!w)
        return;
    ZSTD_freeCCtx(w->cctx);
    bytebuf_free(&w->raw);
    bytebuf_free(&w->rec);
    bytebuf_free(&w->out);
    bytebuf_free(&w->col_stack);
    bytebuf_free(&w->col_thread);
    bytebuf_free(&w->col_goid);
    bytebuf_free(&w->col_time);
    bytebuf_free(&w->col_weight);
    free(w);
}

/* ---- reader ------------------------------------------------------------ */
/* Limits that keep a hostile file from making us allocate without bound. */
#define SF_MAX_FRAME (256ull << 20)
#define SF_MAX_TOTAL (2ull << 30)
#define SF_MAX_STACKS (16u << 20)
#define SF_MAX_THREADS (4u << 20)
#define SF_MAX_MAPS 65536u
#define SF_MAX_SAMPLES (512ull << 20)

struct cur {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t cur_uv(struct cur *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) {
            c->bad = true;
            return 0;
        }
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->bad = true;
    return 0;
}

static int64_t cur_zz(struct cur *c)
{
    uint64_t u = cur_uv(c);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static char *cur_str(struct cur *c)
{
    uint64_t n = cur_uv(c);
    if (c->bad || n > (uint64_t)(c->end - c->p)) {
        c->bad = true;
        return strdup("");
    }
    char *s = strndup((const char *)c->p, n);
    c->p += n;
    return s;
}

struct loader {
    struct sample_file *f;
    char *err;
    size_t errlen;
    size_t cap_maps, cap_stacks, cap_pcs, cap_threads, cap_samples, cap_notes;
    uint64_t total;
    bool have_header;
};

static int lfail(struct loader *L, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(L->err, L->errlen, "%s: %s", L->f->path, msg);
    return -1;
}

#define GROW(L, field, capf, need)                                                 \
    (grow_array((void **)&(L)->f->field, &(L)->capf, (need), sizeof *(L)->f->field)      \
         ? 0                                                                       \
         : lfail((L), "out of memory"))

static int rec_header(struct loader *L, struct cur *c)
{
    struct sf_header *h = &L->f->hdr;
    if (L->have_header)
        return lfail(L, "second header record");
    h->version = cur_uv(c);
    if (!c->bad && h->version > SF_VERSION)
        return lfail(L, "format version %llu is newer than this goprof-report reads "
                        "(%d); use a newer goprof-report",
                     (unsigned long long)h->version, SF_VERSION);
    h->pid = cur_uv(c);
    h->start_unix_ns = cur_uv(c);
    h->start_mono_ns = cur_uv(c);
    h->hz = cur_uv(c);
    h->period_ns = cur_uv(c);
    h->source = cur_uv(c);
    h->depth_limit = cur_uv(c);
    h->unwind = cur_uv(c);
    h->exe_path = cur_str(c);
    h->build_id = cur_str(c);
    h->go_version = cur_str(c);
    h->go_build_id = cur_str(c);
    h->cmdline = cur_str(c);
    h->hostname = cur_str(c);
    L->have_header = true;
    return 0;
}

static int rec_mapping(struct loader *L, struct cur *c)
{
    struct sample_file *f = L->f;
    if (f->nmaps >= SF_MAX_MAPS)
        return lfail(L, "more than %u mappings", SF_MAX_MAPS);
    if (GROW(L, maps, cap_maps, f->nmaps + 1))
        return -1;
    struct sf_mapping *m = &f->maps[f->nmaps];
    m->start = cur_uv(c);
    m->end = cur_uv(c);
    m->offset = cur_uv(c);
    m->flags = cur_uv(c);
    m->path = cur_str(c);
    m->build_id = cur_str(c);
    f->nmaps++;
    if (!c->bad && m->end <= m->start)
        return lfail(L, "mapping %zu has end %#llx before start %#llx", f->nmaps - 1,
                     (unsigned long long)m->end, (unsigned long long)m->start);
    return 0;
}

static int rec_stack(struct loader *L, struct cur *c)
{
    struct sample_file *f = L->f;
    uint64_t id = cur_uv(c), flags = cur_uv(c), n = cur_uv(c);
    if (c->bad)
        return 0;
    if (id != f->nstacks)
        return lfail(L, "stack record %llu out of sequence (expected %zu)",
                     (unsigned long long)id, f->nstacks);
    if (id >= SF_MAX_STACKS)
        return lfail(L, "more than %u distinct stacks", SF_MAX_STACKS);
    if (n > SF_MAX_DEPTH || n > (uint64_t)(c->end - c->p))
        return lfail(L, "stack %llu declares %llu frames", (unsigned long long)id,
                     (unsigned long long)n);
    if (GROW(L, stacks, cap_stacks, f->nstacks + 1) ||
        GROW(L, pcs, cap_pcs, f->npcs + n))
        return -1;
    struct sf_stack *s = &f->stacks[f->nstacks++];
    s->flags = (uint32_t)flags;
    s->n = (uint32_t)n;
    s->pcs_off = f->npcs;
    s->defined = true;
    uint64_t pc = 0;
    for (uint64_t i = 0; i < n; i++) {
        pc += (uint64_t)cur_zz(c);
        f->pcs[f->npcs++] = pc;
    }
    return 0;
}

static int rec_thread(struct loader *L, struct cur *c)
{
    struct sample_file *f = L->f;
    uint64_t idx = cur_uv(c), tid = cur_uv(c);
    if (c->bad)
        return 0;
    if (idx != f->nthreads)
        return lfail(L, "thread record %llu out of sequence (expected %zu)",
                     (unsigned long long)idx, f->nthreads);
    if (idx >= SF_MAX_THREADS)
        return lfail(L, "more than %u threads", SF_MAX_THREADS);
    if (GROW(L, threads, cap_threads, f->nthreads + 1))
        return -1;
    f->threads[f->nthreads].tid = tid;
    f->threads[f->nthreads].name = cur_str(c);
    f->nthreads++;
    return 0;
}

static int rec_samples(struct loader *L, struct cur *c)
{
    struct sample_file *f = L->f;
    uint64_t n = cur_uv(c), base = cur_uv(c);
    if (c->bad)
        return 0;
    /* every sample takes at least 5 bytes (one per column) */
    if (n > (uint64_t)(c->end - c->p) / 5 || f->nsamples + n > SF_MAX_SAMPLES)
        return lfail(L, "sample batch declares %llu samples", (unsigned long long)n);
    if (n == 0)
        return 0; /* nothing to add (and no array yet to point into) */
    if (GROW(L, samples, cap_samples, f->nsamples + n))
        return -1;
    struct sf_sample *s = f->samples + f->nsamples;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t id = cur_uv(c);
        if (!c->bad && (id >= f->nstacks))
            return lfail(L, "sample refers to undefined stack %llu", (unsigned long long)id);
        s[i].stack = (uint32_t)id;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t = cur_uv(c);
        if (!c->bad && t >= f->nthreads)
            return lfail(L, "sample refers to undefined thread %llu", (unsigned long long)t);
        s[i].thread = (uint32_t)t;
    }
    for (uint64_t i = 0; i < n; i++)
        s[i].goid = cur_uv(c);
    uint64_t t = base;
    for (uint64_t i = 0; i < n; i++) {
        t += (uint64_t)cur_zz(c);
        s[i].time_us = t;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t wgt = cur_uv(c);
        s[i].weight = wgt < (1ull << 32) ? wgt + 1 : 0;
        if (!c->bad && !s[i].weight)
            return lfail(L, "sample weight %llu is implausible", (unsigned long long)wgt);
    }
    if (!c->bad)
        f->nsamples += n;
    return 0;
}

static int rec_counters(struct loader *L, struct cur *c)
{
    struct sf_counters *k = &L->f->counters;
    k->signals = cur_uv(c);
    k->samples = cur_uv(c);
    k->dropped_signals = cur_uv(c);
    k->dropped_weight = cur_uv(c);
    k->torn = cur_uv(c);
    k->threads = cur_uv(c);
    k->forwarded = cur_uv(c);
    k->timer_errors = cur_uv(c);
    /* added after the first release of the format: absent in older files */
    k->handler_ns = c->p < c->end ? cur_uv(c) : 0;
    return 0;
}

static int rec_note(struct loader *L, struct cur *c)
{
    struct sample_file *f = L->f;
    if (f->nnotes >= 1024)
        return 0;
    if (GROW(L, notes, cap_notes, f->nnotes + 1))
        return -1;
    f->notes[f->nnotes++] = cur_str(c);
    return 0;
}

static int parse_records(struct loader *L, const uint8_t *p, size_t n, bool first)
{
    struct cur all = {p, p + n, false};
    if (first) {
        if (n < 8 || memcmp(p, SF_MAGIC, 7) != 0)
            return lfail(L, "not a goprof sample file (bad magic)");
        if (p[7] > SF_VERSION)
            return lfail(L, "format version %u is newer than this goprof-report reads "
                            "(%d); use a newer goprof-report", p[7], SF_VERSION);
        if (p[7] == 0)
            return lfail(L, "format version 0 is not valid");
        all.p += 8;
    }
    while (all.p < all.end) {
        uint8_t type = *all.p++;
        uint64_t len = cur_uv(&all);
        if (all.bad || len > (uint64_t)(all.end - all.p))
            return lfail(L, "record of type %u runs past the end of its block", type);
        struct cur c = {all.p, all.p + len, false};
        all.p += len;
        if (!L->have_header && type != SF_REC_HEADER)
            return lfail(L, "first record is type %u, not a header", type);
        int rc = 0;
        switch (type) {
        case SF_REC_HEADER: rc = rec_header(L, &c); break;
        case SF_REC_MAPPING: rc = rec_mapping(L, &c); break;
        case SF_REC_STACK: rc = rec_stack(L, &c); break;
        case SF_REC_THREAD: rc = rec_thread(L, &c); break;
        case SF_REC_SAMPLES: rc = rec_samples(L, &c); break;
        case SF_REC_COUNTERS: rc = rec_counters(L, &c); break;
        case SF_REC_NOTE: rc = rec_note(L, &c); break;
        case SF_REC_TRAILER:
            L->f->end_unix_ns = cur_uv(&c);
            L->f->end_mono_ns = cur_uv(&c);
            L->f->complete = !c.bad;
            break;
        default: break; /* a newer record type: skip it */
        }
        if (rc)
            return rc;
        if (c.bad)
            return lfail(L, "record of type %u is cut short", type);
    }
    return 0;
}

/* A frame that runs past the end of the file is what a killed collector
 * leaves, unless a complete frame follows it: then a corrupt size field
 * made it look that way, and reading on as if it were a cut would drop
 * the rest of the file with no more than a warning. */
static bool complete_frame_after(const uint8_t *p, size_t pos, size_t size)
{
    static const uint8_t zmagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    for (size_t q = pos + 1; q + 4 <= size; q++) {
        const uint8_t *m = memmem(p + q, size - q, zmagic, 4);
        if (!m)
            return false;
        q = (size_t)(m - p);
        if (!ZSTD_isError(ZSTD_findFrameCompressedSize(m, size - q)))
            return true;
    }
    return false;
}

struct sample_file *sf_load_mem(const char *name, const void *data, size_t size,
                                char *err, size_t errlen)
{
    struct sample_file *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    f->path = strdup(name);
    struct loader L = {.f = f, .err = err, .errlen = errlen};
    const uint8_t *p = data;
    size_t pos = 0;
    uint8_t *out = NULL;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    int rc = 0;
    if (size == 0) {
        rc = lfail(&L, "file is empty (the profiled program may not have started, "
                       "or the collector could not write)");
        goto done;
    }
    while (pos < size && rc == 0) {
        size_t fsz = ZSTD_findFrameCompressedSize(p + pos, size - pos);
        if (ZSTD_isError(fsz)) {
            /* A frame that starts right but is cut off is the normal end of
             * a file whose collector died; anything else is corruption. */
            static const uint8_t zmagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
            size_t have = size - pos < 4 ? size - pos : 4; /* a cut may split the magic */
            bool zstd_start = memcmp(p + pos, zmagic, have) == 0;
            if (ZSTD_getErrorCode(fsz) == ZSTD_error_srcSize_wrong && zstd_start && pos > 0 &&
                !complete_frame_after(p, pos, size)) {
                f->truncated = true;
                break;
            }
            if (pos == 0 && !zstd_start)
                rc = lfail(&L, "not a goprof sample file (not zstd-compressed)");
            else if (pos == 0)
                rc = lfail(&L, "file is truncated before its first complete block");
            else if (ZSTD_getErrorCode(fsz) == ZSTD_error_srcSize_wrong)
                rc = lfail(&L, "corrupt block at byte %zu: its size runs past the blocks "
                               "after it", pos);
            else
                rc = lfail(&L, "corrupt block at byte %zu: %s", pos, ZSTD_getErrorName(fsz));
            break;
        }
        unsigned long long csize = ZSTD_getFrameContentSize(p + pos, fsz);
        if (csize == ZSTD_CONTENTSIZE_ERROR) {
            rc = lfail(&L, "corrupt block header at byte %zu", pos);
            break;
        }
        if (csize == ZSTD_CONTENTSIZE_UNKNOWN || csize > SF_MAX_FRAME ||
            L.total + csize > SF_MAX_TOTAL) {
            rc = lfail(&L, "block at byte %zu declares %llu bytes, more than the "
                           "%llu MiB a block may hold", pos, csize, SF_MAX_FRAME >> 20);
            break;
        }
        uint8_t *o = realloc(out, csize ? csize : 1);
        if (!o) {
            rc = lfail(&L, "out of memory");
            break;
        }
        out = o;
        size_t got = ZSTD_decompressDCtx(dctx, out, csize, p + pos, fsz);
        if (ZSTD_isError(got) || got != csize) {
            rc = lfail(&L, "corrupt block at byte %zu: %s", pos,
                       ZSTD_isError(got) ? ZSTD_getErrorName(got) : "size mismatch");
            break;
        }
        L.total += csize;
        rc = parse_records(&L, out, got, f->frames == 0);
        f->frames++;
        pos += fsz;
    }
    if (rc == 0 && !L.have_header)
        rc = lfail(&L, "no complete header block (the file was cut short)");
done:
    free(out);
    ZSTD_freeDCtx(dctx);
    if (rc) {
        sf_free(f);
        return NULL;
    }
    if (!f->end_mono_ns && f->nsamples) {
        uint64_t last = 0;
        for (size_t i = 0; i < f->nsamples; i++)
            if (f->samples[i].time_us > last)
                last = f->samples[i].time_us;
        f->end_mono_ns = last * 1000;
    }
    return f;
}

struct sample_file *sf_load(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_size == 0) {
        close(fd);
        return sf_load_mem(path, "", 0, err, errlen);
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "%s: cannot map: %s", path, strerror(errno));
        return NULL;
    }
    struct sample_file *f = sf_load_mem(path, m, (size_t)st.st_size, err, errlen);
    munmap(m, (size_t)st.st_size);
    return f;
}

void sf_free(struct sample_file *f)
{
    if (!f)
        return;
    free((char *)f->hdr.exe_path);
    free((char *)f->hdr.build_id);
    free((char *)f->hdr.go_version);
    free((char *)f->hdr.go_build_id);
    free((char *)f->hdr.cmdline);
    free((char *)f->hdr.hostname);
    for (size_t i = 0; i < f->nmaps; i++) {
        free((char *)f->maps[i].path);
        free((char *)f->maps[i].build_id);
    }
    for (size_t i = 0; i < f->nthreads; i++)
        free(f->threads[i].name);
    for (size_t i = 0; i < f->nnotes; i++)
        free(f->notes[i]);
    free(f->maps);
    free(f->stacks);
    free(f->pcs);
    free(f->threads);
    free(f->samples);
    free(f->notes);
    free(f->path);
    free(f);
}
