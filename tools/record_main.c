/* goprof-record: records a program as easily as `perf record`. It runs
 * the program with libgoprof.so (found next to this executable, or in
 * ../lib/goprof when installed) preloaded and the GOPROF_* settings of its
 * options, passes on its exit status, waits for the collector to finish
 * the sample file, and says where the file is and how to look at it.
 * What would only fail later (a static binary, a missing program, an
 * unwritable output) is refused up front with the reason and the fix. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elfimage.h"
#include "gobinary.h"

#ifndef GOPROF_VERSION
#define GOPROF_VERSION "0.1.0"
#endif

/* Exit statuses of our own, as env(1) and timeout(1) use them. */
enum { EXIT_OURS = 125, EXIT_CANNOT_RUN = 126, EXIT_NOT_FOUND = 127 };

static void usage(FILE *f)
{
    fprintf(f,
"usage: goprof-record [options] [--] PROGRAM [ARGS...]\n"
"\n"
"Runs PROGRAM (a dynamically linked Go program) with the goprof profiler\n"
"preloaded, and when it ends prints where the samples are and the\n"
"goprof-report commands that show them. Exits with PROGRAM's status\n"
"(128+N if signal N killed it); 125 for an error of goprof-record, 126 if\n"
"PROGRAM cannot be profiled (statically linked, not executable), 127 if it\n"
"is not found.\n"
"\n"
"Options:\n"
"  -o, --output FILE   sample file (default samples.zst); %%p becomes the\n"
"                      program's pid (GOPROF_OUT)\n"
"  -F, --freq HZ       samples per second of CPU time per thread, 1-20000\n"
"                      (default 100; GOPROF_HZ)\n"
"  -d, --depth N       most frames kept per stack, 1-1024 (default 64;\n"
"                      GOPROF_DEPTH)\n"
"      --unwind HOW    stack unwinder: fp, go, libunwind or mixed\n"
"                      (GOPROF_UNWIND; the library checks the value)\n"
"  -q, --quiet         print nothing but errors\n"
"  -h, --help          this help\n"
"      --version       print the version\n"
"\n"
"Other GOPROF_* variables in the environment (GOPROF_SOURCE, GOPROF_SIGNAL)\n"
"reach the program unchanged. A static binary cannot load the profiler:\n"
"build it with import _ \"runtime/cgo\" or -ldflags=-linkmode=external.\n"
"\n"
"Examples:\n"
"  goprof-record ./app -flag value\n"
"  goprof-record -F 1000 -o app.zst -- ./app\n"
"  goprof-report -o flame.svg app.zst\n");
}

static void say(bool quiet, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(bool quiet, const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("goprof-record: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static bool parse_uint(const char *arg, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || v < lo || v > hi)
        return false;
    *out = (unsigned)v;
    return true;
}

/* The directory of this executable, with a trailing '/'. */
static bool self_dir(char *out, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", out, n - 1);
    if (len <= 0)
        return false;
    out[len] = 0;
    char *slash = strrchr(out, '/');
    if (!slash)
        return false;
    slash[1] = 0;
    return true;
}

/* libgoprof.so next to us (the build tree) or in ../lib/goprof (installed). */
static bool find_library(const char *dir, char *out, size_t n)
{
    static const char *const rel[] = {"libgoprof.so", "../lib/goprof/libgoprof.so"};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s%s", dir, rel[i]) >= (int)sizeof p)
            continue;
        if (access(p, R_OK) == 0 && realpath(p, out) && strlen(out) < n)
            return true;
    }
    return false;
}

/* The executable file name in PATH, as execvp would find it. */
static bool search_path(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    for (const char *p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        snprintf(out, n, "%.*s%s%s", (int)len, p, len ? "/" : "", name);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return true;
        if (!colon)
            return false;
        p = colon + 1;
    }
}

/* PROGRAM as execvp would find it. Returns 0, or the exit status for the
 * refusal after saying why. */
static int find_program(const char *name, char *out, size_t n)
{
    if (strchr(name, '/')) {
        snprintf(out, n, "%s", name);
        if (access(out, F_OK) != 0) {
            int err = errno;
            char cwd[PATH_MAX], found[PATH_MAX];
            const char *base = strrchr(name, '/') + 1;
            fprintf(stderr, "goprof-record: %s: %s\n", name, strerror(err));
            if (name[0] != '/' && getcwd(cwd, sizeof cwd))
                fprintf(stderr, "  (a relative path is taken from the current directory, "
                                "%s)\n", cwd);
            if (*base && search_path(base, found, sizeof found))
                fprintf(stderr, "  Fix: give the program's right path, or run the %s "
                                "found in PATH: goprof-record %s\n", found, base);
            else
                fprintf(stderr, "  Fix: give the program's right path (build it first if "
                                "it is not built yet: go build -o %s)\n", name);
            return EXIT_NOT_FOUND;
        }
    } else {
        if (!search_path(name, out, n)) {
            fprintf(stderr, "goprof-record: %s: command not found in PATH\n"
                            "  Fix: give its path (e.g. ./%s), or add its directory to "
                            "PATH\n", name, name);
            return EXIT_NOT_FOUND;
        }
    }
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISREG(st.st_mode) || access(out, X_OK) != 0) {
        fprintf(stderr, "goprof-record: %s: not an executable file\n", out);
        return EXIT_CANNOT_RUN;
    }
    return 0;
}

/* Refuses a static binary (the dynamic loader, which does LD_PRELOAD,
 * never runs for it); warns about a program that is not Go. Scripts and
 * other formats are left to the kernel. */
static int check_binary(const char *path, bool quiet)
{
    struct elfimg img;
    char err[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char magic[4] = {0};
    bool elf = fd >= 0 && read(fd, magic, 4) == 4 && !memcmp(magic, "\177ELF", 4);
    if (fd >= 0)
        close(fd);
    if (!elf || elfimg_open(&img, path, err, sizeof err) != 0)
        return 0;
    bool is_static = !img.has_interp;
    bool is_go = gobin_is_go(&img);
    elfimg_close(&img);
    if (is_static) {
        fprintf(stderr,
                "goprof-record: %s is statically linked: no dynamic loader runs for it, so "
                "the profiler cannot be preloaded.\n"
                "  Fix: link it dynamically, either by adding\n"
                "      import _ \"runtime/cgo\"\n"
                "  to its main package, or by building it with\n"
                "      go build -ldflags=-linkmode=external\n"
                "  (older Go releases, such as 1.19, need the import as well: without\n"
                "  runtime/cgo their threads do not start through pthread_create)\n",
                path);
        return EXIT_CANNOT_RUN;
    }
    if (!is_go)
        say(quiet, "warning: %s is not a Go program; only Go programs it starts are recorded",
            path);
    return 0;
}

/* Expands %p and %% like the library does. */
static void expand_out(const char *pattern, pid_t pid, char *out, size_t n)
{
    size_t w = 0;
    for (const char *p = pattern; *p && w + 1 < n; p++) {
        if (p[0] == '%' && (p[1] == 'p' || p[1] == '%')) {
            w += (size_t)snprintf(out + w, n - w, p[1] == 'p' ? "%d" : "%%", (int)pid);
            p++;
        } else {
            out[w++] = *p;
        }
        if (w >= n)
            w = n - 1;
    }
    out[w] = 0;
}

/* Can the library create (or rewrite) the sample file? */
static int check_output(const char *path)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    bool existed = fd >= 0;
    if (!existed && errno == ENOENT)
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "goprof-record: cannot write the sample file %s: %s\n"
                        "  Fix: choose a writable path with -o FILE\n", path, strerror(errno));
        return EXIT_OURS;
    }
    bool busy = flock(fd, LOCK_EX | LOCK_NB) != 0;
    close(fd);
    if (!existed)
        unlink(path);
    if (busy) {
        fprintf(stderr, "goprof-record: %s is being written by another profiled process\n"
                        "  Fix: choose another file with -o FILE (%%p in it becomes the pid)\n",
                path);
        return EXIT_OURS;
    }
    return 0;
}

/* PATH's goprof-report if it is ours, else our sibling's full path. */
static void report_command(const char *dir, char *out, size_t n)
{
    char mine[PATH_MAX], theirs[PATH_MAX];
    if (snprintf(out, n, "%sgoprof-report", dir) >= (int)n || !realpath(out, mine))
        return;
    char found[PATH_MAX];
    if (search_path("goprof-report", found, sizeof found) && realpath(found, theirs) &&
        !strcmp(mine, theirs))
        snprintf(out, n, "goprof-report");
}

/* s quoted for a POSIX shell when it needs to be. */
static void shell_quote(const char *s, char *out, size_t n)
{
    if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                       "%+,-./:=@_") == strlen(s)) {
        snprintf(out, n, "%s", s);
        return;
    }
    size_t w = 0;
    out[w++] = '\'';
    for (; *s && w + 6 < n; s++) {
        if (*s == '\'') {
            memcpy(out + w, "'\\''", 4);
            w += 4;
        } else {
            out[w++] = *s;
        }
    }
    out[w++] = '\'';
    out[w] = 0;
}

static void on_alarm(int sig) { (void)sig; }

/* Waits until the collector releases its lock on the file (it holds it
 * until the file is complete). False if it did not within secs. */
static bool wait_for_file(const char *path, unsigned secs)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: flock returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    alarm(secs);
    int rc = flock(fd, LOCK_SH);
    alarm(0);
    close(fd);
    return rc == 0;
}

static int run(char **argv, const char *prog, pid_t *pid_out)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "goprof-record: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        execv(prog, argv);
        fprintf(stderr, "goprof-record: cannot run %s: %s\n", prog, strerror(errno));
        _exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
    }
    *pid_out = pid;
    /* Ctrl-C is for the program; we stay to finish the report. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return st;
}

int main(int argc, char **argv)
{
    enum { OPT_UNWIND = 256, OPT_VERSION };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"freq", required_argument, 0, 'F'},
        {"depth", required_argument, 0, 'd'},  {"unwind", required_argument, 0, OPT_UNWIND},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, OPT_VERSION}, {0, 0, 0, 0}};
    const char *out = "samples.zst", *unwind = NULL;
    unsigned hz = 0, depth = 0;
    bool quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "+o:F:d:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'F':
            if (!parse_uint(optarg, 1, 20000, &hz)) {
                fprintf(stderr, "goprof-record: -F expects samples per second from 1 to "
                                "20000, got '%s'\n", optarg);
                return EXIT_OURS;
            }
            break;
        case 'd':
            if (!parse_uint(optarg, 1, 1024, &depth)) {
                fprintf(stderr, "goprof-record: -d expects a frame count from 1 to 1024, "
                                "got '%s'\n", optarg);
                return EXIT_OURS;
            }
            break;
        case OPT_UNWIND: unwind = optarg; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION: printf("goprof-record %s\n", GOPROF_VERSION); return 0;
        default: usage(stderr); return EXIT_OURS;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "goprof-record: no program given (try: goprof-record ./app; --help "
                        "for more)\n");
        return EXIT_OURS;
    }
    if (!*out) {
        fprintf(stderr, "goprof-record: -o needs a file name\n");
        return EXIT_OURS;
    }

    char dir[PATH_MAX], lib[PATH_MAX], prog[PATH_MAX], probe[PATH_MAX];
    if (!self_dir(dir, sizeof dir) || !find_library(dir, lib, sizeof lib)) {
        fprintf(stderr, "goprof-record: cannot find libgoprof.so next to this program or in "
                        "../lib/goprof (reinstall goprof: make install)\n");
        return EXIT_OURS;
    }
    int rc = find_program(argv[optind], prog, sizeof prog);
    if (!rc)
        rc = check_binary(prog, quiet);
    if (!rc)
        expand_out(out, getpid(), probe, sizeof probe), rc = check_output(probe);
    if (rc)
        return rc;

    char buf[PATH_MAX + 16];
    const char *old = getenv("LD_PRELOAD");
    snprintf(buf, sizeof buf, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", buf, 1);
    setenv("GOPROF_OUT", out, 1);
    if (hz)
        snprintf(buf, sizeof buf, "%u", hz), setenv("GOPROF_HZ", buf, 1);
    if (depth)
        snprintf(buf, sizeof buf, "%u", depth), setenv("GOPROF_DEPTH", buf, 1);
    if (unwind)
        setenv("GOPROF_UNWIND", unwind, 1);
    if (quiet)
        setenv("GOPROF_QUIET", "1", 1);

    time_t started = time(NULL);
    pid_t pid = 0;
    int st = run(argv + optind, prog, &pid);
    if (st < 0)
        return EXIT_OURS;
    int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);

    char file[PATH_MAX], abs[PATH_MAX], q[2 * PATH_MAX], report[PATH_MAX];
    expand_out(out, pid, file, sizeof file);
    struct stat sb;
    if (stat(file, &sb) != 0 || sb.st_mtime < started - 1) {
        say(quiet, "no sample file %s was written (see the goprof: lines above; the "
                   "profiler records Go programs only)", file);
        return status;
    }
    if (!wait_for_file(file, 60))
        say(quiet, "warning: %s is still being written after 60 s", file);
    if (WIFSIGNALED(st))
        say(quiet, "%s was killed by signal %d", argv[optind], WTERMSIG(st));
    else
        say(quiet, "%s exited with status %d", argv[optind], status);
    const char *shown = realpath(file, abs) ? abs : file;
    shell_quote(shown, q, sizeof q);
    report_command(dir, report, sizeof report);
    say(quiet, "samples in %s", shown);
    if (!quiet)
        fprintf(stderr, "goprof-record: to view them:\n"
                        "    %s --format=top %s\n"
                        "    %s -o flame.svg %s\n"
                        "    %s -o cpu.pb.gz %s && go tool pprof -http=: cpu.pb.gz\n",
                report, q, report, q, report, q);
    return status;
}
