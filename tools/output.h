/* Output formats of goprof-report, each written from a built report. */
#ifndef GOPROF_OUTPUT_H
#define GOPROF_OUTPUT_H

#include <stdio.h>

#include "report.h"

/* Settings of the human views (flame graph, top list). */
struct view_opts {
    unsigned width;    /* svg: image width in pixels */
    const char *title; /* svg: NULL for "PROGRAM (goprof)" */
    double min_width;  /* svg: frames narrower than this (pixels) are left out */
    bool reverse;      /* svg: callers view, leaf functions on top (icicle) */
    unsigned nodecount; /* top: rows shown; 0 = all */
    bool by_cum;        /* top: sort by cum instead of flat */
};
#define VIEW_OPTS_DEFAULT {.width = 1200, .min_width = 0.1, .nodecount = 20}

/* gzipped pprof protobuf (profile.proto), as go tool pprof reads it. */
int write_pprof(const struct report *r, FILE *out, char *err, size_t errlen);
/* FlameGraph folded stacks: "root;...;leaf count", one line per stack. */
int write_folded(const struct report *r, FILE *out, char *err, size_t errlen);
/* A self-contained interactive flame graph (SVG with its script). */
int write_svg(const struct report *r, const struct view_opts *v, FILE *out, char *err,
              size_t errlen);
/* A go tool pprof -top like table with a header. */
int write_top(const struct report *r, const struct view_opts *v, FILE *out, char *err,
              size_t errlen);

#endif
