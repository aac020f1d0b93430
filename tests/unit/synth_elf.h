/* Builds small synthetic Go executables around a synthetic pclntab
 * (synth_pclntab.h): a .text of breakpoints at SYNTH_ELF_TEXT, the table in
 * .gopclntab, the inline trees behind a go:func.* symbol, .go.buildinfo,
 * the Go build id note, a symbol table (runtime.text, runtime.etext,
 * runtime.tlsg, the Go functions and C functions) and a PT_TLS segment:
 * everything gobin_open and symbolize() look at, in a few kilobytes.
 * Used by the unit tests and by tests/fuzz/mkseed_elf.c. */
#ifndef GOPROF_SYNTH_ELF_H
#define GOPROF_SYNTH_ELF_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#include "synth_pclntab.h"

#define SYNTH_ELF_BASE 0x400000ull /* the one PT_LOAD, from file offset 0 */
#define SYNTH_ELF_TEXT 0x401000ull /* .text; function entries are offsets from it */
#define SYNTH_ELF_TEXT_SIZE 0x100u

/* A C function symbol, at an offset from SYNTH_ELF_TEXT. */
struct synth_csym {
    const char *name;
    uint32_t off, size;
};

struct synth_elf_opts {
    const struct synth_pclntab *tab;
    const struct synth_func *fns; /* the table's functions: a symbol each */
    int nfns;
    const struct synth_csym *csyms;
    int ncsyms;
    uint32_t etext;         /* runtime.etext, from SYNTH_ELF_TEXT */
    const char *go_version; /* in .go.buildinfo, e.g. "go1.26.8" */
};

/* The file's bytes (malloc'd; *len set), or NULL when the names do not fit. */
uint8_t *synth_elf(const struct synth_elf_opts *o, size_t *len);

/* Fills what every ELF file goprof reads has in its header: a 64-bit
 * little-endian x86-64 executable with 64-bit section headers. */
void synth_elf_header(Elf64_Ehdr *e);

/* Writes n bytes to path. Returns 0 or -1 (errno set). */
int synth_write_file(const char *path, const void *p, size_t n);

#endif
