#define _GNU_SOURCE
#include "cunwind.h"

#include <libunwind.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* Not in libunwind's headers, but exported for remote unwinders (perf
 * declares it the same way): binary search of an .eh_frame_hdr table. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
                                              unw_dyn_info_t *di, unw_proc_info_t *pi,
                                              int need_unwind_info, void *arg);

/* An object with unwind tables: its code range, the range of its whole
 * image (where tables and code may be read) and its .eh_frame_hdr. */
struct object {
    uint64_t lo, hi;
    uint64_t img_lo, img_hi;
    uint64_t hdr, table, fde_count;
};

struct cunwind {
    unw_addr_space_t as;
    uint64_t text_lo, text_hi;
    struct object *objs;
    size_t nobjs, cap;
};

/* What one unwinding reads: the registers and the copied stack. */
struct sample {
    struct cunwind *u;
    uint64_t ip, sp, bp;
    const uint8_t *copy;
    uint32_t len;
};

static bool read_self(uint64_t addr, void *out, size_t len)
{
    struct iovec l = {out, len}, r = {(void *)(uintptr_t)addr, len};
    return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)len;
}

/* .eh_frame_hdr: version 1, then the encodings of eh_frame_ptr, fde_count
 * and the table; libunwind's remote table format needs the usual
 * pcrel|sdata4, udata4, datarel|sdata4. */
static int add_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct cunwind *u = data;
    uint64_t lo = UINT64_MAX, hi = 0, img_lo = UINT64_MAX, img_hi = 0, hdr = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD) {
            if (a < img_lo)
                img_lo = a;
            if (a + ph->p_memsz > img_hi)
                img_hi = a + ph->p_memsz;
        }
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            if (a < lo)
                lo = a;
            if (a + ph->p_memsz > hi)
                hi = a + ph->p_memsz;
        } else if (ph->p_type == PT_GNU_EH_FRAME) {
            hdr = info->dlpi_addr + ph->p_vaddr;
        }
    }
    uint8_t h[4];
    uint32_t count;
    if (!hdr || lo >= hi || !read_self(hdr, h, 4) || h[0] != 1 || h[1] != 0x1b || h[2] != 0x03 ||
        h[3] != 0x3b || !read_self(hdr + 8, &count, 4))
        return 0;
    if (u->nobjs == u->cap) {
        size_t ncap = u->cap ? u->cap * 2 : 16;
        struct object *n = realloc(u->objs, ncap * sizeof *n);
        if (!n)
            return 1;
        u->objs = n;
        u->cap = ncap;
    }
    u->objs[u->nobjs++] = (struct object){lo, hi, img_lo, img_hi, hdr, hdr + 12, count};
    return 0;
}

static const struct object *object_at(const struct cunwind *u, uint64_t ip)
{
    for (size_t i = 0; i < u->nobjs; i++)
        if (ip >= u->objs[i].lo && ip < u->objs[i].hi)
            return &u->objs[i];
    return NULL;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
                          int need_unwind_info, void *arg)
{
    struct sample *s = arg;
    const struct object *o = object_at(s->u, ip);
    if (!o)
        return -UNW_ENOINFO;
    unw_dyn_info_t di;
    memset(&di, 0, sizeof di);
    di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
    di.start_ip = o->lo;
    di.end_ip = o->hi;
    di.u.rti.segbase = o->hdr;
    di.u.rti.table_data = o->table;
    di.u.rti.table_len = o->fde_count * 8 / sizeof(unw_word_t);
    return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
    (void)as, (void)pi, (void)arg;
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
    (void)as, (void)addr, (void)arg;
    return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
                      void *arg)
{
    (void)as;
    struct sample *s = arg;
    if (write)
        return -UNW_EINVAL;
    if (addr >= s->sp && s->len >= 8 && addr - s->sp <= s->len - 8) {
        memcpy(val, s->copy + (addr - s->sp), 8);
        return 0;
    }
    /* Code and unwind tables of the objects mapped before the fork are the
     * same in the collector; anything else (stack beyond the copy, heap)
     * would be the collector's stale copy, so it is not read. */
    for (size_t i = 0; i < s->u->nobjs; i++) {
        const struct object *o = &s->u->objs[i];
        if (addr >= o->img_lo && addr + 8 <= o->img_hi)
            return read_self(addr, val, 8) ? 0 : -UNW_EINVAL;
    }
    return -UNW_EINVAL;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
                      void *arg)
{
    (void)as;
    struct sample *s = arg;
    if (write)
        return -UNW_EINVAL;
    switch (reg) {
    case UNW_X86_64_RIP: *val = s->ip; return 0;
    case UNW_X86_64_RSP: *val = s->sp; return 0;
    case UNW_X86_64_RBP: *val = s->bp; return 0;
    default: return -UNW_EBADREG;
    }
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
                        void *arg)
{
    (void)as, (void)reg, (void)val, (void)write, (void)arg;
    return -UNW_EINVAL;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
    (void)as, (void)c, (void)arg;
    return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
                         unw_word_t *off, void *arg)
{
    (void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
    return -UNW_EINVAL;
}

static unw_accessors_t accessors = {
    .find_proc_info = find_proc_info,
    .put_unwind_info = put_unwind_info,
    .get_dyn_info_list_addr = get_dyn_info_list_addr,
    .access_mem = access_mem,
    .access_reg = access_reg,
    .access_fpreg = access_fpreg,
    .resume = resume,
    .get_proc_name = get_proc_name,
};

struct cunwind *cunwind_new(uint64_t text_lo, uint64_t text_hi)
{
    struct cunwind *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->text_lo = text_lo;
    u->text_hi = text_hi;
    u->as = unw_create_addr_space(&accessors, 0);
    if (!u->as) {
        free(u);
        return NULL;
    }
    unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
    dl_iterate_phdr(add_object, u);
    return u;
}

void cunwind_free(struct cunwind *u)
{
    if (!u)
        return;
    unw_destroy_addr_space(u->as);
    free(u->objs);
    free(u);
}

int cunwind_run(struct cunwind *u, uint64_t ip, uint64_t sp, uint64_t bp, const uint8_t *copy,
                uint32_t len, bool stop_at_go, uint64_t *out, int max)
{
    if (max <= 0)
        return 0;
    int n = 0;
    out[n++] = ip;
    struct sample s = {u, ip, sp, bp, copy, len};
    unw_cursor_t c;
    if (unw_init_remote(&c, u->as, &s) != 0)
        return n;
    uint64_t prev_sp = sp;
    while (n < max && unw_step(&c) > 0) {
        unw_word_t pc, csp;
        if (unw_get_reg(&c, UNW_REG_IP, &pc) != 0 || unw_get_reg(&c, UNW_REG_SP, &csp) != 0 ||
            pc == 0)
            break;
        bool go = pc >= u->text_lo && pc < u->text_hi;
        if (stop_at_go && go)
            break;
        /* Where a frame has no CFI (Go code, for the libunwind strategy)
         * libunwind follows RBP, which may hold anything: a "return
         * address" outside all code ends the stack instead of becoming a
         * frame (0x1f5 was one). */
        if (!go && !object_at(u, pc))
            break;
        if (csp < prev_sp) /* a frame must not move down the stack */
            break;
        prev_sp = csp;
        out[n++] = pc;
    }
    return n;
}
