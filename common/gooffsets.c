#include "gooffsets.h"

#include <stdio.h>
#include <string.h>

#include "godwarf.h"

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

bool gooffsets_from_dwarf(const struct elfimg *img, struct go_offsets *o, char *why,
                          size_t whylen)
{
    enum { STACK, LO, HI, M, SCHED, SP, PC, BP, SYSSP, SYSPC, SYSBP, GOID, G0, CURG, GSIGNAL,
           VDSOSP, VDSOPC, N };
    struct godwarf_want w[N] = {
        [STACK] = {"runtime.g", "stack", 0, 0},     [LO] = {"runtime.stack", "lo", 0, 0},
        [HI] = {"runtime.stack", "hi", 0, 0},       [M] = {"runtime.g", "m", 0, 0},
        [SCHED] = {"runtime.g", "sched", 0, 0},     [SP] = {"runtime.gobuf", "sp", 0, 0},
        [PC] = {"runtime.gobuf", "pc", 0, 0},       [BP] = {"runtime.gobuf", "bp", 0, 0},
        [SYSSP] = {"runtime.g", "syscallsp", 0, 0}, [SYSPC] = {"runtime.g", "syscallpc", 0, 0},
        [SYSBP] = {"runtime.g", "syscallbp", 0, 0}, [GOID] = {"runtime.g", "goid", 0, 0},
        [G0] = {"runtime.m", "g0", 0, 0},           [CURG] = {"runtime.m", "curg", 0, 0},
        [GSIGNAL] = {"runtime.m", "gsignal", 0, 0}, [VDSOSP] = {"runtime.m", "vdsoSP", 0, 0},
        [VDSOPC] = {"runtime.m", "vdsoPC", 0, 0},
    };
    if (godwarf_members(img, "runtime", w, N, why, whylen) != 0)
        return false;
    /* Everything but syscallbp (new in 1.23) and the vDSO fields must be
     * there, or the layout is not one we understand. */
    for (int i = 0; i < N; i++)
        if (!w[i].found && i != SYSBP && i != VDSOSP && i != VDSOPC) {
            snprintf(why, whylen, "DWARF of %s has no %s", w[i].type, w[i].member);
            return false;
        }
    memset(o, 0, sizeof *o);
    o->source = "DWARF";
    o->g_stack_lo = w[STACK].off + w[LO].off;
    o->g_stack_hi = w[STACK].off + w[HI].off;
    o->g_m = w[M].off;
    o->g_sched_sp = w[SCHED].off + w[SP].off;
    o->g_sched_pc = w[SCHED].off + w[PC].off;
    o->g_sched_bp = w[SCHED].off + w[BP].off;
    o->g_syscallsp = w[SYSSP].off;
    o->g_syscallpc = w[SYSPC].off;
    o->g_syscallbp = w[SYSBP].found ? w[SYSBP].off : 0;
    o->g_goid = w[GOID].off;
    o->m_g0 = w[G0].off;
    o->m_curg = w[CURG].off;
    o->m_gsignal = w[GSIGNAL].off;
    if (w[VDSOSP].found && w[VDSOPC].found) {
        o->m_vdsosp = w[VDSOSP].off;
        o->m_vdsopc = w[VDSOPC].off;
    }
    return true;
}

bool gooffsets_load(const struct elfimg *img, int release, struct go_offsets *o, char *why,
                    size_t whylen)
{
    char dw[200];
    if (gooffsets_from_dwarf(img, o, dw, sizeof dw) || gooffsets_from_table(release, o))
        return true;
    memset(o, 0, sizeof *o);
    snprintf(why, whylen, "%s", dw);
    return false;
}
