"""Torture, coexistence: goprof next to runtime/pprof, under GODEBUG and
GOMAXPROCS changes, with 10,000 goroutines, with 300 threads in blocking
cgo calls (also under a file descriptor limit of 200), with threads that
exit while they are sampled, and in a binary built with -N -l. -race,
PIE and stripped builds and LockOSThread are checked by test_record.py."""
import re

from helpers import folded, pprof_top
import torture
from torture import count_detail, count_ok, job


def record(ctx, tc, binary, tag, args, env=None, limits=()):
    out = ctx.tmp / ("%s-%s.zst" % (tc, tag))
    e = {"GOPROF_OUT": str(out)}
    e.update(env or {})
    r = torture.run(ctx, [binary] + list(args), env=e, limits=limits)
    return r, out, torture.FileInfo(ctx, out)


def counted(tag, r, f, lo=torture.LO):
    return ("%s: %s" % (tag, count_detail(f.weight, r.cpu)),
            r.rc == 0 and f.ok and f.complete and count_ok(f.weight, r.cpu, lo),
            "rc %d %r\n%s" % (r.rc, f, r.stderr[-1500:]))


def with_pprof(ctx, tc, binary):
    prof = ctx.tmp / ("%s-runtime-pprof.pb.gz" % tc)
    r, out, f = record(ctx, tc, binary, "pprof", ["-mode", "pprof", "-pprof", prof])
    tag = "%s runtime/pprof at the same time" % tc
    rows, text = pprof_top(ctx, prof)
    mine = ctx.tmp / ("%s-goprof.pb.gz" % tc)
    g = ctx.goprof_report(["-o", mine, out])
    grows, gtext = pprof_top(ctx, mine) if g.returncode == 0 else ({}, g.stderr)
    return [
        counted(tag, r, f),
        ("%s: runtime/pprof's own profile is valid, main.spin %.0f%% flat" %
         (tag, rows.get("main.spin", (0, 0))[0]), rows.get("main.spin", (0, 0))[0] > 50,
         text[:2000]),
        ("%s: goprof's profile of the same run, main.spin %.0f%% flat" %
         (tag, grows.get("main.spin", (0, 0))[0]), grows.get("main.spin", (0, 0))[0] > 80,
         gtext[:2000]),
    ]


def godebug(ctx, tc, binary):
    env = {"GODEBUG": "asyncpreemptoff=1,gctrace=1", "GOMAXPROCS": "1"}
    r, out, f = record(ctx, tc, binary, "gomaxprocs", ["-mode", "gomaxprocs",
                                                       "-goroutines", "4"], env)
    return [counted("%s GODEBUG=asyncpreemptoff=1,gctrace=1, GOMAXPROCS 1 then 1-4 every "
                    "50 ms" % tc, r, f)]


def goroutines(ctx, tc, binary):
    r, out, f = record(ctx, tc, binary, "goroutines", ["-mode", "goroutines"])
    roots = {s[0] for s, _ in folded(ctx, [out], "--group-by=goroutine")}
    tag = "%s 10,000 goroutines" % tc
    # 10,000 goroutines and about 1,500 samples: most samples name one of
    # their own.
    return [counted(tag, r, f),
            ("%s: %d samples name %d goroutines" % (tag, f.weight, len(roots)),
             len(roots) >= f.weight / 2, str(sorted(roots)[:10]))]


def threads(ctx, tc, binary, limits):
    tag = "%s 300 threads in blocking cgo calls%s" % (
        tc, ", file descriptors limited to 200" if limits else "")
    r, out, f = record(ctx, tc, binary, "threads%s" % ("-lowfd" if limits else ""),
                       ["-mode", "threads"], limits=limits)
    armed = f.counters.get("threads", 0)
    checks = [
        counted(tag, r, f),
        ("%s: all %d threads sampled, none failed" % (tag, armed),
         armed >= 300 and f.counters.get("timer_errors", 1) == 0 and
         "some threads could not be sampled" not in r.stderr, repr(f)),
        ("%s: the program still opens files (%s)" % (tag, r.value("opened")),
         r.value("opened") == "64", r.stdout[-500:]),
    ]
    if limits:
        checks.append(("%s: says the threads past a quarter of the limit use the timer" % tag,
                       "sampled with the CPU-time timer instead" in r.stderr, r.stderr[-1000:]))
    return checks


def churn(ctx, tc, binary):
    """Each of 1,000 threads burns ~1 ms and exits while sampled. Thread
    start and exit, and the ~50 us goprof spends arming and disarming its
    perf event, are outside the sampled window: about 91% is expected, 85%
    required. More than 110% is the backlog of a short first period
    counted as samples (source_perf_weight)."""
    r, out, f = record(ctx, tc, binary, "churn", ["-mode", "churn"])
    # The runtime's own descriptors and idle threads come and go, so the
    # count that shows a leak is of perf events: one per live thread at
    # most (the watchdog thread has none), where a leak of the exited
    # threads' events would leave about a thousand.
    perf = re.match(r"(\d+) threads (\d+)", r.value("perffds") or "")
    tag = "%s 1,000 threads exit while sampled" % tc
    return [
        counted(tag, r, f, 0.85),
        ("%s: %d threads armed, no perf event leaked (%s perf events, fds %s)" %
         (tag, f.counters.get("threads", 0), r.value("perffds"), r.value("fds")),
         f.counters.get("threads", 0) >= 1000 and perf and
         int(perf.group(1)) <= int(perf.group(2)), r.stdout + repr(f)),
    ]


def noopt(ctx, tc):
    b = torture.binary(ctx, tc, ["-gcflags=all=-N -l"], "torture-noopt")
    r, out, f = record(ctx, tc, b, "noopt", ["-seconds", "1.5"])
    spin = sum(n for s, n in folded(ctx, [out]) if "main.spin" in s)
    tag = "%s built with -gcflags=all=-N -l" % tc
    return [counted(tag, r, f),
            ("%s: %d%% of samples in main.spin" % (tag, 100 * spin // max(f.weight, 1)),
             spin > 0.9 * f.weight, "")]


def run(ctx):
    jobs = []
    for tc in ctx.toolchains:
        b = torture.binary(ctx, tc)
        jobs += [job("%s pprof" % tc, with_pprof, ctx, tc, b),
                 job("%s godebug" % tc, godebug, ctx, tc, b),
                 job("%s goroutines" % tc, goroutines, ctx, tc, b),
                 job("%s threads" % tc, threads, ctx, tc, b, ()),
                 job("%s threads lowfd" % tc, threads, ctx, tc, b, ["--nofile=200:200"]),
                 job("%s churn" % tc, churn, ctx, tc, b),
                 job("%s noopt" % tc, noopt, ctx, tc)]
    torture.parallel(ctx, jobs)
