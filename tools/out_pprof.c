/* pprof writer. Field numbers from github.com/google/pprof/proto/profile.proto. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "output.h"
#include "protobuf.h"

enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9,
    PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12,
    PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUETYPE_TYPE = 1, VALUETYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
    LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3,
    MAPPING_ID = 1, MAPPING_START = 2, MAPPING_LIMIT = 3, MAPPING_OFFSET = 4,
    MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6, MAPPING_HAS_FUNCTIONS = 7,
    MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9, MAPPING_HAS_INLINE_FRAMES = 10,
    LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1, LINE_LINE = 2,
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
    FUNCTION_START_LINE = 5,
};

/* The string table: index 0 is "", every other string once. */
struct strtab {
    struct u64map index;
    const char **strs;
    size_t n, cap;
    bool oom;
};

static int64_t str_id(struct strtab *t, const char *s)
{
    if (!*s)
        return 0;
    uint64_t key = hash_str(5, s), v;
    for (int probe = 0; probe < 64; probe++, key = hash_mix(key, 1)) {
        if (!u64map_get(&t->index, key, &v))
            break;
        if (!strcmp(t->strs[v], s))
            return (int64_t)v;
    }
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        const char **p = realloc(t->strs, ncap * sizeof *p);
        if (!p) {
            t->oom = true;
            return 0;
        }
        t->strs = p;
        t->cap = ncap;
    }
    if (!u64map_put(&t->index, key, t->n)) {
        t->oom = true;
        return 0;
    }
    t->strs[t->n] = s;
    return (int64_t)t->n++;
}

static void value_type(struct bytebuf *b, struct bytebuf *m, unsigned field, struct strtab *st,
                       const char *type, const char *unit)
{
    pb_int64(m, VALUETYPE_TYPE, str_id(st, type));
    pb_int64(m, VALUETYPE_UNIT, str_id(st, unit));
    pb_message(b, field, m);
}

/* The profile is gzipped as it is encoded, a megabyte at a time, on a
 * thread of its own: a profile with a label per goroutine can be a hundred
 * megabytes before compression, and zlib then takes as long as building
 * the profile did. Compressed for speed, as runtime/pprof does
 * (BestSpeed). The encoder fills one buffer while the thread compresses
 * the other. */
struct gz_sink {
    z_stream z;
    FILE *out;
    bool failed;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct bytebuf work; /* handed to the thread; empty when it is idle */
    bool busy, quit;
};

/* Compresses b's contents and empties it; with finish, ends the stream. */
static void gz_compress(struct gz_sink *g, struct bytebuf *b, bool finish)
{
    unsigned char buf[65536];
    g->z.next_in = b->p;
    g->z.avail_in = (uInt)b->len;
    int rc;
    do {
        g->z.next_out = buf;
        g->z.avail_out = sizeof buf;
        rc = deflate(&g->z, finish ? Z_FINISH : Z_NO_FLUSH);
        size_t n = sizeof buf - g->z.avail_out;
        if (rc == Z_STREAM_ERROR || (n && fwrite(buf, 1, n, g->out) != n)) {
            g->failed = true;
            break;
        }
    } while (finish ? rc == Z_OK : g->z.avail_out == 0);
    if (finish && rc != Z_STREAM_END)
        g->failed = true;
    b->len = 0;
}

static void *gz_thread(void *arg)
{
    struct gz_sink *g = arg;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->busy && !g->quit)
            pthread_cond_wait(&g->cv, &g->mu);
        if (!g->busy)
            break;
        pthread_mutex_unlock(&g->mu);
        gz_compress(g, &g->work, false);
        pthread_mutex_lock(&g->mu);
        g->busy = false;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static bool gz_open(struct gz_sink *g, FILE *out)
{
    memset(g, 0, sizeof *g);
    g->out = out;
    if (deflateInit2(&g->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16 /* gzip */, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    /* without the thread, gz_drain compresses in the caller */
    g->started = pthread_create(&g->thread, NULL, gz_thread, g) == 0;
    return true;
}

static void gz_wait_idle(struct gz_sink *g)
{
    pthread_mutex_lock(&g->mu);
    while (g->busy)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* Hands b's contents to the compressing thread, and b an empty buffer. */
static void gz_drain(struct gz_sink *g, struct bytebuf *b)
{
    if (!g->started) {
        gz_compress(g, b, false);
        return;
    }
    gz_wait_idle(g);
    struct bytebuf t = g->work;
    g->work = *b;
    *b = t;
    b->len = 0;
    pthread_mutex_lock(&g->mu);
    g->busy = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Compresses what is left in b, ends the stream and stops the thread.
 * False when compressing or writing failed. */
static bool gz_close(struct gz_sink *g, struct bytebuf *b, bool write)
{
    if (g->started) {
        pthread_mutex_lock(&g->mu);
        while (g->busy)
            pthread_cond_wait(&g->cv, &g->mu);
        g->quit = true;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->thread, NULL);
    }
    if (write)
        gz_compress(g, b, true);
    deflateEnd(&g->z);
    bytebuf_free(&g->work);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    return !g->failed;
}

#define GZ_CHUNK (1u << 20)

int write_pprof(const struct report *r, FILE *out, char *err, size_t errlen)
{
    struct bytebuf b = {0}, m = {0}, sub = {0};
    static const char *empty[1] = {""};
    struct strtab st = {0};
    st.strs = malloc(256 * sizeof *st.strs);
    if (!st.strs) {
        snprintf(err, errlen, "out of memory while encoding the profile");
        return -1;
    }
    st.cap = 256;
    st.strs[st.n++] = empty[0]; /* string_table[0] must be "" */

    struct gz_sink gz;
    if (!gz_open(&gz, out)) {
        snprintf(err, errlen, "zlib initialisation failed");
        free(st.strs);
        return -1;
    }
    value_type(&b, &m, PROFILE_SAMPLE_TYPE, &st, "samples", "count");
    value_type(&b, &m, PROFILE_SAMPLE_TYPE, &st, "cpu", "nanoseconds");
    int64_t k_goroutine = str_id(&st, "goroutine"), k_thread = str_id(&st, "thread"),
            k_thread_name = str_id(&st, "thread_name");
    for (size_t i = 0; i < r->nsamples; i++) {
        const struct rp_sample *s = &r->samples[i];
        /* report.c: up to SF_MAX_DEPTH frames, the truncation marker and
         * the --group-by root */
        uint64_t ids[RP_MAX_STACK];
        size_t n = s->nlocs <= RP_MAX_STACK ? s->nlocs : RP_MAX_STACK;
        for (size_t k = 0; k < n; k++)
            ids[k] = (uint64_t)r->loc_ids[s->loc_off + k] + 1;
        pb_packed_uint64(&m, SAMPLE_LOCATION_ID, ids, n);
        int64_t vals[2] = {(int64_t)s->count, (int64_t)s->nanos};
        pb_packed_int64(&m, SAMPLE_VALUE, vals, 2);
        /* Numeric labels, so that -tagfocus=goroutine=17 and ranges work. */
        if (s->goid) {
            pb_int64(&sub, LABEL_KEY, k_goroutine);
            pb_int64(&sub, LABEL_NUM, (int64_t)s->goid);
            pb_message(&m, SAMPLE_LABEL, &sub);
        }
        if (s->tid) {
            pb_int64(&sub, LABEL_KEY, k_thread);
            pb_int64(&sub, LABEL_NUM, (int64_t)s->tid);
            pb_message(&m, SAMPLE_LABEL, &sub);
        }
        if (s->thread_name && *s->thread_name) {
            pb_int64(&sub, LABEL_KEY, k_thread_name);
            pb_int64(&sub, LABEL_STR, str_id(&st, s->thread_name));
            pb_message(&m, SAMPLE_LABEL, &sub);
        }
        pb_message(&b, PROFILE_SAMPLE, &m);
        /* a protobuf message is the concatenation of its fields: the
         * samples can be compressed away as they come */
        if (b.len >= GZ_CHUNK && !b.oom)
            gz_drain(&gz, &b);
    }
    for (size_t i = 0; i < r->nmaps; i++) {
        const struct rp_map *mp = &r->maps[i];
        pb_uint64(&m, MAPPING_ID, i + 1);
        pb_uint64_opt(&m, MAPPING_START, mp->start);
        pb_uint64_opt(&m, MAPPING_LIMIT, mp->limit);
        pb_uint64_opt(&m, MAPPING_OFFSET, mp->offset);
        pb_int64_opt(&m, MAPPING_FILENAME, str_id(&st, mp->file));
        pb_int64_opt(&m, MAPPING_BUILD_ID, str_id(&st, mp->build_id));
        /* Tell pprof we symbolized: otherwise it may try again itself. */
        pb_bool_opt(&m, MAPPING_HAS_FUNCTIONS, mp->symbolized);
        pb_bool_opt(&m, MAPPING_HAS_FILENAMES, mp->symbolized);
        pb_bool_opt(&m, MAPPING_HAS_LINE_NUMBERS, mp->symbolized);
        pb_bool_opt(&m, MAPPING_HAS_INLINE_FRAMES, mp->symbolized);
        pb_message(&b, PROFILE_MAPPING, &m);
    }
    for (size_t i = 0; i < r->nlocs; i++) {
        const struct rp_loc *l = &r->locs[i];
        pb_uint64(&m, LOCATION_ID, i + 1);
        pb_uint64_opt(&m, LOCATION_MAPPING_ID, l->map);
        pb_uint64_opt(&m, LOCATION_ADDRESS, l->address);
        for (uint32_t k = 0; k < l->nlines; k++) {
            const struct rp_line *ln = &r->lines[l->line_off + k];
            pb_uint64(&sub, LINE_FUNCTION_ID, ln->func + 1);
            pb_int64_opt(&sub, LINE_LINE, ln->line);
            pb_message(&m, LOCATION_LINE, &sub);
        }
        pb_message(&b, PROFILE_LOCATION, &m);
    }
    for (size_t i = 0; i < r->nfuncs; i++) {
        const struct rp_func *f = &r->funcs[i];
        int64_t name = str_id(&st, f->name);
        pb_uint64(&m, FUNCTION_ID, i + 1);
        pb_int64_opt(&m, FUNCTION_NAME, name);
        pb_int64_opt(&m, FUNCTION_SYSTEM_NAME, name);
        pb_int64_opt(&m, FUNCTION_FILENAME, str_id(&st, f->file));
        pb_int64_opt(&m, FUNCTION_START_LINE, f->start_line);
        pb_message(&b, PROFILE_FUNCTION, &m);
    }
    pb_int64_opt(&b, PROFILE_TIME_NANOS, (int64_t)r->start_unix_ns);
    pb_int64_opt(&b, PROFILE_DURATION_NANOS,
                 r->end_unix_ns > r->start_unix_ns ? (int64_t)(r->end_unix_ns - r->start_unix_ns)
                                                   : 0);
    value_type(&b, &m, PROFILE_PERIOD_TYPE, &st, "cpu", "nanoseconds");
    pb_int64(&b, PROFILE_PERIOD, (int64_t)r->period_ns);
    char comment[256];
    snprintf(comment, sizeof comment, "goprof: %s, %llu Hz (%s), %llu samples dropped",
             r->program ? r->program : "?", (unsigned long long)r->hz, r->source ? r->source : "?",
             (unsigned long long)r->dropped);
    pb_int64(&b, PROFILE_COMMENT, str_id(&st, comment));
    pb_int64(&b, PROFILE_DEFAULT_SAMPLE_TYPE, str_id(&st, "cpu"));
    /* The string table goes last: every id is known by now. */
    for (size_t i = 0; i < st.n; i++)
        pb_string(&b, PROFILE_STRING_TABLE, st.strs[i]);
    int rc = 0;
    bool oom = b.oom || m.oom || sub.oom || st.oom;
    if (!gz_close(&gz, &b, !oom) || oom) {
        snprintf(err, errlen, oom ? "out of memory while encoding the profile" : "write failed");
        rc = -1;
    }
    bytebuf_free(&b);
    bytebuf_free(&m);
    bytebuf_free(&sub);
    free(st.strs);
    u64map_free(&st.index);
    return rc;
}
