/* goprof-report: sample files -> pprof, folded stacks, a flame graph, a top
 * list; and --addr2line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr2line.h"
#include "diag.h"
#include "output.h"
#include "report.h"
#include "view_args.h"

#ifndef GOPROF_VERSION
#define GOPROF_VERSION "0.1.0"
#endif

enum format { FMT_AUTO, FMT_PPROF, FMT_FOLDED, FMT_SVG, FMT_TOP, FMT_RAW };

static void usage(FILE *f)
{
    fprintf(f,
"usage: goprof-report [options] FILE.zst...\n"
"       goprof-report --addr2line --binary BIN [ADDR...]\n"
"\n"
"Turns goprof sample files into a CPU profile, a flame graph or a top list.\n"
"With several files (several processes or runs), their samples are merged.\n"
"\n"
"Options:\n"
"  -o, --output FILE     write to FILE instead of stdout; the format follows\n"
"                        the extension (.pb.gz, .pb, .pprof: pprof; .folded, .txt,\n"
"                        .collapsed: folded; .svg: svg; any other: pprof)\n"
"  -f, --format FORMAT   pprof (gzipped protobuf for go tool pprof, the default),\n"
"                        folded (FlameGraph \"root;...;leaf count\" lines),\n"
"                        svg (an interactive flame graph: click to zoom, search),\n"
"                        top (a go tool pprof -top like table with a header)\n"
"                        or raw (the recorded mappings and unsymbolized stacks)\n"
"      --binary PATH     the executable that was profiled, when it is not at the\n"
"                        path recorded in the file; its build id must match\n"
"      --no-inline       do not expand inlined functions into frames of their own\n"
"      --group-by WHAT   thread or goroutine: put each stack under a root frame\n"
"                        naming its thread (\"thread TID (name)\") or goroutine\n"
"      --wait SECONDS    how long to wait for a collector still writing a file\n"
"                        (default 30)\n"
"      --no-wait         read a file that is still being written, as far as it goes\n"
"      --addr2line       print the frames at each address of --binary (hex, as\n"
"                        arguments or one per line on stdin), innermost first:\n"
"                        a function line and a file:line line per frame\n"
"  -a, --addresses       with --addr2line: print each address before its frames\n"
"      --info            print what goprof reads from --binary: Go version, pclntab,\n"
"                        text range, g's TLS slot, runtime offsets (table and DWARF)\n"
"  -q, --quiet           no warnings on stderr\n"
"  -h, --help            this help\n"
"      --version         print the version\n"
"\n");
    view_args_usage(f);
    fprintf(f,
"\n"
"Examples:\n"
"  goprof-report samples.zst > cpu.pb.gz && go tool pprof -top cpu.pb.gz\n"
"  goprof-report -o cpu.folded samples.zst\n"
"  goprof-report -o flame.svg samples.zst        # open it in a browser\n"
"  goprof-report --format=top --nodecount=10 samples.zst\n"
"  goprof-report --format=top --focus='^main\\.' --from=1 --to=3 a.zst b.zst\n"
"  goprof-report --binary ./app.unstripped samples.zst > cpu.pb.gz\n"
"  goprof-report --addr2line --binary ./app 0x4a12f0\n");
}

static enum format format_from_name(const char *s)
{
    if (!strcmp(s, "pprof") || !strcmp(s, "pb") || !strcmp(s, "proto"))
        return FMT_PPROF;
    if (!strcmp(s, "folded") || !strcmp(s, "collapsed"))
        return FMT_FOLDED;
    if (!strcmp(s, "svg") || !strcmp(s, "flamegraph"))
        return FMT_SVG;
    if (!strcmp(s, "top"))
        return FMT_TOP;
    if (!strcmp(s, "raw"))
        return FMT_RAW;
    return FMT_AUTO;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static enum format format_from_path(const char *p)
{
    if (ends_with(p, ".pb.gz") || ends_with(p, ".pb") || ends_with(p, ".pprof"))
        return FMT_PPROF;
    if (ends_with(p, ".folded") || ends_with(p, ".txt") || ends_with(p, ".collapsed"))
        return FMT_FOLDED;
    if (ends_with(p, ".svg"))
        return FMT_SVG;
    return FMT_AUTO;
}

int main(int argc, char **argv)
{
    enum { OPT_BINARY = 256, OPT_NO_INLINE, OPT_GROUP_BY, OPT_WAIT, OPT_NO_WAIT, OPT_ADDR2LINE, OPT_VERSION, OPT_INFO };
    bool show_addr = false;
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},   {"format", required_argument, 0, 'f'},
        {"binary", required_argument, 0, OPT_BINARY},
        {"no-inline", no_argument, 0, OPT_NO_INLINE},
        {"group-by", required_argument, 0, OPT_GROUP_BY},
        {"wait", required_argument, 0, OPT_WAIT}, {"no-wait", no_argument, 0, OPT_NO_WAIT},
        {"addr2line", no_argument, 0, OPT_ADDR2LINE}, {"quiet", no_argument, 0, 'q'},
        {"addresses", no_argument, 0, 'a'},      {"info", no_argument, 0, OPT_INFO},
        {"help", no_argument, 0, 'h'},            {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0}};
    const char *output = NULL;
    enum format fmt = FMT_AUTO;
    struct report_opts ro = {.expand_inline = true, .wait_seconds = 30};
    bool addr2line = false, info = false;
    int c;
    struct view_args va;
    view_args_init(&va);
    struct option all_opts[64];
    if (!view_args_options(opts, all_opts, 64))
        return 1;
    while ((c = getopt_long(argc, argv, "o:f:qha", all_opts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'f':
            fmt = format_from_name(optarg);
            if (fmt == FMT_AUTO) {
                fprintf(stderr, "goprof-report: unknown format '%s' (expected pprof, folded, svg, "
                                "top or raw)\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_BINARY: ro.binary = optarg; break;
        case OPT_NO_INLINE: ro.expand_inline = false; break;
        case OPT_GROUP_BY:
            if (!strcmp(optarg, "thread"))
                ro.group_by = GROUP_THREAD;
            else if (!strcmp(optarg, "goroutine"))
                ro.group_by = GROUP_GOROUTINE;
            else {
                fprintf(stderr, "goprof-report: --group-by expects thread or goroutine, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_WAIT: {
            char *end;
            ro.wait_seconds = strtod(optarg, &end);
            if (*end || ro.wait_seconds < 0) {
                fprintf(stderr, "goprof-report: --wait expects seconds, got '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case OPT_NO_WAIT: ro.wait_seconds = 0; break;
        case OPT_ADDR2LINE: addr2line = true; break;
        case OPT_INFO: info = true; break;
        case 'q': ro.quiet = true; break;
        case 'a': show_addr = true; break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION: printf("goprof-report %s\n", GOPROF_VERSION); return 0;
        default:
            switch (view_args_parse(&va, c, optarg)) {
            case 1: break;
            case 0: usage(stderr); /* fall through */
            default: return 2;
            }
        }
    }
    if (info)
        return diag_info(ro.binary, stdout);
    if (addr2line)
        return addr2line_main(ro.binary, argv + optind, argc - optind, ro.expand_inline,
                              show_addr);
    if (optind >= argc) {
        fprintf(stderr, "goprof-report: no sample file given (try: goprof-report samples.zst "
                        "> cpu.pb.gz; --help for more)\n");
        return 2;
    }
    if (fmt == FMT_AUTO && output)
        fmt = format_from_path(output);
    if (fmt == FMT_AUTO)
        fmt = FMT_PPROF;
    char err[1024];
    if (fmt == FMT_RAW) {
        /* raw shows a file as the other formats would read it: complete */
        for (int i = optind; i < argc; i++)
            if (report_wait_file(argv[i], ro.wait_seconds, ro.quiet, err, sizeof err) < 0) {
                fprintf(stderr, "goprof-report: %s\n", err);
                return 1;
            }
        return diag_raw(argv + optind, argc - optind, stdout);
    }
    if (fmt == FMT_PPROF && !output && isatty(1)) {
        fprintf(stderr, "goprof-report: not writing a binary pprof profile to a terminal; "
                        "redirect it (> cpu.pb.gz), use -o FILE or --format=folded\n");
        return 2;
    }

    if (filter_spec_active(&va.filter)) {
        if (va.filter.to >= 0 && va.filter.to <= va.filter.from) {
            fprintf(stderr, "goprof-report: --to must be later than --from\n");
            return 2;
        }
        if (!(ro.filter = filter_new(&va.filter, err, sizeof err))) {
            fprintf(stderr, "goprof-report: %s\n", err);
            return 2;
        }
    }
    ro.labels = fmt == FMT_PPROF;
    struct report r;
    if (report_build(&r, argv + optind, argc - optind, &ro, err, sizeof err) != 0) {
        fprintf(stderr, "goprof-report: %s\n", err);
        report_free(&r);
        return 1;
    }
    FILE *out = stdout;
    if (output && !(out = fopen(output, "wb"))) {
        fprintf(stderr, "goprof-report: cannot write %s: %m\n", output);
        report_free(&r);
        return 1;
    }
    int rc = fmt == FMT_FOLDED ? write_folded(&r, out, err, sizeof err)
             : fmt == FMT_SVG  ? write_svg(&r, &va.view, out, err, sizeof err)
             : fmt == FMT_TOP  ? write_top(&r, &va.view, out, err, sizeof err)
                               : write_pprof(&r, out, err, sizeof err);
    if (fflush(out) != 0 && rc == 0) {
        snprintf(err, sizeof err, "write failed: %m");
        rc = -1;
    }
    if (out != stdout)
        fclose(out);
    if (rc != 0)
        fprintf(stderr, "goprof-report: %s%s%s\n", output ? output : "", output ? ": " : "", err);
    report_free(&r);
    filter_free(ro.filter);
    view_args_free(&va);
    return rc ? 1 : 0;
}
