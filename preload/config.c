#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sample_format.h"

static int parse_uint(const char *name, unsigned lo, unsigned hi, unsigned dflt,
                      unsigned *out)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || *end || end == v || v[0] == '-' || n < lo || n > hi) {
        goprof_log("%s=%s is not valid: expected an integer from %u to %u "
                   "(default %u); profiling disabled", name, v, lo, hi, dflt);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

/* Accepts a number or SIGRTMIN+N / SIGRTMAX-N. Only real-time signals:
 * every standard signal has a meaning to the Go runtime or to programs. */
static int parse_signal(int *out)
{
    const char *v = getenv("GOPROF_SIGNAL");
    int lo = SIGRTMIN, hi = SIGRTMAX;
    if (!v || !*v) {
        *out = GOPROF_SIGNAL_DEFAULT;
        return 0;
    }
    char *end;
    long n = -1;
    errno = 0;
    if (!strncmp(v, "SIGRTMIN", 8)) {
        n = lo + (v[8] ? strtol(v + 8, &end, 10) : 0);
        if (v[8] && (*end || v[8] != '+'))
            n = -1;
    } else if (!strncmp(v, "SIGRTMAX", 8)) {
        n = hi + (v[8] ? strtol(v + 8, &end, 10) : 0);
        if (v[8] && (*end || v[8] != '-'))
            n = -1;
    } else {
        n = strtol(v, &end, 10);
        if (*end || end == v)
            n = -1;
    }
    if (errno || n < lo || n > hi) {
        goprof_log("GOPROF_SIGNAL=%s is not valid: expected a real-time signal "
                   "%d-%d, as a number or SIGRTMIN+N (default %d); profiling disabled",
                   v, lo, hi, GOPROF_SIGNAL_DEFAULT);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int parse_source(enum source_pref *out)
{
    const char *v = getenv("GOPROF_SOURCE");
    if (!v || !*v || !strcmp(v, "auto"))
        *out = SOURCE_AUTO;
    else if (!strcmp(v, "perf"))
        *out = SOURCE_PERF;
    else if (!strcmp(v, "timer"))
        *out = SOURCE_TIMER;
    else {
        goprof_log("GOPROF_SOURCE=%s is not valid: expected auto, perf or timer "
                   "(default auto); profiling disabled", v);
        return -1;
    }
    return 0;
}

static int parse_unwind(int *out)
{
    static const struct {
        const char *name;
        int value;
    } names[] = {{"fp", SF_UNWIND_FP},
                 {"go", SF_UNWIND_GO},
                 {"libunwind", SF_UNWIND_LIBUNWIND},
                 {"mixed", SF_UNWIND_MIXED},
                 {"none", SF_UNWIND_NONE}};
    const char *v = getenv("GOPROF_UNWIND");
    if (!v || !*v) {
        *out = SF_UNWIND_GO;
        return 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(v, names[i].name)) {
            *out = names[i].value;
            return 0;
        }
    goprof_log("GOPROF_UNWIND=%s is not valid: expected fp, go, libunwind, mixed or none "
               "(default go); profiling disabled", v);
    return -1;
}

int config_expand_out(const char *pattern, int pid, char *out, size_t outlen)
{
    size_t w = 0;
    for (const char *p = pattern; *p; p++) {
        char tmp[24];
        const char *piece = tmp;
        if (p[0] == '%' && p[1] == 'p') {
            snprintf(tmp, sizeof tmp, "%d", pid);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            tmp[0] = '%', tmp[1] = 0;
            p++;
        } else {
            tmp[0] = *p, tmp[1] = 0;
        }
        size_t n = strlen(piece);
        if (w + n + 1 > outlen)
            return -1;
        memcpy(out + w, piece, n);
        w += n;
    }
    out[w] = 0;
    return 0;
}

int config_load(struct goprof_config *c)
{
    memset(c, 0, sizeof *c);
    const char *out = getenv("GOPROF_OUT");
    if (out && !*out) {
        goprof_log("GOPROF_OUT is empty: expected a file name (default samples.zst, "
                   "%%p expands to the pid); profiling disabled");
        return -1;
    }
    if (snprintf(c->out_pattern, sizeof c->out_pattern, "%s", out ? out : "samples.zst") >=
        (int)sizeof c->out_pattern) {
        goprof_log("GOPROF_OUT is longer than %d bytes; profiling disabled", PATH_MAX - 1);
        return -1;
    }
    if (parse_uint("GOPROF_HZ", 1, GOPROF_HZ_MAX, GOPROF_HZ_DEFAULT, &c->hz) ||
        parse_uint("GOPROF_DEPTH", 1, GOPROF_DEPTH_MAX, GOPROF_DEPTH_DEFAULT, &c->depth) ||
        parse_uint("GOPROF_FOLLOW_CHILDREN", 0, 1, 1, &c->follow_children) ||
        parse_signal(&c->signo) || parse_source(&c->source) || parse_unwind(&c->unwind))
        return -1;
    const char *q = getenv("GOPROF_QUIET");
    c->quiet = q && *q && strcmp(q, "0") != 0;
    return 0;
}
