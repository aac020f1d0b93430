/* Finds the Go runtime's metadata in an ELF executable: the pclntab, the
 * text range, moduledata, the Go version and the TLS slot of g.
 * All addresses are link-time virtual addresses of the file; a process
 * adds its load bias. */
#ifndef GOPROF_GOBINARY_H
#define GOPROF_GOBINARY_H

#include <stdbool.h>
#include <stdint.h>

#include "elfimage.h"
#include "pclntab.h"

#define GOBIN_TLS_UNKNOWN INT64_MIN

struct gobin {
    uint64_t pclntab_vaddr, pclntab_size;
    uint64_t text_start, text_end;
    uint64_t moduledata_vaddr; /* 0 when not found */
    uint64_t gofunc_vaddr;     /* base of funcdata offsets; 0 when unknown */
    char go_version[64];       /* "go1.26.8", or "" when not recorded */
    int64_t tlsg_offset;       /* offset of g from the thread pointer */
    const char *pclntab_source; /* how the table was found, for messages */
    /* FuncIDWrapper, the last FuncID of every release (21 in 1.19, 23 in
     * 1.25): the largest one the table uses. Its frames (ABI and method
     * wrappers, generated hash/eq code) are elided as the runtime's
     * tracebacks elide them. 0 when there is none. */
    uint8_t wrapper_funcid;
    struct pcln tab;           /* reads the file's bytes */
};

/* True if the file looks like a Go executable (cheap section test). */
bool gobin_is_go(const struct elfimg *img);

/* Fills g from img. Returns 0 or -1 with a message (not naming the file:
 * the caller knows it). */
int gobin_open(struct gobin *g, struct elfimg *img, char *err, size_t errlen);

/* Go release as a number (119 for go1.19.x, 126 for go1.26), 0 if unknown. */
int gobin_release(const struct gobin *g);

/* Bytes of f's inline tree in the file, or NULL. */
const uint8_t *gobin_inltree(const struct gobin *g, const struct elfimg *img,
                             const struct pcln_func *f, uint64_t *size);

#endif
