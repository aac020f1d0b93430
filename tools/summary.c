#include "summary.h"

#include <string.h>

void summarize(const struct report *r, struct summary *s)
{
    memset(s, 0, sizeof *s);
    s->program = r->program ? r->program : "?";
    const char *slash = strrchr(s->program, '/');
    s->name = slash && slash[1] ? slash + 1 : s->program;
    s->seconds = r->end_unix_ns > r->start_unix_ns
                     ? (double)(r->end_unix_ns - r->start_unix_ns) / 1e9
                     : 0;
    uint64_t nanos = 0;
    for (size_t i = 0; i < r->nsamples; i++)
        nanos += r->samples[i].nanos;
    s->cpu_seconds = (double)nanos / 1e9;
    s->samples = r->total_count;
    s->dropped = r->dropped;
    s->threads = r->threads;
    s->hz = r->hz;
    s->files = r->nfiles;
    s->source = r->source ? r->source : "?";
}
