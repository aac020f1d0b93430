/* What the views (folded, flame graph, top) need from a report's stacks:
 * the functions of a sample, root first and with inlined functions as
 * frames of their own; and one function per name, since those views
 * aggregate by name like go tool pprof's default granularity. */
#ifndef GOPROF_FRAMES_H
#define GOPROF_FRAMES_H

#include "report.h"

struct funcbuf {
    uint32_t *v; /* function indexes */
    size_t n, cap;
};

/* Fills b with the functions of s, root first (leaf_first: leaf first).
 * Returns 0, or -1 when out of memory. */
int sample_funcs(const struct report *r, const struct rp_sample *s, bool leaf_first,
                 struct funcbuf *b);
void funcbuf_free(struct funcbuf *b);

/* canon[i]: the lowest function index with the name of function i.
 * NULL when out of memory. Free with free(). */
uint32_t *canon_funcs(const struct report *r);

/* Name for display: never empty (an empty name would be an empty frame). */
const char *func_display_name(const struct report *r, uint32_t func);

#endif
