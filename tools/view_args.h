/* goprof-report's options for the human views and the filters shared by
 * every output: --reverse, --width, --title, --min-width, --nodecount,
 * --from, --to, --thread, --goroutine, --focus, --ignore. */
#ifndef GOPROF_VIEW_ARGS_H
#define GOPROF_VIEW_ARGS_H

#include <getopt.h>
#include <stdio.h>

#include "filter.h"
#include "output.h"

struct view_args {
    struct view_opts view;
    struct filter_spec filter;
};

void view_args_init(struct view_args *a);
void view_args_free(struct view_args *a);
/* base's options followed by ours, terminated, in out[max]. Returns out,
 * or NULL when max is too small. */
struct option *view_args_options(const struct option *base, struct option *out, size_t max);
/* Handles getopt_long's answer opt. Returns 1 if it was ours, 0 if not,
 * -1 on a bad value (after saying why on stderr). */
int view_args_parse(struct view_args *a, int opt, const char *arg);
void view_args_usage(FILE *f);

#endif
