/* Fuzz target: reading a binary the way goprof-report does: the ELF file
 * (elfimage.c), the Go metadata in it (gobinary.c: pclntab, moduledata,
 * build info, TLS), the runtime's g/m offsets from its DWARF (godwarf.c,
 * which the library also runs on every profiled executable), and
 * symbolization of addresses through the pclntab and its inline trees or
 * the ELF symbols (symbolize.c, pclntab.c).
 *
 * Input: an ELF file, written to a memfd and opened by its /proc path;
 * or, when the first byte is 'P', a bare pclntab, read as the signal
 * handler and the symbolizer read one (with the input itself as the
 * inline-tree area, so offsets into it are attacker-controlled too).
 *
 * What must hold: no crash, no sanitizer report, no hang; a refused file
 * gets a message. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gobinary.h"
#include "gooffsets.h"
#include "pclntab.h"
#include "symbolize.h"

#define SPAN 0x2000 /* addresses tried above the text start */

static void bare_pclntab(const uint8_t *d, size_t n)
{
    struct pcln t;
    char err[256];
    if (pcln_open(&t, d, n, 0x401000, err, sizeof err) != 0) {
        if (!err[0])
            abort();
        return;
    }
    struct pcln_frame fr[16];
    for (uint64_t pc = t.text_start; pc < t.text_start + SPAN; pc += 3) {
        struct pcln_func f;
        if (!pcln_find(&t, pc, &f))
            continue;
        int32_t delta;
        pcln_sp_delta(&t, &f, pc, &delta);
        struct pcln_funcinfo info;
        pcln_info(&t, &f, &info);
        const char *file;
        int32_t line;
        pcln_file_line(&t, &f, pc, &file, &line);
        pcln_frames(&t, &f, pc, d, n, fr, 16);
        pcln_func_name(&t, &f);
    }
    struct pcln_func f;
    pcln_find_name(&t, "main.main", &f);
}

static void elf_file(const uint8_t *d, size_t n)
{
    int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    if (write(fd, d, n) != (ssize_t)n)
        abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct symbolizer *s = symbolizer_new(true);
    char err[1024] = "";
    struct binary *b = symbolizer_binary(s, path, err, sizeof err);
    if (!b && !err[0])
        abort();
    if (b) {
        struct go_offsets o;
        char why[256];
        gooffsets_load(&b->img, b->is_go ? gobin_release(&b->go) : 0, &o, why, sizeof why);
        struct sym_frame fr[64];
        uint64_t lo = b->is_go ? b->go.text_start : 0x401000;
        uint64_t hi = b->is_go ? b->go.text_end : lo + SPAN;
        uint64_t step = hi > lo && (hi - lo) / 256 > 1 ? (hi - lo) / 256 : 1;
        for (uint64_t pc = lo; pc < hi && pc < lo + 256 * step; pc += step) {
            symbolize(s, b, pc, false, fr, 64);
            symbolize(s, b, pc + 1, true, fr, 64);
        }
        if (b->is_go) {
            struct pcln_func f;
            pcln_find_name(&b->go.tab, "main.main", &f);
            gobin_release(&b->go);
        }
    }
    symbolizer_free(s);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 'P')
        bare_pclntab(data + 1, size - 1);
    else
        elf_file(data, size);
    return 0;
}
