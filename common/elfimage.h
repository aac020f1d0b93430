/* An ELF file mapped read-only, with the few views goprof needs: segments,
 * sections by name, build ids, symbols by name and by address. Parsing is
 * done by libelf; this module adds bounds-checked access to the bytes
 * behind a virtual address range, which libelf does not offer. */
#ifndef GOPROF_ELFIMAGE_H
#define GOPROF_ELFIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_seg {
    uint64_t vaddr, memsz, offset, filesz;
    uint32_t flags; /* PF_X | PF_W | PF_R */
};

struct elf_sec {
    const char *name;
    uint64_t addr, offset, size;
    uint32_t type;
    uint64_t flags;
};

struct elf_funcsym {
    uint64_t addr, size;
    const char *name;
};

struct elfimg {
    char *path;
    const uint8_t *map;
    size_t map_size;
    void *elf; /* Elf * */
    bool is_dyn; /* ET_DYN: PIE executable or shared library */
    bool has_interp, has_dynamic; /* PT_INTERP, PT_DYNAMIC: neither when static */
    struct elf_seg *segs;
    size_t nsegs;
    struct elf_sec *secs;
    size_t nsecs;
    bool has_tls;
    struct elf_seg tls;
    uint8_t gnu_build_id[64];
    size_t gnu_build_id_len;
    char go_build_id[256];
    /* function symbols sorted by address, built on first use */
    struct elf_funcsym *funcs;
    size_t nfuncs;
    bool funcs_loaded;
};

/* Opens and maps path. Returns 0, or -1 with a message naming the file. */
int elfimg_open(struct elfimg *img, const char *path, char *err, size_t errlen);
void elfimg_close(struct elfimg *img);

const struct elf_sec *elfimg_section(const struct elfimg *img, const char *name);
/* Pointer to len file-backed bytes at virtual address vaddr, or NULL. */
const uint8_t *elfimg_ptr(const struct elfimg *img, uint64_t vaddr, uint64_t len);
/* Largest n such that [vaddr, vaddr+n) is file-backed within one segment. */
uint64_t elfimg_avail(const struct elfimg *img, uint64_t vaddr);
bool elfimg_read_u64(const struct elfimg *img, uint64_t vaddr, uint64_t *v);
/* Virtual address of a file offset, through the PT_LOAD segments. */
bool elfimg_off_to_vaddr(const struct elfimg *img, uint64_t off, uint64_t *vaddr);
/* Value of a symbol (from .symtab, then .dynsym) by exact name. */
bool elfimg_symbol(struct elfimg *img, const char *name, uint64_t *addr, uint64_t *size);
/* Function symbol covering vaddr. */
const struct elf_funcsym *elfimg_func_at(struct elfimg *img, uint64_t vaddr);
/* Hex form of the build id to compare with a sample file: the GNU build id
 * when present, else the Go build id. Empty string when neither exists. */
void elfimg_build_id_hex(const struct elfimg *img, char *out, size_t outlen);

#endif
