/* Diagnostic views for tests and for users who want to see what goprof
 * sees: the raw recorded stacks, and what it reads from a Go binary. */
#ifndef GOPROF_DIAG_H
#define GOPROF_DIAG_H

#include <stdio.h>

/* `--format=raw`: per file, its mappings ("map START END OFFSET FLAGS
 * PATH") and each distinct stack ("stack COUNT FLAGS PC..." leaf first,
 * hex, unsymbolized). Returns 0 or 1. */
int diag_raw(char *const *files, int nfiles, FILE *out);
/* `--info --binary BIN`: Go version, where the pclntab is, text range,
 * g's TLS slot, and the runtime offsets from the table and from DWARF. */
int diag_info(const char *binary, FILE *out);

#endif
