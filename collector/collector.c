#define _GNU_SOURCE
#include "collector.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cunwind.h"
#include "elfimage.h"
#include "gooffsets.h"
#include "log.h"
#include "stack_table.h"
#include "u64map.h"

#define DRAIN_MS 10
#define FLUSH_NS 1000000000ull /* a complete zstd frame at least every second */
#define MAPS_NS 2000000000ull  /* look for newly mapped code every 2 s */

struct coll {
    const struct collector_args *a;
    struct sfw *w;
    struct ring_reader rd;
    struct stack_table *stacks;
    uint64_t *scratch;
    struct u64map threads; /* tid -> thread index */
    size_t nthreads;
    /* mappings already written, by start address */
    uint64_t *map_starts;
    size_t nmaps, map_cap;
    uint64_t written, torn;
    bool write_failed;
    struct cunwind *cu; /* for slots with C frames left to unwind */
    uint64_t *cframes;
    uint64_t tsc0, mono0; /* to turn the handler's TSC ticks into ns */
    double ns_per_tick;   /* 0 until measured */
};

static uint64_t now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t thread_index(struct coll *c, uint32_t tid)
{
    uint64_t idx;
    if (u64map_get(&c->threads, tid, &idx))
        return (uint32_t)idx;
    idx = c->nthreads++;
    u64map_put(&c->threads, tid, idx);
    /* The name is read while the thread lives; after the program ends
     * /proc no longer has it. */
    char path[64], name[64] = "";
    snprintf(path, sizeof path, "/proc/%d/task/%u/comm", (int)c->a->pid, tid);
    FILE *f = fopen(path, "re");
    if (f) {
        if (fgets(name, sizeof name, f))
            name[strcspn(name, "\n")] = 0;
        fclose(f);
    }
    sfw_thread(c->w, idx, tid, name);
    return (uint32_t)idx;
}

static bool map_known(struct coll *c, uint64_t start)
{
    for (size_t i = 0; i < c->nmaps; i++)
        if (c->map_starts[i] == start)
            return true;
    return false;
}

/* Writes every executable mapping not written yet. The main executable's
 * mappings carry its build id, so the report can check the binary. */
static void write_maps(struct coll *c)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)c->a->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char line[4096 + 128];
    while (fgets(line, sizeof line, f)) {
        unsigned long long lo, hi, off;
        char perms[8];
        int name_at = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi, perms, &off, &name_at) < 4)
            continue;
        if (perms[2] != 'x' || map_known(c, lo))
            continue;
        char *name = name_at ? line + name_at : (char *)"";
        name[strcspn(name, "\n")] = 0;
        if (c->nmaps == c->map_cap) {
            size_t ncap = c->map_cap ? c->map_cap * 2 : 32;
            uint64_t *n = realloc(c->map_starts, ncap * sizeof *n);
            if (!n)
                break;
            c->map_starts = n;
            c->map_cap = ncap;
        }
        c->map_starts[c->nmaps++] = lo;
        bool main_exe = !strcmp(name, c->a->hdr.exe_path);
        struct sf_mapping m = {lo, hi, off, SF_MAP_EXEC | (main_exe ? SF_MAP_MAIN : 0), name,
                               main_exe ? c->a->hdr.build_id : ""};
        sfw_mapping(c->w, &m);
    }
    fclose(f);
}

/* TSC ticks to CLOCK_MONOTONIC ns, by the rate seen over the collector's
 * life so far (the first drain comes 10 ms in: plenty for the rate). */
static uint64_t tsc_to_ns(struct coll *c, uint64_t tsc)
{
    if (!c->ns_per_tick) {
        uint64_t ticks = __builtin_ia32_rdtsc() - c->tsc0, ns = now(CLOCK_MONOTONIC) - c->mono0;
        c->ns_per_tick = ticks ? (double)ns / (double)ticks : 1.0;
    }
    return c->mono0 + (uint64_t)((double)(int64_t)(tsc - c->tsc0) * c->ns_per_tick);
}

static void drain(struct coll *c, bool dead)
{
    struct ring *r = c->a->ring;
    for (;;) {
        struct ring_slot *s;
        enum ring_next st = ring_next(&c->rd, dead, &s);
        if (st == RING_EMPTY)
            break;
        if (st == RING_TORN) {
            c->torn++;
            ring_release(&c->rd, s);
            continue;
        }
        uint32_t n = s->nframes <= r->depth ? s->nframes : r->depth;
        uint32_t flags = s->flags;
        if (s->hole != RING_NO_HOLE && c->cu && s->hole <= n && s->copy_len <= r->copy_max) {
            /* C frames go where the handler left them a place */
            int k = cunwind_run(c->cu, s->c_ip, s->c_sp, s->c_bp, ring_slot_copy(r, s),
                                s->copy_len, c->a->hdr.unwind == SF_UNWIND_MIXED, c->cframes,
                                (int)r->depth);
            uint32_t at = s->hole, total = 0;
            for (uint32_t i = 0; i < at && total < r->depth; i++)
                c->scratch[total++] = s->pcs[i];
            for (int i = 0; i < k && total < r->depth; i++)
                c->scratch[total++] = c->cframes[i];
            for (uint32_t i = at; i < n && total < r->depth; i++)
                c->scratch[total++] = s->pcs[i];
            if (total < at + (uint32_t)k + (n - at))
                flags |= SF_STACK_TRUNCATED;
            n = total;
        } else {
            memcpy(c->scratch, s->pcs, n * sizeof *c->scratch);
        }
        uint32_t tid = s->tid;
        uint64_t t = r->tsc_time ? tsc_to_ns(c, s->time) : s->time;
        uint64_t goid = s->goid, weight = s->weight;
        ring_release(&c->rd, s);
        bool is_new;
        int64_t id = stack_table_intern(c->stacks, c->scratch, n, flags, &is_new);
        if (id < 0)
            continue;
        if (is_new)
            sfw_stack(c->w, (uint64_t)id, flags, c->scratch, n);
        uint32_t ti = thread_index(c, tid);
        sfw_sample(c->w, (uint64_t)id, ti, goid, t, weight);
        c->written += weight;
    }
}

static void counters(struct coll *c, struct sf_counters *k)
{
    struct ring_counters *rc = &c->a->ring->counters;
    uint64_t handler_ticks = 0;
    memset(k, 0, sizeof *k);
    for (int i = 0; i < RING_STRIPES; i++) {
        const struct ring_stripe *s = &rc->stripe[i];
        k->signals += atomic_load(&s->signals);
        k->samples += atomic_load(&s->samples);
        k->dropped_signals += atomic_load(&s->dropped_signals);
        k->dropped_weight += atomic_load(&s->dropped_weight);
        handler_ticks += atomic_load(&s->handler_ticks);
    }
    k->torn = c->torn;
    k->threads = atomic_load(&rc->threads);
    k->forwarded = atomic_load(&rc->forwarded);
    k->timer_errors = atomic_load(&rc->timer_errors);
    /* The TSC is invariant and shared by every core on the machines we
     * run on: its rate over the collector's life converts the ticks. */
    uint64_t ticks = __builtin_ia32_rdtsc() - c->tsc0, ns = now(CLOCK_MONOTONIC) - c->mono0;
    k->handler_ns = ticks && ns ? (uint64_t)((double)handler_ticks * (double)ns / (double)ticks)
                                : 0;
}

static void flush(struct coll *c)
{
    struct sf_counters k;
    counters(c, &k);
    sfw_counters(c->w, &k);
    if (sfw_flush(c->w) != 0 && !c->write_failed) {
        c->write_failed = true;
        /* Stop the handler's work too; the program itself runs on. */
        atomic_store(&c->a->ring->stopped, 1);
        goprof_log("cannot write %s: %s; profiling stopped, the program continues", c->a->path,
            sfw_error(c->w));
    }
}

static bool program_gone(int pidfd, pid_t pid)
{
    if (pidfd >= 0) {
        struct pollfd p = {pidfd, POLLIN, 0};
        return poll(&p, 1, 0) > 0;
    }
    return getppid() != pid;
}

static void detach_from_program(void)
{
    prctl(PR_SET_NAME, "goprof-collect");
    /* Ctrl-C, a hang-up or a terminal stop reach the whole process group:
     * the collector outlives the program by design, so it ignores them and
     * finishes when the program is gone. A file size limit (SIGXFSZ) must
     * end in a write error that is reported, not in a silent death. */
    static const int ignored[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE, SIGTSTP,
                                  SIGTTOU, SIGTTIN, SIGUSR1, SIGUSR2, SIGXFSZ};
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++)
        signal(ignored[i], SIG_IGN);
    /* Keep stderr for the summary; do not hold the program's stdin/stdout
     * open after it ends (a pipeline reading its output would wait on us). */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        close(null);
    }
}

void offsets_notice(const char *go_version, const char *why, int *unwind, char *note,
                    size_t notelen)
{
    snprintf(note, notelen, "%s is not a Go release goprof knows, and its DWARF cannot tell "
             "the runtime's layout (%s)", go_version && *go_version ? go_version
             : "this Go version", why);
    if (*unwind == SF_UNWIND_FP || *unwind == SF_UNWIND_NONE) {
        goprof_log("%s: samples carry no goroutine ids", note);
    } else {
        goprof_log("%s: stacks are walked by frame pointers only, without stitching or "
                   "goroutine ids", note);
        *unwind = SF_UNWIND_FP;
    }
}

/* The runtime's offsets from DWARF, for the handler (ring.h). When the
 * program has none at all, the header and a note say so. */
static void read_offsets(const struct collector_args *a, struct sf_header *hdr, char *note,
                         size_t notelen)
{
    if (!a->dwarf_offsets)
        return;
    struct elfimg img;
    char why[200];
    bool ok = elfimg_open(&img, "/proc/self/exe", why, sizeof why) == 0; /* forked: the same */
    if (ok) {
        ok = gooffsets_from_dwarf(&img, &a->ring->off, why, sizeof why);
        elfimg_close(&img);
    }
    atomic_store_explicit(&a->ring->off_state, ok ? RING_OFF_DWARF : RING_OFF_NONE,
                          memory_order_release);
    if (!ok && !a->table_offsets) {
        int unwind = (int)hdr->unwind;
        offsets_notice(hdr->go_version, why, &unwind, note, notelen);
        hdr->unwind = (uint64_t)unwind;
    }
}

static void __attribute__((noreturn)) collector_main(const struct collector_args *a)
{
    detach_from_program();
    int pidfd = (int)syscall(SYS_pidfd_open, a->pid, 0);
    struct coll c = {.a = a, .tsc0 = __builtin_ia32_rdtsc(), .mono0 = now(CLOCK_MONOTONIC)};
    c.w = sfw_open(a->fd, 3);
    c.rd.r = a->ring;
    c.stacks = stack_table_new();
    c.scratch = malloc((a->ring->depth + 1) * sizeof *c.scratch);
    if (a->ring->copy_max) {
        c.cu = cunwind_new(a->text_lo, a->text_hi);
        c.cframes = malloc((a->ring->depth + 1) * sizeof *c.cframes);
        if (!c.cu || !c.cframes)
            goprof_log("cannot set up libunwind in the collector; C frames are not unwound");
    }
    if (!c.w || !c.stacks || !c.scratch) {
        goprof_log("collector out of memory; profiling stopped, the program continues");
        atomic_store(&a->ring->stopped, 1);
        _exit(1);
    }
    struct sf_header hdr = a->hdr;
    char offsets_note[400] = "";
    read_offsets(a, &hdr, offsets_note, sizeof offsets_note);
    sfw_header(c.w, &hdr);
    if (a->note && *a->note)
        sfw_note(c.w, a->note);
    if (a->note2 && *a->note2)
        sfw_note(c.w, a->note2);
    if (*offsets_note)
        sfw_note(c.w, offsets_note);
    write_maps(&c);
    flush(&c);
    uint64_t last_flush = now(CLOCK_MONOTONIC), last_maps = last_flush;
    bool dead = false;
    while (!dead) {
        if (pidfd >= 0) {
            struct pollfd p = {pidfd, POLLIN, 0};
            dead = poll(&p, 1, DRAIN_MS) > 0;
        } else {
            usleep(DRAIN_MS * 1000);
            dead = program_gone(-1, a->pid);
        }
        c.ns_per_tick = 0; /* measured again, over a longer span, by this drain */
        drain(&c, dead);
        uint64_t t = now(CLOCK_MONOTONIC);
        if (!dead && t - last_maps >= MAPS_NS) {
            write_maps(&c);
            last_maps = t;
        }
        if (t - last_flush >= FLUSH_NS) {
            flush(&c);
            last_flush = t;
        }
    }
    c.ns_per_tick = 0;
    drain(&c, true);
    sfw_trailer(c.w, now(CLOCK_REALTIME), now(CLOCK_MONOTONIC));
    flush(&c);
    /* The summary goes out before the lock is released, so that whoever
     * waits for the file also finds the line on stderr. */
    if (!a->quiet && !c.write_failed) {
        struct sf_counters k;
        counters(&c, &k);
        goprof_log("%llu samples written, %llu dropped, %llu threads seen, file %s%s",
            (unsigned long long)c.written, (unsigned long long)(k.dropped_weight + c.torn),
            (unsigned long long)k.threads, a->path,
            k.timer_errors ? " (some threads could not be sampled)" : "");
    }
    close(a->fd); /* releases the lock: readers may go */
    _exit(0);
}

int collector_spawn(const struct collector_args *a)
{
    pid_t p = fork();
    if (p < 0)
        return -1;
    if (p == 0)
        collector_main(a);
    return 0;
}
