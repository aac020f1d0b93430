/* Go pclntab reader; see pclntab.h. Written by hand rather than taken from
 * a library: no C library reads pclntab, and the signal handler needs a
 * lookup that allocates nothing and never reads outside the table. */
#include "pclntab.h"

#include <stdio.h>
#include <string.h>

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Is [off, off+len) inside [0, size)? Written to avoid overflow. */
static inline bool in_range(uint64_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

#define HDR_SIZE (8 + 8 * 8) /* magic,pad,minLC,ptrSize + 8 words */

bool pcln_looks_valid(const void *data, uint64_t size)
{
    const uint8_t *p = data;
    if (size < HDR_SIZE)
        return false;
    uint32_t magic = rd32(p);
    if (magic != PCLN_MAGIC_GO118 && magic != PCLN_MAGIC_GO120)
        return false;
    if (p[4] != 0 || p[5] != 0 || p[7] != 8)
        return false;
    if (p[6] != 1 && p[6] != 2 && p[6] != 4)
        return false;
    uint64_t nfunc = rd64(p + 8);
    return nfunc > 0 && nfunc < (1u << 26);
}

int pcln_open(struct pcln *t, const void *data, uint64_t size,
              uint64_t text_start, char *err, size_t errlen)
{
    const uint8_t *p = data;
    memset(t, 0, sizeof *t);
    if (size < HDR_SIZE) {
        snprintf(err, errlen, "pclntab too small (%llu bytes)",
                 (unsigned long long)size);
        return -1;
    }
    uint32_t magic = rd32(p);
    if (magic != PCLN_MAGIC_GO118 && magic != PCLN_MAGIC_GO120) {
        if (magic == 0xfffffffbu || magic == 0xfffffffau)
            snprintf(err, errlen,
                     "pclntab magic %#x is from Go 1.2-1.17; goprof reads "
                     "Go 1.18 and later", magic);
        else
            snprintf(err, errlen, "bad pclntab magic %#x", magic);
        return -1;
    }
    if (p[4] != 0 || p[5] != 0 || p[7] != 8) {
        snprintf(err, errlen, "pclntab header is not for a 64-bit target "
                 "(pad %u,%u ptrsize %u)", p[4], p[5], p[7]);
        return -1;
    }
    t->base = p;
    t->size = size;
    t->magic = magic;
    t->minlc = p[6];
    if (t->minlc != 1 && t->minlc != 2 && t->minlc != 4) {
        snprintf(err, errlen, "pclntab has bad instruction quantum %u",
                 t->minlc);
        return -1;
    }
    t->nfunc = rd64(p + 8);
    t->nfiles = rd64(p + 16);
    t->header_text_start = rd64(p + 24);
    t->text_start = t->header_text_start ? t->header_text_start : text_start;
    uint64_t offs[5];
    for (int i = 0; i < 5; i++) {
        offs[i] = rd64(p + 32 + 8 * i);
        if (offs[i] < HDR_SIZE || offs[i] > size) {
            snprintf(err, errlen, "pclntab sub-table offset %d (%#llx) "
                     "outside the table (size %#llx)", i,
                     (unsigned long long)offs[i], (unsigned long long)size);
            return -1;
        }
    }
    /* Sub-tables are laid out in this order; each ends where the next
     * begins, and pclntable runs to the end of the blob. */
    t->funcname_off = offs[0];
    t->cu_off = offs[1];
    t->file_off = offs[2];
    t->pctab_off = offs[3];
    t->pcln_off = offs[4];
    if (!(offs[0] <= offs[1] && offs[1] <= offs[2] && offs[2] <= offs[3] &&
          offs[3] <= offs[4])) {
        snprintf(err, errlen, "pclntab sub-tables out of order");
        return -1;
    }
    t->funcname_size = offs[1] - offs[0];
    t->cu_size = offs[2] - offs[1];
    t->file_size = offs[3] - offs[2];
    t->pctab_size = offs[4] - offs[3];
    t->pcln_size = size - offs[4];
    t->func_size = magic == PCLN_MAGIC_GO118 ? 40 : 44;
    /* nfunc + 1 functab entries of 8 bytes; written so that a table of
     * fewer than 8 bytes does not wrap the bound around. */
    if (t->nfunc == 0 || t->nfunc >= t->pcln_size / 8) {
        snprintf(err, errlen, "pclntab function count %llu does not fit "
                 "its function table", (unsigned long long)t->nfunc);
        return -1;
    }
    if (t->text_start == 0) {
        snprintf(err, errlen, "pclntab has no text start and none was "
                 "found in the binary");
        return -1;
    }
    return 0;
}

static inline bool ftab_entry(const struct pcln *t, uint64_t i,
                              uint32_t *entryoff, uint32_t *funcoff)
{
    uint64_t off = t->pcln_off + i * 8;
    if (i > t->nfunc || !in_range(t->size, off, 8))
        return false;
    *entryoff = rd32(t->base + off);
    *funcoff = rd32(t->base + off + 4);
    return true;
}

bool pcln_find(const struct pcln *t, uint64_t pc, struct pcln_func *out)
{
    if (!t->base || pc < t->text_start)
        return false;
    uint64_t rel = pc - t->text_start;
    uint32_t e_first, e_last, fo;
    if (!ftab_entry(t, 0, &e_first, &fo) ||
        !ftab_entry(t, t->nfunc, &e_last, &fo))
        return false;
    if (rel < e_first || rel >= e_last)
        return false;
    /* Largest i in [0, nfunc) with entry[i] <= rel. */
    uint64_t lo = 0, hi = t->nfunc; /* invariant: entry[lo] <= rel < entry[hi] */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        uint32_t e;
        if (!ftab_entry(t, mid, &e, &fo))
            return false;
        if (e <= rel)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t entry, funcoff, next;
    if (!ftab_entry(t, lo, &entry, &funcoff) ||
        !ftab_entry(t, lo + 1, &next, &fo))
        return false;
    if (entry > rel || next <= rel)
        return false; /* unsorted table: corrupt */
    uint64_t off = t->pcln_off + (uint64_t)funcoff;
    if (!in_range(t->size, off, t->func_size))
        return false;
    /* The record repeats its entry offset; a mismatch means corruption. */
    if (rd32(t->base + off) != entry)
        return false;
    out->entry = t->text_start + entry;
    out->end = t->text_start + next;
    out->off = off;
    out->index = (uint32_t)lo;
    return true;
}

bool pcln_info(const struct pcln *t, const struct pcln_func *f,
               struct pcln_funcinfo *o)
{
    if (!in_range(t->size, f->off, t->func_size))
        return false;
    const uint8_t *p = t->base + f->off;
    o->name_off = (int32_t)rd32(p + 4);
    o->pcsp = rd32(p + 16);
    o->pcfile = rd32(p + 20);
    o->pcln = rd32(p + 24);
    o->npcdata = rd32(p + 28);
    o->cu_offset = rd32(p + 32);
    if (t->magic == PCLN_MAGIC_GO118) {
        o->start_line = 0;
        o->funcid = p[36];
        o->flag = p[37];
        o->nfuncdata = p[39];
    } else {
        o->start_line = (int32_t)rd32(p + 36);
        o->funcid = p[40];
        o->flag = p[41];
        o->nfuncdata = p[43];
    }
    return o->npcdata < 1024;
}

/* Reads an unsigned LEB128 varint of at most 32 bits from [*p, end). */
static inline bool uvarint32(const uint8_t **p, const uint8_t *end,
                             uint32_t *v)
{
    uint32_t r = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        r |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

bool pcln_value(const struct pcln *t, const struct pcln_func *f,
                uint32_t tab_off, uint64_t pc, int32_t *val)
{
    if (tab_off == 0 || tab_off >= t->pctab_size || pc < f->entry)
        return false;
    const uint8_t *p = t->base + t->pctab_off + tab_off;
    const uint8_t *end = t->base + t->pctab_off + t->pctab_size;
    int32_t v = -1;
    uint64_t cur = f->entry;
    /* Each step consumes at least two bytes, so the table bounds the loop. */
    for (bool first = true;; first = false) {
        uint32_t uv, pcd;
        if (!uvarint32(&p, end, &uv))
            return false;
        if (uv == 0 && !first)
            return false; /* end of table before reaching pc */
        /* zig-zag delta, added with wraparound as Go's int32 does: a
         * hostile table must not make it signed overflow */
        v = (int32_t)((uint32_t)v + (-(uv & 1) ^ (uv >> 1)));
        if (!uvarint32(&p, end, &pcd))
            return false;
        cur += (uint64_t)pcd * t->minlc;
        if (pc < cur) {
            *val = v;
            return true;
        }
    }
}

bool pcln_sp_delta(const struct pcln *t, const struct pcln_func *f,
                   uint64_t pc, int32_t *delta)
{
    struct pcln_funcinfo fi;
    if (!pcln_info(t, f, &fi))
        return false;
    return pcln_value(t, f, fi.pcsp, pc, delta);
}

const char *pcln_name_at(const struct pcln *t, int64_t name_off)
{
    if (name_off < 0 || (uint64_t)name_off >= t->funcname_size)
        return NULL;
    const char *s = (const char *)t->base + t->funcname_off + name_off;
    if (!memchr(s, 0, t->funcname_size - (uint64_t)name_off))
        return NULL;
    return s;
}

const char *pcln_func_name(const struct pcln *t, const struct pcln_func *f)
{
    struct pcln_funcinfo fi;
    if (!pcln_info(t, f, &fi))
        return NULL;
    return pcln_name_at(t, fi.name_off);
}

bool pcln_find_name(const struct pcln *t, const char *name, struct pcln_func *out)
{
    for (uint64_t i = 0; i < t->nfunc; i++) {
        uint32_t entry, funcoff, next, fo;
        if (!ftab_entry(t, i, &entry, &funcoff) || !ftab_entry(t, i + 1, &next, &fo))
            return false;
        struct pcln_func f = {t->text_start + entry, t->text_start + next,
                              t->pcln_off + (uint64_t)funcoff, (uint32_t)i};
        if (!in_range(t->size, f.off, t->func_size))
            continue;
        const char *n = pcln_func_name(t, &f);
        if (n && !strcmp(n, name)) {
            *out = f;
            return true;
        }
    }
    return false;
}

static const char *file_name(const struct pcln *t, uint32_t cu_offset,
                             int32_t fileno)
{
    if (fileno < 0)
        return NULL;
    uint64_t idx = (uint64_t)cu_offset + (uint64_t)fileno;
    if (!in_range(t->cu_size, idx * 4, 4))
        return NULL;
    uint32_t off = rd32(t->base + t->cu_off + idx * 4);
    if (off == UINT32_MAX || off >= t->file_size)
        return NULL;
    const char *s = (const char *)t->base + t->file_off + off;
    if (!memchr(s, 0, t->file_size - off))
        return NULL;
    return s;
}

bool pcln_file_line(const struct pcln *t, const struct pcln_func *f,
                    uint64_t pc, const char **file, int32_t *line)
{
    struct pcln_funcinfo fi;
    int32_t fileno, ln;
    if (!pcln_info(t, f, &fi))
        return false;
    if (!pcln_value(t, f, fi.pcfile, pc, &fileno) ||
        !pcln_value(t, f, fi.pcln, pc, &ln))
        return false;
    const char *fn = file_name(t, fi.cu_offset, fileno);
    if (!fn)
        return false;
    *file = fn;
    *line = ln;
    return true;
}

/* The pcdata and funcdata arrays follow the fixed part of _func. */
static bool trailing_u32(const struct pcln *t, const struct pcln_func *f,
                         uint64_t index, uint32_t *v)
{
    uint64_t off = f->off + t->func_size + index * 4;
    if (!in_range(t->size, off, 4))
        return false;
    *v = rd32(t->base + off);
    return true;
}

bool pcln_pcdata(const struct pcln *t, const struct pcln_func *f,
                 unsigned idx, uint32_t *off)
{
    struct pcln_funcinfo fi;
    if (!pcln_info(t, f, &fi) || idx >= fi.npcdata)
        return false;
    return trailing_u32(t, f, idx, off) && *off != 0;
}

bool pcln_funcdata(const struct pcln *t, const struct pcln_func *f,
                   unsigned idx, uint32_t *off)
{
    struct pcln_funcinfo fi;
    if (!pcln_info(t, f, &fi) || idx >= fi.nfuncdata)
        return false;
    return trailing_u32(t, f, (uint64_t)fi.npcdata + idx, off) &&
           *off != UINT32_MAX;
}

/* One inlinedCall record, normalised across the 1.18 and 1.20 layouts. */
struct inl_call {
    int32_t name_off, parent_pc, start_line;
    uint8_t funcid;
};

static bool inl_call_at(const struct pcln *t, const uint8_t *tree,
                        uint64_t tree_size, int32_t ix, struct inl_call *c)
{
    unsigned sz = t->magic == PCLN_MAGIC_GO118 ? 20 : 16;
    if (ix < 0 || !in_range(tree_size, (uint64_t)ix * sz, sz))
        return false;
    const uint8_t *p = tree + (uint64_t)ix * sz;
    if (t->magic == PCLN_MAGIC_GO118) {
        c->funcid = p[2];
        c->name_off = (int32_t)rd32(p + 12);
        c->parent_pc = (int32_t)rd32(p + 16);
        c->start_line = 0;
    } else {
        c->funcid = p[0];
        c->name_off = (int32_t)rd32(p + 4);
        c->parent_pc = (int32_t)rd32(p + 8);
        c->start_line = (int32_t)rd32(p + 12);
    }
    return true;
}

int pcln_frames(const struct pcln *t, const struct pcln_func *f, uint64_t pc,
                const uint8_t *inltree, uint64_t inltree_size,
                struct pcln_frame *out, int max)
{
    struct pcln_funcinfo fi;
    if (max <= 0 || !pcln_info(t, f, &fi))
        return 0;
    int n = 0;
    uint32_t inl_tab;
    if (inltree && pcln_pcdata(t, f, PCLN_PCDATA_INLTREEINDEX, &inl_tab)) {
        int32_t ix;
        /* Each step moves to a strictly outer call site; the bound guards
         * against a corrupt tree that loops. */
        for (int guard = 0; guard < 256 && n < max - 1; guard++) {
            if (!pcln_value(t, f, inl_tab, pc, &ix) || ix < 0)
                break;
            struct inl_call c;
            if (!inl_call_at(t, inltree, inltree_size, ix, &c))
                break;
            struct pcln_frame *fr = &out[n++];
            fr->function = pcln_name_at(t, c.name_off);
            if (!fr->function)
                fr->function = "?";
            if (!pcln_file_line(t, f, pc, &fr->file, &fr->line)) {
                fr->file = "?";
                fr->line = 0;
            }
            fr->start_line = c.start_line;
            fr->inlined = true;
            fr->funcid = c.funcid;
            if (c.parent_pc < 0 ||
                f->entry + (uint64_t)c.parent_pc >= f->end)
                break;
            pc = f->entry + (uint64_t)c.parent_pc;
        }
    }
    struct pcln_frame *fr = &out[n++];
    fr->function = pcln_name_at(t, fi.name_off);
    if (!fr->function)
        fr->function = "?";
    if (!pcln_file_line(t, f, pc, &fr->file, &fr->line)) {
        fr->file = "?";
        fr->line = 0;
    }
    fr->start_line = fi.start_line;
    fr->inlined = false;
    fr->funcid = fi.funcid;
    return n;
}
