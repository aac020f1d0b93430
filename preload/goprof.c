/* Start-up of the profiler inside the host program.
 *
 * The constructor runs before the Go runtime (LD_PRELOAD or DT_NEEDED
 * libraries are initialised before the executable's main), while the
 * process is still single-threaded. That is the moment to fork the
 * collector: Go ends processes with a raw exit_group, so nothing of ours
 * runs at exit, and only a process outside the dying one can finish the
 * file. Everything that can fail is checked here; on any failure the
 * program runs on unprofiled. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "children.h"
#include "collector.h"
#include "config.h"
#include "goinfo.h"
#include "log.h"
#include "outfile.h"
#include "ring.h"
#include "sampler.h"
#include "sigchain.h"
#include "source.h"
#include "threads.h"
#include "watchdog.h"

static uint64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Timestamps come from the TSC when the kernel itself keeps time with it
 * (then it is invariant and the same on every core): a few cycles in the
 * handler instead of a clock_gettime. */
static bool tsc_is_clock(void)
{
    char cs[32] = "";
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
    if (!f)
        return false;
    bool ok = fgets(cs, sizeof cs, f) && !strcmp(cs, "tsc\n");
    fclose(f);
    return ok;
}

static void read_cmdline(char *out, size_t outlen)
{
    out[0] = 0;
    FILE *f = fopen("/proc/self/cmdline", "re");
    if (!f)
        return;
    size_t n = fread(out, 1, outlen - 1, f);
    fclose(f);
    for (size_t i = 0; i + 1 < n; i++)
        if (!out[i])
            out[i] = ' ';
    out[n] = 0;
}

/* Picks the sampling engine. Returns 0, or -1 when the user's choice
 * cannot be honoured. note receives what the file should say about it. */
static int choose_source(const struct goprof_config *cfg, struct source_cfg *sc, char *note,
                         size_t notelen)
{
    sc->hz = cfg->hz;
    sc->signo = cfg->signo;
    sc->kind = SF_SOURCE_TIMER;
    note[0] = 0;
    if (cfg->source == SOURCE_TIMER)
        return 0;
    char why[200];
    if (source_perf_probe(cfg->hz, &sc->exclude_kernel, why, sizeof why) == 0) {
        sc->kind = SF_SOURCE_PERF;
        if (sc->exclude_kernel)
            snprintf(note, notelen, "perf_event_paranoid allows user time only: "
                     "CPU time spent in the kernel is not sampled");
        return 0;
    }
    if (cfg->source == SOURCE_PERF) {
        goprof_log("GOPROF_SOURCE=perf, but %s; profiling disabled "
                   "(GOPROF_SOURCE=timer works without perf events)", why);
        return -1;
    }
    snprintf(note, notelen, "perf cpu-clock unavailable (%s): sampled with the "
             "thread CPU-time timer, weighted by overruns", why);
    return 0;
}

/* glibc passes main's arguments to constructors; envp is the array the Go
 * runtime will read its environment from. */
__attribute__((constructor)) static void goprof_init(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)argv;
    char err[512];
    int rc = goinfo_load(err, sizeof err);
    if (rc == 1)
        return; /* not a Go program: stay inert (shells, env, time, ...) */
    if (children_is_descendant())
        return; /* started by a program profiled with GOPROF_FOLLOW_CHILDREN=0 */
    struct goprof_config cfg;
    if (config_load(&cfg) != 0)
        return;
    if (!cfg.follow_children)
        children_mark(envp, getpid());
    if (rc != 0) {
        goprof_log("cannot use the Go runtime tables of %s: %s; profiling disabled",
                   goinfo.exe_path, err);
        return;
    }
    /* Every strategy records goroutine ids, so every one needs the
     * runtime's offsets; fp just does not stitch with them. They come from
     * the executable's DWARF, the truth for any release, which the
     * collector reads beside the program (a few ms the program would
     * otherwise wait); the table's serve until then, and for binaries
     * without DWARF. A release the table does not know, without DWARF,
     * gets frame pointers only, and says so. */
    char offsets_note[400] = "";
    bool table_offsets = goinfo_table_offsets();
    if (!table_offsets && !goinfo.has_dwarf)
        offsets_notice(goinfo.go_version, "no DWARF (built with -ldflags=-w or stripped)",
                       &cfg.unwind, offsets_note, sizeof offsets_note);
    struct source_cfg sc;
    char source_note[512];
    if (choose_source(&cfg, &sc, source_note, sizeof source_note) != 0)
        return;

    /* The libunwind strategies hand a copy of the stack to the collector. */
    bool copies = cfg.unwind == SF_UNWIND_MIXED || cfg.unwind == SF_UNWIND_LIBUNWIND;
    struct ring *ring = ring_create(cfg.depth, copies ? GOPROF_STACK_COPY : 0);
    if (!ring) {
        goprof_log("cannot map the sample ring: %s; profiling disabled", strerror(errno));
        return;
    }
    ring->tsc_time = tsc_is_clock();
    int pid = getpid();
    char path[PATH_MAX];
    int fd = outfile_open(cfg.out_pattern, pid, path, sizeof path);
    if (fd < 0)
        return;

    char cmdline[1024], host[256] = "";
    read_cmdline(cmdline, sizeof cmdline);
    gethostname(host, sizeof host - 1);
    struct collector_args ca = {
        .ring = ring,
        .fd = fd,
        .path = path,
        .pid = pid,
        .quiet = cfg.quiet,
        .text_lo = goinfo.text_start,
        .text_hi = goinfo.text_end,
        .hdr = {.version = SF_VERSION,
                .pid = (uint64_t)pid,
                .start_unix_ns = now_ns(CLOCK_REALTIME),
                .start_mono_ns = now_ns(CLOCK_MONOTONIC),
                .hz = cfg.hz,
                .period_ns = 1000000000ull / cfg.hz,
                .source = (uint64_t)sc.kind,
                .depth_limit = cfg.depth,
                .unwind = (uint64_t)cfg.unwind,
                .exe_path = goinfo.exe_path,
                .build_id = goinfo.build_id,
                .go_version = goinfo.go_version,
                .go_build_id = goinfo.go_build_id,
                .cmdline = cmdline,
                .hostname = host},
        .note = source_note,
        .note2 = offsets_note,
        .dwarf_offsets = goinfo.has_dwarf,
        .table_offsets = table_offsets,
    };
    if (collector_spawn(&ca) != 0) {
        goprof_log("cannot start the collector process: %s; profiling disabled",
                   strerror(errno));
        close(fd);
        return;
    }
    close(fd); /* the collector holds the file and its lock now */

    struct unwind_env env = {.tab = &goinfo.tab,
                             .text_lo = goinfo.text_start,
                             .text_hi = goinfo.text_end,
                             .ranges = goinfo.ranges,
                             .nranges = goinfo.nranges,
                             .vdso = goinfo.vdso,
                             .fp_only = cfg.unwind == SF_UNWIND_FP};
    unwind_find_specials(&env);
    sampler_init(&env, cfg.unwind);
    goprof_ring = ring;
    if (sigchain_install(cfg.signo, source_is_ours, sampler_take) != 0) {
        goprof_log("cannot install the handler for signal %d: %s; profiling disabled",
                   cfg.signo, strerror(errno));
        atomic_store(&ring->stopped, 1);
        return;
    }
    threads_start(&sc);
    int wrc = watchdog_start();
    if (wrc != 0)
        goprof_log("cannot start the thread that keeps the handler in place: %s; "
                   "a program that takes signal %d with a raw system call stops the "
                   "sampling", strerror(wrc), cfg.signo);
}
