#define _GNU_SOURCE
#include "goinfo.h"

#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "elfimage.h"
#include "gobinary.h"
#include "godwarf.h"

struct goinfo goinfo;

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    int *first = data;
    bool vdso = info->dlpi_name && strstr(info->dlpi_name, "linux-vdso");
    if (*first) {
        goinfo.bias = info->dlpi_addr;
        *first = 0;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        if (goinfo.nranges < GOINFO_MAX_RANGES) {
            uint64_t lo = info->dlpi_addr + ph->p_vaddr;
            goinfo.ranges[goinfo.nranges++] = (struct code_range){lo, lo + ph->p_memsz};
            if (vdso)
                goinfo.vdso = (struct code_range){lo, lo + ph->p_memsz};
        }
    }
    return 0;
}

int goinfo_load(char *err, size_t errlen)
{
    struct elfimg img;
    struct gobin gb;
    ssize_t n = readlink("/proc/self/exe", goinfo.exe_path, sizeof goinfo.exe_path - 1);
    goinfo.exe_path[n > 0 ? n : 0] = 0;
    if (elfimg_open(&img, "/proc/self/exe", err, errlen) != 0)
        return 1; /* not an ELF we can read: certainly not ours to profile */
    if (!gobin_is_go(&img)) {
        elfimg_close(&img);
        return 1;
    }
    if (gobin_open(&gb, &img, err, errlen) != 0) {
        elfimg_close(&img);
        return -1;
    }
    int first = 1;
    dl_iterate_phdr(phdr_cb, &first);

    /* The handler reads the table the loader mapped (already relocated);
     * the file mapping is only needed to find it. */
    const void *mem = (const void *)(uintptr_t)(gb.pclntab_vaddr + goinfo.bias);
    if (pcln_open(&goinfo.tab, mem, gb.pclntab_size, gb.text_start + goinfo.bias, err,
                  errlen) != 0) {
        elfimg_close(&img);
        return -1;
    }
    goinfo.text_start = goinfo.tab.text_start;
    goinfo.text_end = gb.text_end + goinfo.bias;
    goinfo.g_off_elf = gb.tlsg_offset;
    goinfo.tls_block = img.has_tls ? img.tls.memsz : 0;
    goinfo.go_release = gobin_release(&gb);
    goinfo.has_dwarf = godwarf_present(&img);
    snprintf(goinfo.go_version, sizeof goinfo.go_version, "%s", gb.go_version);
    snprintf(goinfo.go_build_id, sizeof goinfo.go_build_id, "%s", img.go_build_id);
    elfimg_build_id_hex(&img, goinfo.build_id, sizeof goinfo.build_id);
    elfimg_close(&img);
    return 0;
}

bool goinfo_table_offsets(void)
{
    if (gooffsets_from_table(goinfo.go_release, &goinfo.off))
        return true;
    memset(&goinfo.off, 0, sizeof goinfo.off);
    return false;
}

/* Reads len bytes at addr without risking a fault: the kernel checks the
 * address for us. Used only outside signal handlers. */
static bool safe_read(uint64_t addr, void *out, size_t len)
{
    struct iovec local = {out, len}, remote = {(void *)(uintptr_t)addr, len};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static bool looks_like_g0(uint64_t g, uint64_t sp)
{
    uint64_t stk[2], m, g0;
    if (!g || (g & 7) || !safe_read(g + G_STACK_LO, stk, sizeof stk))
        return false;
    if (!(stk[0] < sp && sp < stk[1] && stk[1] - stk[0] < (1ull << 32)))
        return false;
    return safe_read(g + G_M, &m, 8) && m && !(m & 7) && safe_read(m + M_G0, &g0, 8) &&
           g0 == g;
}

void goinfo_calibrate_g(void)
{
    if (atomic_load(&goinfo.g_known))
        return;
    uint64_t sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    int64_t cand[512 + 1];
    int n = 0;
    if (goinfo.g_off_elf != INT64_MIN)
        cand[n++] = goinfo.g_off_elf;
    /* The executable's TLS block sits just below the thread pointer. */
    uint64_t block = (goinfo.tls_block + 7) & ~7ull;
    for (uint64_t off = 8; off <= block && n < 513; off += 8)
        cand[n++] = -(int64_t)off;
    for (int i = 0; i < n; i++) {
        if (looks_like_g0(goinfo_tls_load(cand[i]), sp)) {
            goinfo.g_off = cand[i];
            atomic_store_explicit(&goinfo.g_known, 1, memory_order_release);
            return;
        }
    }
}
