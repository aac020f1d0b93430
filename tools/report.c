#define _GNU_SOURCE
#include "report.h"

#include "bytebuf.h"
#include "filter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define GROW(arr, n, cap)                                                         \
    ((n) < (cap) || grow_array((void **)&(arr), &(cap), (n) + 1, sizeof *(arr)))

static const char *own(struct report *r, char *s)
{
    if (!s || !GROW(r->owned, r->nowned, r->cap_owned)) {
        free(s);
        return "?";
    }
    r->owned[r->nowned++] = s;
    return s;
}

/* ---- waiting for the collector --------------------------------------- */
/* The collector holds an exclusive flock on the file until it has written
 * the trailer. */
int report_wait_file(const char *path, double secs, bool quiet, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* the loader reports why */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool told = false;
    for (;;) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
            close(fd);
            return 0;
        }
        if (errno != EWOULDBLOCK) {
            close(fd);
            return 0;
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
        if (secs <= 0) {
            close(fd);
            return 1;
        }
        if (el >= secs) {
            close(fd);
            snprintf(err, errlen,
                     "%s: still being written after %g s (is the profiled program still "
                     "running?); stop it, wait longer with --wait=SECONDS, or read what is "
                     "there with --no-wait", path, secs);
            return -1;
        }
        if (!told && el > 0.5 && !quiet) {
            fprintf(stderr, "goprof-report: waiting for the collector to finish %s...\n", path);
            told = true;
        }
        usleep(20000);
    }
}

/* ---- functions, mappings, locations ----------------------------------- */
static int64_t func_id(struct report *r, const char *name, const char *file, int32_t start_line,
                       enum frame_kind kind)
{
    uint64_t key = hash_mix(hash_str(hash_str(0, name), file), (uint64_t)start_line);
    for (int probe = 0; probe < 64; probe++, key = hash_mix(key, 1)) {
        uint64_t v;
        if (!u64map_get(&r->func_index, key, &v))
            break;
        struct rp_func *f = &r->funcs[v];
        if (!strcmp(f->name, name) && !strcmp(f->file, file) && f->start_line == start_line)
            return (int64_t)v;
    }
    if (!GROW(r->funcs, r->nfuncs, r->cap_funcs) ||
        !u64map_put(&r->func_index, key, r->nfuncs))
        return -1;
    r->funcs[r->nfuncs] = (struct rp_func){name, file, start_line, kind};
    return (int64_t)r->nfuncs++;
}

static int64_t map_id(struct report *r, const struct sf_mapping *m, bool symbolized)
{
    uint64_t key = hash_str(hash_str(7, m->path), m->build_id);
    for (int probe = 0; probe < 64; probe++, key = hash_mix(key, 1)) {
        uint64_t v;
        if (!u64map_get(&r->map_index, key, &v))
            break;
        if (!strcmp(r->maps[v].file, m->path) && !strcmp(r->maps[v].build_id, m->build_id))
            return (int64_t)v;
    }
    if (!GROW(r->maps, r->nmaps, r->cap_maps) || !u64map_put(&r->map_index, key, r->nmaps))
        return -1;
    r->maps[r->nmaps] = (struct rp_map){m->start, m->end, m->offset,
                                        own(r, strdup(m->path)), own(r, strdup(m->build_id)),
                                        symbolized};
    return (int64_t)r->nmaps++;
}

/* A location with lines; the key identifies it across files. */
static int64_t add_loc(struct report *r, uint64_t key, uint32_t map, uint64_t address,
                       const struct sym_frame *fr, int n)
{
    uint64_t v;
    if (key && u64map_get(&r->loc_index, key, &v))
        return (int64_t)v;
    if (!GROW(r->locs, r->nlocs, r->cap_locs))
        return -1;
    uint32_t off = (uint32_t)r->nlines;
    for (int i = 0; i < n; i++) {
        int64_t f = func_id(r, fr[i].function, fr[i].file, fr[i].start_line, fr[i].kind);
        if (f < 0 || !GROW(r->lines, r->nlines, r->cap_lines))
            return -1;
        r->lines[r->nlines++] = (struct rp_line){(uint32_t)f, fr[i].line};
    }
    r->locs[r->nlocs] = (struct rp_loc){map, address, off, (uint32_t)n, false};
    if (key && !u64map_put(&r->loc_index, key, r->nlocs))
        return -1;
    return (int64_t)r->nlocs++;
}

/* ---- per file ---------------------------------------------------------- */
struct file_ctx {
    struct sample_file *f;
    struct binary **bins; /* per file mapping, NULL when unusable */
    int64_t *rmap;        /* per file mapping: report mapping index */
    struct u64map pcloc;  /* (pc, leaf) -> location index + 1 */
};

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int64_t loc_for(struct report *r, struct file_ctx *fc, uint64_t pc, bool leaf)
{
    uint64_t ckey = (pc << 1 | leaf) + 2, v;
    if (u64map_get(&fc->pcloc, ckey, &v))
        return (int64_t)v - 1;
    struct sample_file *f = fc->f;
    size_t mi = f->nmaps;
    for (size_t i = 0; i < f->nmaps; i++)
        if (pc >= f->maps[i].start && pc < f->maps[i].end) {
            mi = i;
            break;
        }
    struct sym_frame fr[64];
    int n = 0;
    int64_t id;
    char name[512];
    if (mi == f->nmaps) {
        snprintf(name, sizeof name, "0x%llx", (unsigned long long)pc);
        fr[0] = (struct sym_frame){own(r, strdup(name)), "", 0, 0, false, FRAME_UNKNOWN, false};
        id = add_loc(r, 0, 0, pc, fr, 1);
    } else {
        const struct sf_mapping *m = &f->maps[mi];
        uint64_t off = pc - m->start + m->offset, vaddr = off;
        struct binary *b = fc->bins[mi];
        if (b && elfimg_off_to_vaddr(&b->img, off, &vaddr))
            n = symbolize(r->sym, b, vaddr, !leaf, fr, 64);
        if (n == 0) {
            snprintf(name, sizeof name, "%s+0x%llx", base_name(m->path),
                     (unsigned long long)off);
            fr[0] = (struct sym_frame){own(r, strdup(name)), "", 0, 0, false, FRAME_UNKNOWN, false};
            n = 1;
        }
        /* Wrapper frames go, as in the runtime's tracebacks; a location
         * that is nothing but a wrapper is kept but marked elided. */
        int kept = 0;
        for (int i = 0; i < n; i++)
            if (!fr[i].wrapper)
                fr[kept++] = fr[i];
        bool elided = kept == 0;
        if (!elided)
            n = kept;
        uint64_t key = hash_mix(hash_mix(hash_mix(11, (uint64_t)fc->rmap[mi]), vaddr), leaf);
        id = add_loc(r, key, (uint32_t)fc->rmap[mi] + 1, pc, fr, n);
        if (id >= 0)
            r->locs[id].elided = elided;
    }
    if (id >= 0)
        u64map_put(&fc->pcloc, ckey, (uint64_t)id + 1);
    return id;
}

/* A root frame that says something about the whole stack. */
static int64_t marker_loc(struct report *r, const char *name)
{
    const struct sym_frame fr = {name, "", 0, 0, false, FRAME_UNKNOWN, false};
    return add_loc(r, hash_str(0x6d61726b, name), 0, 0, &fr, 1);
}

static bool same_sample(struct report *r, const struct rp_sample *s, const uint32_t *ids,
                        uint32_t n, const struct rp_sample *want)
{
    return s->nlocs == n && s->tid == want->tid && s->goid == want->goid &&
           !memcmp(r->loc_ids + s->loc_off, ids, n * sizeof *ids);
}

/* Adds count samples of the stack ids[0..n) (leaf first), on the thread
 * and goroutine in *lab, merging with an equal sample. *stack_off is where
 * this stack's ids already sit in loc_ids (UINT32_MAX: not yet), so that
 * the samples of one stack on many goroutines share one copy. */
static int add_sample(struct report *r, const uint32_t *ids, uint32_t n,
                      const struct rp_sample *lab, uint32_t *stack_off)
{
    /* With a label per goroutine nearly every sample is distinct, and a
     * repeat costs nothing: pprof adds up samples with the same stack and
     * labels. So only label-less samples are merged here. */
    bool merge = !lab->tid && !lab->goid;
    uint64_t key = 1469598103934665603ull;
    for (uint32_t i = 0; merge && i < n; i++)
        key = hash_mix(key, ids[i]);
    for (int probe = 0; merge && probe < 64; probe++, key = hash_mix(key, 1)) {
        uint64_t v;
        if (!u64map_get(&r->sample_index, key, &v))
            break;
        if (same_sample(r, &r->samples[v], ids, n, lab)) {
            r->samples[v].count += lab->count;
            r->samples[v].nanos += lab->nanos;
            return 0;
        }
    }
    if (!GROW(r->samples, r->nsamples, r->cap_samples) ||
        (merge && !u64map_put(&r->sample_index, key, r->nsamples)))
        return -1;
    if (*stack_off == UINT32_MAX) {
        while (r->nloc_ids + n > r->cap_loc_ids)
            if (!grow_array((void **)&r->loc_ids, &r->cap_loc_ids, r->nloc_ids + n,
                            sizeof *r->loc_ids))
                return -1;
        memcpy(r->loc_ids + r->nloc_ids, ids, n * sizeof *ids);
        *stack_off = (uint32_t)r->nloc_ids;
        r->nloc_ids += n;
    }
    struct rp_sample *s = &r->samples[r->nsamples++];
    *s = *lab;
    s->loc_off = *stack_off;
    s->nlocs = n;
    return 0;
}

/* Opens the binaries a file's mappings name. The main executable must be
 * the one that ran: a different build would symbolize to wrong lines. */
static int open_binaries(struct report *r, struct file_ctx *fc, const struct report_opts *o,
                         char *err, size_t errlen)
{
    struct sample_file *f = fc->f;
    const char *exe = o->binary ? o->binary : f->hdr.exe_path;
    struct binary *main_bin = symbolizer_binary(r->sym, exe, err, errlen);
    if (!main_bin) {
        size_t l = strlen(err);
        snprintf(err + l, errlen - l, " (needed to symbolize %s%s)", f->path,
                 o->binary ? "" : "; pass --binary PATH if the program moved");
        return -1;
    }
    if (!main_bin->is_go) {
        snprintf(err, errlen, "%s: not a Go executable (no .gopclntab); %s was recorded from %s",
                 exe, f->path, f->hdr.exe_path);
        return -1;
    }
    if (*f->hdr.build_id && strcmp(f->hdr.build_id, main_bin->build_id) != 0) {
        snprintf(err, errlen,
                 "%s: build id %s does not match %s's %s (recorded from %s): this is a "
                 "different build of the program; pass --binary with the binary that ran",
                 exe, *main_bin->build_id ? main_bin->build_id : "(none)", f->path,
                 f->hdr.build_id, f->hdr.exe_path);
        return -1;
    }
    fc->bins = calloc(f->nmaps + 1, sizeof *fc->bins);
    fc->rmap = calloc(f->nmaps + 1, sizeof *fc->rmap);
    if (!fc->bins || !fc->rmap) {
        snprintf(err, errlen, "%s: out of memory", f->path);
        return -1;
    }
    for (size_t i = 0; i < f->nmaps; i++) {
        const struct sf_mapping *m = &f->maps[i];
        if (m->flags & SF_MAP_MAIN)
            fc->bins[i] = main_bin;
        else if (m->path[0] == '/') {
            char ignored[512];
            fc->bins[i] = symbolizer_binary(r->sym, m->path, ignored, sizeof ignored);
        }
        fc->rmap[i] = map_id(r, m, fc->bins[i] != NULL);
        if (fc->rmap[i] < 0) {
            snprintf(err, errlen, "%s: out of memory", f->path);
            return -1;
        }
    }
    return 0;
}

/* Samples of one stack on one thread and goroutine (NO_THREAD and 0 when
 * those are not kept). */
#define NO_THREAD UINT32_MAX
struct group_count {
    uint32_t stack, thread;
    uint64_t goid;
    uint64_t count;
};

static int by_stack_group(const void *a, const void *b)
{
    const struct group_count *x = a, *y = b;
    if (x->stack != y->stack)
        return x->stack < y->stack ? -1 : 1;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    return x->goid < y->goid ? -1 : x->goid > y->goid;
}

/* The synthetic root frame that --group-by adds to every stack. */
static int64_t group_loc(struct report *r, struct file_ctx *fc, const struct report_opts *o,
                         uint64_t group)
{
    char name[128];
    if (o->group_by == GROUP_THREAD) {
        const struct sf_thread *t = &fc->f->threads[group];
        snprintf(name, sizeof name, "thread %llu%s%s%s", (unsigned long long)t->tid,
                 *t->name ? " (" : "", t->name, *t->name ? ")" : "");
    } else {
        snprintf(name, sizeof name, "goroutine %llu", (unsigned long long)group);
    }
    uint64_t key = hash_str(13, name);
    uint64_t v;
    if (u64map_get(&r->loc_index, key, &v) && !strcmp(r->funcs[r->lines[r->locs[v].line_off].func].name, name))
        return (int64_t)v;
    const struct sym_frame fr = {own(r, strdup(name)), "", 0, 0, false, FRAME_UNKNOWN, false};
    return add_loc(r, key, 0, 0, &fr, 1);
}

/* The location ids of a recorded stack, leaf first, with the markers
 * its flags call for, into ids (RP_MAX_STACK of them); *n is their count. */
static int stack_locs(struct report *r, struct file_ctx *fc, const struct sf_stack *st,
                      const uint64_t *pcs, int64_t trunc, int64_t no_g, int64_t on_signal,
                      uint32_t *ids, uint32_t *n_out)
{
    uint32_t n = 0, shown = 0;
    for (uint32_t k = 0; k < st->n && n < SF_MAX_DEPTH; k++) {
        int64_t id = loc_for(r, fc, pcs[st->pcs_off + k], k == 0);
        if (id < 0)
            return -1;
        ids[n++] = (uint32_t)id;
        shown += !r->locs[id].elided;
    }
    /* Drop elided locations, unless nothing else would be left. */
    if (shown) {
        uint32_t w = 0;
        for (uint32_t k = 0; k < n; k++)
            if (!r->locs[ids[k]].elided)
                ids[w++] = ids[k];
        n = w;
    }
    if (st->flags & SF_STACK_TRUNCATED)
        ids[n++] = (uint32_t)trunc;
    if (st->flags & SF_STACK_NO_G)
        ids[n++] = (uint32_t)no_g;
    if (st->flags & SF_STACK_SIGNAL)
        ids[n++] = (uint32_t)on_signal;
    *n_out = n;
    return 0;
}

/* Aggregates the file's samples per (stack, thread, goroutine) and adds
 * them to the report as symbolized location lists. */
static int add_stacks(struct report *r, struct file_ctx *fc, const struct report_opts *o,
                      char *err, size_t errlen)
{
    struct sample_file *f = fc->f;
    struct group_count *gc = malloc((f->nsamples + 1) * sizeof *gc);
    uint32_t *ids = malloc(RP_MAX_STACK * sizeof *ids);
    int64_t trunc = marker_loc(r, "[truncated]");
    int64_t no_g = marker_loc(r, "[no goroutine]");
    int64_t on_signal = marker_loc(r, "[signal handler]");
    if (!gc || !ids || trunc < 0 || no_g < 0 || on_signal < 0) {
        free(gc);
        free(ids);
        snprintf(err, errlen, "%s: out of memory", f->path);
        return -1;
    }
    bool keep_thread = o->labels || o->group_by == GROUP_THREAD;
    bool keep_goid = o->labels || o->group_by == GROUP_GOROUTINE;
    for (size_t i = 0; i < f->nsamples; i++) {
        const struct sf_sample *s = &f->samples[i];
        gc[i] = (struct group_count){s->stack, keep_thread ? s->thread : NO_THREAD,
                                     keep_goid ? s->goid : 0, s->weight};
    }
    qsort(gc, f->nsamples, sizeof *gc, by_stack_group);
    /* Thread names outlive the sample file: own one copy of each. */
    const char **tnames = calloc(f->nthreads + 1, sizeof *tnames);
    int rc = tnames ? 0 : -1;
    for (size_t t = 0; !rc && t < f->nthreads; t++)
        tnames[t] = own(r, strdup(f->threads[t].name));
    /* gc is sorted by stack: a stack's locations are looked up once, and
     * stored once, for all its threads and goroutines. */
    uint32_t n = 0, cur = UINT32_MAX, stack_off = UINT32_MAX;
    for (size_t i = 0; !rc && i < f->nsamples; i++) {
        uint64_t count = gc[i].count;
        while (i + 1 < f->nsamples && gc[i + 1].stack == gc[i].stack &&
               gc[i + 1].thread == gc[i].thread && gc[i + 1].goid == gc[i].goid)
            count += gc[++i].count;
        if (gc[i].stack != cur) {
            cur = gc[i].stack;
            stack_off = UINT32_MAX;
            rc = stack_locs(r, fc, &f->stacks[cur], f->pcs, trunc, no_g, on_signal, ids, &n);
        }
        uint32_t m = n, group_off = UINT32_MAX;
        uint32_t *off = &stack_off;
        if (!rc && o->group_by != GROUP_NONE) {
            /* the group's root frame makes the ids differ per group */
            int64_t g = group_loc(r, fc, o, o->group_by == GROUP_THREAD ? gc[i].thread : gc[i].goid);
            if (g < 0)
                rc = -1;
            else
                ids[m++] = (uint32_t)g;
            off = &group_off;
        }
        if (!rc) {
            bool t = gc[i].thread != NO_THREAD;
            struct rp_sample lab = {.count = count,
                                    .nanos = count * f->hdr.period_ns,
                                    .tid = t ? f->threads[gc[i].thread].tid : 0,
                                    .goid = gc[i].goid,
                                    .thread_name = t ? tnames[gc[i].thread] : ""};
            rc = add_sample(r, ids, m, &lab, off);
        }
        r->total_count += count;
    }
    free(tnames);
    if (rc)
        snprintf(err, errlen, "%s: out of memory", f->path);
    free(gc);
    free(ids);
    return rc;
}

static const char *source_name(uint64_t s)
{
    return s == SF_SOURCE_PERF ? "perf cpu-clock" : s == SF_SOURCE_TIMER ? "cpu timer" : "?";
}

static int add_file(struct report *r, const char *path, const struct report_opts *o, char *err,
                    size_t errlen)
{
    int w = report_wait_file(path, o->wait_seconds, o->quiet, err, errlen);
    if (w < 0)
        return -1;
    struct sample_file *f = sf_load(path, err, errlen);
    if (!f)
        return -1;
    if (!o->quiet && (!f->complete || w == 1))
        fprintf(stderr,
                "goprof-report: warning: %s is %s: recovered %zu sample records from %llu "
                "complete blocks\n",
                path,
                w == 1 ? "still being written"
                : f->truncated ? "truncated (its collector stopped mid-block)"
                               : "truncated (no end marker: its collector was killed)",
                f->nsamples, (unsigned long long)f->frames);
    if (o->filter)
        filter_samples(o->filter, f);
    struct file_ctx fc = {.f = f};
    int rc = open_binaries(r, &fc, o, err, errlen);
    if (!rc)
        rc = add_stacks(r, &fc, o, err, errlen);
    if (!rc) {
        if (!r->program) {
            r->program = own(r, strdup(f->hdr.exe_path));
            r->period_ns = f->hdr.period_ns;
            r->hz = f->hdr.hz;
            r->source = source_name(f->hdr.source);
        }
        uint64_t end = f->end_unix_ns ? f->end_unix_ns
                                      : f->hdr.start_unix_ns + (f->end_mono_ns > f->hdr.start_mono_ns
                                                                    ? f->end_mono_ns - f->hdr.start_mono_ns
                                                                    : 0);
        uint64_t start = f->hdr.start_unix_ns;
        if (o->filter)
            filter_window(o->filter, &start, &end);
        if (!r->start_unix_ns || start < r->start_unix_ns)
            r->start_unix_ns = start;
        if (end > r->end_unix_ns)
            r->end_unix_ns = end;
        r->dropped += f->counters.dropped_weight + f->counters.torn;
        r->signals += f->counters.signals;
        r->threads += f->counters.threads;
        r->nfiles++;
    }
    free(fc.bins);
    free(fc.rmap);
    u64map_free(&fc.pcloc);
    sf_free(f);
    return rc;
}

int report_build(struct report *r, char *const *files, int nfiles, const struct report_opts *o,
                 char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->sym = symbolizer_new(o->expand_inline);
    if (!r->sym) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < nfiles; i++)
        if (add_file(r, files[i], o, err, errlen) != 0)
            return -1;
    if (o->filter)
        filter_stacks(o->filter, r);
    return 0;
}

void report_free(struct report *r)
{
    free(r->funcs);
    free(r->lines);
    free(r->maps);
    free(r->locs);
    free(r->loc_ids);
    free(r->samples);
    u64map_free(&r->func_index);
    u64map_free(&r->loc_index);
    u64map_free(&r->map_index);
    u64map_free(&r->sample_index);
    for (size_t i = 0; i < r->nowned; i++)
        free(r->owned[i]);
    free(r->owned);
    symbolizer_free(r->sym);
    memset(r, 0, sizeof *r);
}
