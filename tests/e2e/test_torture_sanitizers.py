"""Torture, sanitizers: the signal handler, the interposed functions and
the collector built with AddressSanitizer and UndefinedBehaviorSanitizer
(build/asan/libgoprof.so, `make asan`), preloaded into the torture
workloads. A Go program takes an ASan library only with the ASan runtime
preloaded first (LD_PRELOAD="$(gcc -print-file-name=libasan.so)
build/asan/libgoprof.so"); leak checking is off because Go ends a process
with exit_group, where no leak report could run anyway. Every run must
leave no sanitizer report on stderr and a valid file. The goprof-report
side is in test_torture_input.py (ASan build and valgrind)."""
import subprocess

import torture
from torture import job

ASAN_ENV = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:exitcode=66",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
REPORTS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
           "UndefinedBehaviorSanitizer")

# args, what the run must end with, whether to SIGKILL it after 1.5 s
CASES = [
    ("return", ["-seconds", "1"], 0, None),
    ("os.Exit", ["-seconds", "1", "-end", "exit"], 3, None),
    ("SIGKILL", ["-seconds", "100"], -9, 1.5),
    ("signals sent to itself", ["-mode", "selfkill", "-seconds", "1"], 0, None),
    ("handler taken with a raw system call", ["-mode", "rawsig", "-seconds", "1"], 0, None),
    ("1,000 threads exiting while sampled", ["-mode", "churn"], 0, None),
    ("300 threads, file descriptors limited to 200", ["-mode", "threads", "-seconds", "1"], 0,
     None),
    # The child starts no thread (-n 1): in the child of a multi-threaded
    # process, ASan's own allocator lock can be held by a parent thread that
    # fork did not copy, and the child's pthread_create then hangs in ASan
    # (seen once in 30 runs; GCC 12's libsanitizer has no fork handler for
    # it). goprof's side, the fork handler and the inert handler, is the same.
    ("fork() without exec", ["-mode", "fork", "-seconds", "1", "-n", "1"], 0, None),
    ("os/exec children", ["-mode", "exec", "-seconds", "1"], 0, None),
    ("mixed unwinding (libunwind in the collector)", ["-seconds", "1"], 0, None),
]


def case(ctx, tc, binary, asan_rt, name, args, status, kill):
    out = ctx.tmp / ("%s-%s.zst" % (tc, "".join(c if c.isalnum() else "-" for c in name)))
    env = dict(ASAN_ENV, GOPROF_OUT=str(out))
    if name.startswith("mixed"):
        env["GOPROF_UNWIND"] = "mixed"
    limits = ["--nofile=200:200"] if "limited" in name else []
    r = torture.run(ctx, [binary] + args, env=env, lib=ctx.build / "asan" / "libgoprof.so",
                    extra_preload=[asan_rt], kill_after=kill, limits=limits)
    f = torture.FileInfo(ctx, out)
    cpu = r.selfcpu() or r.cpu  # without the children it waited for
    err = r.stderr
    found = [w for w in REPORTS if w in err]
    tag = "%s ASan+UBSan library, %s" % (tc, name)
    # The sanitizers slow everything, goprof's own start-up included, so
    # the floor is lower than the other torture cases'; the ceiling is the
    # same: more samples than CPU time is a counting bug, sanitized or not.
    return [("%s: no sanitizer report, exit %d, a complete file of %d samples for %.2f CPU-s" %
             (tag, r.rc, f.weight, cpu),
             not found and r.rc == status and f.complete and
             torture.count_ok(f.weight, cpu, lo=0.8),
             "reports %s rc %d %r\n%s" % (found, r.rc, f, err[-3000:]))]


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
        for name, args, status, kill in CASES:
            jobs.append(job("%s %s" % (tc, name), case, ctx, tc, b, asan_rt, name, args,
                            status, kill))
    torture.parallel(ctx, jobs)
