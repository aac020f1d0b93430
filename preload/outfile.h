/* Creates this process's sample file and locks it for the collector.
 * The exclusive flock is taken before the collector is forked and is held
 * by the collector until the file is complete: goprof-report waits on it,
 * and a second live process never writes into a file that is locked. */
#ifndef GOPROF_OUTFILE_H
#define GOPROF_OUTFILE_H

#include <stddef.h>

/* Returns an fd (O_CLOEXEC, locked, truncated) and the path it names, or
 * -1 after printing why. */
int outfile_open(const char *pattern, int pid, char *path, size_t pathlen);

#endif
