/* The top list: a go tool pprof -top -sample_index=samples like table
 * (flat, flat%, sum%, cum, cum%, function) under a header with the
 * program, duration, samples, dropped samples, threads and rate.
 * Functions are aggregated by name; cum counts a sample once however
 * often its stack goes through the function (recursion). */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "frames.h"
#include "output.h"
#include "summary.h"

struct row {
    const char *name;
    uint64_t flat, cum;
};

static int by_flat(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->flat != y->flat)
        return x->flat > y->flat ? -1 : 1;
    if (x->cum != y->cum)
        return x->cum > y->cum ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int by_cum(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->cum != y->cum)
        return x->cum > y->cum ? -1 : 1;
    return by_flat(a, b);
}

static double pct(uint64_t n, uint64_t total)
{
    return total ? 100.0 * (double)n / (double)total : 0;
}

static void header(const struct report *r, uint64_t total, FILE *out)
{
    struct summary s;
    summarize(r, &s);
    fprintf(out, "Program:  %s", s.program);
    if (s.files > 1)
        fprintf(out, " (%u files merged)", s.files);
    fprintf(out, "\nDuration: %.2f s\n", s.seconds);
    fprintf(out, "Samples:  %llu (%.2f s of CPU", (unsigned long long)total, s.cpu_seconds);
    if (s.seconds > 0)
        fprintf(out, ", %.0f%% of one core", 100 * s.cpu_seconds / s.seconds);
    fprintf(out, ")\nDropped:  %llu samples\n", (unsigned long long)s.dropped);
    fprintf(out, "Threads:  %llu\n", (unsigned long long)s.threads);
    fprintf(out, "Rate:     %llu Hz (%s)\n", (unsigned long long)s.hz, s.source);
}

/* flat and cum per canonical function; rows in *out. Returns the count
 * of rows, or -1 when out of memory. */
static ssize_t tally(const struct report *r, bool cum_order, struct row **out,
                     uint64_t *total)
{
    uint32_t *canon = canon_funcs(r);
    uint64_t *flat = calloc(r->nfuncs + 1, sizeof *flat);
    uint64_t *cum = calloc(r->nfuncs + 1, sizeof *cum);
    size_t *stamp = calloc(r->nfuncs + 1, sizeof *stamp);
    struct row *rows = calloc(r->nfuncs + 1, sizeof *rows);
    struct funcbuf b = {0};
    ssize_t n = -1;
    if (!canon || !flat || !cum || !stamp || !rows)
        goto out;
    *total = 0;
    for (size_t i = 0; i < r->nsamples; i++) {
        const struct rp_sample *s = &r->samples[i];
        if (sample_funcs(r, s, true, &b) != 0)
            goto out;
        *total += s->count;
        if (b.n)
            flat[canon[b.v[0]]] += s->count;
        for (size_t k = 0; k < b.n; k++) {
            uint32_t c = canon[b.v[k]];
            if (stamp[c] != i + 1) {
                stamp[c] = i + 1;
                cum[c] += s->count;
            }
        }
    }
    n = 0;
    for (size_t f = 0; f < r->nfuncs; f++)
        if (cum[f])
            rows[n++] = (struct row){func_display_name(r, (uint32_t)f), flat[f], cum[f]};
    qsort(rows, (size_t)n, sizeof *rows, cum_order ? by_cum : by_flat);
    *out = rows;
    rows = NULL;
out:
    free(canon);
    free(flat);
    free(cum);
    free(stamp);
    free(rows);
    funcbuf_free(&b);
    return n;
}

int write_top(const struct report *r, const struct view_opts *v, FILE *out, char *err,
              size_t errlen)
{
    struct row *rows = NULL;
    uint64_t total = 0;
    ssize_t n = tally(r, v->by_cum, &rows, &total);
    if (n < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t shown = v->nodecount && (size_t)n > v->nodecount ? v->nodecount : (size_t)n;
    uint64_t shown_flat = 0;
    for (size_t i = 0; i < shown; i++)
        shown_flat += rows[i].flat;
    header(r, total, out);
    fprintf(out, "Showing top %zu of %zd functions by %s, %llu of %llu samples (%.2f%%)\n",
            shown, n, v->by_cum ? "cum" : "flat", (unsigned long long)shown_flat,
            (unsigned long long)total, pct(shown_flat, total));
    fprintf(out, "%10s %7s %7s %10s %7s\n", "flat", "flat%", "sum%", "cum", "cum%");
    uint64_t sum = 0;
    for (size_t i = 0; i < shown; i++) {
        sum += rows[i].flat;
        fprintf(out, "%10llu %6.2f%% %6.2f%% %10llu %6.2f%%  %s\n",
                (unsigned long long)rows[i].flat, pct(rows[i].flat, total), pct(sum, total),
                (unsigned long long)rows[i].cum, pct(rows[i].cum, total), rows[i].name);
    }
    free(rows);
    if (ferror(out)) {
        snprintf(err, errlen, "write failed");
        return -1;
    }
    return 0;
}
