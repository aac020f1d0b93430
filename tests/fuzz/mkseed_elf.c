/* Writes small synthetic Go executables for the ELF/pclntab fuzzer's
 * corpus: a pclntab in each layout goprof reads (Go 1.18, 1.20, 1.26)
 * built by tests/unit/synth_pclntab.c with inlined functions, in an
 * executable built by tests/unit/synth_elf.c: everything gobin_open and
 * symbolize() look at, in a few kilobytes instead of megabytes.
 *
 * usage: mkseed_elf DIR   (writes DIR/go118.elf, go120.elf, go126.elf,
 *                           and the bare tables DIR/go1NN.pclntab) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pclntab.h"
#include "synth_elf.h"
#include "synth_pclntab.h"

static const char *const FILES[] = {"/src/main.go", "/src/inner.go"};

static const struct synth_inl INL[] = {
    {.name = "main.inner", .parent_pc = 0x08, .start_line = 40, .parent = -1, .file = 1,
     .line = 12},
};

static const struct synth_func FUNCS[] = {
    {.name = "runtime.goexit", .entry = 0x0, .size = 0x20, .pcsp = SYNTH_STEPS({0, 0}),
     .pcfile = SYNTH_STEPS({0, 0}), .pcln = SYNTH_STEPS({0, 5}), .start_line = 4,
     .funcid = 3, .flag = PCLN_FLAG_TOPFRAME},
    {.name = "main.main", .entry = 0x20, .size = 0x60,
     .pcsp = SYNTH_STEPS({0, 0}, {1, 8}, {4, 0x28}, {0x5e, 8}, {0x5f, 0}),
     .pcfile = SYNTH_STEPS({0, 0}, {0x10, 1}, {0x20, 0}),
     .pcln = SYNTH_STEPS({0, 10}, {0x08, 11}, {0x10, 41}, {0x20, 12}),
     .pcinl = SYNTH_STEPS({0, -1}, {0x10, 0}, {0x20, -1}), .inl = INL, .ninl = 1,
     .start_line = 9},
    {.name = "main.(*T).M-fm", .entry = 0x80, .size = 0x20, .pcsp = SYNTH_STEPS({0, 0}),
     .pcfile = SYNTH_STEPS({0, 0}), .pcln = SYNTH_STEPS({0, 1}), .funcid = 21},
    {.name = "main.leaf", .entry = 0xa0, .size = 0x20, .pcsp = SYNTH_STEPS({0, 0}),
     .pcfile = SYNTH_STEPS({0, 0}), .pcln = SYNTH_STEPS({0, 70}), .start_line = 70},
};
#define NFUNCS ((int)(sizeof FUNCS / sizeof *FUNCS))

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (synth_write_file(path, p, n) != 0) {
        perror(path);
        exit(1);
    }
}

static void build_elf(const char *dir, const char *name, uint32_t magic, uint64_t header_text)
{
    struct synth_opts so = {.magic = magic, .text_start = header_text, .files = FILES,
                            .nfiles = 2};
    struct synth_pclntab s;
    if (synth_build(&s, &so, FUNCS, NFUNCS) != 0) {
        fprintf(stderr, "synth_build failed\n");
        exit(1);
    }
    char fname[64];
    snprintf(fname, sizeof fname, "%s.pclntab", name);
    write_file(dir, fname, s.blob, s.size);

    static const struct synth_csym c_helper = {"c_helper", 0xc0, 0x40};
    struct synth_elf_opts eo = {
        .tab = &s, .fns = FUNCS, .nfns = NFUNCS, .csyms = &c_helper, .ncsyms = 1,
        .etext = 0xc0,
        .go_version = magic == PCLN_MAGIC_GO118 ? "go1.19.8" : header_text ? "go1.22.1"
                                                                             : "go1.26.8"};
    size_t len;
    uint8_t *elf = synth_elf(&eo, &len);
    if (!elf) {
        fprintf(stderr, "synth_elf failed\n");
        exit(1);
    }
    snprintf(fname, sizeof fname, "%s.elf", name);
    write_file(dir, fname, elf, len);
    free(elf);
    synth_free(&s);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseed_elf DIR\n");
        return 2;
    }
    build_elf(argv[1], "go118", PCLN_MAGIC_GO118, SYNTH_ELF_TEXT);
    build_elf(argv[1], "go120", PCLN_MAGIC_GO120, SYNTH_ELF_TEXT);
    build_elf(argv[1], "go126", PCLN_MAGIC_GO120, 0);
    return 0;
}
