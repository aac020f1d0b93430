/* Offsets of the runtime's g and m fields that the signal handler reads.
 * They move between releases (g.goid was 0x98, 0xa0 in 1.23-1.24, 0x98
 * again in 1.25; gobuf lost a field in 1.25; m.curg moved in 1.25), so
 * they come from the binary's DWARF, which is right for any release and
 * takes a few ms to read (godwarf.h; the collector does it, see ring.h),
 * and from a table of the releases 1.18 to 1.26 for binaries built
 * without DWARF (-w). */
#ifndef GOPROF_GOOFFSETS_H
#define GOPROF_GOOFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elfimage.h"

struct go_offsets {
    const char *source; /* "table go1.NN", "DWARF", or NULL when unknown */
    /* g */
    uint32_t g_stack_lo, g_stack_hi, g_m;
    uint32_t g_sched_sp, g_sched_pc, g_sched_bp;
    uint32_t g_syscallsp, g_syscallpc, g_syscallbp; /* syscallbp 0: absent (< 1.23) */
    uint32_t g_goid;
    /* m */
    uint32_t m_g0, m_curg, m_gsignal;
    uint32_t m_vdsosp, m_vdsopc; /* 0: unknown */
};

/* Offsets for release (119, 126, ...) from the table; false if unknown. */
bool gooffsets_from_table(int release, struct go_offsets *o);
/* Offsets from the binary's DWARF; false (with a reason) if it has no
 * usable DWARF. */
bool gooffsets_from_dwarf(const struct elfimg *img, struct go_offsets *o, char *why,
                          size_t whylen);
/* What goprof uses: the DWARF of img, which is the truth for this very
 * build of any release, else the table for release; false (with DWARF's
 * reason) when neither knows. */
bool gooffsets_load(const struct elfimg *img, int release, struct go_offsets *o, char *why,
                    size_t whylen);

#endif
