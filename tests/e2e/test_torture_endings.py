"""Torture, endings: however the profiled program ends, the file is
complete and holds at least 95% (and at most 110%) of the samples its CPU
time implies: return from main, os.Exit, an unrecovered panic, the
runtime's throw, a SIGSEGV crash under GOTRACEBACK=crash, log.Fatal,
SIGKILL from outside; and the collector itself killed. (test_record.py
also checks return, os.Exit and a panic for the burn ratio, at +-15%.)"""
import signal

import torture
from torture import count_detail, count_ok, job

# -end value, extra environment, the exit statuses it may have, what it
# must print (the program's last line, or the runtime's own message)
ENDINGS = [
    ("return", {}, (0,), "selfcpu "),
    ("exit", {}, (3,), "selfcpu "),
    ("panic", {}, (2,), "panic: torture: deliberate panic"),
    ("throw", {}, (2,), "fatal error: concurrent map writes"),
    ("segv", {"GOTRACEBACK": "crash"}, (-signal.SIGABRT, -signal.SIGSEGV), "SIGSEGV"),
    ("logfatal", {}, (1,), "deliberate log.Fatal"),
]


def ending(ctx, tc, binary, end, env, statuses, says):
    out = ctx.tmp / ("%s-%s.zst" % (tc, end))
    e = {"GOPROF_OUT": str(out)}
    e.update(env)
    r = torture.run(ctx, [binary, "-end", end, "-seconds", "1.5"], env=e)
    f = torture.FileInfo(ctx, out)
    tag = "%s ends with %s" % (tc, end)
    return [
        ("%s: exit status %s, says %r" % (tag, r.rc, says),
         r.rc in statuses and says in r.stdout + r.stderr,
         "rc %d\n%s\n%s" % (r.rc, r.stdout[-500:], r.stderr[-1500:])),
        ("%s: the file is complete, %s" % (tag, count_detail(f.weight, r.cpu)),
         f.ok and f.complete and count_ok(f.weight, r.cpu), repr(f)),
    ]


def sigkill(ctx, tc, binary):
    """SIGKILL after 2 s: the collector, a process of its own, finishes."""
    out = ctx.tmp / ("%s-sigkill.zst" % tc)
    r = torture.run(ctx, [binary, "-seconds", "100"], env={"GOPROF_OUT": str(out)},
                    kill_after=2)
    f = torture.FileInfo(ctx, out)
    m = torture.SUMMARY.search(r.stderr)
    tag = "%s SIGKILL after 2 s" % tc
    return [
        ("%s: killed, the file is complete, %s" % (tag, count_detail(f.weight, r.cpu)),
         r.rc == -signal.SIGKILL and f.ok and f.complete and count_ok(f.weight, r.cpu),
         "rc %d %r" % (r.rc, f)),
        ("%s: the collector's summary line" % tag, m and int(m.group(1)) == f.weight,
         r.stderr[-1000:]),
    ]


def collector_killed(ctx, tc, binary):
    """The collector SIGKILLed mid-run, once it has written a block of
    samples: the program runs on unharmed; the reader keeps every complete
    block, says the file is truncated, and what it keeps is what the
    handler had recorded by the last complete block (its counters record
    says how much; the collector drains the ring every 10 ms, so a few
    recorded samples may not have reached the block yet)."""
    out = ctx.tmp / ("%s-collector-killed.zst" % tc)
    r = torture.run(ctx, [binary, "-seconds", "3"], env={"GOPROF_OUT": str(out)},
                    kill_collector_after=torture.once_a_block_is_written(out, 1.2))
    f = torture.FileInfo(ctx, out)
    recorded = f.counters.get("samples", 0)
    rep = ctx.goprof_report(["--format=folded", out])
    folded = sum(int(l.rsplit(" ", 1)[1]) for l in rep.stdout.splitlines())
    tag = "%s collector killed" % tc
    return [
        ("%s: the program runs to its end" % tag,
         r.rc == 0 and r.selfcpu() is not None, "rc %d\n%s" % (r.rc, r.stderr[-1000:])),
        ("%s: goprof-report reads it, warns 'truncated', keeps %d samples of the %d recorded "
         "by the last complete block" % (tag, f.weight, recorded),
         rep.returncode == 0 and not f.complete and "truncated" in rep.stderr and
         rep.stderr.count("\n") == 1 and folded == f.weight and f.weight > 0 and
         recorded - 50 - recorded // 10 <= f.weight <= recorded, "%r\nfolded %d: %s" % (f, folded, rep.stderr)),
    ]


def run(ctx):
    jobs = []
    for tc in ctx.toolchains:
        b = torture.binary(ctx, tc)
        for end, env, statuses, says in ENDINGS:
            jobs.append(job("%s %s" % (tc, end), ending, ctx, tc, b, end, env, statuses, says))
        jobs.append(job("%s sigkill" % tc, sigkill, ctx, tc, b))
        jobs.append(job("%s collector killed" % tc, collector_killed, ctx, tc, b))
    torture.parallel(ctx, jobs)
