"""Torture, sanitizers: the signal handler, the interposed functions and
the collector built with AddressSanitizer and UndefinedBehaviorSanitizer
(build/asan/libgoprof.so, `make asan`), preloaded into the torture
workloads: every ending, every signal case, runtime/pprof alongside,
10,000 goroutines, thread churn, 300 threads under a descriptor limit,
fork, fork+exec, os/exec, mixed unwinding, and the collector killed. A Go
program takes an ASan library only with the ASan runtime preloaded first
(LD_PRELOAD="$(gcc -print-file-name=libasan.so) build/asan/libgoprof.so");
leak checking is off because Go ends a process with exit_group, where no
leak report could run anyway. Every run must leave no sanitizer report on
stderr, end as it ends without the sanitizers, print what its mode prints
when it did its work, and leave a complete file (a truncated one that
reads, when the collector was killed). The goprof-report side is in
test_torture_input.py (ASan build and valgrind)."""
import re
import signal
import subprocess

from helpers import pprof_top
import torture
from torture import job

ASAN_OPTIONS = "detect_leaks=0:abort_on_error=0:exitcode=66"
ASAN_ENV = {"ASAN_OPTIONS": ASAN_OPTIONS,
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
REPORTS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
           "UndefinedBehaviorSanitizer")


class Case:
    """A run of the torture workload under the ASan library.
    args: its arguments (-seconds 1 unless they say otherwise; "{out}"
    becomes the sample file's path); status: the exit statuses it may
    end with; says: what it prints once it has done its work; env,
    limits: more environment, prlimit options; kill: SIGKILL it after so
    many seconds; children: it waits for children, so its own CPU time is
    the one it prints (selfcpu), not wait4's; extra: more checks, a
    function of (ctx, tc, run, out, tag)."""

    def __init__(self, name, args, status=(0,), says=None, env=None, limits=(), kill=None,
                 children=False, collector_killed=False, extra=None):
        self.name, self.status, self.says = name, status, says
        self.args = args if "-seconds" in args else ["-seconds", "1"] + args
        self.env, self.limits, self.kill = env or {}, list(limits), kill
        self.children, self.collector_killed, self.extra = children, collector_killed, extra


def pprof_valid(ctx, tc, r, out, tag):
    """runtime/pprof's own profile of the same run opens and shows the burn."""
    rows, text = pprof_top(ctx, str(out) + ".pprof.pb.gz")
    spin = rows.get("main.spin", (0, 0))[0]
    return [("%s: runtime/pprof's profile opens, main.spin %.0f%% flat" % (tag, spin),
             spin > 50, text[:1500])]


def helper_file(ctx, tc, r, out, tag):
    """The Go helper that C fork()+exec()ed wrote its own complete file."""
    m = re.match(r"(\d+) cpu ([\d.]+)", r.value("child") or "")
    if not m:
        return [("%s: the helper ran" % tag, False, r.stdout)]
    name = "%s.%s.zst" % (out.stem, m.group(1))
    f = torture.FileInfo(ctx, out.with_name(name))
    return [("%s: the helper's own file %s: %s" % (tag, name, torture.count_detail(
                 f.weight, float(m.group(2)))),
             f.complete and torture.count_ok(f.weight, float(m.group(2)), lo=0.8), repr(f))]


CASES = [
    # endings
    Case("return from main", []),
    Case("os.Exit", ["-end", "exit"], (3,)),
    Case("unrecovered panic", ["-end", "panic"], (2,), "panic: torture: deliberate panic"),
    Case("fatal error (throw)", ["-end", "throw"], (2,), "fatal error: concurrent map writes"),
    # Go passes a fault in C code to the handler that was there before its
    # own, here ASan's, which would end the program with its report of the
    # workload's deliberate fault: handle_segv=0 leaves the crash to the Go
    # runtime, as without the sanitizers (and goprof's code is instrumented
    # either way).
    Case("SIGSEGV in C with GOTRACEBACK=crash", ["-end", "segv"],
         (-signal.SIGABRT, -signal.SIGSEGV), "SIGSEGV",
         env={"GOTRACEBACK": "crash", "ASAN_OPTIONS": ASAN_OPTIONS + ":handle_segv=0"}),
    Case("log.Fatal", ["-end", "logfatal"], (1,), "deliberate log.Fatal"),
    Case("SIGKILL", ["-seconds", "100"], (-signal.SIGKILL,), kill=1.5),
    Case("the collector killed", ["-seconds", "2"], collector_killed=True),
    # signals
    Case("signal.Notify for every signal", ["-mode", "notifyall"], says="received "),
    Case("signal.Reset and signal.Ignore", ["-mode", "resetignore"], says="steps "),
    Case("signals sent to itself", ["-mode", "selfkill"], says="selfkill sent 20 received 20"),
    Case("C code takes the signal with signal()", ["-mode", "csignal"],
         says="csignal sent 10 handled 10"),
    Case("handler taken with a raw system call", ["-mode", "rawsig"],
         says="rawsig sent 10 handled 10"),
    # coexistence
    Case("runtime/pprof at the same time", ["-mode", "pprof", "-pprof", "{out}.pprof.pb.gz"],
         extra=pprof_valid),
    Case("10,000 goroutines", ["-mode", "goroutines"], says="goroutines 10000"),
    Case("1,000 threads exiting while sampled", ["-mode", "churn"], says="perffds "),
    # (-seconds 3: starting 300 threads under ASan costs about 130 ms of
    # CPU that no thread's sampling covers, 20% of a 1 s burn under load)
    Case("300 threads, file descriptors limited to 200", ["-mode", "threads", "-seconds", "3"],
         says="opened 64", limits=["--nofile=200:200"]),
    # processes. The fork child starts no thread (-n 1): in the child of a
    # multi-threaded process, ASan's own allocator lock can be held by a
    # parent thread that fork did not copy, and the child's pthread_create
    # then hangs in ASan (seen once in 30 runs; GCC 12's libsanitizer has
    # no fork handler for it). goprof's side, the fork handler and the
    # inert handler, is the same.
    Case("fork() without exec", ["-mode", "fork", "-n", "1"], says="forked ", children=True),
    # (-seconds 2: the helper burns half as long, and 0.5 s would leave the
    # sanitizers' start-up, before goprof arms a thread, too large a share)
    Case("fork()+exec() of a Go helper from C", ["-mode", "forkexec", "-seconds", "2"],
         children=True, extra=helper_file),
    Case("os/exec children", ["-mode", "exec"], says="child ", children=True),
    Case("mixed unwinding (libunwind in the collector)", [], env={"GOPROF_UNWIND": "mixed"}),
]


def case(ctx, tc, binary, asan_rt, c):
    out = ctx.tmp / ("%s-%s.zst" % (tc, "".join(x if x.isalnum() else "-" for x in c.name)))
    env = dict(ASAN_ENV, GOPROF_OUT=str(out))
    env.update(c.env)
    r = torture.run(ctx, [binary] + [a.replace("{out}", str(out)) for a in c.args], env=env,
                    lib=ctx.build / "asan" / "libgoprof.so", extra_preload=[asan_rt],
                    kill_after=c.kill, limits=c.limits,
                    kill_collector_after=torture.once_a_block_is_written(out, 0.5)
                    if c.collector_killed else None)
    f = torture.FileInfo(ctx, out)
    cpu = r.selfcpu() if c.children else r.cpu
    err = r.stderr
    found = [w for w in REPORTS if w in err]
    tag = "%s ASan+UBSan library, %s" % (tc, c.name)
    checks = [("%s: no sanitizer report, exit %d%s" % (
                   tag, r.rc, ", says %r" % c.says if c.says else ""),
               not found and r.rc in c.status and (not c.says or c.says in r.stdout + err),
               "reports %s rc %d\n%s\n%s" % (found, r.rc, r.stdout[-1000:], err[-3000:]))]
    if c.collector_killed:
        rep = ctx.goprof_report(["--format=folded", out])
        checks.append(("%s: the file reads to its last complete block, %d samples, "
                       "with a warning" % (tag, f.weight),
                       not f.complete and rep.returncode == 0 and "truncated" in rep.stderr and
                       0 < f.weight <= f.counters.get("samples", 0),
                       "%r\n%s" % (f, rep.stderr)))
    else:
        # The sanitizers slow everything, goprof's own start-up included, so
        # the floor is lower than the other torture cases'; the ceiling is
        # the same: more samples than CPU time is a counting bug, sanitized
        # or not.
        checks.append(("%s: a complete file, %s" % (tag, torture.count_detail(f.weight, cpu or 0)),
                       f.complete and cpu and torture.count_ok(f.weight, cpu, lo=0.8), repr(f)))
    if c.extra:
        checks += c.extra(ctx, tc, r, out, tag)
    return checks


def run(ctx):
    asan_rt = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                             text=True).stdout.strip()
    lib = ctx.build / "asan" / "libgoprof.so"
    if not ctx.check("the ASan build of the library (make asan) and the ASan runtime are there",
                     lib.exists() and asan_rt.startswith("/"), "%s %s" % (lib, asan_rt)):
        return
    jobs = []
    for tc in ctx.toolchains:
        b = torture.binary(ctx, tc)
        for c in CASES:
            jobs.append(job("%s %s" % (tc, c.name), case, ctx, tc, b, asan_rt, c))
    torture.parallel(ctx, jobs)
