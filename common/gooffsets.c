#include "gooffsets.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* linux/amd64, for binaries without DWARF (-ldflags=-w). Every row is
 * what the DWARF of a cgo program built by that release says: the unit
 * test test_gooffsets compares the table with tests/unit/gooffsets_dwarf.txt
 * (go1.18.10 through go1.26.8), and tests/e2e with the DWARF of the
 * workloads built by the toolchains on the machine. */
struct row {
    int first, last; /* releases the row covers */
    struct go_offsets o;
};

#define G_COMMON .g_stack_lo = 0x00, .g_stack_hi = 0x08, .g_m = 0x30, .g_sched_sp = 0x38, \
                 .g_sched_pc = 0x40, .m_g0 = 0x00

static const struct row table[] = {
    {118, 122, {"table go1.18-1.22", G_COMMON, .g_sched_bp = 0x68, .g_syscallsp = 0x70,
                .g_syscallpc = 0x78, .g_syscallbp = 0, .g_goid = 0x98, .m_curg = 0xc0,
                .m_gsignal = 0x50, .m_vdsosp = 0, .m_vdsopc = 0}},
    {123, 124, {"table go1.23-1.24", G_COMMON, .g_sched_bp = 0x68, .g_syscallsp = 0x70,
                .g_syscallpc = 0x78, .g_syscallbp = 0x80, .g_goid = 0xa0, .m_curg = 0xc0,
                .m_gsignal = 0x50, .m_vdsosp = 0, .m_vdsopc = 0}},
    {125, 126, {"table go1.25-1.26", G_COMMON, .g_sched_bp = 0x60, .g_syscallsp = 0x68,
                .g_syscallpc = 0x70, .g_syscallbp = 0x78, .g_goid = 0x98, .m_curg = 0xb8,
                .m_gsignal = 0x48, .m_vdsosp = 0, .m_vdsopc = 0}},
};

/* m.vdsoSP/vdsoPC sit behind m's TLS array and other fields whose size
 * changes between releases (m.mLockProfile in 1.22): one pair a release. */
static const struct {
    int release;
    uint32_t sp, pc;
} vdso[] = {
    {118, 0x320, 0x328}, {119, 0x320, 0x328}, {120, 0x320, 0x328},
    {121, 0x328, 0x330}, {122, 0x460, 0x468}, {123, 0x370, 0x378},
    {124, 0x388, 0x390}, {125, 0x380, 0x388}, {126, 0x380, 0x388},
};

static void vdso_offsets(int release, struct go_offsets *o)
{
    for (size_t i = 0; i < sizeof vdso / sizeof *vdso; i++)
        if (vdso[i].release == release) {
            o->m_vdsosp = vdso[i].sp;
            o->m_vdsopc = vdso[i].pc;
        }
}

bool gooffsets_from_table(int release, struct go_offsets *o)
{
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        if (release >= table[i].first && release <= table[i].last) {
            *o = table[i].o;
            vdso_offsets(release, o);
            return true;
        }
    }
    return false;
}

/* ---- DWARF ------------------------------------------------------------ */
struct want {
    const char *name;
    uint32_t *out;
    bool found;
};

static bool member_offset(Dwarf_Die *m, Dwarf_Word *off)
{
    Dwarf_Attribute a;
    return dwarf_attr(m, DW_AT_data_member_location, &a) && dwarf_formudata(&a, off) == 0;
}

/* Offsets of the named members of struct die into w[]; a member that is
 * itself a struct (g.sched, g.stack) is looked into through `inner`. */
static void read_members(Dwarf *dw, Dwarf_Die *st, struct want *w, size_t nw, uint32_t base,
                         const char *prefix)
{
    Dwarf_Die m;
    if (dwarf_child(st, &m) != 0)
        return;
    do {
        const char *name = dwarf_diename(&m);
        Dwarf_Word off;
        if (!name || dwarf_tag(&m) != DW_TAG_member || !member_offset(&m, &off))
            continue;
        char full[96];
        snprintf(full, sizeof full, "%s%s", prefix, name);
        for (size_t i = 0; i < nw; i++) {
            if (!strcmp(w[i].name, full)) {
                *w[i].out = base + (uint32_t)off;
                w[i].found = true;
            }
        }
        if (!strcmp(name, "sched") || !strcmp(name, "stack")) {
            Dwarf_Attribute ta;
            Dwarf_Die type;
            bool ok = dwarf_attr(&m, DW_AT_type, &ta) && dwarf_formref_die(&ta, &type);
            /* Go names these types through a typedef (runtime.stack) */
            for (int hops = 0; ok && dwarf_tag(&type) == DW_TAG_typedef && hops < 8; hops++)
                ok = dwarf_attr(&type, DW_AT_type, &ta) && dwarf_formref_die(&ta, &type);
            if (ok) {
                char p[64];
                snprintf(p, sizeof p, "%s%s.", prefix, name);
                read_members(dw, &type, w, nw, base + (uint32_t)off, p);
            }
        }
    } while (dwarf_siblingof(&m, &m) == 0);
}

bool gooffsets_from_dwarf(const char *path, struct go_offsets *o, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "cannot open %s", path);
        return false;
    }
    Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
    if (!dw) {
        snprintf(why, whylen, "no DWARF (built with -ldflags=-w or stripped)");
        close(fd);
        return false;
    }
    memset(o, 0, sizeof *o);
    struct want g[] = {
        {"stack.lo", &o->g_stack_lo, 0},     {"stack.hi", &o->g_stack_hi, 0},
        {"m", &o->g_m, 0},                   {"sched.sp", &o->g_sched_sp, 0},
        {"sched.pc", &o->g_sched_pc, 0},     {"sched.bp", &o->g_sched_bp, 0},
        {"syscallsp", &o->g_syscallsp, 0},   {"syscallpc", &o->g_syscallpc, 0},
        {"syscallbp", &o->g_syscallbp, 0},   {"goid", &o->g_goid, 0},
    };
    struct want m[] = {
        {"g0", &o->m_g0, 0},         {"curg", &o->m_curg, 0},     {"gsignal", &o->m_gsignal, 0},
        {"vdsoSP", &o->m_vdsosp, 0}, {"vdsoPC", &o->m_vdsopc, 0},
    };
    bool have_g = false, have_m = false;
    Dwarf_Off off = 0, next;
    size_t hsize;
    /* Only the runtime's compile unit declares runtime.g and runtime.m. */
    while (!(have_g && have_m) && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu, d;
        const char *cn;
        if (dwarf_offdie(dw, off + hsize, &cu) && (cn = dwarf_diename(&cu)) &&
            !strcmp(cn, "runtime") && dwarf_child(&cu, &d) == 0) {
            do {
                const char *n = dwarf_diename(&d);
                if (dwarf_tag(&d) != DW_TAG_structure_type || !n)
                    continue;
                if (!have_g && !strcmp(n, "runtime.g")) {
                    read_members(dw, &d, g, sizeof g / sizeof *g, 0, "");
                    have_g = true;
                } else if (!have_m && !strcmp(n, "runtime.m")) {
                    read_members(dw, &d, m, sizeof m / sizeof *m, 0, "");
                    have_m = true;
                }
            } while (dwarf_siblingof(&d, &d) == 0);
        }
        off = next;
    }
    dwarf_end(dw);
    close(fd);
    /* Everything but syscallbp (new in 1.23) and the vdso fields must be
     * there, or the layout is not one we understand. */
    for (size_t i = 0; i < sizeof g / sizeof *g; i++)
        if (!g[i].found && strcmp(g[i].name, "syscallbp") != 0) {
            snprintf(why, whylen, "DWARF of runtime.g has no %s", g[i].name);
            return false;
        }
    for (size_t i = 0; i < 3; i++)
        if (!m[i].found) {
            snprintf(why, whylen, "DWARF of runtime.m has no %s", m[i].name);
            return false;
        }
    o->source = "DWARF";
    return true;
}
