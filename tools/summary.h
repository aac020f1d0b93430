/* The facts a human view puts in its header: program, duration, samples,
 * dropped samples, threads and rate. */
#ifndef GOPROF_SUMMARY_H
#define GOPROF_SUMMARY_H

#include "report.h"

struct summary {
    const char *program; /* as recorded: the executable's path */
    const char *name;    /* its base name */
    double seconds;      /* wall time covered */
    double cpu_seconds;  /* CPU time the samples stand for */
    uint64_t samples, dropped, threads, hz;
    unsigned files;
    const char *source;
};

void summarize(const struct report *r, struct summary *s);

#endif
