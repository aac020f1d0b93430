#include "filter.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LOC_SEEN = 1, LOC_FOCUS = 2, LOC_IGNORE = 4 };

struct report_filter {
    struct filter_spec s;
    regex_t focus, ignore;
    bool has_focus, has_ignore;
    /* per report location: LOC_* bits, computed on first use */
    uint8_t *loc_bits;
    size_t nloc_bits;
    /* per thread index of the file last seen: kept? */
    const struct sample_file *file;
    bool *thread_ok;
};

bool filter_spec_active(const struct filter_spec *s)
{
    return s->from > 0 || s->to >= 0 || s->nthreads || s->ngoids || s->focus || s->ignore;
}

static int compile(regex_t *re, const char *pat, const char *opt, char *err, size_t errlen)
{
    int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[200];
        regerror(rc, re, msg, sizeof msg);
        snprintf(err, errlen, "%s '%s' is not a valid regular expression: %s", opt, pat, msg);
        return -1;
    }
    return 0;
}

struct report_filter *filter_new(const struct filter_spec *s, char *err, size_t errlen)
{
    struct report_filter *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->s = *s;
    if (s->focus) {
        if (compile(&f->focus, s->focus, "--focus", err, errlen) != 0) {
            free(f);
            return NULL;
        }
        f->has_focus = true;
    }
    if (s->ignore) {
        if (compile(&f->ignore, s->ignore, "--ignore", err, errlen) != 0) {
            filter_free(f);
            return NULL;
        }
        f->has_ignore = true;
    }
    return f;
}

void filter_free(struct report_filter *f)
{
    if (!f)
        return;
    if (f->has_focus)
        regfree(&f->focus);
    if (f->has_ignore)
        regfree(&f->ignore);
    free(f->loc_bits);
    free(f->thread_ok);
    free(f);
}

static bool thread_matches(const struct filter_spec *s, const struct sf_thread *t)
{
    char tid[24];
    snprintf(tid, sizeof tid, "%llu", (unsigned long long)t->tid);
    for (size_t i = 0; i < s->nthreads; i++)
        if (!strcmp(s->threads[i], tid) || !strcmp(s->threads[i], t->name))
            return true;
    return false;
}

/* The per-thread answers for a new file; false when out of memory. */
static bool load_threads(struct report_filter *f, const struct sample_file *sf)
{
    free(f->thread_ok);
    f->file = sf;
    f->thread_ok = calloc(sf->nthreads + 1, sizeof *f->thread_ok);
    if (!f->thread_ok)
        return false;
    for (size_t i = 0; i < sf->nthreads; i++)
        f->thread_ok[i] = thread_matches(&f->s, &sf->threads[i]);
    return true;
}

bool filter_sample(struct report_filter *f, const struct sample_file *sf,
                   const struct sf_sample *s)
{
    const struct filter_spec *p = &f->s;
    if (p->from > 0 || p->to >= 0) {
        uint64_t start_us = sf->hdr.start_mono_ns / 1000;
        double t = s->time_us > start_us ? (double)(s->time_us - start_us) / 1e6 : 0;
        if (t < p->from || (p->to >= 0 && t >= p->to))
            return false;
    }
    if (p->nthreads) {
        if (f->file != sf && !load_threads(f, sf))
            return false;
        if (s->thread >= sf->nthreads || !f->thread_ok[s->thread])
            return false;
    }
    if (p->ngoids) {
        size_t i = 0;
        while (i < p->ngoids && p->goids[i] != s->goid)
            i++;
        if (i == p->ngoids)
            return false;
    }
    return true;
}

static bool loc_matches(const struct report *r, uint32_t loc, const regex_t *re)
{
    const struct rp_loc *l = &r->locs[loc];
    for (uint32_t j = 0; j < l->nlines; j++)
        if (regexec(re, r->funcs[r->lines[l->line_off + j].func].name, 0, NULL, 0) == 0)
            return true;
    return false;
}

static uint8_t loc_bits(struct report_filter *f, const struct report *r, uint32_t loc)
{
    if (loc >= f->nloc_bits) {
        size_t n = f->nloc_bits ? f->nloc_bits * 2 : 1024;
        if (n < r->nlocs)
            n = r->nlocs;
        if (n <= loc)
            n = (size_t)loc + 1;
        uint8_t *p = realloc(f->loc_bits, n);
        if (!p)
            return LOC_SEEN; /* matches nothing */
        memset(p + f->nloc_bits, 0, n - f->nloc_bits);
        f->loc_bits = p;
        f->nloc_bits = n;
    }
    uint8_t b = f->loc_bits[loc];
    if (!b) {
        b = LOC_SEEN;
        if (f->has_focus && loc_matches(r, loc, &f->focus))
            b |= LOC_FOCUS;
        if (f->has_ignore && loc_matches(r, loc, &f->ignore))
            b |= LOC_IGNORE;
        f->loc_bits[loc] = b;
    }
    return b;
}

bool filter_stack(struct report_filter *f, const struct report *r, const uint32_t *locs,
                  uint32_t n)
{
    if (!f->has_focus && !f->has_ignore)
        return true;
    bool focused = !f->has_focus;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t b = loc_bits(f, r, locs[i]);
        if (b & LOC_IGNORE)
            return false;
        focused |= (b & LOC_FOCUS) != 0;
    }
    return focused;
}

void filter_samples(struct report_filter *f, struct sample_file *sf)
{
    size_t kept = 0;
    for (size_t i = 0; i < sf->nsamples; i++)
        if (filter_sample(f, sf, &sf->samples[i]))
            sf->samples[kept++] = sf->samples[i];
    sf->nsamples = kept;
}

void filter_stacks(struct report_filter *f, struct report *r)
{
    if (!f->has_focus && !f->has_ignore)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < r->nsamples; i++) {
        const struct rp_sample *s = &r->samples[i];
        if (filter_stack(f, r, r->loc_ids + s->loc_off, s->nlocs))
            r->samples[kept++] = *s;
        else
            r->total_count -= s->count;
    }
    r->nsamples = kept;
    /* the index of samples by stack points into the old order */
    u64map_free(&r->sample_index);
}

void filter_window(const struct report_filter *f, uint64_t *start_ns, uint64_t *end_ns)
{
    uint64_t s = *start_ns, e = *end_ns;
    if (f->s.from > 0)
        *start_ns = s + (uint64_t)(f->s.from * 1e9);
    if (f->s.to >= 0 && s + (uint64_t)(f->s.to * 1e9) < e)
        *end_ns = s + (uint64_t)(f->s.to * 1e9);
    if (*start_ns > e)
        *start_ns = e;
    if (*end_ns < *start_ns)
        *end_ns = *start_ns;
}
