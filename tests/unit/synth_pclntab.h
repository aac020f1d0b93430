/* Builds synthetic Go pclntab blobs for unit tests, in the Go 1.18/1.19
 * layout (magic 0xfffffff0, 40-byte _func, 20-byte inlinedCall) or the
 * Go 1.20+ one (magic 0xfffffff1, 44-byte _func, 16-byte inlinedCall),
 * encoded the way cmd/link and cmd/internal/obj do it, so that tests of
 * the reader exercise the same bytes a real binary holds.
 *
 * pc-value tables are declared as steps: each step's value holds from its
 * pc (an offset from the function's entry) up to the next step's pc, the
 * last one up to the end of the function. Lists end with SYNTH_END. */
#ifndef GOPROF_SYNTH_PCLNTAB_H
#define GOPROF_SYNTH_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct synth_step {
    uint32_t pc;
    int32_t val;
};

#define SYNTH_END_PC UINT32_MAX
/* A step list literal: SYNTH_STEPS({0, 0}, {1, 8}, {4, 40}) */
#define SYNTH_STEPS(...) ((const struct synth_step[]){__VA_ARGS__, {SYNTH_END_PC, 0}})

/* One inlinedCall. The Go 1.18 fields (parent, file, line) are written in
 * that layout only; start_line in the Go 1.20+ one only. */
struct synth_inl {
    const char *name; /* the inlined callee; added to funcnametab */
    int32_t parent_pc; /* offset from entry of an instruction at the call site */
    int32_t start_line;
    int16_t parent;
    int32_t file, line;
    uint8_t funcid;
};

struct synth_func {
    const char *name;
    uint32_t entry; /* offset from the text start; functions in order */
    uint32_t size;
    const struct synth_step *pcsp, *pcfile, *pcln; /* NULL: no table */
    const struct synth_step *pcinl; /* PCDATA_InlTreeIndex, with inl */
    const struct synth_inl *inl;
    int ninl;
    int32_t start_line; /* Go 1.20+ */
    uint32_t cu_offset;
    uint8_t funcid, flag;
};

struct synth_opts {
    uint32_t magic;         /* 0xfffffff0 or 0xfffffff1 */
    uint64_t text_start;    /* written to the header; 0 as Go 1.26 does */
    uint8_t minlc;          /* 0 means 1 (amd64) */
    const char *const *files;
    int nfiles;
    /* cutab entries as indices into files (-1 for ^0); NULL: identity */
    const int *cutab;
    int ncutab;
};

struct synth_pclntab {
    uint8_t *blob;
    uint64_t size;
    /* What moduledata.gofunc points at: here only the inline trees. */
    uint8_t *gofunc;
    uint64_t gofunc_size;
    int nfuncs;
    uint32_t *name_off; /* per function */
    uint32_t *inl_off;  /* per function, into gofunc; UINT32_MAX if none */
    uint64_t *inl_size;
    uint64_t funcname_off, cu_off, file_off, pctab_off, pcln_off;
    uint64_t funcs_off; /* first _func record, from pcln_off */
};

/* Builds the table. Returns 0, or -1 when the declaration is inconsistent
 * (functions out of order or overlapping, a step list not starting at 0
 * or not increasing or beyond the function). */
int synth_build(struct synth_pclntab *s, const struct synth_opts *o,
                const struct synth_func *fns, int nfns);
void synth_free(struct synth_pclntab *s);

/* Function i's inline tree bytes, or NULL (size 0). */
const uint8_t *synth_inltree(const struct synth_pclntab *s, int i, uint64_t *size);

/* Encodes one pc-value table as Go does, appending to out (which must have
 * room: 10 bytes per step plus one suffices). Returns the bytes written or
 * -1 for a bad step list. */
long synth_encode_pcvalue(const struct synth_step *steps, uint32_t size, unsigned minlc,
                          uint8_t *out);

/* A copy of len bytes placed against an inaccessible page: its last byte
 * just before the page (at_end) or its first byte just after one. A read
 * outside [p, p+len) on that side faults instead of passing unnoticed. */
struct guarded {
    uint8_t *p;
    void *map;
    size_t map_len;
};
int guarded_copy(struct guarded *g, const void *data, size_t len, bool at_end);
void guarded_free(struct guarded *g);

#endif
