/* The runtime's g/m offsets: the built-in table against the DWARF of real
 * binaries of every release (gooffsets_dwarf.txt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gooffsets.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_dwarf_of_every_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
