/* What the signal handler knows about the running Go executable: its
 * pclntab in memory, its text range, where g lives in thread-local storage
 * and which address ranges hold code. Filled once at load time (and the g
 * slot confirmed at the first thread the runtime creates); read-only for
 * the handler afterwards. */
#ifndef GOPROF_GOINFO_H
#define GOPROF_GOINFO_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gooffsets.h"
#include "pclntab.h"
#include "unwind.h"

#define GOINFO_MAX_RANGES 128

struct goinfo {
    struct pcln tab; /* reads the mapped, relocated table */
    uint64_t bias;   /* load bias of the executable */
    uint64_t text_start, text_end;
    /* offset of g from the thread pointer, valid once g_known is set */
    int64_t g_off;
    _Atomic int g_known;
    int64_t g_off_elf; /* from the ELF, to confirm; INT64_MIN if unknown */
    uint64_t tls_block; /* bytes of static TLS the executable owns */
    int go_release;      /* 119, 126, ...; 0 if unknown */
    bool has_dwarf;      /* the executable has .debug_info */
    struct go_offsets off; /* valid when off.source is set */
    struct code_range vdso;
    struct code_range ranges[GOINFO_MAX_RANGES];
    int nranges;
    char exe_path[PATH_MAX];
    char build_id[160];
    char go_version[64];
    char go_build_id[256];
};

extern struct goinfo goinfo;

/* Loads everything from /proc/self/exe. Returns 0; 1 if the executable is
 * not a Go program (the library then stays inert); -1 with a message in
 * err if it is one but its tables cannot be used. */
int goinfo_load(char *err, size_t errlen);
/* The runtime's g/m offsets from the per-release table into goinfo.off;
 * false (and goinfo.off cleared) for a release the table does not know.
 * Those from DWARF come later, through the collector (ring.h). */
bool goinfo_table_offsets(void);
/* Finds (or confirms) g's TLS slot. Must run on a thread whose TLS g is a
 * g0 and whose stack pointer lies on that g0's stack: the runtime's calls
 * to pthread_create satisfy both. */
void goinfo_calibrate_g(void);

static inline bool goinfo_in_text(uint64_t pc)
{
    return pc >= goinfo.text_start && pc < goinfo.text_end;
}

static inline bool goinfo_in_code(uint64_t pc)
{
    if (goinfo_in_text(pc))
        return true;
    for (int i = 0; i < goinfo.nranges; i++)
        if (pc >= goinfo.ranges[i].lo && pc < goinfo.ranges[i].hi)
            return true;
    return false;
}

/* The thread pointer-relative load the Go runtime itself does for g. */
static inline uint64_t goinfo_tls_load(int64_t off)
{
    uint64_t v;
    __asm__ volatile("movq %%fs:(%1), %0" : "=r"(v) : "r"(off));
    return v;
}

/* Current g, or 0 when unknown or on a thread without one. */
static inline uint64_t goinfo_current_g(void)
{
    if (!atomic_load_explicit(&goinfo.g_known, memory_order_acquire))
        return 0;
    return goinfo_tls_load(goinfo.g_off);
}

/* Offsets stable from Go 1.18 to 1.26 (runtime/runtime2.go): enough to
 * find g's TLS slot before the per-release offsets are known. */
#define G_STACK_LO 0x00
#define G_STACK_HI 0x08
#define G_M 0x30
#define M_G0 0x00

#endif
