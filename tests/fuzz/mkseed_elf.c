/* Writes small synthetic Go executables for the ELF/pclntab fuzzer's
 * corpus: a .text of breakpoints, a pclntab in each layout goprof reads
 * (Go 1.18, 1.20, 1.26) built by tests/unit/synth_pclntab.c with inlined
 * functions, the inline trees behind a go:func.* symbol, .go.buildinfo,
 * the Go build id note, a symbol table (runtime.text, runtime.etext,
 * runtime.tlsg, functions) and a PT_TLS segment: everything gobin_open
 * and symbolize() look at, in a few kilobytes instead of megabytes.
 *
 * usage: mkseed_elf DIR   (writes DIR/go118.elf, go120.elf, go126.elf,
 *                           and the bare tables DIR/go1NN.pclntab) */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pclntab.h"
#include "synth_pclntab.h"

#define BASE 0x400000ull
#define TEXT 0x401000ull

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

struct out {
    unsigned char *p;
    size_t len, cap;
};

static size_t put(struct out *o, const void *d, size_t n, size_t align)
{
    size_t at = (o->len + align - 1) & ~(align - 1);
    if (at + n > o->cap) {
        o->cap = (at + n) * 2 + 4096;
        o->p = realloc(o->p, o->cap);
        if (!o->p)
            exit(1);
    }
    memset(o->p + o->len, 0, at - o->len);
    if (d)
        memcpy(o->p + at, d, n);
    else
        memset(o->p + at, 0, n);
    o->len = at + n;
    return at;
}

struct strtab {
    char buf[1024];
    size_t len;
};

static uint32_t str(struct strtab *t, const char *s)
{
    uint32_t at = (uint32_t)t->len;
    size_t n = strlen(s) + 1;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    return at;
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
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
    char tabname[64];
    snprintf(tabname, sizeof tabname, "%s.pclntab", name);
    write_file(dir, tabname, s.blob, s.size);

    struct out o = {0};
    put(&o, NULL, sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr), 1);
    unsigned char code[0x100];
    memset(code, 0xcc, sizeof code);
    o.len = 0x1000; /* .text at TEXT */
    size_t text = put(&o, code, sizeof code, 16);
    size_t pcln = put(&o, s.blob, s.size, 16);
    size_t gofunc = put(&o, s.gofunc, s.gofunc_size ? s.gofunc_size : 1, 16);
    unsigned char bi[48] = "\xff Go buildinf:";
    bi[14] = 8, bi[15] = 2;
    const char *ver = magic == PCLN_MAGIC_GO118 ? "go1.19.8" : header_text ? "go1.22.1" : "go1.26.8";
    bi[32] = (unsigned char)strlen(ver);
    memcpy(bi + 33, ver, strlen(ver));
    size_t buildinfo = put(&o, bi, sizeof bi, 16);
    const char gobid[] = "fuzzseedfuzzseed/fuzzseedfuzzseed";
    uint32_t nh[3] = {3, sizeof gobid - 1, 4};
    size_t note = put(&o, nh, sizeof nh, 4);
    put(&o, "Go\0\0", 4, 1);
    put(&o, gobid, sizeof gobid - 1, 1);
    put(&o, NULL, 0, 4);
    size_t note_len = o.len - note;
    size_t tls = put(&o, NULL, 8, 8);

    struct strtab st = {.len = 1}, sh = {.len = 1};
    Elf64_Sym syms[16];
    int nsym = 0;
    memset(syms, 0, sizeof syms);
    nsym++;
#define SYM(nm, val, sz, type)                                                            \
    syms[nsym++] = (Elf64_Sym){str(&st, nm), ELF64_ST_INFO(STB_GLOBAL, type), 0, 1, (val), \
                               (sz)}
    SYM("runtime.text", TEXT, 0, STT_FUNC);
    SYM("runtime.etext", TEXT + 0xc0, 0, STT_NOTYPE);
    SYM("go:func.*", BASE + gofunc, s.gofunc_size, STT_OBJECT);
    SYM("runtime.tlsg", 0, 8, STT_TLS);
    for (int i = 0; i < NFUNCS; i++)
        SYM(FUNCS[i].name, TEXT + FUNCS[i].entry, FUNCS[i].size, STT_FUNC);
    SYM("c_helper", TEXT + 0xc0, 0x40, STT_FUNC);
    size_t symtab = put(&o, syms, (size_t)nsym * sizeof *syms, 8);
    size_t strtab = put(&o, st.buf, st.len, 1);

    struct {
        const char *name;
        uint32_t type;
        uint64_t flags, off, size;
        uint32_t link, entsize;
    } secs[] = {
        {"", SHT_NULL, 0, 0, 0, 0, 0},
        {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text, sizeof code, 0, 0},
        {".gopclntab", SHT_PROGBITS, SHF_ALLOC, pcln, s.size, 0, 0},
        {".rodata", SHT_PROGBITS, SHF_ALLOC, gofunc, s.gofunc_size, 0, 0},
        {".go.buildinfo", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, buildinfo, sizeof bi, 0, 0},
        {".note.go.buildid", SHT_NOTE, SHF_ALLOC, note, note_len, 0, 0},
        {".tbss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE | SHF_TLS, tls, 8, 0, 0},
        {".symtab", SHT_SYMTAB, 0, symtab, (uint64_t)nsym * sizeof(Elf64_Sym), 8,
         sizeof(Elf64_Sym)},
        {".strtab", SHT_STRTAB, 0, strtab, st.len, 0, 0},
        {".shstrtab", SHT_STRTAB, 0, 0, 0, 0, 0},
    };
    enum { NSECS = sizeof secs / sizeof *secs };
    uint32_t names[NSECS];
    for (int i = 0; i < NSECS; i++)
        names[i] = i ? str(&sh, secs[i].name) : 0;
    size_t shstr = put(&o, sh.buf, sh.len, 1);
    secs[NSECS - 1].off = shstr;
    secs[NSECS - 1].size = sh.len;
    size_t load_end = o.len;
    Elf64_Shdr shdrs[NSECS];
    memset(shdrs, 0, sizeof shdrs);
    for (int i = 1; i < NSECS; i++)
        shdrs[i] = (Elf64_Shdr){names[i], secs[i].type, secs[i].flags,
                                (secs[i].flags & SHF_ALLOC) ? BASE + secs[i].off : 0,
                                secs[i].off, secs[i].size, secs[i].link, 0, 16, secs[i].entsize};
    size_t shoff = put(&o, shdrs, sizeof shdrs, 8);

    Elf64_Ehdr *eh = (Elf64_Ehdr *)o.p;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_entry = TEXT;
    eh->e_phoff = sizeof(Elf64_Ehdr);
    eh->e_shoff = shoff;
    eh->e_ehsize = sizeof(Elf64_Ehdr);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 3;
    eh->e_shentsize = sizeof(Elf64_Shdr);
    eh->e_shnum = NSECS;
    eh->e_shstrndx = NSECS - 1;
    Elf64_Phdr *ph = (Elf64_Phdr *)(o.p + sizeof(Elf64_Ehdr));
    ph[0] = (Elf64_Phdr){PT_LOAD, PF_R | PF_X, 0, BASE, BASE, load_end, load_end, 0x1000};
    ph[1] = (Elf64_Phdr){PT_NOTE, PF_R, note, BASE + note, BASE + note, note_len, note_len, 4};
    ph[2] = (Elf64_Phdr){PT_TLS, PF_R, tls, BASE + tls, BASE + tls, 0, 8, 8};
    char elfname[64];
    snprintf(elfname, sizeof elfname, "%s.elf", name);
    write_file(dir, elfname, o.p, o.len);
    free(o.p);
    synth_free(&s);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseed_elf DIR\n");
        return 2;
    }
    build_elf(argv[1], "go118", PCLN_MAGIC_GO118, TEXT);
    build_elf(argv[1], "go120", PCLN_MAGIC_GO120, TEXT);
    build_elf(argv[1], "go126", PCLN_MAGIC_GO120, 0);
    return 0;
}
