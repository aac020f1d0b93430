/* Offline symbolization: a PC of a recorded process -> its logical frames.
 * Go code through the binary's pclntab (function, file, line, inlined
 * frames; works on stripped binaries), other code through ELF symbols. */
#ifndef GOPROF_SYMBOLIZE_H
#define GOPROF_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "elfimage.h"
#include "gobinary.h"

enum frame_kind { FRAME_GO, FRAME_C, FRAME_UNKNOWN };

struct sym_frame {
    const char *function; /* NULL when unknown */
    const char *file;     /* "" when unknown */
    int32_t line;
    int32_t start_line;
    bool inlined;
    enum frame_kind kind;
    bool wrapper; /* generated code the runtime's tracebacks leave out */
};

struct binary {
    char *path;
    struct elfimg img;
    struct gobin go;
    bool is_go;
    char build_id[160];
    void *dwarf; /* Dwarf *, for C file:line; opened on first use */
    bool dwarf_tried;
    /* A shared library without .symtab (libc, as distributions ship it)
     * names only what it exports; its separate debug file, found by build
     * id under /usr/lib/debug/.build-id, names the rest. */
    struct elfimg debug;
    bool has_debug;
};

struct symbolizer;

struct symbolizer *symbolizer_new(bool expand_inline);
void symbolizer_free(struct symbolizer *s);
/* Opens (once) the ELF file at path. NULL with a message naming the file. */
struct binary *symbolizer_binary(struct symbolizer *s, const char *path, char *err,
                                 size_t errlen);
/* Frames at vaddr (a link-time address of b), innermost first.
 * is_return: vaddr is a return address; the call instruction before it is
 * what is symbolized. Returns the count (0 if nothing is known). */
int symbolize(struct symbolizer *s, struct binary *b, uint64_t vaddr, bool is_return,
              struct sym_frame *out, int max);

#endif
