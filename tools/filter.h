/* Which samples a report keeps: a time window, threads, goroutines (on
 * the raw samples of each file), and --focus/--ignore regular expressions
 * on the function names of the symbolized stacks. Shared by every output. */
#ifndef GOPROF_FILTER_H
#define GOPROF_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "sample_format.h"

struct filter_spec {
    double from, to;     /* seconds since each file's start; to < 0: no end */
    char **threads;      /* TIDs or thread names */
    size_t nthreads;
    uint64_t *goids;
    size_t ngoids;
    const char *focus;   /* POSIX extended regex: keep stacks through a match */
    const char *ignore;  /* drop stacks through a match */
};

/* True if the spec filters anything. */
bool filter_spec_active(const struct filter_spec *s);

/* Compiles s. NULL with a message in err (a bad regex, out of memory). */
struct report_filter *filter_new(const struct filter_spec *s, char *err, size_t errlen);
void filter_free(struct report_filter *f);

/* Drops the raw samples of sf outside the window, threads and goroutines
 * (before they are symbolized: report.c add_file). */
void filter_samples(struct report_filter *f, struct sample_file *sf);
/* Drops the report's samples that --focus/--ignore reject (once every
 * file is in: report.c report_build). */
void filter_stacks(struct report_filter *f, struct report *r);

/* The tests behind them, for one raw sample and one stack of report
 * locations (leaf first). */
bool filter_sample(struct report_filter *f, const struct sample_file *sf,
                   const struct sf_sample *s);
bool filter_stack(struct report_filter *f, const struct report *r, const uint32_t *locs,
                  uint32_t n);
/* Narrows a file's [start, end] (unix ns) to the time window. */
void filter_window(const struct report_filter *f, uint64_t *start_ns, uint64_t *end_ns);

#endif
