/* Writes a synthetic sample file for `make bench`: NSAMPLES samples over
 * NSTACKS distinct stacks whose PCs lie in real functions of a Go
 * binary, through the same writer the collector uses (sfw_*), so that
 * goprof-report reads and symbolizes it like a recording of that binary.
 *
 * usage: gen_samples BINARY OUT.zst [NSAMPLES [NSTACKS]] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "elfimage.h"
#include "gobinary.h"
#include "sample_format.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Every function's [entry, end), in address order. */
static size_t functions(const struct gobin *g, uint64_t (**out)[2])
{
    size_t n = 0, cap = 1024;
    uint64_t(*f)[2] = malloc(cap * sizeof *f);
    struct pcln_func pf;
    for (uint64_t pc = g->text_start; f && pcln_find(&g->tab, pc, &pf) && pf.end > pc;
         pc = pf.end) {
        if (n == cap)
            f = realloc(f, (cap *= 2) * sizeof *f);
        if (f && pf.end - pf.entry > 1) {
            f[n][0] = pf.entry;
            f[n++][1] = pf.end;
        }
    }
    *out = f;
    return f ? n : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gen_samples BINARY OUT.zst [NSAMPLES [NSTACKS]]\n");
        return 2;
    }
    uint64_t nsamples = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
    uint64_t nstacks = argc > 4 ? strtoull(argv[4], NULL, 10) : 10000;
    char err[512], exe[PATH_MAX], build_id[160];
    struct elfimg img;
    struct gobin g;
    if (!realpath(argv[1], exe) || elfimg_open(&img, exe, err, sizeof err) != 0 ||
        gobin_open(&g, &img, err, sizeof err) != 0) {
        fprintf(stderr, "gen_samples: %s: %s\n", argv[1], err);
        return 1;
    }
    elfimg_build_id_hex(&img, build_id, sizeof build_id);
    uint64_t(*fn)[2];
    size_t nfn = functions(&g, &fn);
    const struct elf_seg *text = NULL;
    for (size_t i = 0; i < img.nsegs; i++)
        if (img.segs[i].flags & 1 /* PF_X */)
            text = &img.segs[i];
    if (nfn < 100 || !text) {
        fprintf(stderr, "gen_samples: %s: too few functions (%zu) or no text segment\n", exe, nfn);
        return 1;
    }
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    struct sfw *w = fd >= 0 ? sfw_open(fd, 3) : NULL;
    if (!w) {
        perror(argv[2]);
        return 1;
    }
    const uint64_t start_ns = 1000000000000ull, period = 1000000;
    struct sf_header h = {.version = SF_VERSION, .pid = 4242, .start_unix_ns = 1700000000000000000ull,
                          .start_mono_ns = start_ns, .hz = 1000, .period_ns = period,
                          .source = SF_SOURCE_PERF, .depth_limit = 64, .unwind = SF_UNWIND_GO,
                          .exe_path = exe, .build_id = build_id, .go_version = g.go_version,
                          .go_build_id = img.go_build_id, .cmdline = exe, .hostname = "bench"};
    sfw_header(w, &h);
    struct sf_mapping m = {text->vaddr, text->vaddr + text->memsz, text->offset,
                           SF_MAP_EXEC | SF_MAP_MAIN, exe, build_id};
    sfw_mapping(w, &m);
    enum { THREADS = 16 };
    for (int t = 0; t < THREADS; t++) {
        char name[32];
        snprintf(name, sizeof name, "bench-%d", t);
        sfw_thread(w, (uint64_t)t, 5000 + (uint64_t)t, name);
    }
    /* Stacks share a few roots, like real ones, then go their own way
     * through functions all over the binary. */
    uint64_t pcs[64];
    for (uint64_t s = 0; s < nstacks; s++) {
        uint32_t depth = 8 + (uint32_t)(next() % 33);
        for (uint32_t k = 0; k < depth; k++) {
            uint64_t r = next();
            size_t f = k + 3 >= depth ? (size_t)(r % 16) : (size_t)(r % nfn);
            pcs[k] = fn[f][0] + 1 + (r >> 32) % (fn[f][1] - fn[f][0] - 1);
        }
        sfw_stack(w, s, 0, pcs, depth);
    }
    /* Skewed: a few stacks take most samples, as in a real profile. */
    uint64_t t = start_ns;
    for (uint64_t i = 0; i < nsamples; i++) {
        uint64_t r = next(), s = (r >> 40) % 4 ? r % nstacks : (r >> 20) % 64 % nstacks;
        t += period / THREADS;
        sfw_sample(w, s % nstacks, i % THREADS, 1 + (r >> 8) % 500, t, 1);
        if (i % 100000 == 99999 && sfw_flush(w) != 0)
            break;
    }
    struct sf_counters c = {.signals = nsamples, .samples = nsamples, .threads = THREADS};
    sfw_counters(w, &c);
    sfw_trailer(w, h.start_unix_ns + (t - start_ns), t);
    int rc = sfw_flush(w);
    if (rc != 0 || sfw_error(w))
        fprintf(stderr, "gen_samples: %s: %s\n", argv[2], sfw_error(w) ? sfw_error(w) : "write failed");
    sfw_close(w);
    close(fd);
    printf("gen_samples: %s: %llu samples, %llu stacks, %zu functions in %s\n", argv[2],
           (unsigned long long)nsamples, (unsigned long long)nstacks, nfn, exe);
    return rc != 0;
}
