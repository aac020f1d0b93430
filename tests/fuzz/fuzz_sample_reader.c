/* Fuzz target: the sample-file reader (sf_load_mem), as goprof-report
 * meets a file.
 *
 * Input: the file's bytes as they are; or, when the first byte is 'R',
 * the rest is a decompressed record stream that the harness compresses
 * into one zstd frame first, so that mutations reach the record parser
 * instead of failing zstd's checksum.
 *
 * What must hold: a file either loads with every index inside its
 * tables, or is refused with one line that names it; nothing else (no
 * crash, no sanitizer report, no allocation past the reader's limits:
 * libFuzzer's -rss_limit_mb catches those). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "sample_format.h"

#define NAME "fuzz.zst"

static void check_loaded(const struct sample_file *f)
{
    for (size_t i = 0; i < f->nstacks; i++)
        if (f->stacks[i].pcs_off + f->stacks[i].n > f->npcs)
            abort();
    for (size_t i = 0; i < f->nsamples; i++)
        if (f->samples[i].stack >= f->nstacks || f->samples[i].thread >= f->nthreads ||
            !f->samples[i].weight)
            abort();
    for (size_t i = 0; i < f->nmaps; i++)
        if (f->maps[i].end <= f->maps[i].start || !f->maps[i].path || !f->maps[i].build_id)
            abort();
    for (size_t i = 0; i < f->nthreads; i++)
        if (!f->threads[i].name)
            abort();
    if (!f->hdr.exe_path || !f->hdr.build_id || !f->hdr.cmdline)
        abort();
}

static void load(const uint8_t *data, size_t size)
{
    char err[1024] = "";
    struct sample_file *f = sf_load_mem(NAME, data, size, err, sizeof err);
    if (f) {
        check_loaded(f);
        sf_free(f);
        return;
    }
    /* one line, naming the file */
    if (strncmp(err, NAME ": ", strlen(NAME) + 2) != 0 || strchr(err, '\n') || !err[9])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 'R') {
        size_t cap = ZSTD_compressBound(size);
        uint8_t *z = malloc(cap);
        ZSTD_CCtx *c = ZSTD_createCCtx();
        if (z && c) {
            ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
            size_t n = ZSTD_compress2(c, z, cap, data + 1, size - 1);
            if (!ZSTD_isError(n))
                load(z, n);
        }
        ZSTD_freeCCtx(c);
        free(z);
        return 0;
    }
    load(data, size);
    return 0;
}
