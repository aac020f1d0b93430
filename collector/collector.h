/* The collector: a process forked from the profiled program at start-up.
 * It drains the shared ring every 10 ms, de-duplicates stacks and appends
 * zstd frames to the sample file; it notices the program's end through a
 * pidfd (however the program ends: exit_group, a signal, SIGKILL) and then
 * drains what is left, writes the trailer, releases the file's lock and
 * prints one summary line. */
#ifndef GOPROF_COLLECTOR_H
#define GOPROF_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ring.h"
#include "sample_format.h"

struct collector_args {
    struct ring *ring;
    int fd;           /* the sample file, locked */
    const char *path; /* its name, for messages */
    pid_t pid;        /* the profiled program */
    bool quiet;
    uint64_t text_lo, text_hi; /* the Go text, where C unwinding stops */
    struct sf_header hdr;
    const char *note; /* written to the file when non-empty */
    const char *note2;
    /* Read the runtime's offsets from the executable's DWARF into the
     * ring (see ring.h). Without them and without table_offsets (the
     * release is unknown), the header says frame pointers only and the
     * handler walks so. */
    bool dwarf_offsets, table_offsets;
};

/* For a program whose release goprof does not know and whose DWARF cannot
 * tell the runtime's layout (why): writes the note for the file, prints
 * it, and turns *unwind (SF_UNWIND_*) to frame pointers only. */
void offsets_notice(const char *go_version, const char *why, int *unwind, char *note,
                    size_t notelen);

/* Forks the collector. Returns 0 in the parent, -1 (errno) on failure.
 * The child never returns. */
int collector_spawn(const struct collector_args *a);

#endif
