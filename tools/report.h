/* The report model: one or more sample files turned into symbolized
 * locations, functions and aggregated samples. Every output format
 * (pprof, folded, ...) is written from this. */
#ifndef GOPROF_REPORT_H
#define GOPROF_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sample_format.h"
#include "symbolize.h"
#include "u64map.h"

/* Most locations in one report stack: the recorded frames plus the root
 * markers ([truncated], [no goroutine], [signal handler], --group-by). */
#define RP_MAX_STACK (SF_MAX_DEPTH + 4)

struct rp_func {
    const char *name, *file;
    int32_t start_line;
    enum frame_kind kind;
};

struct rp_line {
    uint32_t func; /* index into functions */
    int32_t line;
};

struct rp_map {
    uint64_t start, limit, offset;
    const char *file, *build_id;
    bool symbolized; /* has functions, files and lines from us */
};

struct rp_loc {
    uint32_t map; /* index + 1; 0 = no mapping */
    uint64_t address;
    uint32_t line_off, nlines; /* innermost first */
    bool elided; /* only wrapper frames: left out of stacks */
};

struct rp_sample {
    uint32_t loc_off, nlocs; /* leaf first */
    uint64_t count;          /* samples (weighted) */
    uint64_t nanos;          /* CPU time they stand for */
    uint64_t tid;            /* thread id */
    uint64_t goid;           /* goroutine id, 0 when none */
    const char *thread_name; /* "" when unknown */
};

struct report {
    struct rp_func *funcs;
    size_t nfuncs, cap_funcs;
    struct rp_line *lines;
    size_t nlines, cap_lines;
    struct rp_map *maps;
    size_t nmaps, cap_maps;
    struct rp_loc *locs;
    size_t nlocs, cap_locs;
    uint32_t *loc_ids; /* pool for sample stacks */
    size_t nloc_ids, cap_loc_ids;
    struct rp_sample *samples;
    size_t nsamples, cap_samples;
    struct u64map func_index, loc_index, map_index, sample_index;
    char **owned; /* strings we allocated */
    size_t nowned, cap_owned;
    struct symbolizer *sym;

    /* what the header of each view shows */
    const char *program;
    uint64_t period_ns, hz;
    uint64_t start_unix_ns, end_unix_ns;
    uint64_t total_count, dropped, signals, threads;
    unsigned nfiles;
    const char *source;
};

enum group_by { GROUP_NONE, GROUP_THREAD, GROUP_GOROUTINE };

struct report_filter; /* filter.h */

struct report_opts {
    enum group_by group_by; /* adds a root frame per thread or goroutine */
    const char *binary;  /* --binary */
    bool expand_inline;
    /* Keep each sample's thread and goroutine (pprof's labels). Without,
     * samples are merged per stack: what the views need, and far less
     * memory when many goroutines share few stacks. */
    bool labels;
    double wait_seconds; /* for a file still being written; 0 = do not wait */
    bool quiet;
    struct report_filter *filter; /* NULL: every sample */
};

/* Loads and symbolizes files into r. On error returns -1 with a one-line
 * message (naming the file) in err. Warnings go to stderr. */
int report_build(struct report *r, char *const *files, int nfiles, const struct report_opts *o,
                 char *err, size_t errlen);
void report_free(struct report *r);
/* Waits up to secs for the collector writing path to finish it. Returns 0
 * when the file is complete (or cannot be opened: the loader says why), 1
 * when it is still being written and secs is 0, -1 with a message in err
 * on timeout. */
int report_wait_file(const char *path, double secs, bool quiet, char *err, size_t errlen);

#endif
