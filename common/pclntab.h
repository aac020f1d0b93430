/* Reader for the Go runtime's function table (.gopclntab), Go 1.18 and later.
 *
 * The same code serves two very different callers:
 *  - the signal handler, which needs the SP delta (pcsp) of the interrupted
 *    function to fix the first frame of a frame-pointer walk; and
 *  - goprof-report, which symbolizes PCs offline from a binary on disk
 *    (possibly stripped, possibly hostile).
 * So every lookup here is pure computation on a caller-provided byte range,
 * bounds-checked, allocation-free and async-signal-safe.
 *
 * Layout facts (runtime/symtab.go, internal/abi/symtab.go of each release):
 *  - magic 0xfffffff0 = Go 1.18-1.19, 0xfffffff1 = Go 1.20 and later;
 *  - _func grew startLine in 1.20 (40 -> 44 bytes);
 *  - header textStart is 0 from Go 1.26 (take moduledata.text instead). */
#ifndef GOPROF_PCLNTAB_H
#define GOPROF_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCLN_MAGIC_GO118 0xfffffff0u
#define PCLN_MAGIC_GO120 0xfffffff1u

/* pcdata / funcdata indices, stable across 1.18 .. 1.26 */
#define PCLN_PCDATA_INLTREEINDEX 2
#define PCLN_FUNCDATA_INLTREE 3

/* _func.flag bits */
#define PCLN_FLAG_TOPFRAME 1
#define PCLN_FLAG_SPWRITE 2
#define PCLN_FLAG_ASM 4

struct pcln {
    const uint8_t *base; /* the pcHeader */
    uint64_t size;       /* bytes readable from base */
    uint32_t magic;
    unsigned minlc;      /* instruction size quantum (1 on amd64) */
    uint64_t nfunc;
    uint64_t nfiles;
    uint64_t text_start; /* address the entry offsets are relative to */
    uint64_t header_text_start; /* as stored in the header (0 from Go 1.26) */
    /* sub-tables as offsets from base, with their sizes */
    uint64_t funcname_off, funcname_size;
    uint64_t cu_off, cu_size;
    uint64_t file_off, file_size;
    uint64_t pctab_off, pctab_size;
    uint64_t pcln_off, pcln_size; /* functab followed by the _func records */
    unsigned func_size;           /* sizeof(_func): 40 (1.18) or 44 (1.20+) */
};

struct pcln_func {
    uint64_t entry; /* absolute, in text_start's address space */
    uint64_t end;   /* entry of the next function */
    uint64_t off;   /* offset of the _func record from pcln->base */
    uint32_t index; /* index in functab */
};

/* Field values of one _func record. */
struct pcln_funcinfo {
    int32_t name_off;
    uint32_t pcsp, pcfile, pcln, npcdata, cu_offset;
    int32_t start_line; /* 0 before Go 1.20 */
    uint8_t funcid, flag, nfuncdata;
};

/* Parses and validates the header of a table occupying [data, data+size).
 * text_start: used when the header's own textStart is 0 (Go 1.26+);
 * pass 0 to keep the header's. Returns 0, or -1 with a message in err. */
int pcln_open(struct pcln *t, const void *data, uint64_t size,
              uint64_t text_start, char *err, size_t errlen);

/* Cheap plausibility test of a candidate header, for scanning memory. */
bool pcln_looks_valid(const void *data, uint64_t size);

/* --- async-signal-safe lookups ------------------------------------- */
bool pcln_find(const struct pcln *t, uint64_t pc, struct pcln_func *out);
bool pcln_info(const struct pcln *t, const struct pcln_func *f,
               struct pcln_funcinfo *out);
/* Value of the pc-value table at tab_off (offset into pctab) for pc. */
bool pcln_value(const struct pcln *t, const struct pcln_func *f,
                uint32_t tab_off, uint64_t pc, int32_t *val);
/* SP delta of f at pc: bytes between SP and the return-address slot. */
bool pcln_sp_delta(const struct pcln *t, const struct pcln_func *f,
                   uint64_t pc, int32_t *delta);

/* --- symbolization ------------------------------------------------- */
/* NUL-terminated name at a funcnametab offset, or NULL if out of range. */
const char *pcln_name_at(const struct pcln *t, int64_t name_off);
const char *pcln_func_name(const struct pcln *t, const struct pcln_func *f);
/* Finds a function by exact name (a linear scan: for start-up, not hot paths). */
bool pcln_find_name(const struct pcln *t, const char *name, struct pcln_func *out);
/* Source position of pc inside f (outermost function's tables). */
bool pcln_file_line(const struct pcln *t, const struct pcln_func *f,
                    uint64_t pc, const char **file, int32_t *line);
/* funcdata slot idx as an offset from moduledata.gofunc; false if absent. */
bool pcln_funcdata(const struct pcln *t, const struct pcln_func *f,
                   unsigned idx, uint32_t *off);
bool pcln_pcdata(const struct pcln *t, const struct pcln_func *f,
                 unsigned idx, uint32_t *off);

/* One logical frame at a PC, innermost first when inlining is expanded. */
struct pcln_frame {
    const char *function;
    const char *file;
    int32_t line;
    int32_t start_line;
    bool inlined; /* true for every frame but the outermost */
    uint8_t funcid; /* of the function itself, inlined or not */
};

/* Expands pc within f into its logical frames, innermost first.
 * inltree/inltree_size: the bytes of f's FUNCDATA_InlTree (NULL to skip
 * inline expansion). Returns the number of frames written (>= 1 when f is
 * valid), at most max. */
int pcln_frames(const struct pcln *t, const struct pcln_func *f, uint64_t pc,
                const uint8_t *inltree, uint64_t inltree_size,
                struct pcln_frame *out, int max);

#endif
