/* Fuzz target: the writers of goprof-report, above all the pprof
 * protobuf encoder (out_pprof.c, protobuf.c), fed a report whose names,
 * numbers and shapes come from the fuzzer: empty and huge names, bytes of
 * every value, zero and maximal counts, deep stacks, shared locations.
 *
 * What must hold: the pprof output gunzips and parses as a protobuf
 * whose every message and length is well formed, string_table[0] is "",
 * and every id it refers to (location, function, mapping, string) is
 * defined; the folded, flame graph and top writers succeed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "output.h"
#include "report.h"

/* ---- building a report from the input ---------------------------------- */
struct in {
    const uint8_t *p, *end;
};

static uint64_t take(struct in *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = v << 8 | (in->p < in->end ? *in->p++ : 0);
    return v;
}

static char *take_str(struct in *in, struct report *r)
{
    size_t n = (size_t)take(in, 1);
    if (n == 255)
        n = (size_t)take(in, 2); /* sometimes long */
    if (n > (size_t)(in->end - in->p))
        n = (size_t)(in->end - in->p);
    char *s = malloc(n + 1);
    memcpy(s, in->p, n);
    s[n] = 0; /* names are C strings: an early NUL just shortens it */
    in->p += n;
    r->owned = realloc(r->owned, (r->nowned + 1) * sizeof *r->owned);
    r->owned[r->nowned++] = s;
    return s;
}

static void build(struct report *r, struct in *in)
{
    memset(r, 0, sizeof *r);
    r->nfuncs = 1 + take(in, 1) % 64;
    r->funcs = calloc(r->nfuncs, sizeof *r->funcs);
    for (size_t i = 0; i < r->nfuncs; i++)
        r->funcs[i] = (struct rp_func){take_str(in, r), take_str(in, r), (int32_t)take(in, 4),
                                       (enum frame_kind)(take(in, 1) % 3)};
    r->nmaps = take(in, 1) % 8;
    r->maps = calloc(r->nmaps + 1, sizeof *r->maps);
    for (size_t i = 0; i < r->nmaps; i++)
        r->maps[i] = (struct rp_map){take(in, 8), take(in, 8), take(in, 8), take_str(in, r),
                                     take_str(in, r), take(in, 1) & 1};
    r->nlocs = 1 + take(in, 1) % 64;
    r->locs = calloc(r->nlocs, sizeof *r->locs);
    r->lines = calloc(r->nlocs * 8, sizeof *r->lines);
    for (size_t i = 0; i < r->nlocs; i++) {
        uint32_t nl = (uint32_t)(take(in, 1) % 8);
        r->locs[i] = (struct rp_loc){(uint32_t)(take(in, 1) % (r->nmaps + 1)), take(in, 8),
                                     (uint32_t)r->nlines, nl, false};
        for (uint32_t k = 0; k < nl; k++)
            r->lines[r->nlines++] =
                (struct rp_line){(uint32_t)(take(in, 1) % r->nfuncs), (int32_t)take(in, 4)};
    }
    r->nsamples = take(in, 1) % 32;
    r->samples = calloc(r->nsamples + 1, sizeof *r->samples);
    r->loc_ids = calloc(r->nsamples * RP_MAX_STACK + 1, sizeof *r->loc_ids);
    for (size_t i = 0; i < r->nsamples; i++) {
        uint32_t n = (uint32_t)take(in, 1); /* 255: a deep one, up to the limit */
        if (n == 255)
            n = (uint32_t)(take(in, 2) % (RP_MAX_STACK + 1));
        struct rp_sample *s = &r->samples[i];
        *s = (struct rp_sample){(uint32_t)r->nloc_ids, n, 1 + take(in, 4), take(in, 8),
                                take(in, 4), take(in, 8), take_str(in, r)};
        uint32_t seed = (uint32_t)take(in, 1);
        for (uint32_t k = 0; k < n; k++)
            r->loc_ids[r->nloc_ids++] = (uint32_t)((seed + k * (take(in, 1) | 1)) % r->nlocs);
        r->total_count += s->count;
    }
    r->program = take_str(in, r);
    r->period_ns = take(in, 4);
    r->hz = take(in, 2);
    r->start_unix_ns = take(in, 8);
    r->end_unix_ns = take(in, 8);
    r->source = take_str(in, r);
    r->nfiles = 1;
}

static void release(struct report *r)
{
    for (size_t i = 0; i < r->nowned; i++)
        free(r->owned[i]);
    free(r->owned);
    free(r->funcs);
    free(r->maps);
    free(r->locs);
    free(r->lines);
    free(r->samples);
    free(r->loc_ids);
}

/* ---- checking the pprof output ----------------------------------------- */
struct pbuf {
    const uint8_t *p, *end;
};

static uint64_t varint(struct pbuf *b)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end)
            abort();
        uint8_t c = *b->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    abort();
}

/* Next field of a message: its number and, for length-delimited ones,
 * the bytes; varint ones in *v. Only the two wire types pprof uses. */
static unsigned field(struct pbuf *b, uint64_t *v, struct pbuf *sub)
{
    uint64_t key = varint(b);
    unsigned wire = key & 7, num = (unsigned)(key >> 3);
    if (!num)
        abort();
    if (wire == 0) {
        *v = varint(b);
    } else if (wire == 2) {
        uint64_t n = varint(b);
        if (n > (uint64_t)(b->end - b->p))
            abort();
        *sub = (struct pbuf){b->p, b->p + n};
        b->p += n;
    } else {
        abort();
    }
    return num;
}

struct refs {
    uint64_t *v;
    size_t n, cap;
};

static void ref(struct refs *r, uint64_t v)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
    }
    r->v[r->n++] = v;
}

static void packed_or_single(struct refs *r, unsigned wire_len, uint64_t v, struct pbuf *sub)
{
    if (!wire_len) {
        ref(r, v);
        return;
    }
    while (sub->p < sub->end)
        ref(r, varint(sub));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Collects every id a profile defines and refers to, then checks them. */
static void check_profile(const uint8_t *p, size_t n)
{
    struct pbuf b = {p, p + n}, sub, m;
    struct refs loc_ids = {0}, func_ids = {0}, map_ids = {0}, loc_refs = {0}, func_refs = {0},
                map_refs = {0}, str_refs = {0};
    size_t nstrings = 0;
    bool first_empty = false;
    uint64_t v;
    while (b.p < b.end) {
        unsigned num = field(&b, &v, &sub);
        switch (num) {
        case 1: case 11: /* ValueType: type and unit are strings */
            while (sub.p < sub.end) {
                field(&sub, &v, &m);
                ref(&str_refs, v);
            }
            break;
        case 2: /* Sample */
            while (sub.p < sub.end) {
                struct pbuf before = sub;
                uint64_t key = varint(&before);
                unsigned f = field(&sub, &v, &m);
                if (f == 1)
                    packed_or_single(&loc_refs, (key & 7) == 2, v, &m);
                else if (f == 3)
                    while (m.p < m.end) { /* Label: key, str */
                        struct pbuf l;
                        unsigned lf = field(&m, &v, &l);
                        if (lf == 1 || lf == 2)
                            ref(&str_refs, v);
                    }
            }
            break;
        case 3: /* Mapping */
            while (sub.p < sub.end) {
                unsigned f = field(&sub, &v, &m);
                if (f == 1)
                    ref(&map_ids, v);
                else if (f == 5 || f == 6)
                    ref(&str_refs, v);
            }
            break;
        case 4: /* Location */
            while (sub.p < sub.end) {
                unsigned f = field(&sub, &v, &m);
                if (f == 1)
                    ref(&loc_ids, v);
                else if (f == 2)
                    ref(&map_refs, v);
                else if (f == 4)
                    while (m.p < m.end) {
                        struct pbuf l;
                        if (field(&m, &v, &l) == 1)
                            ref(&func_refs, v);
                    }
            }
            break;
        case 5: /* Function */
            while (sub.p < sub.end) {
                unsigned f = field(&sub, &v, &m);
                if (f == 1)
                    ref(&func_ids, v);
                else if (f >= 2 && f <= 4)
                    ref(&str_refs, v);
            }
            break;
        case 6:
            if (nstrings++ == 0)
                first_empty = sub.p == sub.end;
            break;
        case 13: case 14:
            ref(&str_refs, v);
            break;
        default:
            break;
        }
    }
    if (!first_empty)
        abort();
    struct {
        struct refs *ids, *refs;
    } kinds[] = {{&loc_ids, &loc_refs}, {&func_ids, &func_refs}, {&map_ids, &map_refs}};
    for (size_t k = 0; k < 3; k++) {
        struct refs *ids = kinds[k].ids;
        if (ids->n)
            qsort(ids->v, ids->n, sizeof *ids->v, cmp_u64);
        for (size_t i = 0; i < kinds[k].refs->n; i++) {
            uint64_t want = kinds[k].refs->v[i];
            if (!want || !ids->n || !bsearch(&want, ids->v, ids->n, sizeof *ids->v, cmp_u64))
                abort();
        }
    }
    for (size_t i = 0; i < str_refs.n; i++)
        if (str_refs.v[i] >= nstrings)
            abort();
    free(loc_ids.v), free(func_ids.v), free(map_ids.v);
    free(loc_refs.v), free(func_refs.v), free(map_refs.v), free(str_refs.v);
}

static void check_pprof(const char *gz, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        abort();
    size_t cap = 1 << 16, len = 0;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)n;
    int rc;
    do {
        if (len == cap)
            out = realloc(out, cap *= 2);
        z.next_out = out + len;
        z.avail_out = (uInt)(cap - len);
        rc = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
    } while (rc == Z_OK);
    if (rc != Z_STREAM_END)
        abort();
    inflateEnd(&z);
    check_profile(out, len);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = {data, data + size};
    struct report r;
    build(&r, &in);
    char *buf = NULL, err[256];
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (write_pprof(&r, f, err, sizeof err) != 0)
        abort();
    fclose(f);
    check_pprof(buf, n);
    free(buf);
    struct view_opts vo = VIEW_OPTS_DEFAULT;
    f = open_memstream(&buf, &n);
    if (write_folded(&r, f, err, sizeof err) != 0 || write_top(&r, &vo, f, err, sizeof err) != 0 ||
        write_svg(&r, &vo, f, err, sizeof err) != 0)
        abort();
    fclose(f);
    free(buf);
    release(&r);
    return 0;
}
