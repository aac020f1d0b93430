/* Unwinding of C frames in the collector, with libunwind's remote API over
 * a copy of the stack that the signal handler took (GOPROF_UNWIND=mixed
 * and libunwind). This is how `perf --call-graph dwarf` does it, and why:
 * libunwind inside a signal handler takes the loader lock
 * (dl_iterate_phdr) and caches with locks, the cause of the deadlocks and
 * crashes gperftools and async-profiler report; here it runs in an
 * ordinary process, on data that can no longer change.
 *
 * The collector is forked from the program before the runtime starts, so
 * every object loaded then is mapped at the same address in both: unwind
 * tables and code are read from the collector's own memory. */
#ifndef GOPROF_CUNWIND_H
#define GOPROF_CUNWIND_H

#include <stdbool.h>
#include <stdint.h>

struct cunwind;

/* Go text is [text_lo, text_hi): with stop_at_go the unwinding ends there
 * (the handler walked the Go frames itself). */
struct cunwind *cunwind_new(uint64_t text_lo, uint64_t text_hi);
void cunwind_free(struct cunwind *u);

/* Unwinds from ip/sp/bp over the stack bytes copy[0..len) that were at sp.
 * Writes the frames, ip first, and returns how many (at least 1). */
int cunwind_run(struct cunwind *u, uint64_t ip, uint64_t sp, uint64_t bp, const uint8_t *copy,
                uint32_t len, bool stop_at_go, uint64_t *out, int max);

#endif
