/* The runtime's g/m offsets: the built-in table against the DWARF of real
 * binaries of every release (gooffsets_dwarf.txt), and the DWARF reader
 * (common/godwarf.c) on small synthetic files: DWARF 4 and 5, 32- and
 * 64-bit units, plain, SHF_COMPRESSED and .zdebug sections, names inline
 * or in .debug_str, and files cut or spoiled anywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dwarf.h>
#include <elf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bytebuf.h"
#include "elfimage.h"
#include "godwarf.h"
#include "gooffsets.h"
#include "synth_elf.h"
#include "tmpdir.h"

/* ---- the table against gooffsets_dwarf.txt -------------------------------- */

static const struct {
    const char *name;
    size_t off;
} COLUMNS[] = {
    {"g.stack.lo", offsetof(struct go_offsets, g_stack_lo)},
    {"g.stack.hi", offsetof(struct go_offsets, g_stack_hi)},
    {"g.m", offsetof(struct go_offsets, g_m)},
    {"g.sched.sp", offsetof(struct go_offsets, g_sched_sp)},
    {"g.sched.pc", offsetof(struct go_offsets, g_sched_pc)},
    {"g.sched.bp", offsetof(struct go_offsets, g_sched_bp)},
    {"g.syscallsp", offsetof(struct go_offsets, g_syscallsp)},
    {"g.syscallpc", offsetof(struct go_offsets, g_syscallpc)},
    {"g.syscallbp", offsetof(struct go_offsets, g_syscallbp)},
    {"g.goid", offsetof(struct go_offsets, g_goid)},
    {"m.g0", offsetof(struct go_offsets, m_g0)},
    {"m.curg", offsetof(struct go_offsets, m_curg)},
    {"m.gsignal", offsetof(struct go_offsets, m_gsignal)},
    {"m.vdsoSP", offsetof(struct go_offsets, m_vdsosp)},
    {"m.vdsoPC", offsetof(struct go_offsets, m_vdsopc)},
};
#define NCOL (sizeof COLUMNS / sizeof *COLUMNS)

static uint32_t field(const struct go_offsets *o, size_t col)
{
    uint32_t v;
    memcpy(&v, (const char *)o + COLUMNS[col].off, sizeof v);
    return v;
}

/* The fixture sits next to this file: found from the source path the
 * compiler saw (relative to the tree's top, where make runs) or from the
 * test binary (build/tests/). */
static FILE *open_fixture(void)
{
    char path[PATH_MAX + 64], exe[PATH_MAX];
    const char *src = __FILE__, *slash = strrchr(src, '/');
    snprintf(path, sizeof path, "%.*s/gooffsets_dwarf.txt", slash ? (int)(slash - src) : 1,
             slash ? src : ".");
    FILE *f = fopen(path, "r");
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (!f && n > 0) {
        exe[n] = 0;
        char *s = strrchr(exe, '/');
        if (s) {
            *s = 0;
            snprintf(path, sizeof path, "%s/../../tests/unit/gooffsets_dwarf.txt", exe);
            f = fopen(path, "r");
        }
    }
    if (!f)
        fail_msg("cannot find tests/unit/gooffsets_dwarf.txt (run from the top of the tree)");
    return f;
}

static void test_table_matches_dwarf_of_every_release(void **state)
{
    (void)state;
    FILE *f = open_fixture();
    char line[1024];
    bool seen[200] = {0};
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char *save, *tok = strtok_r(line, " \t\n", &save);
        if (!tok || tok[0] == '#')
            continue;
        int major, minor;
        if (sscanf(tok, "go%d.%d", &major, &minor) != 2 || major != 1 || minor < 0 ||
            minor >= 100)
            fail_msg("fixture: bad release \"%s\"", tok);
        int release = 100 * major + minor;
        struct go_offsets o;
        if (!gooffsets_from_table(release, &o))
            fail_msg("%s: the table has no row for it", tok);
        for (size_t c = 0; c < NCOL; c++) {
            char *v = strtok_r(NULL, " \t\n", &save), *end;
            if (!v)
                fail_msg("fixture: %s has %zu columns, want %zu", tok, c, NCOL);
            unsigned long want = strtoul(v, &end, 0);
            if (*end)
                fail_msg("fixture: %s: bad number \"%s\"", tok, v);
            if (field(&o, c) != want)
                fail_msg("%s %s: the table says %#x, the binary's DWARF %#lx", tok,
                         COLUMNS[c].name, field(&o, c), want);
        }
        seen[release - 100] = true;
        rows++;
    }
    fclose(f);
    assert_true(rows >= 9);
    /* The table covers exactly the releases checked here. */
    for (int r = 100; r < 200; r++) {
        struct go_offsets o;
        if (gooffsets_from_table(r, &o) != seen[r - 100])
            fail_msg("go1.%d: %s", r - 100,
                     seen[r - 100] ? "in the fixture, not in the table"
                                   : "in the table, but not checked by the fixture");
    }
}

/* ---- synthetic DWARF ------------------------------------------------------- */

#define buf bytebuf /* the test's byte buffers */

static void put(struct buf *b, const void *p, size_t n) { bytebuf_put(b, p, n); }
static void u8(struct buf *b, uint64_t v) { uint8_t x = (uint8_t)v; put(b, &x, 1); }
static void u16(struct buf *b, uint64_t v) { uint16_t x = (uint16_t)v; put(b, &x, 2); }
static void u32(struct buf *b, uint64_t v) { uint32_t x = (uint32_t)v; put(b, &x, 4); }
static void u64(struct buf *b, uint64_t v) { put(b, &v, 8); }
static void str(struct buf *b, const char *s) { put(b, s, strlen(s) + 1); }
static void uleb(struct buf *b, uint64_t v) { bytebuf_uvarint(b, v); }
/* A section offset: 4 or 8 bytes, as the unit is 32- or 64-bit DWARF. */
static void off(struct buf *b, bool dwarf64, uint64_t v)
{
    if (dwarf64)
        u64(b, v);
    else
        u32(b, v);
}

enum { A_CU = 1, A_STRUCT, A_MEMBER, A_MEMBER_EXPR, A_FUNC, A_VAR, A_STRUCT_STRP, A_WEIRD,
       A_CONST };

struct variant {
    int version;      /* 4 or 5 */
    bool dwarf64;     /* 64-bit units */
    int storage;      /* 0 plain, 1 SHF_COMPRESSED, 2 .zdebug */
    bool strp_names;  /* struct names in .debug_str */
    bool split;       /* runtime.m in a second runtime unit */
    bool no_m;        /* leave runtime.m out */
    bool weird_form;  /* an attribute of an unknown form in the runtime unit */
};

/* code, tag, children, then (attribute, form) pairs; form
 * DW_FORM_implicit_const takes its value as a third number. */
static const uint64_t ABBREVS[][12] = {
    {A_CU, DW_TAG_compile_unit, 1, DW_AT_producer, DW_FORM_strp, DW_AT_name, DW_FORM_string,
     DW_AT_low_pc, DW_FORM_addr},
    {A_STRUCT, DW_TAG_structure_type, 1, DW_AT_name, DW_FORM_string, DW_AT_byte_size,
     DW_FORM_udata},
    {A_MEMBER, DW_TAG_member, 0, DW_AT_name, DW_FORM_string, DW_AT_data_member_location,
     DW_FORM_udata, DW_AT_type, DW_FORM_ref_addr},
    {A_MEMBER_EXPR, DW_TAG_member, 0, DW_AT_name, DW_FORM_string, DW_AT_data_member_location,
     DW_FORM_exprloc},
    {A_FUNC, DW_TAG_subprogram, 1, DW_AT_name, DW_FORM_string, DW_AT_low_pc, DW_FORM_addr,
     DW_AT_frame_base, DW_FORM_block1, DW_AT_external, DW_FORM_flag_present},
    {A_VAR, DW_TAG_variable, 0, DW_AT_name, DW_FORM_string, DW_AT_location, DW_FORM_sec_offset,
     DW_AT_decl_line, DW_FORM_sdata, DW_AT_type, DW_FORM_ref4},
    {A_STRUCT_STRP, DW_TAG_structure_type, 1, DW_AT_name, DW_FORM_strp},
    {A_WEIRD, DW_TAG_variable, 0, DW_AT_name, 0x7e /* no such form */},
    {A_CONST, DW_TAG_constant, 0, DW_AT_name, DW_FORM_string, DW_AT_const_value, DW_FORM_data2},
};

static void abbrevs(struct buf *a, const struct variant *v)
{
    for (size_t i = 0; i < sizeof ABBREVS / sizeof *ABBREVS; i++) {
        const uint64_t *e = ABBREVS[i];
        uleb(a, e[0]), uleb(a, e[1]), u8(a, e[2]);
        for (size_t k = 3; k + 1 < 12 && e[k]; k += 2) {
            uint64_t form = e[k + 1];
            /* DWARF 5 variants: names in .debug_line_str, a constant in
             * the abbreviation itself */
            if (v->version >= 5 && e[0] == A_STRUCT_STRP)
                form = DW_FORM_line_strp;
            if (v->version >= 5 && e[0] == A_CONST && e[k] == DW_AT_const_value)
                form = DW_FORM_implicit_const;
            uleb(a, e[k]), uleb(a, form);
            if (form == DW_FORM_implicit_const)
                uleb(a, 0x7f); /* sleb -1 */
        }
        uleb(a, 0), uleb(a, 0);
    }
    uleb(a, 0);
}

struct member {
    const char *name;
    uint32_t off;
};

static void a_struct(struct buf *b, const struct variant *v, struct buf *strs, const char *name,
                     const struct member *m, size_t n)
{
    if (v->strp_names) {
        uleb(b, A_STRUCT_STRP), off(b, v->dwarf64, strs->len);
        str(strs, name);
    } else {
        uleb(b, A_STRUCT), str(b, name), uleb(b, 0x100);
    }
    for (size_t i = 0; i < n; i++) {
        if (i % 2) { /* every other member located by DW_OP_plus_uconst */
            struct buf e = {0};
            u8(&e, DW_OP_plus_uconst), uleb(&e, m[i].off);
            uleb(b, A_MEMBER_EXPR), str(b, m[i].name), uleb(b, e.len), put(b, e.p, e.len);
            bytebuf_free(&e);
        } else {
            uleb(b, A_MEMBER), str(b, m[i].name), uleb(b, m[i].off), off(b, v->dwarf64, 0x1234);
        }
    }
    u8(b, 0);
}

static const struct member G[] = {{"stack", 0}, {"m", 0x30}, {"sched", 0x38}, {"syscallsp", 0x70},
                                  {"syscallpc", 0x78}, {"goid", 0x98}, {"labels", 0x168}};
static const struct member M[] = {{"g0", 0}, {"procid", 0x48}, {"gsignal", 0x50}, {"curg", 0xc0},
                                  {"vdsoSP", 0x320}, {"vdsoPC", 0x328}};
static const struct member GOBUF[] = {{"sp", 0}, {"pc", 8}, {"g", 0x10}, {"bp", 0x30}};
static const struct member STACK[] = {{"lo", 0}, {"hi", 8}};
/* decoys: the same names in a unit that is not the runtime's */
static const struct member DECOY[] = {{"goid", 0x777}, {"curg", 0x777}};

/* One unit: header for the variant, the unit's DIE named name, body. */
static void unit(struct buf *info, const struct variant *v, const char *name,
                 const struct buf *body)
{
    struct buf u = {0};
    u16(&u, (uint64_t)v->version);
    if (v->version >= 5)
        u8(&u, DW_UT_compile), u8(&u, 8), off(&u, v->dwarf64, 0);
    else
        off(&u, v->dwarf64, 0), u8(&u, 8);
    uleb(&u, A_CU), off(&u, v->dwarf64, 0), str(&u, name), u64(&u, 0x401000);
    put(&u, body->p, body->len);
    u8(&u, 0);
    if (v->dwarf64)
        u32(info, 0xffffffffu), u64(info, u.len);
    else
        u32(info, u.len);
    put(info, u.p, u.len);
    bytebuf_free(&u);
}

static void dwarf_of(const struct variant *v, struct buf *info, struct buf *abbrev,
                     struct buf *strs)
{
    memset(info, 0, sizeof *info);
    memset(abbrev, 0, sizeof *abbrev);
    memset(strs, 0, sizeof *strs);
    str(strs, "producer");
    abbrevs(abbrev, v);
    struct buf b = {0};
    /* another package first, with decoy structs of the runtime's names */
    a_struct(&b, v, strs, "runtime.g", DECOY, 1);
    a_struct(&b, v, strs, "runtime.m", DECOY + 1, 1);
    unit(info, v, "main", &b);
    b.len = 0;
    /* the runtime: code first (a function with a variable named like a
     * type), then the types */
    uleb(&b, A_FUNC), str(&b, "runtime.main"), u64(&b, 0x401000), u8(&b, 1), u8(&b, 0x9c);
    uleb(&b, A_VAR), str(&b, "runtime.g"), off(&b, v->dwarf64, 0x40);
    u8(&b, 0x7f), u32(&b, 0x10); /* sdata -1, ref4 */
    uleb(&b, A_CONST), str(&b, "runtime.stackGuard");
    if (v->version < 5)
        u16(&b, 928);
    if (v->weird_form)
        uleb(&b, A_WEIRD), u8(&b, 1), u8(&b, 2);
    u8(&b, 0);
    a_struct(&b, v, strs, "runtime.stack", STACK, 2);
    a_struct(&b, v, strs, "runtime.g", G, 7);
    a_struct(&b, v, strs, "runtime.gobuf", GOBUF, 4);
    if (!v->split && !v->no_m)
        a_struct(&b, v, strs, "runtime.m", M, 6);
    unit(info, v, "runtime", &b);
    if (v->split && !v->no_m) {
        b.len = 0;
        a_struct(&b, v, strs, "runtime.m", M, 6);
        unit(info, v, "runtime", &b);
    }
    bytebuf_free(&b);
}

/* ---- a small ELF file around the sections ----------------------------------- */

struct sec {
    const char *name;
    const uint8_t *p;
    size_t n;
    uint64_t flags;
};

static const char *write_elf(const struct sec *s, size_t n)
{
    static char path[128];
    static int seq;
    snprintf(path, sizeof path, "%s/f%d", tmpdir, seq++);
    struct buf f = {0}, shstr = {0};
    Elf64_Ehdr eh = {0};
    put(&f, &eh, sizeof eh);
    Elf64_Shdr sh[8] = {{0}};
    u8(&shstr, 0);
    for (size_t i = 0; i < n; i++) {
        sh[i + 1] = (Elf64_Shdr){.sh_name = (Elf64_Word)shstr.len, .sh_type = SHT_PROGBITS,
                                 .sh_flags = s[i].flags, .sh_offset = f.len, .sh_size = s[i].n,
                                 .sh_addralign = 1};
        str(&shstr, s[i].name);
        put(&f, s[i].p, s[i].n);
    }
    sh[n + 1] = (Elf64_Shdr){.sh_name = (Elf64_Word)shstr.len, .sh_type = SHT_STRTAB,
                             .sh_offset = f.len, .sh_size = 0, .sh_addralign = 1};
    str(&shstr, ".shstrtab");
    sh[n + 1].sh_size = shstr.len;
    put(&f, shstr.p, shstr.len);
    while (f.len % 8)
        u8(&f, 0);
    Elf64_Ehdr *e = (Elf64_Ehdr *)f.p;
    synth_elf_header(e);
    e->e_shnum = (Elf64_Half)(n + 2);
    e->e_shstrndx = (Elf64_Half)(n + 1);
    e->e_shoff = f.len;
    put(&f, sh, (n + 2) * sizeof *sh);
    assert_int_equal(synth_write_file(path, f.p, f.len), 0);
    free(f.p);
    free(shstr.p);
    return path;
}

/* The section as stored: plain, with an ELF compression header, or GNU's
 * "ZLIB" + big-endian size. */
static struct buf stored(const struct buf *b, int storage)
{
    struct buf out = {0};
    if (storage == 0) {
        put(&out, b->p, b->len);
        return out;
    }
    uLongf zn = compressBound(b->len);
    uint8_t *z = malloc(zn);
    assert_int_equal(compress(z, &zn, b->p, b->len), Z_OK);
    if (storage == 1) {
        Elf64_Chdr ch = {.ch_type = ELFCOMPRESS_ZLIB, .ch_size = b->len, .ch_addralign = 1};
        put(&out, &ch, sizeof ch);
    } else {
        put(&out, "ZLIB", 4);
        for (int i = 7; i >= 0; i--)
            u8(&out, (uint64_t)b->len >> (8 * i));
    }
    put(&out, z, zn);
    free(z);
    return out;
}

static const char *file_of(const struct variant *v)
{
    struct buf info, abbrev, strs;
    dwarf_of(v, &info, &abbrev, &strs);
    struct buf si = stored(&info, v->storage), sa = stored(&abbrev, v->storage),
                ss = stored(&strs, v->storage);
    bool z = v->storage == 2;
    uint64_t fl = v->storage == 1 ? SHF_COMPRESSED : 0;
    struct sec s[] = {
        {z ? ".zdebug_abbrev" : ".debug_abbrev", sa.p, sa.len, fl},
        {z ? ".zdebug_info" : ".debug_info", si.p, si.len, fl},
        {v->version >= 5 ? (z ? ".zdebug_line_str" : ".debug_line_str")
                         : (z ? ".zdebug_str" : ".debug_str"),
         ss.p, ss.len, fl},
    };
    const char *path = write_elf(s, 3);
    free(info.p), free(abbrev.p), free(strs.p), free(si.p), free(sa.p), free(ss.p);
    return path;
}

static int offsets_of(const char *path, struct go_offsets *o, char *why, size_t whylen)
{
    struct elfimg img;
    if (elfimg_open(&img, path, why, whylen) != 0)
        fail_msg("%s", why);
    int ok = gooffsets_from_dwarf(&img, o, why, whylen);
    elfimg_close(&img);
    return ok;
}

static void check_variant(const struct variant *v)
{
    struct go_offsets o;
    char why[256] = "";
    if (!offsets_of(file_of(v), &o, why, sizeof why))
        fail_msg("version %d, %s, storage %d, strp %d, split %d: %s", v->version,
                 v->dwarf64 ? "64-bit" : "32-bit", v->storage, v->strp_names, v->split, why);
    assert_string_equal(o.source, "DWARF");
    /* as the synthetic types say: sums for g.stack and g.sched, no
     * syscallbp (absent before 1.23) */
    static const uint32_t want[NCOL] = {0, 8, 0x30, 0x38, 0x40, 0x68, 0x70, 0x78, 0, 0x98,
                                        0, 0xc0, 0x50, 0x320, 0x328};
    for (size_t c = 0; c < NCOL; c++)
        if (field(&o, c) != want[c])
            fail_msg("%s: %#x, want %#x", COLUMNS[c].name, field(&o, c), want[c]);
}

static void test_dwarf_variants(void **state)
{
    (void)state;
    for (int version = 4; version <= 5; version++)
        for (int d64 = 0; d64 <= 1; d64++)
            for (int storage = 0; storage <= 2; storage++)
                for (int strp = 0; strp <= 1; strp++)
                    for (int split = 0; split <= 1; split++) {
                        struct variant v = {version, d64, storage, strp, split, false, false};
                        check_variant(&v);
                    }
}

static void expect_error(const char *path, const char *want)
{
    struct go_offsets o;
    char why[256] = "";
    if (offsets_of(path, &o, why, sizeof why))
        fail_msg("read offsets from a file that should fail with \"%s\"", want);
    if (!strstr(why, want))
        fail_msg("error \"%s\", want one mentioning \"%s\"", why, want);
}

static void test_dwarf_errors(void **state)
{
    (void)state;
    struct sec none[] = {{".text", (const uint8_t *)"\xc3", 1, 0}};
    expect_error(write_elf(none, 1), "no DWARF");
    struct variant v = {.version = 5, .no_m = true};
    expect_error(file_of(&v), "no struct runtime.m");
    v = (struct variant){.version = 4, .weird_form = true};
    expect_error(file_of(&v), "unreadable DWARF in the runtime unit");
    /* a zlib stream spoiled in the middle */
    struct buf info, abbrev, strs;
    v = (struct variant){.version = 5, .storage = 1};
    dwarf_of(&v, &info, &abbrev, &strs);
    struct buf si = stored(&info, 1), sa = stored(&abbrev, 1);
    for (size_t i = sizeof(Elf64_Chdr) + 8; i < si.len; i += 3)
        si.p[i] ^= 0x55;
    struct sec s[] = {{".debug_abbrev", sa.p, sa.len, SHF_COMPRESSED},
                      {".debug_info", si.p, si.len, SHF_COMPRESSED}};
    struct go_offsets o;
    char why[256];
    assert_false(offsets_of(write_elf(s, 2), &o, why, sizeof why));
    free(info.p), free(abbrev.p), free(strs.p), free(si.p), free(sa.p);
}

/* .debug_info cut at every length, plain and compressed, and every byte
 * of it changed: an error or the right answer, never a crash or a read
 * out of bounds (make asan runs this under AddressSanitizer). */
static void test_dwarf_cut_and_spoiled(void **state)
{
    (void)state;
    for (int storage = 0; storage <= 1; storage++) {
        struct variant v = {.version = 5, .storage = storage};
        struct buf info, abbrev, strs;
        dwarf_of(&v, &info, &abbrev, &strs);
        struct buf sa = stored(&abbrev, storage);
        uint64_t fl = storage ? SHF_COMPRESSED : 0;
        for (size_t cut = 0; cut <= info.len; cut++) {
            struct buf part = {info.p, cut, cut, false}, si = stored(&part, storage);
            struct sec s[] = {{".debug_abbrev", sa.p, sa.len, fl},
                              {".debug_info", si.p, si.len, fl}};
            struct go_offsets o;
            char why[256];
            bool ok = offsets_of(write_elf(s, 2), &o, why, sizeof why);
            if (ok && cut < info.len)
                assert_int_equal(o.m_curg, 0xc0); /* all it needs came before the cut */
            free(si.p);
        }
        for (size_t i = 0; !storage && i < info.len; i++) {
            struct buf bad = {0};
            put(&bad, info.p, info.len);
            bad.p[i] ^= 0xff;
            struct sec s[] = {{".debug_abbrev", sa.p, sa.len, 0}, {".debug_info", bad.p, bad.len, 0}};
            struct go_offsets o;
            char why[256];
            offsets_of(write_elf(s, 2), &o, why, sizeof why);
            free(bad.p);
        }
        free(info.p), free(abbrev.p), free(strs.p), free(sa.p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_dwarf_of_every_release),
        cmocka_unit_test(test_dwarf_variants),
        cmocka_unit_test(test_dwarf_errors),
        cmocka_unit_test(test_dwarf_cut_and_spoiled),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
