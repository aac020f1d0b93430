/* Synthetic Go executables; see synth_elf.h. */
#include "synth_elf.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
    uint8_t *p;
    size_t len, cap;
};

/* Appends n bytes of d (zeros when d is NULL) at the next multiple of
 * align; returns their offset. */
static size_t put(struct out *o, const void *d, size_t n, size_t align)
{
    size_t at = (o->len + align - 1) & ~(align - 1);
    if (at + n > o->cap) {
        o->cap = (at + n) * 2 + 4096;
        o->p = realloc(o->p, o->cap);
        if (!o->p)
            abort();
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
    char buf[4096];
    size_t len;
    bool full;
};

static uint32_t str(struct strtab *t, const char *s)
{
    size_t n = strlen(s) + 1;
    if (t->len + n > sizeof t->buf) {
        t->full = true;
        return 0;
    }
    uint32_t at = (uint32_t)t->len;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    return at;
}

uint8_t *synth_elf(const struct synth_elf_opts *o, size_t *len)
{
    const struct synth_pclntab *s = o->tab;
    struct out w = {0};
    put(&w, NULL, sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr), 1);
    unsigned char code[SYNTH_ELF_TEXT_SIZE];
    memset(code, 0xcc, sizeof code);
    put(&w, NULL, SYNTH_ELF_TEXT - SYNTH_ELF_BASE - w.len, 1); /* zeros up to .text */
    size_t text = put(&w, code, sizeof code, 16);
    size_t pcln = put(&w, s->blob, s->size, 16);
    size_t gofunc = put(&w, s->gofunc, s->gofunc_size ? s->gofunc_size : 1, 16);
    unsigned char bi[48] = "\xff Go buildinf:";
    bi[14] = 8, bi[15] = 2;
    size_t vlen = strlen(o->go_version);
    if (vlen > sizeof bi - 33)
        vlen = sizeof bi - 33;
    bi[32] = (unsigned char)vlen;
    memcpy(bi + 33, o->go_version, vlen);
    size_t buildinfo = put(&w, bi, sizeof bi, 16);
    const char gobid[] = "fuzzseedfuzzseed/fuzzseedfuzzseed";
    uint32_t nh[3] = {3, sizeof gobid - 1, 4};
    size_t note = put(&w, nh, sizeof nh, 4);
    put(&w, "Go\0\0", 4, 1);
    put(&w, gobid, sizeof gobid - 1, 1);
    put(&w, NULL, 0, 4);
    size_t note_len = w.len - note;
    size_t tls = put(&w, NULL, 8, 8);

    struct strtab st = {.len = 1}, sh = {.len = 1};
    int maxsym = 5 + o->nfns + o->ncsyms, nsym = 1;
    Elf64_Sym *syms = calloc((size_t)maxsym, sizeof *syms);
    if (!syms)
        abort();
#define SYM(nm, val, sz, type)                                                            \
    syms[nsym++] = (Elf64_Sym){str(&st, nm), ELF64_ST_INFO(STB_GLOBAL, type), 0, 1, (val), \
                               (sz)}
    SYM("runtime.text", SYNTH_ELF_TEXT, 0, STT_FUNC);
    SYM("runtime.etext", SYNTH_ELF_TEXT + o->etext, 0, STT_NOTYPE);
    SYM("go:func.*", SYNTH_ELF_BASE + gofunc, s->gofunc_size, STT_OBJECT);
    SYM("runtime.tlsg", 0, 8, STT_TLS);
    for (int i = 0; i < o->nfns; i++)
        SYM(o->fns[i].name, SYNTH_ELF_TEXT + o->fns[i].entry, o->fns[i].size, STT_FUNC);
    for (int i = 0; i < o->ncsyms; i++)
        SYM(o->csyms[i].name, SYNTH_ELF_TEXT + o->csyms[i].off, o->csyms[i].size, STT_FUNC);
#undef SYM
    size_t symtab = put(&w, syms, (size_t)nsym * sizeof *syms, 8);
    free(syms);
    size_t strtab = put(&w, st.buf, st.len, 1);

    struct {
        const char *name;
        uint32_t type;
        uint64_t flags, off, size;
        uint32_t link, entsize;
    } secs[] = {
        {"", SHT_NULL, 0, 0, 0, 0, 0},
        {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text, sizeof code, 0, 0},
        {".gopclntab", SHT_PROGBITS, SHF_ALLOC, pcln, s->size, 0, 0},
        {".rodata", SHT_PROGBITS, SHF_ALLOC, gofunc, s->gofunc_size, 0, 0},
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
    if (st.full || sh.full) {
        free(w.p);
        return NULL;
    }
    size_t shstr = put(&w, sh.buf, sh.len, 1);
    secs[NSECS - 1].off = shstr;
    secs[NSECS - 1].size = sh.len;
    size_t load_end = w.len;
    Elf64_Shdr shdrs[NSECS];
    memset(shdrs, 0, sizeof shdrs);
    for (int i = 1; i < NSECS; i++)
        shdrs[i] = (Elf64_Shdr){names[i], secs[i].type, secs[i].flags,
                                (secs[i].flags & SHF_ALLOC) ? SYNTH_ELF_BASE + secs[i].off : 0,
                                secs[i].off, secs[i].size, secs[i].link, 0, 16, secs[i].entsize};
    size_t shoff = put(&w, shdrs, sizeof shdrs, 8);

    Elf64_Ehdr *eh = (Elf64_Ehdr *)w.p;
    synth_elf_header(eh);
    eh->e_entry = SYNTH_ELF_TEXT;
    eh->e_phoff = sizeof(Elf64_Ehdr);
    eh->e_shoff = shoff;
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 3;
    eh->e_shnum = NSECS;
    eh->e_shstrndx = NSECS - 1;
    Elf64_Phdr *ph = (Elf64_Phdr *)(w.p + sizeof(Elf64_Ehdr));
    ph[0] = (Elf64_Phdr){PT_LOAD, PF_R | PF_X, 0, SYNTH_ELF_BASE, SYNTH_ELF_BASE, load_end,
                         load_end, 0x1000};
    ph[1] = (Elf64_Phdr){PT_NOTE, PF_R, note, SYNTH_ELF_BASE + note, SYNTH_ELF_BASE + note,
                         note_len, note_len, 4};
    ph[2] = (Elf64_Phdr){PT_TLS, PF_R, tls, SYNTH_ELF_BASE + tls, SYNTH_ELF_BASE + tls, 0, 8, 8};
    *len = w.len;
    return w.p;
}

void synth_elf_header(Elf64_Ehdr *e)
{
    memcpy(e->e_ident, ELFMAG, SELFMAG);
    e->e_ident[EI_CLASS] = ELFCLASS64;
    e->e_ident[EI_DATA] = ELFDATA2LSB;
    e->e_ident[EI_VERSION] = EV_CURRENT;
    e->e_type = ET_EXEC;
    e->e_machine = EM_X86_64;
    e->e_version = EV_CURRENT;
    e->e_ehsize = sizeof *e;
    e->e_shentsize = sizeof(Elf64_Shdr);
}

int synth_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    bool ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}
