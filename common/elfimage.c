#define _GNU_SOURCE
#include "elfimage.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static bool in_file(const struct elfimg *img, uint64_t off, uint64_t len)
{
    return off <= img->map_size && len <= img->map_size - off;
}

/* Walks the notes in [p, p+size) for the GNU and Go build ids. */
static void scan_notes(struct elfimg *img, const uint8_t *p, uint64_t size)
{
    uint64_t pos = 0;
    while (pos + 12 <= size) {
        uint32_t namesz, descsz, type;
        memcpy(&namesz, p + pos, 4);
        memcpy(&descsz, p + pos + 4, 4);
        memcpy(&type, p + pos + 8, 4);
        uint64_t name_off = pos + 12;
        uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
        uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
        if (next > size || next <= pos)
            return;
        const char *name = (const char *)p + name_off;
        if (namesz == 4 && !memcmp(name, "GNU", 4) && type == 3 &&
            descsz <= sizeof img->gnu_build_id) {
            memcpy(img->gnu_build_id, p + desc_off, descsz);
            img->gnu_build_id_len = descsz;
        } else if (namesz == 3 && !memcmp(name, "Go", 3) && type == 4 &&
                   descsz < sizeof img->go_build_id) {
            memcpy(img->go_build_id, p + desc_off, descsz);
            img->go_build_id[descsz] = 0;
        }
        pos = next;
    }
}

int elfimg_open(struct elfimg *img, const char *path, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 64) {
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
            snprintf(err, errlen, "%s: not an ELF file (%lld bytes)", path,
                     (long long)st.st_size);
        else
            snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    /* Writable private mapping: libelf may want to convert in place; the
     * file itself is never modified. */
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "%s: cannot map: %s", path, strerror(errno));
        return -1;
    }
    img->map = m;
    img->map_size = (size_t)st.st_size;
    img->path = strdup(path);
    if (memcmp(m, ELFMAG, SELFMAG) != 0) {
        snprintf(err, errlen, "%s: not an ELF file", path);
        goto fail;
    }
    elf_version(EV_CURRENT);
    Elf *elf = elf_memory(m, img->map_size);
    img->elf = elf;
    GElf_Ehdr eh;
    if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
        snprintf(err, errlen, "%s: unreadable ELF: %s", path, elf_errmsg(-1));
        goto fail;
    }
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
        snprintf(err, errlen, "%s: not a 64-bit little-endian ELF file", path);
        goto fail;
    }
    img->is_dyn = eh.e_type == ET_DYN;

    size_t phnum = 0;
    if (elf_getphdrnum(elf, &phnum) != 0)
        phnum = 0;
    img->segs = calloc(phnum ? phnum : 1, sizeof *img->segs);
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph))
            continue;
        struct elf_seg s = {ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz,
                            ph.p_flags};
        if (ph.p_type == PT_LOAD) {
            if (!in_file(img, ph.p_offset, ph.p_filesz) || ph.p_filesz > ph.p_memsz) {
                snprintf(err, errlen, "%s: segment %zu lies outside the file",
                         path, i);
                goto fail;
            }
            img->segs[img->nsegs++] = s;
        } else if (ph.p_type == PT_TLS) {
            img->has_tls = true;
            img->tls = s;
            img->tls.offset = ph.p_align; /* keep the alignment here */
        } else if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC) {
            *(ph.p_type == PT_INTERP ? &img->has_interp : &img->has_dynamic) = true;
        } else if (ph.p_type == PT_NOTE && in_file(img, ph.p_offset, ph.p_filesz)) {
            scan_notes(img, img->map + ph.p_offset, ph.p_filesz);
        }
    }

    size_t shnum = 0, shstrndx = 0;
    if (elf_getshdrnum(elf, &shnum) != 0 || elf_getshdrstrndx(elf, &shstrndx) != 0)
        shnum = 0;
    img->secs = calloc(shnum ? shnum : 1, sizeof *img->secs);
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || img->nsecs >= shnum)
            continue;
        const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
        if (!name)
            continue;
        if (sh.sh_type != SHT_NOBITS && !in_file(img, sh.sh_offset, sh.sh_size))
            continue; /* a lying section header: ignore it */
        img->secs[img->nsecs++] = (struct elf_sec){name, sh.sh_addr, sh.sh_offset,
                                                   sh.sh_size, sh.sh_type, sh.sh_flags};
        if (sh.sh_type == SHT_NOTE && !img->gnu_build_id_len)
            scan_notes(img, img->map + sh.sh_offset, sh.sh_size);
    }
    return 0;
fail:
    elfimg_close(img);
    return -1;
}

void elfimg_close(struct elfimg *img)
{
    if (img->elf)
        elf_end(img->elf);
    if (img->map)
        munmap((void *)img->map, img->map_size);
    free(img->segs);
    free(img->secs);
    free(img->funcs);
    free(img->path);
    memset(img, 0, sizeof *img);
}

const struct elf_sec *elfimg_section(const struct elfimg *img, const char *name)
{
    for (size_t i = 0; i < img->nsecs; i++)
        if (!strcmp(img->secs[i].name, name))
            return &img->secs[i];
    return NULL;
}

uint64_t elfimg_avail(const struct elfimg *img, uint64_t vaddr)
{
    for (size_t i = 0; i < img->nsegs; i++) {
        const struct elf_seg *s = &img->segs[i];
        if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz)
            return s->filesz - (vaddr - s->vaddr);
    }
    return 0;
}

const uint8_t *elfimg_ptr(const struct elfimg *img, uint64_t vaddr, uint64_t len)
{
    for (size_t i = 0; i < img->nsegs; i++) {
        const struct elf_seg *s = &img->segs[i];
        if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz) {
            uint64_t rel = vaddr - s->vaddr;
            if (len > s->filesz - rel)
                return NULL;
            return img->map + s->offset + rel;
        }
    }
    return NULL;
}

bool elfimg_read_u64(const struct elfimg *img, uint64_t vaddr, uint64_t *v)
{
    const uint8_t *p = elfimg_ptr(img, vaddr, 8);
    if (!p)
        return false;
    memcpy(v, p, 8);
    return true;
}

bool elfimg_off_to_vaddr(const struct elfimg *img, uint64_t off, uint64_t *vaddr)
{
    for (size_t i = 0; i < img->nsegs; i++) {
        const struct elf_seg *s = &img->segs[i];
        if (off >= s->offset && off - s->offset < s->memsz) {
            *vaddr = s->vaddr + (off - s->offset);
            return true;
        }
    }
    return false;
}

/* Calls fn for every symbol of the .symtab and .dynsym tables. */
static void for_each_symbol(struct elfimg *img,
                            bool (*fn)(void *ctx, const GElf_Sym *s, const char *name),
                            void *ctx)
{
    static const uint32_t kinds[2] = {SHT_SYMTAB, SHT_DYNSYM};
    for (int k = 0; k < 2; k++) {
        for (Elf_Scn *scn = elf_nextscn(img->elf, NULL); scn;
             scn = elf_nextscn(img->elf, scn)) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || sh.sh_type != kinds[k] || !sh.sh_entsize)
                continue;
            Elf_Data *d = elf_getdata(scn, NULL);
            if (!d)
                continue;
            size_t n = sh.sh_size / sh.sh_entsize;
            for (size_t i = 0; i < n; i++) {
                GElf_Sym s;
                if (!gelf_getsym(d, (int)i, &s))
                    break;
                const char *name = elf_strptr(img->elf, sh.sh_link, s.st_name);
                if (name && *name && !fn(ctx, &s, name))
                    return;
            }
        }
    }
}

struct find_ctx {
    const char *want;
    uint64_t addr, size;
    bool found;
};

static bool find_cb(void *ctx, const GElf_Sym *s, const char *name)
{
    struct find_ctx *c = ctx;
    if (strcmp(name, c->want) != 0)
        return true;
    c->addr = s->st_value;
    c->size = s->st_size;
    c->found = true;
    return false;
}

bool elfimg_symbol(struct elfimg *img, const char *name, uint64_t *addr, uint64_t *size)
{
    struct find_ctx c = {name, 0, 0, false};
    for_each_symbol(img, find_cb, &c);
    if (c.found) {
        *addr = c.addr;
        if (size)
            *size = c.size;
    }
    return c.found;
}

struct collect_ctx {
    struct elfimg *img;
    size_t cap;
};

static bool collect_cb(void *ctx, const GElf_Sym *s, const char *name)
{
    struct collect_ctx *c = ctx;
    struct elfimg *img = c->img;
    if (GELF_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF ||
        s->st_value == 0)
        return true;
    if (img->nfuncs == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 256;
        struct elf_funcsym *n = realloc(img->funcs, ncap * sizeof *n);
        if (!n)
            return false;
        img->funcs = n;
        c->cap = ncap;
    }
    img->funcs[img->nfuncs++] = (struct elf_funcsym){s->st_value, s->st_size, name};
    return true;
}

static int cmp_func(const void *a, const void *b)
{
    const struct elf_funcsym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    /* prefer the sized symbol, then the shorter (usually public) name */
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return (int)(strlen(x->name) - strlen(y->name));
}

const struct elf_funcsym *elfimg_func_at(struct elfimg *img, uint64_t vaddr)
{
    if (!img->funcs_loaded) {
        struct collect_ctx c = {img, 0};
        img->funcs_loaded = true;
        for_each_symbol(img, collect_cb, &c);
        if (img->nfuncs > 1) /* funcs is NULL when there are none */
            qsort(img->funcs, img->nfuncs, sizeof *img->funcs, cmp_func);
        /* drop aliases at the same address */
        size_t w = 0;
        for (size_t i = 0; i < img->nfuncs; i++)
            if (w == 0 || img->funcs[w - 1].addr != img->funcs[i].addr)
                img->funcs[w++] = img->funcs[i];
        img->nfuncs = w;
    }
    size_t lo = 0, hi = img->nfuncs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (img->funcs[mid].addr <= vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct elf_funcsym *f = &img->funcs[lo - 1];
    /* Unsized symbols (common in assembly) cover up to the next symbol. */
    if (f->size ? vaddr - f->addr < f->size
                : (lo < img->nfuncs && vaddr < img->funcs[lo].addr) ||
                      vaddr - f->addr < 4096)
        return f;
    return NULL;
}

void elfimg_build_id_hex(const struct elfimg *img, char *out, size_t outlen)
{
    if (!outlen)
        return;
    out[0] = 0;
    if (img->gnu_build_id_len) {
        size_t w = 0;
        for (size_t i = 0; i < img->gnu_build_id_len && w + 3 <= outlen; i++)
            w += (size_t)snprintf(out + w, outlen - w, "%02x", img->gnu_build_id[i]);
    } else if (img->go_build_id[0]) {
        snprintf(out, outlen, "%s", img->go_build_id);
    }
}
