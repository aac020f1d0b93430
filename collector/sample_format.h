/* The goprof sample file, format version 1 (documented in docs/FORMAT.md).
 *
 * A file is a sequence of zstd frames; decompressed and concatenated they
 * hold the 8-byte magic "GOPROF\0" + version byte, then records:
 *     type:u8  length:uvarint  payload[length]
 * Records never straddle frames, so a file cut short (a killed collector)
 * still yields every complete frame before the cut. Unknown record types
 * and trailing payload bytes are skipped, which lets later versions add
 * fields without breaking older readers. */
#ifndef GOPROF_SAMPLE_FORMAT_H
#define GOPROF_SAMPLE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SF_MAGIC "GOPROF\0"
#define SF_VERSION 1

enum sf_record {
    SF_REC_HEADER = 1,
    SF_REC_MAPPING = 2,
    SF_REC_STACK = 3,
    SF_REC_THREAD = 4,
    SF_REC_SAMPLES = 5,
    SF_REC_COUNTERS = 6,
    SF_REC_NOTE = 7,
    SF_REC_TRAILER = 8,
};

enum sf_source { SF_SOURCE_TIMER = 1, SF_SOURCE_PERF = 2 };
enum sf_unwind { SF_UNWIND_FP = 1, SF_UNWIND_GO = 2, SF_UNWIND_LIBUNWIND = 3,
                 SF_UNWIND_MIXED = 4, SF_UNWIND_NONE = 5 };

#define SF_MAX_DEPTH 4096u /* frames a reader accepts in one stack */
#define SF_STACK_TRUNCATED 1u
#define SF_STACK_NO_G 2u   /* a thread without a goroutine (C thread) */
#define SF_STACK_SIGNAL 4u /* on the Go runtime's signal stack */
#define SF_MAP_EXEC 1u
#define SF_MAP_MAIN 2u

struct sf_header {
    uint64_t version, pid, start_unix_ns, start_mono_ns, hz, period_ns;
    uint64_t source, depth_limit, unwind;
    const char *exe_path, *build_id, *go_version, *go_build_id, *cmdline, *hostname;
};

struct sf_mapping {
    uint64_t start, end, offset, flags;
    const char *path, *build_id;
};

struct sf_counters {
    uint64_t signals;         /* timer signals handled */
    uint64_t samples;         /* weighted samples recorded */
    uint64_t dropped_signals; /* signals whose stack could not be recorded */
    uint64_t dropped_weight;  /* samples those stood for */
    uint64_t torn;            /* records a dying thread left half-written */
    uint64_t threads;         /* threads armed for sampling */
    uint64_t forwarded;       /* our signal passed on to the program's handler */
    uint64_t timer_errors;    /* threads we failed to arm */
    uint64_t handler_ns;      /* time spent in the handler on samples, summed */
};

/* ---- writer ---------------------------------------------------------- */
struct sfw;
struct sfw *sfw_open(int fd, int level);
/* First error message, or NULL. After an error nothing more is written. */
const char *sfw_error(const struct sfw *w);
void sfw_header(struct sfw *w, const struct sf_header *h);
void sfw_mapping(struct sfw *w, const struct sf_mapping *m);
void sfw_stack(struct sfw *w, uint64_t id, uint32_t flags, const uint64_t *pcs, uint32_t n);
void sfw_thread(struct sfw *w, uint64_t idx, uint64_t tid, const char *name);
/* time_ns: CLOCK_MONOTONIC of the sample; stored in microseconds. */
void sfw_sample(struct sfw *w, uint64_t stack_id, uint64_t thread_idx, uint64_t goid,
                uint64_t time_ns, uint64_t weight);
void sfw_counters(struct sfw *w, const struct sf_counters *c);
void sfw_note(struct sfw *w, const char *text);
void sfw_trailer(struct sfw *w, uint64_t end_unix_ns, uint64_t end_mono_ns);
/* Ends the current zstd frame and writes it out. Returns 0 or -1. */
int sfw_flush(struct sfw *w);
uint64_t sfw_bytes_written(const struct sfw *w);
void sfw_close(struct sfw *w); /* frees; does not flush or close fd */

/* ---- reader ---------------------------------------------------------- */
struct sf_stack {
    uint32_t flags, n;
    uint64_t pcs_off; /* index into sample_file.pcs */
    bool defined;
};

struct sf_thread {
    uint64_t tid;
    char *name;
};

struct sf_sample {
    uint32_t stack, thread;
    uint64_t goid;
    uint64_t time_us; /* CLOCK_MONOTONIC, comparable with hdr.start_mono_ns / 1000 */
    uint64_t weight;
};

struct sample_file {
    char *path;
    struct sf_header hdr; /* strings owned by the file */
    struct sf_mapping *maps;
    size_t nmaps;
    struct sf_stack *stacks;
    size_t nstacks;
    uint64_t *pcs;
    size_t npcs;
    struct sf_thread *threads;
    size_t nthreads;
    struct sf_sample *samples;
    size_t nsamples;
    struct sf_counters counters;
    char **notes;
    size_t nnotes;
    bool complete;        /* trailer seen */
    bool truncated;       /* input ended inside a frame */
    uint64_t end_unix_ns; /* from the trailer; 0 without one */
    uint64_t end_mono_ns; /* from the trailer, else the last sample */
    uint64_t frames;      /* zstd frames decoded */
};

/* Loads a sample file. On failure returns NULL and a one-line message
 * naming the file in err. A file without a trailer loads (complete=false);
 * the caller says what was recovered. */
struct sample_file *sf_load(const char *path, char *err, size_t errlen);
/* Same, from memory (for tests and fuzzing). */
struct sample_file *sf_load_mem(const char *name, const void *data, size_t size,
                                char *err, size_t errlen);
void sf_free(struct sample_file *f);

#endif
