/* Folded stacks, as FlameGraph's flamegraph.pl and speedscope read them:
 * "root;caller;...;leaf count", one line per distinct stack of names.
 * Inlined functions are frames of their own, like in go tool pprof. A ';'
 * or line break inside a name would break the format, so they become '_'
 * and ' '; every other byte (spaces, brackets, unicode) is kept as is, and
 * a function without a name is "[unknown]": no frame is ever empty. */
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "output.h"

struct line {
    char *text;
    uint64_t count;
};

static void put_name(char **p, size_t *len, size_t *cap, const char *s, bool raw)
{
    size_t n = strlen(s);
    if (*len + n + 2 > *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        while (ncap < *len + n + 2)
            ncap *= 2;
        char *q = realloc(*p, ncap);
        if (!q)
            return;
        *p = q;
        *cap = ncap;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!raw)
            c = c == ';' ? '_' : (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
        (*p)[(*len)++] = c;
    }
    (*p)[*len] = 0;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

int write_folded(const struct report *r, FILE *out, char *err, size_t errlen)
{
    /* Different PCs of one function make distinct samples in the report;
     * here only names count, so equal lines are merged (sorted, then
     * summed). */
    struct line *lines = calloc(r->nsamples + 1, sizeof *lines);
    if (!lines) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct funcbuf fb = {0};
    for (size_t i = 0; i < r->nsamples; i++) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        if (sample_funcs(r, &r->samples[i], false, &fb) != 0)
            fb.n = 0; /* a NULL text below: out of memory */
        else if (!fb.n)
            buf = strdup("");
        for (size_t k = 0; k < fb.n; k++) {
            if (len)
                put_name(&buf, &len, &cap, ";", true);
            put_name(&buf, &len, &cap, func_display_name(r, fb.v[k]), false);
        }
        lines[i] = (struct line){buf, r->samples[i].count};
    }
    funcbuf_free(&fb);
    qsort(lines, r->nsamples, sizeof *lines, by_text);
    int rc = 0;
    for (size_t i = 0; i < r->nsamples; i++) {
        if (!lines[i].text) {
            rc = -1;
            continue;
        }
        uint64_t total = lines[i].count;
        while (i + 1 < r->nsamples && lines[i + 1].text && !strcmp(lines[i].text, lines[i + 1].text))
            total += lines[++i].count;
        fprintf(out, "%s %llu\n", lines[i].text, (unsigned long long)total);
    }
    for (size_t i = 0; i < r->nsamples; i++)
        free(lines[i].text);
    free(lines);
    if (rc)
        snprintf(err, errlen, "out of memory");
    else if (ferror(out)) {
        snprintf(err, errlen, "write failed");
        rc = -1;
    }
    return rc;
}
