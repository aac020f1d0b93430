/* Settings read from the environment at load time. A bad value is reported
 * in one line naming the variable and its accepted range; the program then
 * runs unprofiled. */
#ifndef GOPROF_CONFIG_H
#define GOPROF_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum source_pref { SOURCE_AUTO, SOURCE_PERF, SOURCE_TIMER };

#define GOPROF_HZ_DEFAULT 100
#define GOPROF_HZ_MAX 20000
#define GOPROF_DEPTH_DEFAULT 64
#define GOPROF_DEPTH_MAX 1024
#define GOPROF_SIGNAL_DEFAULT 42 /* SIGRTMIN+8: not raised by Go or glibc */
/* Bytes of stack copied per sample for the libunwind strategies: C frames
 * deeper than this above the interrupted SP are not recovered. */
#define GOPROF_STACK_COPY (32u << 10)

struct goprof_config {
    char out_pattern[PATH_MAX]; /* GOPROF_OUT, %p = pid */
    unsigned hz;
    unsigned depth;
    int signo;
    enum source_pref source;
    int unwind; /* SF_UNWIND_* */
    bool quiet; /* GOPROF_QUIET=1: no summary line */
    unsigned follow_children; /* GOPROF_FOLLOW_CHILDREN: 0 leaves children inert */
};

/* Returns 0, or -1 after printing the reason on stderr. */
int config_load(struct goprof_config *c);

/* Expands %p (pid) and %% in pattern. Returns 0, or -1 if too long. */
int config_expand_out(const char *pattern, int pid, char *out, size_t outlen);

#endif
