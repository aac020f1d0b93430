#include "gobinary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* moduledata field offsets (runtime/symtab.go). The prefix up to etext is
 * the same from Go 1.18 to 1.26; gofunc moved when covctrs was added in
 * Go 1.20. */
#define MD_FUNCNAMETAB 0x08
#define MD_PCLNTABLE_PTR 0x68
#define MD_PCLNTABLE_LEN 0x70
#define MD_TEXT 0xb0
#define MD_ETEXT 0xb8
#define MD_GOFUNC_GO118 0x130
#define MD_GOFUNC_GO120 0x140

bool gobin_is_go(const struct elfimg *img)
{
    return elfimg_section(img, ".gopclntab") ||
           elfimg_section(img, ".data.rel.ro.gopclntab") ||
           elfimg_section(img, ".go.buildinfo") || img->go_build_id[0];
}

static bool section_span(const struct elfimg *img, const char *name,
                         uint64_t *vaddr, uint64_t *size)
{
    const struct elf_sec *s = elfimg_section(img, name);
    if (!s || s->type == 8 /* SHT_NOBITS */ || !elfimg_ptr(img, s->addr, s->size))
        return false;
    *vaddr = s->addr;
    *size = s->size;
    return true;
}

/* Stripped PIE binaries linked externally by Go <= 1.25 keep the table
 * inside .data.rel.ro with no name: look for a header that parses. */
static bool scan_for_pclntab(const struct elfimg *img, uint64_t *vaddr, uint64_t *size)
{
    static const char *const where[] = {".data.rel.ro", ".rodata", ".noptrdata"};
    for (size_t w = 0; w < sizeof where / sizeof *where; w++) {
        uint64_t base, len;
        if (!section_span(img, where[w], &base, &len))
            continue;
        const uint8_t *p = elfimg_ptr(img, base, len);
        for (uint64_t off = 0; off + 72 <= len; off += 8) {
            if (!pcln_looks_valid(p + off, len - off))
                continue;
            struct pcln t;
            char err[128];
            if (pcln_open(&t, p + off, len - off, 1, err, sizeof err) == 0) {
                *vaddr = base + off;
                *size = len - off;
                return true;
            }
        }
    }
    return false;
}

/* moduledata is the one object that points at the pclntab header and, one
 * word later, at its function-name table. */
static uint64_t find_moduledata(const struct elfimg *img, uint64_t pclntab,
                                uint64_t funcnametab)
{
    static const char *const where[] = {".go.module", ".noptrdata", ".data",
                                        ".data.rel.ro"};
    for (size_t w = 0; w < sizeof where / sizeof *where; w++) {
        uint64_t base, len;
        if (!section_span(img, where[w], &base, &len))
            continue;
        const uint8_t *p = elfimg_ptr(img, base, len);
        for (uint64_t off = 0; off + MD_GOFUNC_GO120 + 8 <= len; off += 8) {
            uint64_t a, b;
            memcpy(&a, p + off, 8);
            if (a != pclntab)
                continue;
            memcpy(&b, p + off + MD_FUNCNAMETAB, 8);
            if (b == funcnametab)
                return base + off;
        }
    }
    return 0;
}

static void read_go_version(const struct elfimg *img, char *out, size_t outlen)
{
    static const char magic[] = "\xff Go buildinf:";
    out[0] = 0;
    uint64_t base, len;
    if (!section_span(img, ".go.buildinfo", &base, &len) || len < 33)
        return;
    const uint8_t *p = elfimg_ptr(img, base, len);
    if (memcmp(p, magic, 14) != 0 || !(p[15] & 2))
        return; /* pre-1.18 pointer format: not supported anyway */
    uint64_t pos = 32, n = 0;
    for (unsigned shift = 0; pos < len && shift < 64; shift += 7) {
        uint8_t b = p[pos++];
        n |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    if (n == 0 || n >= outlen || n > len - pos)
        return;
    memcpy(out, p + pos, n);
    out[n] = 0;
}

int gobin_release(const struct gobin *g)
{
    unsigned major, minor;
    if (sscanf(g->go_version, "go%u.%u", &major, &minor) == 2 && major == 1)
        return (int)(100 + minor);
    return 0;
}

static int64_t tlsg_offset(struct elfimg *img)
{
    if (!img->has_tls)
        return GOBIN_TLS_UNKNOWN;
    uint64_t memsz = img->tls.memsz, vaddr = img->tls.vaddr;
    uint64_t align = img->tls.offset ? img->tls.offset : 1;
    uint64_t tlsg;
    /* delve's formula (pkg/proc/bininfo.go): the executable's TLS block ends
     * at the thread pointer, rounded to its alignment. */
    uint64_t block = memsz + ((-vaddr - memsz) & (align - 1));
    if (elfimg_symbol(img, "runtime.tlsg", &tlsg, NULL))
        return (int64_t)tlsg - (int64_t)block;
    /* Without symbols: when g's slot is the only TLS the block holds, it is
     * the last word before the thread pointer. */
    if (memsz == 8)
        return -8;
    return GOBIN_TLS_UNKNOWN;
}

int gobin_open(struct gobin *g, struct elfimg *img, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    g->tlsg_offset = GOBIN_TLS_UNKNOWN;
    uint64_t va = 0, size = 0, end;
    if (section_span(img, ".gopclntab", &va, &size))
        g->pclntab_source = "section .gopclntab";
    else if (section_span(img, ".data.rel.ro.gopclntab", &va, &size))
        g->pclntab_source = "section .data.rel.ro.gopclntab";
    else if (elfimg_symbol(img, "runtime.pclntab", &va, NULL) &&
             elfimg_symbol(img, "runtime.epclntab", &end, NULL) && end > va) {
        size = end - va;
        g->pclntab_source = "symbols runtime.pclntab";
    } else if (scan_for_pclntab(img, &va, &size)) {
        g->pclntab_source = "scan for the pclntab magic";
    } else {
        snprintf(err, errlen, "no Go pclntab found (not a Go 1.18+ binary?)");
        return -1;
    }
    const uint8_t *p = elfimg_ptr(img, va, size);
    if (!p) {
        snprintf(err, errlen, "pclntab at %#llx is not backed by the file",
                 (unsigned long long)va);
        return -1;
    }
    if (!pcln_looks_valid(p, size)) {
        uint32_t magic = 0;
        memcpy(&magic, p, size >= 4 ? 4 : 0);
        if (magic == 0xfffffffbu || magic == 0xfffffffau)
            snprintf(err, errlen, "built by Go 1.2-1.17 (pclntab magic %#x); "
                     "goprof reads Go 1.18 and later", magic);
        else
            snprintf(err, errlen, "pclntab (%s) has a bad header", g->pclntab_source);
        return -1;
    }
    g->pclntab_vaddr = va;
    g->pclntab_size = size;

    uint64_t funcname_off;
    memcpy(&funcname_off, p + 32, 8);
    g->moduledata_vaddr = find_moduledata(img, va, va + funcname_off);
    uint32_t magic;
    memcpy(&magic, p, 4);
    if (g->moduledata_vaddr) {
        uint64_t md = g->moduledata_vaddr, ptr, len, gofunc;
        elfimg_read_u64(img, md + MD_TEXT, &g->text_start);
        elfimg_read_u64(img, md + MD_ETEXT, &g->text_end);
        if (elfimg_read_u64(img, md + MD_PCLNTABLE_PTR, &ptr) &&
            elfimg_read_u64(img, md + MD_PCLNTABLE_LEN, &len) && ptr > va &&
            ptr + len > ptr && ptr + len - va <= size)
            g->pclntab_size = size = ptr + len - va;
        if (elfimg_read_u64(img, md + (magic == PCLN_MAGIC_GO118 ? MD_GOFUNC_GO118
                                                                 : MD_GOFUNC_GO120),
                            &gofunc) &&
            elfimg_avail(img, gofunc))
            g->gofunc_vaddr = gofunc;
    }
    uint64_t sym;
    if (!g->text_start && elfimg_symbol(img, "runtime.text", &sym, NULL))
        g->text_start = sym;
    if (!g->text_end && elfimg_symbol(img, "runtime.etext", &sym, NULL))
        g->text_end = sym;
    if (!g->gofunc_vaddr && (elfimg_symbol(img, "go:func.*", &sym, NULL) ||
                             elfimg_symbol(img, "go.func.*", &sym, NULL)))
        g->gofunc_vaddr = sym;

    if (pcln_open(&g->tab, p, size, g->text_start, err, errlen) != 0)
        return -1;
    /* The header's own text start (Go <= 1.25) wins when present. */
    g->text_start = g->tab.text_start;
    if (!g->text_end) {
        uint32_t last;
        memcpy(&last, g->tab.base + g->tab.pcln_off + g->tab.nfunc * 8, 4);
        g->text_end = g->text_start + last;
    }
    for (uint64_t i = 0; i < g->tab.nfunc; i++) {
        uint32_t fo;
        memcpy(&fo, g->tab.base + g->tab.pcln_off + i * 8 + 4, 4);
        uint64_t off = g->tab.pcln_off + fo;
        unsigned at = g->tab.magic == PCLN_MAGIC_GO118 ? 36 : 40;
        if (off + at < g->tab.size && g->tab.base[off + at] > g->wrapper_funcid)
            g->wrapper_funcid = g->tab.base[off + at];
    }
    read_go_version(img, g->go_version, sizeof g->go_version);
    g->tlsg_offset = tlsg_offset(img);
    return 0;
}

const uint8_t *gobin_inltree(const struct gobin *g, const struct elfimg *img,
                             const struct pcln_func *f, uint64_t *size)
{
    uint32_t off;
    if (!g->gofunc_vaddr || !pcln_funcdata(&g->tab, f, PCLN_FUNCDATA_INLTREE, &off))
        return NULL;
    uint64_t va = g->gofunc_vaddr + off;
    uint64_t avail = elfimg_avail(img, va);
    if (!avail)
        return NULL;
    *size = avail;
    return elfimg_ptr(img, va, avail);
}
