/* Synthetic pclntab builder; see synth_pclntab.h. The layout follows
 * cmd/link/internal/ld/pcln.go: header, funcnametab, cutab, filetab,
 * pctab (with a leading pad byte so that offset 0 means "no table"), then
 * functab (nfunc entry pairs and the end offset, padded to 8) followed by
 * the _func records, each 8-aligned and trailed by pcdata and funcdata. */
#include "synth_pclntab.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAGIC_GO118 0xfffffff0u
#define HDR_SIZE 72
#define PCDATA_INLTREEINDEX 2
#define FUNCDATA_INLTREE 3

struct buf {
    uint8_t *p;
    size_t n, cap;
};

/* Tests cannot do anything useful without memory: fail loudly. */
static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}

static void reserve(struct buf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void put(struct buf *b, const void *v, size_t len)
{
    reserve(b, len);
    memcpy(b->p + b->n, v, len);
    b->n += len;
}

static void put_u8(struct buf *b, uint8_t v) { put(b, &v, 1); }
static void put_u32(struct buf *b, uint32_t v) { put(b, &v, 4); }

static void pad_to(struct buf *b, size_t align)
{
    while (b->n % align)
        put_u8(b, 0);
}

static void set_u32(struct buf *b, size_t off, uint32_t v) { memcpy(b->p + off, &v, 4); }
static void set_u64(struct buf *b, size_t off, uint64_t v) { memcpy(b->p + off, &v, 8); }

static int uvarint(uint8_t *out, uint64_t v)
{
    int n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* encoding/binary.PutVarint: zig-zag, then uvarint. */
static int varint(uint8_t *out, int64_t v)
{
    uint64_t u = (uint64_t)v << 1;
    if (v < 0)
        u = ~u;
    return uvarint(out, u);
}

static int nsteps(const struct synth_step *s)
{
    int n = 0;
    while (s && s[n].pc != SYNTH_END_PC)
        n++;
    return n;
}

/* As cmd/internal/obj funcpctab: start at value -1, then for each run its
 * value delta and, once the next run starts (or the function ends), the pc
 * delta in instruction quanta; a 0 byte ends the table. */
long synth_encode_pcvalue(const struct synth_step *steps, uint32_t size, unsigned minlc,
                          uint8_t *out)
{
    int n = nsteps(steps);
    if (n == 0 || steps[0].pc != 0 || minlc == 0)
        return -1;
    long len = 0;
    int32_t prev = -1;
    for (int i = 0; i < n; i++) {
        uint32_t end = i + 1 < n ? steps[i + 1].pc : size;
        if (end <= steps[i].pc || end > size || (end - steps[i].pc) % minlc)
            return -1;
        len += varint(out + len, (int64_t)steps[i].val - prev);
        len += uvarint(out + len, (end - steps[i].pc) / minlc);
        prev = steps[i].val;
    }
    out[len++] = 0;
    return len;
}

/* Appends a table to pctab; returns its offset, 0 for none, -1 on error. */
static int64_t add_table(struct buf *pctab, const struct synth_step *steps, uint32_t size,
                         unsigned minlc)
{
    if (!steps)
        return 0;
    reserve(pctab, (size_t)nsteps(steps) * 20 + 1);
    long len = synth_encode_pcvalue(steps, size, minlc, pctab->p + pctab->n);
    if (len < 0)
        return -1;
    int64_t off = (int64_t)pctab->n;
    pctab->n += (size_t)len;
    return off;
}

/* Names are deduplicated, as the linker does. */
static uint32_t add_name(struct buf *names, const char *name)
{
    size_t len = strlen(name) + 1;
    for (size_t off = 0; off < names->n; off += strlen((char *)names->p + off) + 1)
        if (!strcmp((char *)names->p + off, name))
            return (uint32_t)off;
    uint32_t off = (uint32_t)names->n;
    put(names, name, len);
    return off;
}

static void put_inlined_call(struct buf *b, const struct synth_inl *c, uint32_t name_off,
                             bool go118)
{
    if (go118) {
        uint16_t parent = (uint16_t)c->parent;
        put(b, &parent, 2);
        put_u8(b, c->funcid);
        put_u8(b, 0);
        put_u32(b, (uint32_t)c->file);
        put_u32(b, (uint32_t)c->line);
        put_u32(b, name_off);
        put_u32(b, (uint32_t)c->parent_pc);
    } else {
        put_u8(b, c->funcid);
        put_u8(b, 0);
        put_u8(b, 0);
        put_u8(b, 0);
        put_u32(b, name_off);
        put_u32(b, (uint32_t)c->parent_pc);
        put_u32(b, (uint32_t)c->start_line);
    }
}

struct tables {
    int64_t pcsp, pcfile, pcln, pcinl;
};

static bool check_order(const struct synth_func *fns, int nfns)
{
    for (int i = 0; i < nfns; i++) {
        if (fns[i].size == 0 || fns[i].entry + (uint64_t)fns[i].size > UINT32_MAX)
            return false;
        if (i > 0 && fns[i].entry < fns[i - 1].entry + fns[i - 1].size)
            return false;
        if (!fns[i].inl != !fns[i].pcinl)
            return false;
    }
    return nfns > 0;
}

static void put_func(struct buf *ft, const struct synth_func *fn, uint32_t name_off,
                     const struct tables *tb, uint32_t inl_off, bool go118)
{
    uint32_t npcdata = fn->pcinl ? PCDATA_INLTREEINDEX + 1 : 0;
    uint8_t nfuncdata = fn->inl ? FUNCDATA_INLTREE + 1 : 0;
    put_u32(ft, fn->entry);
    put_u32(ft, name_off);
    put_u32(ft, 0); /* args */
    put_u32(ft, 0); /* deferreturn */
    put_u32(ft, (uint32_t)tb->pcsp);
    put_u32(ft, (uint32_t)tb->pcfile);
    put_u32(ft, (uint32_t)tb->pcln);
    put_u32(ft, npcdata);
    put_u32(ft, fn->cu_offset);
    if (!go118)
        put_u32(ft, (uint32_t)fn->start_line);
    put_u8(ft, fn->funcid);
    put_u8(ft, fn->flag);
    put_u8(ft, 0);
    put_u8(ft, nfuncdata);
    for (uint32_t i = 0; i < npcdata; i++)
        put_u32(ft, i == PCDATA_INLTREEINDEX ? (uint32_t)tb->pcinl : 0);
    for (unsigned i = 0; i < nfuncdata; i++)
        put_u32(ft, i == FUNCDATA_INLTREE ? inl_off : UINT32_MAX);
}

static void build_files(struct buf *cutab, struct buf *filetab, const struct synth_opts *o)
{
    uint32_t *offs = xrealloc(NULL, sizeof *offs * (size_t)(o->nfiles + 1));
    for (int i = 0; i < o->nfiles; i++) {
        offs[i] = (uint32_t)filetab->n;
        put(filetab, o->files[i], strlen(o->files[i]) + 1);
    }
    if (o->cutab) {
        for (int i = 0; i < o->ncutab; i++)
            put_u32(cutab, o->cutab[i] >= 0 && o->cutab[i] < o->nfiles ? offs[o->cutab[i]]
                                                                         : UINT32_MAX);
    } else {
        for (int i = 0; i < o->nfiles; i++)
            put_u32(cutab, offs[i]);
    }
    free(offs);
}

static void assemble(struct synth_pclntab *s, const struct synth_opts *o, int nfns,
                     struct buf *names, struct buf *cutab, struct buf *filetab,
                     struct buf *pctab, struct buf *ft)
{
    struct buf out = {0};
    reserve(&out, HDR_SIZE);
    memset(out.p, 0, HDR_SIZE);
    out.n = HDR_SIZE;
    s->funcname_off = out.n;
    put(&out, names->p, names->n);
    pad_to(&out, 4);
    s->cu_off = out.n;
    put(&out, cutab->p, cutab->n);
    s->file_off = out.n;
    put(&out, filetab->p, filetab->n);
    s->pctab_off = out.n;
    put(&out, pctab->p, pctab->n);
    pad_to(&out, 8);
    s->pcln_off = out.n;
    put(&out, ft->p, ft->n);

    set_u32(&out, 0, o->magic);
    out.p[6] = o->minlc ? o->minlc : 1;
    out.p[7] = 8;
    set_u64(&out, 8, (uint64_t)nfns);
    set_u64(&out, 16, (uint64_t)o->nfiles);
    set_u64(&out, 24, o->text_start);
    set_u64(&out, 32, s->funcname_off);
    set_u64(&out, 40, s->cu_off);
    set_u64(&out, 48, s->file_off);
    set_u64(&out, 56, s->pctab_off);
    set_u64(&out, 64, s->pcln_off);
    /* Exactly sized, so that a memory checker sees any read past the end. */
    s->blob = xrealloc(out.p, out.n);
    s->size = out.n;
}

static void free_bufs(struct buf *b, int n)
{
    for (int i = 0; i < n; i++)
        free(b[i].p);
}

int synth_build(struct synth_pclntab *s, const struct synth_opts *o,
                const struct synth_func *fns, int nfns)
{
    memset(s, 0, sizeof *s);
    if (!check_order(fns, nfns))
        return -1;
    bool go118 = o->magic == MAGIC_GO118;
    unsigned minlc = o->minlc ? o->minlc : 1;
    enum { NAMES, CUTAB, FILETAB, PCTAB, FTAB, GOFUNC, NBUF };
    struct buf b[NBUF] = {{0}};
    s->nfuncs = nfns;
    s->name_off = xrealloc(NULL, sizeof *s->name_off * (size_t)nfns);
    s->inl_off = xrealloc(NULL, sizeof *s->inl_off * (size_t)nfns);
    s->inl_size = xrealloc(NULL, sizeof *s->inl_size * (size_t)nfns);

    build_files(&b[CUTAB], &b[FILETAB], o);
    put_u8(&b[PCTAB], 0);
    struct tables *tb = xrealloc(NULL, sizeof *tb * (size_t)nfns);
    for (int i = 0; i < nfns; i++) {
        s->name_off[i] = add_name(&b[NAMES], fns[i].name);
        tb[i].pcsp = add_table(&b[PCTAB], fns[i].pcsp, fns[i].size, minlc);
        tb[i].pcfile = add_table(&b[PCTAB], fns[i].pcfile, fns[i].size, minlc);
        tb[i].pcln = add_table(&b[PCTAB], fns[i].pcln, fns[i].size, minlc);
        tb[i].pcinl = add_table(&b[PCTAB], fns[i].pcinl, fns[i].size, minlc);
        if (tb[i].pcsp < 0 || tb[i].pcfile < 0 || tb[i].pcln < 0 || tb[i].pcinl < 0) {
            free(tb);
            free_bufs(b, NBUF);
            synth_free(s);
            return -1;
        }
        s->inl_off[i] = UINT32_MAX;
        s->inl_size[i] = 0;
        if (fns[i].inl) {
            pad_to(&b[GOFUNC], 4);
            s->inl_off[i] = (uint32_t)b[GOFUNC].n;
            for (int k = 0; k < fns[i].ninl; k++)
                put_inlined_call(&b[GOFUNC], &fns[i].inl[k],
                                 add_name(&b[NAMES], fns[i].inl[k].name), go118);
            s->inl_size[i] = b[GOFUNC].n - s->inl_off[i];
        }
    }

    /* functab: nfunc {entryoff, funcoff} pairs and the end offset. */
    struct buf *ft = &b[FTAB];
    reserve(ft, (size_t)nfns * 8 + 8);
    memset(ft->p, 0, (size_t)nfns * 8 + 8);
    ft->n = (size_t)nfns * 8 + 4;
    set_u32(ft, (size_t)nfns * 8, fns[nfns - 1].entry + fns[nfns - 1].size);
    for (int i = 0; i < nfns; i++) {
        pad_to(ft, 8);
        if (i == 0)
            s->funcs_off = ft->n;
        set_u32(ft, (size_t)i * 8, fns[i].entry);
        set_u32(ft, (size_t)i * 8 + 4, (uint32_t)ft->n);
        put_func(ft, &fns[i], s->name_off[i], &tb[i], s->inl_off[i], go118);
    }
    free(tb);

    assemble(s, o, nfns, &b[NAMES], &b[CUTAB], &b[FILETAB], &b[PCTAB], ft);
    s->gofunc = xrealloc(b[GOFUNC].p, b[GOFUNC].n);
    s->gofunc_size = b[GOFUNC].n;
    b[GOFUNC].p = NULL;
    free_bufs(b, NBUF);
    return 0;
}

void synth_free(struct synth_pclntab *s)
{
    free(s->blob);
    free(s->gofunc);
    free(s->name_off);
    free(s->inl_off);
    free(s->inl_size);
    memset(s, 0, sizeof *s);
}

const uint8_t *synth_inltree(const struct synth_pclntab *s, int i, uint64_t *size)
{
    *size = 0;
    if (i < 0 || i >= s->nfuncs || s->inl_off[i] == UINT32_MAX)
        return NULL;
    *size = s->inl_size[i];
    return s->gofunc + s->inl_off[i];
}

int guarded_copy(struct guarded *g, const void *data, size_t len, bool at_end)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (len + page - 1) / page * page;
    if (body == 0)
        body = page;
    g->map_len = body + 2 * page;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                  -1, 0);
    if (g->map == MAP_FAILED)
        return -1;
    uint8_t *first = (uint8_t *)g->map + page;
    if (mprotect(g->map, page, PROT_NONE) != 0 ||
        mprotect(first + body, page, PROT_NONE) != 0) {
        munmap(g->map, g->map_len);
        return -1;
    }
    g->p = at_end ? first + body - len : first;
    if (len)
        memcpy(g->p, data, len);
    return 0;
}

void guarded_free(struct guarded *g)
{
    if (g->map)
        munmap(g->map, g->map_len);
    memset(g, 0, sizeof *g);
}
