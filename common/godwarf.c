#define _GNU_SOURCE /* memmem */
#include "godwarf.h"

#include "bytebuf.h"

#include <dwarf.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- a section, inflated on demand ------------------------------------- */

#define MAX_SECTION (1ull << 31) /* refuse to inflate more than 2 GiB */
#define INFLATE_STEP (64u << 10)

struct dsec {
    const uint8_t *p; /* the bytes; [0, have) are readable */
    uint64_t have, size;
    uint8_t *buf; /* inflated bytes, NULL for a plain section */
    z_stream z;
    bool zlive;
};

static const struct elf_sec *find_sec(const struct elfimg *img, const char *name, bool *gnu)
{
    char z[64];
    const struct elf_sec *s = elfimg_section(img, name);
    *gnu = false;
    if (s)
        return s;
    snprintf(z, sizeof z, ".z%s", name + 1); /* .debug_info -> .zdebug_info */
    s = elfimg_section(img, z);
    *gnu = s != NULL;
    return s;
}

bool godwarf_present(const struct elfimg *img)
{
    bool gnu;
    const struct elf_sec *s = find_sec(img, ".debug_info", &gnu);
    return s && s->type != SHT_NOBITS && s->size;
}

/* 1: no such section; -1: unusable; 0: ready. */
static int dsec_open(const struct elfimg *img, const char *name, struct dsec *s, char *why,
                     size_t whylen)
{
    bool gnu;
    memset(s, 0, sizeof *s);
    const struct elf_sec *sec = find_sec(img, name, &gnu);
    if (!sec || sec->type == SHT_NOBITS || !sec->size)
        return 1;
    const uint8_t *data = img->map + sec->offset; /* elfimg checked the range */
    uint64_t len = sec->size;
    if (sec->flags & SHF_COMPRESSED) {
        Elf64_Chdr ch;
        if (len < sizeof ch) {
            snprintf(why, whylen, "%s: compression header cut short", name);
            return -1;
        }
        memcpy(&ch, data, sizeof ch);
        if (ch.ch_type != ELFCOMPRESS_ZLIB) {
            snprintf(why, whylen, "%s: compressed with type %u, not zlib", name, ch.ch_type);
            return -1;
        }
        s->size = ch.ch_size;
        data += sizeof ch;
        len -= sizeof ch;
    } else if (gnu) {
        /* "ZLIB" and the inflated size, big-endian */
        if (len < 12 || memcmp(data, "ZLIB", 4) != 0) {
            snprintf(why, whylen, ".z%s: not a ZLIB section", name + 1);
            return -1;
        }
        for (int i = 0; i < 8; i++)
            s->size = s->size << 8 | data[4 + i];
        data += 12;
        len -= 12;
    } else {
        s->p = data;
        s->have = s->size = len;
        return 0;
    }
    if (s->size > MAX_SECTION || len > UINT32_MAX || !(s->buf = malloc(s->size ? s->size : 1))) {
        snprintf(why, whylen, "%s: %llu bytes inflated is too much", name,
                 (unsigned long long)s->size);
        return -1;
    }
    s->p = s->buf;
    /* A raw inflate past the zlib header: a reader that stops early never
     * gets to the checksum, so computing it would be wasted time. */
    if (len < 2 || (data[0] & 0x0f) != Z_DEFLATED || (data[0] << 8 | data[1]) % 31 != 0 ||
        (data[1] & 0x20)) {
        free(s->buf);
        snprintf(why, whylen, "%s: not a zlib stream", name);
        return -1;
    }
    s->z.next_in = (Bytef *)(uintptr_t)(data + 2);
    s->z.avail_in = (uInt)(len - 2);
    if (inflateInit2(&s->z, -15) != Z_OK) {
        free(s->buf);
        snprintf(why, whylen, "%s: zlib initialisation failed", name);
        return -1;
    }
    s->zlive = true;
    return 0;
}

static void dsec_close(struct dsec *s)
{
    if (s->zlive)
        inflateEnd(&s->z);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

/* Makes [0, end) readable. */
static bool dsec_need(struct dsec *s, uint64_t end)
{
    if (end <= s->have)
        return true;
    if (end > s->size || !s->zlive)
        return false;
    /* Inflate in steps: a reader goes forward, a little at a time. */
    uint64_t target = end - s->have < INFLATE_STEP ? s->have + INFLATE_STEP : end;
    if (target > s->size)
        target = s->size;
    while (s->have < end) {
        s->z.next_out = s->buf + s->have;
        s->z.avail_out = (uInt)(target - s->have);
        int rc = inflate(&s->z, Z_SYNC_FLUSH);
        uint64_t got = target - s->have - s->z.avail_out;
        s->have += got;
        if (s->have >= end)
            break;
        /* short of end, though there was room: the stream ended early
         * (shorter than its header said), or is corrupt */
        if (!got || rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR))
            return false;
    }
    return true;
}

/* ---- reading -------------------------------------------------------------- */

struct rd {
    struct dsec *s;
    uint64_t pos;
    bool bad;
};

static const uint8_t *take_slow(struct rd *r, uint64_t n)
{
    if (r->bad || n > UINT64_MAX - r->pos || !dsec_need(r->s, r->pos + n)) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->s->p + r->pos;
    r->pos += n;
    return p;
}

/* n bytes at the read position, or NULL (and r->bad) past the end. */
static inline const uint8_t *take(struct rd *r, uint64_t n)
{
    if (!r->bad && r->pos <= r->s->have && n <= r->s->have - r->pos) {
        const uint8_t *p = r->s->p + r->pos;
        r->pos += n;
        return p;
    }
    return take_slow(r, n);
}

static uint64_t fixed(struct rd *r, unsigned n)
{
    const uint8_t *p = take(r, n);
    uint64_t v = 0;
    for (unsigned i = 0; p && i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* LEB128, unsigned or signed. */
static uint64_t leb(struct rd *r, bool sign)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        const uint8_t *p = take(r, 1);
        if (!p)
            return 0;
        if (shift < 64)
            v |= (uint64_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80)) {
            if (sign && shift + 7 < 64 && (*p & 0x40))
                v |= ~0ull << (shift + 7);
            return v;
        }
    }
    r->bad = true;
    return 0;
}

static uint64_t uleb(struct rd *r) { return leb(r, false); }
static int64_t sleb(struct rd *r) { return (int64_t)leb(r, true); }

/* A NUL-terminated string at the read position (contiguous: a section's
 * bytes are one block). */
static const char *cstr(struct rd *r)
{
    uint64_t start = r->pos;
    /* pos < size: pos + 1 cannot wrap */
    while (!r->bad && r->pos < r->s->size && dsec_need(r->s, r->pos + 1)) {
        const uint8_t *nul = memchr(r->s->p + r->pos, 0, r->s->have - r->pos);
        if (nul) {
            r->pos = (uint64_t)(nul - r->s->p) + 1;
            return (const char *)r->s->p + start;
        }
        r->pos = r->s->have;
    }
    r->bad = true;
    return NULL;
}

/* ---- abbreviations ------------------------------------------------------- */

struct attrspec {
    uint64_t name, form;
    int64_t implicit; /* DW_FORM_implicit_const */
};

struct abbrev {
    uint64_t code, tag;
    bool children;
    size_t first, n; /* into the table's specs */
};

struct abbrevs {
    uint64_t offset;
    bool loaded;
    struct abbrev *a;
    size_t n, cap;
    struct attrspec *spec;
    size_t nspec, capspec;
};

#define MAX_ABBREVS 100000

static bool load_abbrevs(struct dsec *sec, uint64_t offset, struct abbrevs *t)
{
    if (t->loaded && t->offset == offset)
        return true;
    t->loaded = false;
    t->n = t->nspec = 0;
    struct rd r = {sec, offset, false};
    for (;;) {
        uint64_t code = uleb(&r);
        if (r.bad || t->n >= MAX_ABBREVS)
            return false;
        if (!code)
            break;
        if (!grow_array((void **)&t->a, &t->cap, t->n + 1, sizeof *t->a))
            return false;
        struct abbrev *ab = &t->a[t->n++];
        ab->code = code;
        ab->tag = uleb(&r);
        const uint8_t *ch = take(&r, 1);
        ab->children = ch && *ch;
        ab->first = t->nspec;
        for (;;) {
            struct attrspec s = {uleb(&r), uleb(&r), 0};
            if (r.bad || t->nspec >= 64 * MAX_ABBREVS)
                return false;
            if (!s.name && !s.form)
                break;
            if (s.form == DW_FORM_implicit_const)
                s.implicit = sleb(&r);
            if (!grow_array((void **)&t->spec, &t->capspec, t->nspec + 1, sizeof *t->spec))
                return false;
            t->spec[t->nspec++] = s;
        }
        ab->n = t->nspec - ab->first;
    }
    t->offset = offset;
    t->loaded = true;
    return true;
}

static const struct abbrev *find_abbrev(const struct abbrevs *t, uint64_t code)
{
    /* Go numbers its abbreviations 1, 2, 3, ... */
    if (code - 1 < t->n && t->a[code - 1].code == code)
        return &t->a[code - 1];
    for (size_t i = 0; i < t->n; i++)
        if (t->a[i].code == code)
            return &t->a[i];
    return NULL;
}

/* ---- attribute values ------------------------------------------------------ */

struct unit {
    unsigned version, addr_size, off_size;
};

enum vkind { V_NONE, V_NUM, V_STR, V_STROFF, V_LINESTROFF, V_BLOCK };

struct value {
    enum vkind kind;
    uint64_t num;
    const char *str;
    const uint8_t *block;
    uint64_t len;
};

/* Bytes of a value of the form when they are fixed; 0 for the others. */
static unsigned fixed_size(uint64_t form, const struct unit *u)
{
    switch (form) {
    case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1:
    case DW_FORM_addrx1:
        return 1;
    case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2:
        return 2;
    case DW_FORM_strx3: case DW_FORM_addrx3:
        return 3;
    case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_ref_sup4: case DW_FORM_strx4:
    case DW_FORM_addrx4:
        return 4;
    case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8:
        return 8;
    case DW_FORM_data16:
        return 16;
    case DW_FORM_addr:
        return u->addr_size;
    case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: case DW_FORM_strp_sup:
    case DW_FORM_GNU_ref_alt: case DW_FORM_GNU_strp_alt:
        return u->off_size;
    case DW_FORM_ref_addr:
        return u->version <= 2 ? u->addr_size : u->off_size;
    default:
        return 0;
    }
}

/* Reads one attribute value of the given form. */
static void read_value(struct rd *r, const struct unit *u, uint64_t form, int64_t implicit,
                       struct value *v)
{
    memset(v, 0, sizeof *v);
    for (int indirect = 0; form == DW_FORM_indirect && indirect < 4; indirect++)
        form = uleb(r);
    unsigned n = fixed_size(form, u);
    if (n > 8) {
        take(r, n);
        return;
    }
    if (n) {
        v->num = fixed(r, n);
        v->kind = form == DW_FORM_strp ? V_STROFF : form == DW_FORM_line_strp ? V_LINESTROFF : V_NUM;
        return;
    }
    switch (form) {
    case DW_FORM_udata: case DW_FORM_ref_udata: case DW_FORM_strx: case DW_FORM_addrx:
    case DW_FORM_loclistx: case DW_FORM_rnglistx: case DW_FORM_GNU_addr_index:
    case DW_FORM_GNU_str_index:
        v->kind = V_NUM, v->num = uleb(r);
        return;
    case DW_FORM_sdata: {
        int64_t s = sleb(r);
        if (s >= 0)
            v->kind = V_NUM, v->num = (uint64_t)s;
        return;
    }
    case DW_FORM_implicit_const:
        if (implicit >= 0)
            v->kind = V_NUM, v->num = (uint64_t)implicit;
        return;
    case DW_FORM_flag_present:
        v->kind = V_NUM, v->num = 1;
        return;
    case DW_FORM_string:
        v->str = cstr(r);
        v->kind = v->str ? V_STR : V_NONE;
        return;
    case DW_FORM_block1: case DW_FORM_block2: case DW_FORM_block4: case DW_FORM_block:
    case DW_FORM_exprloc: {
        uint64_t len = form == DW_FORM_block1   ? fixed(r, 1)
                       : form == DW_FORM_block2 ? fixed(r, 2)
                       : form == DW_FORM_block4 ? fixed(r, 4)
                                                : uleb(r);
        v->block = take(r, len);
        v->len = len;
        v->kind = v->block ? V_BLOCK : V_NONE;
        return;
    }
    default:
        r->bad = true; /* a form we cannot even skip */
    }
}

/* DW_AT_data_member_location: a constant, or DW_OP_plus_uconst N. */
static bool member_location(const struct value *v, uint64_t *off)
{
    if (v->kind == V_NUM) {
        *off = v->num;
        return true;
    }
    if (v->kind == V_BLOCK && v->len >= 2 && v->block[0] == DW_OP_plus_uconst) {
        struct dsec s = {.p = v->block + 1, .have = v->len - 1, .size = v->len - 1};
        struct rd r = {&s, 0, false};
        *off = uleb(&r);
        return !r.bad && r.pos == s.size;
    }
    return false;
}

/* ---- the walk -------------------------------------------------------------- */

struct ctx {
    const struct elfimg *img;
    struct dsec info, abbrev, str, line_str;
    bool str_tried, line_str_tried;
    struct abbrevs ab;
    struct godwarf_want *w;
    size_t nw;
    int names_elsewhere; /* -1: not known yet */
};

static const char *string_of(struct ctx *c, const struct value *v)
{
    if (v->kind == V_STR)
        return v->str;
    if (v->kind != V_STROFF && v->kind != V_LINESTROFF)
        return NULL;
    bool line = v->kind == V_LINESTROFF;
    bool *tried = line ? &c->line_str_tried : &c->str_tried;
    struct dsec *s = line ? &c->line_str : &c->str;
    if (!*tried) {
        char ignored[128];
        *tried = true;
        if (dsec_open(c->img, line ? ".debug_line_str" : ".debug_str", s, ignored,
                      sizeof ignored) != 0)
            memset(s, 0, sizeof *s);
    }
    struct rd r = {s, v->num, false};
    return s->size ? cstr(&r) : NULL;
}

/* Is name (with its NUL) in the section? */
static bool section_has(struct ctx *c, bool line, const char *name)
{
    struct value v = {.kind = line ? V_LINESTROFF : V_STROFF};
    string_of(c, &v); /* opens the section */
    struct dsec *s = line ? &c->line_str : &c->str;
    return s->size && dsec_need(s, s->size) && memmem(s->p, s->size, name, strlen(name) + 1);
}

/* Can the unit whose bytes are [start, end) hold one of the struct types
 * still wanted? A name given inline (DW_FORM_string) is bytes of the
 * unit; when no wanted name is in the string sections either, a unit that
 * does not contain one holds none of the types, and is not parsed. */
static bool may_hold(struct ctx *c, uint64_t start, uint64_t end, const bool *done)
{
    if (c->names_elsewhere < 0) {
        c->names_elsewhere = 0;
        for (size_t i = 0; i < c->nw; i++)
            if (section_has(c, false, c->w[i].type) || section_has(c, true, c->w[i].type))
                c->names_elsewhere = 1;
    }
    if (c->names_elsewhere || !dsec_need(&c->info, end))
        return true;
    /* One pass for the prefix the names share ("runtime."), then each
     * hit's rest: glibc's memmem is slow enough for a pass per name to
     * cost as much as parsing the unit. */
    const char *first = NULL;
    size_t pre = 0;
    for (size_t i = 0; i < c->nw; i++) {
        if (done[i])
            continue;
        if (!first) {
            first = c->w[i].type;
            pre = strlen(first) + 1;
        }
        size_t k = 0;
        while (k < pre && first[k] == c->w[i].type[k])
            k++;
        pre = k;
    }
    const uint8_t *p = c->info.p + start, *e = c->info.p + end;
    if (!first)
        return false;
    if (!pre)
        return true;
    while ((p = memmem(p, (size_t)(e - p), first, pre)) != NULL) {
        for (size_t i = 0; i < c->nw; i++) {
            size_t n = strlen(c->w[i].type) + 1 - pre;
            if (!done[i] && (size_t)(e - p) - pre >= n && !memcmp(p + pre, c->w[i].type + pre, n))
                return true;
        }
        p++;
    }
    return false;
}

/* Types of w not read yet. */
static size_t types_left(const struct ctx *c, const bool *done)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nw; i++)
        n += !done[i];
    return n;
}

/* Walks the DIEs of one unit in [r->pos, end), recording the members of
 * the struct types w names. done[i] is set for every w[i] whose type has
 * been read whole. */
static void walk_unit(struct ctx *c, struct rd *r, uint64_t end, const struct unit *u,
                      bool *done)
{
    int depth = 1;                /* children of the unit's DIE */
    const char *in_type = NULL;   /* the wanted struct whose members are at depth 2 */
    while (!r->bad && r->pos < end && depth > 0 && types_left(c, done)) {
        uint64_t code = uleb(r);
        if (!code) {
            if (--depth == 1 && in_type) {
                for (size_t i = 0; i < c->nw; i++)
                    if (!strcmp(c->w[i].type, in_type))
                        done[i] = true;
                in_type = NULL;
            }
            continue;
        }
        const struct abbrev *ab = find_abbrev(&c->ab, code);
        if (!ab) {
            r->bad = true;
            return;
        }
        const char *name = NULL;
        uint64_t loc = 0;
        bool have_loc = false;
        for (size_t k = 0; k < ab->n && !r->bad; k++) {
            const struct attrspec *s = &c->ab.spec[ab->first + k];
            struct value v;
            read_value(r, u, s->form, s->implicit, &v);
            if (s->name == DW_AT_name)
                name = string_of(c, &v);
            else if (s->name == DW_AT_data_member_location)
                have_loc = member_location(&v, &loc);
        }
        if (depth == 1 && ab->tag == DW_TAG_structure_type && name && ab->children) {
            for (size_t i = 0; i < c->nw && !in_type; i++)
                if (!done[i] && !strcmp(c->w[i].type, name))
                    in_type = c->w[i].type;
        } else if (depth == 2 && in_type && ab->tag == DW_TAG_member && name && have_loc &&
                   loc <= UINT32_MAX) {
            for (size_t i = 0; i < c->nw; i++)
                if (!done[i] && !strcmp(c->w[i].type, in_type) &&
                    !strcmp(c->w[i].member, name)) {
                    c->w[i].off = (uint32_t)loc;
                    c->w[i].found = true;
                }
        }
        if (ab->children)
            depth++;
    }
}

int godwarf_members(const struct elfimg *img, const char *unit, struct godwarf_want *w,
                    size_t nw, char *why, size_t whylen)
{
    struct ctx c = {.img = img, .w = w, .nw = nw, .names_elsewhere = -1};
    bool *done = calloc(nw + 1, sizeof *done);
    int rc = -1;
    for (size_t i = 0; i < nw; i++)
        w[i].found = false;
    if (!done) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    int o = dsec_open(img, ".debug_info", &c.info, why, whylen);
    if (o == 1)
        snprintf(why, whylen, "no DWARF (built with -ldflags=-w or stripped)");
    if (o != 0) {
        rc = o;
        goto out;
    }
    if (dsec_open(img, ".debug_abbrev", &c.abbrev, why, whylen) != 0) {
        snprintf(why, whylen, "DWARF without .debug_abbrev");
        goto out;
    }
    uint64_t off = 0;
    struct rd r = {&c.info, 0, false};
    while (types_left(&c, done) && off < c.info.size) {
        r.pos = off;
        r.bad = false;
        struct unit u = {.off_size = 4};
        uint64_t len = fixed(&r, 4);
        if (len == 0xffffffffu) {
            len = fixed(&r, 8);
            u.off_size = 8;
        } else if (len >= 0xfffffff0u) {
            r.bad = true;
        }
        if (r.bad || len > c.info.size - r.pos) {
            snprintf(why, whylen, "DWARF unit at %#llx runs past .debug_info",
                     (unsigned long long)off);
            goto out;
        }
        uint64_t next = r.pos + len, abbrev_off;
        u.version = (unsigned)fixed(&r, 2);
        off = next;
        if (u.version < 2 || u.version > 5)
            continue;
        if (u.version >= 5) {
            unsigned type = (unsigned)fixed(&r, 1);
            u.addr_size = (unsigned)fixed(&r, 1);
            abbrev_off = fixed(&r, u.off_size);
            if (type != DW_UT_compile && type != DW_UT_partial)
                continue; /* type and split units: nothing of ours */
        } else {
            abbrev_off = fixed(&r, u.off_size);
            u.addr_size = (unsigned)fixed(&r, 1);
        }
        if (r.bad || (u.addr_size != 4 && u.addr_size != 8) ||
            !load_abbrevs(&c.abbrev, abbrev_off, &c.ab))
            continue; /* a unit we cannot read is not the runtime's */
        /* The unit's own DIE: is it the package asked for? */
        const struct abbrev *ab = find_abbrev(&c.ab, uleb(&r));
        if (!ab || (ab->tag != DW_TAG_compile_unit && ab->tag != DW_TAG_partial_unit) ||
            !ab->children)
            continue;
        const char *name = NULL;
        for (size_t k = 0; k < ab->n && !r.bad; k++) {
            const struct attrspec *s = &c.ab.spec[ab->first + k];
            struct value v;
            read_value(&r, &u, s->form, s->implicit, &v);
            if (s->name == DW_AT_name)
                name = string_of(&c, &v);
        }
        if (r.bad || !name || strcmp(name, unit) != 0 || !may_hold(&c, r.pos, next, done))
            continue;
        walk_unit(&c, &r, next, &u, done);
        if (r.bad) {
            snprintf(why, whylen, "unreadable DWARF in the %s unit at %#llx", unit,
                     (unsigned long long)(next - len));
            goto out;
        }
    }
    rc = 0;
    for (size_t i = 0; i < nw && !rc; i++)
        if (!done[i]) {
            snprintf(why, whylen, "DWARF has no struct %s", w[i].type);
            rc = -1;
        }
out:
    dsec_close(&c.info);
    dsec_close(&c.abbrev);
    dsec_close(&c.str);
    dsec_close(&c.line_str);
    free(c.ab.a);
    free(c.ab.spec);
    free(done);
    return rc;
}
