#include "symbolize.h"

#include <elfutils/libdw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct symbolizer {
    bool expand_inline;
    struct binary **bins;
    size_t nbins;
};

struct symbolizer *symbolizer_new(bool expand_inline)
{
    struct symbolizer *s = calloc(1, sizeof *s);
    if (s)
        s->expand_inline = expand_inline;
    return s;
}

void symbolizer_free(struct symbolizer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nbins; i++) {
        if (s->bins[i]->dwarf)
            dwarf_end(s->bins[i]->dwarf);
        elfimg_close(&s->bins[i]->img);
        if (s->bins[i]->has_debug)
            elfimg_close(&s->bins[i]->debug);
        free(s->bins[i]->path);
        free(s->bins[i]);
    }
    free(s->bins);
    free(s);
}

/* /usr/lib/debug/.build-id/xx/yyyy.debug, as gdb and perf look for it; its
 * build id must be the binary's. */
static void open_debug_file(struct binary *b)
{
    char path[64 + 2 * sizeof b->img.gnu_build_id], id[2 * sizeof b->img.gnu_build_id + 1];
    elfimg_build_id_hex(&b->img, id, sizeof id);
    snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
    char err[512], got[sizeof id];
    if (access(path, R_OK) != 0 || elfimg_open(&b->debug, path, err, sizeof err) != 0)
        return;
    elfimg_build_id_hex(&b->debug, got, sizeof got);
    if (strcmp(got, id) == 0)
        b->has_debug = true;
    else
        elfimg_close(&b->debug);
}

struct binary *symbolizer_binary(struct symbolizer *s, const char *path, char *err,
                                 size_t errlen)
{
    for (size_t i = 0; i < s->nbins; i++)
        if (!strcmp(s->bins[i]->path, path))
            return s->bins[i];
    struct binary *b = calloc(1, sizeof *b);
    struct binary **nb = realloc(s->bins, (s->nbins + 1) * sizeof *nb);
    if (!b || !nb) {
        free(b);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    s->bins = nb;
    if (elfimg_open(&b->img, path, err, errlen) != 0) {
        free(b);
        return NULL;
    }
    b->path = strdup(path);
    elfimg_build_id_hex(&b->img, b->build_id, sizeof b->build_id);
    if (gobin_is_go(&b->img)) {
        char gerr[256];
        if (gobin_open(&b->go, &b->img, gerr, sizeof gerr) != 0) {
            snprintf(err, errlen, "%s: %s", path, gerr);
            elfimg_close(&b->img);
            free(b->path);
            free(b);
            return NULL;
        }
        b->is_go = true;
    } else if (!elfimg_section(&b->img, ".symtab") && b->img.gnu_build_id_len >= 2) {
        open_debug_file(b);
    }
    s->bins[s->nbins++] = b;
    return b;
}

/* File and line of C code, from the binary's DWARF when it has some (cgo
 * code in a Go binary usually does; distribution libraries do not). */
static void c_source_line(struct binary *b, uint64_t pc, struct sym_frame *fr)
{
    if (!b->dwarf_tried) {
        b->dwarf_tried = true;
        b->dwarf = dwarf_begin_elf(b->img.elf, DWARF_C_READ, NULL);
    }
    Dwarf_Die cu;
    if (!b->dwarf || !dwarf_addrdie(b->dwarf, pc, &cu))
        return;
    Dwarf_Line *line = dwarf_getsrc_die(&cu, pc);
    int ln;
    const char *file = line ? dwarf_linesrc(line, NULL, NULL) : NULL;
    if (file && dwarf_lineno(line, &ln) == 0) {
        fr->file = file;
        fr->line = ln;
    }
}

int symbolize(struct symbolizer *s, struct binary *b, uint64_t vaddr, bool is_return,
              struct sym_frame *out, int max)
{
    if (max <= 0)
        return 0;
    /* A return address is symbolized at the call instruction before it,
     * except when it is a function's entry: a PC the runtime saved as if
     * returning there (systemstack_switch before Go 1.21, goexit), which
     * Go's own traceback does not move either. */
    uint64_t pc = vaddr;
    struct pcln_func f;
    if (is_return && vaddr && !(b->is_go && pcln_find(&b->go.tab, vaddr, &f) && f.entry == vaddr))
        pc = vaddr - 1;
    if (b->is_go && pcln_find(&b->go.tab, pc, &f)) {
        struct pcln_frame fr[64];
        uint64_t inl_size = 0;
        const uint8_t *inl =
            s->expand_inline ? gobin_inltree(&b->go, &b->img, &f, &inl_size) : NULL;
        int n = pcln_frames(&b->go.tab, &f, pc, inl, inl_size, fr, max < 64 ? max : 64);
        for (int i = 0; i < n; i++)
            out[i] = (struct sym_frame){fr[i].function, fr[i].file, fr[i].line,
                                        fr[i].start_line, fr[i].inlined, FRAME_GO,
                                        b->go.wrapper_funcid && fr[i].funcid == b->go.wrapper_funcid};
        return n;
    }
    const struct elf_funcsym *sym = b->has_debug ? elfimg_func_at(&b->debug, pc) : NULL;
    if (!sym)
        sym = elfimg_func_at(&b->img, pc);
    if (sym) {
        out[0] = (struct sym_frame){sym->name, "", 0, 0, false, FRAME_C, false};
        c_source_line(b, pc, &out[0]);
        return 1;
    }
    return 0;
}
