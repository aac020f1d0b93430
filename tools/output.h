/* Output formats of goprof-report, each written from a built report. */
#ifndef GOPROF_OUTPUT_H
#define GOPROF_OUTPUT_H

#include <stdio.h>

#include "report.h"

/* gzipped pprof protobuf (profile.proto), as go tool pprof reads it. */
int write_pprof(const struct report *r, FILE *out, char *err, size_t errlen);
/* FlameGraph folded stacks: "root;...;leaf count", one line per stack. */
int write_folded(const struct report *r, FILE *out, char *err, size_t errlen);

#endif
