#include "diag.h"

#include <stdlib.h>

#include "gobinary.h"
#include "gooffsets.h"
#include "sample_format.h"

int diag_raw(char *const *files, int nfiles, FILE *out)
{
    for (int i = 0; i < nfiles; i++) {
        char err[512];
        struct sample_file *f = sf_load(files[i], err, sizeof err);
        if (!f) {
            fprintf(stderr, "goprof-report: %s\n", err);
            return 1;
        }
        fprintf(out, "file %s exe %s unwind %llu complete %d\n", files[i], f->hdr.exe_path,
                (unsigned long long)f->hdr.unwind, f->complete);
        const struct sf_counters *k = &f->counters;
        fprintf(out, "counters signals %llu samples %llu dropped %llu dropped_weight %llu "
                "torn %llu threads %llu forwarded %llu timer_errors %llu handler_ns %llu\n",
                (unsigned long long)k->signals, (unsigned long long)k->samples,
                (unsigned long long)k->dropped_signals, (unsigned long long)k->dropped_weight,
                (unsigned long long)k->torn, (unsigned long long)k->threads,
                (unsigned long long)k->forwarded, (unsigned long long)k->timer_errors,
                (unsigned long long)k->handler_ns);
        for (size_t m = 0; m < f->nmaps; m++)
            fprintf(out, "map %llx %llx %llx %llu %s\n", (unsigned long long)f->maps[m].start,
                    (unsigned long long)f->maps[m].end, (unsigned long long)f->maps[m].offset,
                    (unsigned long long)f->maps[m].flags, f->maps[m].path);
        uint64_t *counts = calloc(f->nstacks + 1, sizeof *counts);
        if (!counts) {
            sf_free(f);
            return 1;
        }
        for (size_t k = 0; k < f->nsamples; k++)
            counts[f->samples[k].stack] += f->samples[k].weight;
        for (size_t s = 0; s < f->nstacks; s++) {
            fprintf(out, "stack %llu %u", (unsigned long long)counts[s], f->stacks[s].flags);
            for (uint32_t k = 0; k < f->stacks[s].n; k++)
                fprintf(out, " %llx", (unsigned long long)f->pcs[f->stacks[s].pcs_off + k]);
            fputc('\n', out);
        }
        free(counts);
        sf_free(f);
    }
    return 0;
}

static void print_offsets(FILE *out, const char *what, const struct go_offsets *o)
{
    fprintf(out,
            "offsets %s: g.stack %#x/%#x g.m %#x g.sched.sp/pc/bp %#x/%#x/%#x "
            "g.syscallsp/pc/bp %#x/%#x/%#x g.goid %#x m.g0 %#x m.curg %#x m.gsignal %#x "
            "m.vdsoSP/PC %#x/%#x\n",
            what, o->g_stack_lo, o->g_stack_hi, o->g_m, o->g_sched_sp, o->g_sched_pc,
            o->g_sched_bp, o->g_syscallsp, o->g_syscallpc, o->g_syscallbp, o->g_goid, o->m_g0,
            o->m_curg, o->m_gsignal, o->m_vdsosp, o->m_vdsopc);
}

int diag_info(const char *binary, FILE *out)
{
    struct elfimg img;
    struct gobin g;
    char err[512];
    if (!binary) {
        fprintf(stderr, "goprof-report: --info needs --binary PATH\n");
        return 2;
    }
    if (elfimg_open(&img, binary, err, sizeof err) != 0) {
        fprintf(stderr, "goprof-report: %s\n", err);
        return 1;
    }
    if (gobin_open(&g, &img, err, sizeof err) != 0) {
        fprintf(stderr, "goprof-report: %s: %s\n", binary, err);
        elfimg_close(&img);
        return 1;
    }
    char bid[160];
    elfimg_build_id_hex(&img, bid, sizeof bid);
    fprintf(out, "binary %s\ngo version %s\nbuild id %s\n", binary,
            *g.go_version ? g.go_version : "(not recorded)", *bid ? bid : "(none)");
    fprintf(out, "pclntab %#llx size %#llx from %s, %llu functions\n",
            (unsigned long long)g.pclntab_vaddr, (unsigned long long)g.pclntab_size,
            g.pclntab_source, (unsigned long long)g.tab.nfunc);
    fprintf(out, "text %#llx-%#llx (header textStart %#llx)\n", (unsigned long long)g.text_start,
            (unsigned long long)g.text_end, (unsigned long long)g.tab.header_text_start);
    if (g.tlsg_offset == GOBIN_TLS_UNKNOWN)
        fprintf(out, "tls g offset unknown (found at run time)\n");
    else
        fprintf(out, "tls g offset %lld\n", (long long)g.tlsg_offset);
    fprintf(out, "wrapper funcid %u\n", g.wrapper_funcid);
    struct go_offsets o;
    if (gooffsets_from_table(gobin_release(&g), &o))
        print_offsets(out, "table", &o);
    else
        fprintf(out, "offsets table: none for this release\n");
    if (gooffsets_from_dwarf(&img, &o, err, sizeof err))
        print_offsets(out, "dwarf", &o);
    else
        fprintf(out, "offsets dwarf: %s\n", err);
    /* what the library would take */
    if (gooffsets_load(&img, gobin_release(&g), &o, err, sizeof err))
        fprintf(out, "offsets used: %s\n", o.source);
    else
        fprintf(out, "offsets used: none (%s)\n", err);
    elfimg_close(&img);
    return 0;
}
