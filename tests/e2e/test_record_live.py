"""Recordings the test reaches into while they run, on every Go toolchain:

- Dropped samples: the collector is stopped (SIGSTOP) until the program
  has used enough CPU time to fill the shared-memory ring three times over,
  then continued. What the handler could not hand off is counted: the
  file's counters, the summary line and the report's header say how many
  samples were dropped, and written + dropped is CPU seconds x GOPROF_HZ.
- goprof-report and a collector that has not finished the file: a report
  started while the program runs waits and then reads the whole file;
  `--wait SECONDS` gives up with a message while the collector is stopped;
  `--no-wait` reads the complete blocks of a file still being written.
- GOPROF_SIGNAL as a number, as SIGRTMIN+N and as SIGRTMAX-N: the recording
  is right, and the signal goprof holds is the one asked for (the same
  signal sent from outside is passed on to the program, and counted).

Counts are held to test_record's rule: within 15% of CPU seconds x rate."""
import os
import signal
import subprocess
import time

import torture
from helpers import parse_folded, total, within
from torture import job


def resume(pid):
    """SIGCONT, whatever became of the process: never leave one stopped."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def count_check(tag, n, cpu, hz, what="samples"):
    want = cpu * hz
    return ("%s: %d %s for %.2f CPU-s at %d Hz (want %d +-15%%)" % (tag, n, what, cpu, hz, want),
            within(n, want, 0.15))


# 4 kHz with the deepest stacks, which give the ring its fewest slots (512
# at GOPROF_DEPTH=1024): 0.4 CPU-s with the collector stopped is 1600
# samples, so about 1100 of them cannot be handed off.
DROP_HZ, DROP_DEPTH, STOPPED_CPU = 4000, 1024, 0.4


def drops(ctx, tc, binary):
    out, stop = ctx.tmp / ("%s-drops.zst" % tc), ctx.tmp / ("%s-drops.stop" % tc)
    st = {}

    def tick(live):
        if "collector" not in st:
            c = live.collector()
            if c:
                os.kill(c, signal.SIGSTOP)
                st.update(collector=c, stopped=live.cpu())
        elif "resumed" not in st:
            if live.cpu() - st["stopped"] >= STOPPED_CPU:
                os.kill(st["collector"], signal.SIGCONT)
                st["resumed"] = live.cpu()
        elif live.cpu() - st["resumed"] >= 0.1 and not stop.exists():
            stop.touch()  # the program stops burning and ends

    try:
        r = torture.run(ctx, [binary, "-seconds", "30", "-until", stop],
                        env={"GOPROF_OUT": str(out), "GOPROF_HZ": str(DROP_HZ),
                             "GOPROF_DEPTH": str(DROP_DEPTH)}, tick=tick)
    finally:
        if "collector" in st:
            resume(st["collector"])
    f = torture.FileInfo(ctx, out)
    k = f.counters
    dropped = k.get("dropped_weight", 0) + k.get("torn", 0)
    m = torture.SUMMARY.search(r.stderr)
    top = ctx.goprof_report(["--format=top", out])
    tag = "%s collector stopped for %.1f CPU-s at %d Hz" % (tc, STOPPED_CPU, DROP_HZ)
    name, ok = count_check(tag, f.weight + dropped, r.cpu, DROP_HZ, "written + dropped")
    return [
        ("%s: the program runs to its end, the file is complete" % tag,
         r.rc == 0 and "resumed" in st and f.ok and f.complete,
         "rc %d %s %r\n%s" % (r.rc, st, f, r.stderr[-1000:])),
        ("%s: the file counts %d dropped samples (%d signals)" %
         (tag, k.get("dropped_weight", 0), k.get("dropped", 0)),
         k.get("dropped_weight", 0) > 0 and k.get("dropped", 0) > 0, repr(f)),
        ("%s: the summary line says %s written, %s dropped, as the file does" %
         (tag, m and m.group(1), m and m.group(2)),
         m and int(m.group(1)) == f.weight and int(m.group(2)) == dropped > 0,
         "%r\n%s" % (f, r.stderr[-1000:])),
        ("%s: the report's header says %d dropped" % (tag, dropped),
         top.returncode == 0 and dropped > 0 and "\nDropped:  %d samples\n" % dropped in top.stdout,
         top.stdout[:500] + top.stderr),
        (name, ok, "%r" % f),
    ]


def waiting(ctx, tc, binary):
    """One run, one goroutine: a report starts as soon as the collector has
    begun the file; once the collector has written a block of samples (it
    does every second) a --no-wait report reads it; then the collector is
    stopped and the program ends. Now --wait 0.5 must give up, and the first
    report must still be waiting; once the collector is continued, it
    reads everything the collector wrote."""
    out, stop = ctx.tmp / ("%s-wait.zst" % tc), ctx.tmp / ("%s-wait.stop" % tc)
    st = {}

    def report(*args):
        return [str(ctx.report), "--format=folded"] + list(args) + [str(out)]

    def tick(live):
        if "early" not in st:
            if torture.blocks(out) >= 1:
                st["early"] = subprocess.Popen(report(), stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, text=True)
        elif "nowait" not in st:
            if torture.blocks(out) >= 2:
                st["nowait"] = ctx.sh(report("--no-wait"))
                st["cpu"] = live.cpu()
        elif "collector" not in st and live.cpu() - st["cpu"] >= 0.1:
            st["collector"] = live.collector()
            if st["collector"]:
                os.kill(st["collector"], signal.SIGSTOP)
            stop.touch()

    try:
        r = torture.run(ctx, [binary, "-goroutines", "1", "-seconds", "30", "-until", stop],
                        env={"GOPROF_OUT": str(out)}, tick=tick)
        t0 = time.monotonic()
        late = ctx.sh(report("--wait", "0.5"))
        waited = time.monotonic() - t0
        early = st.get("early")
        early_waiting = early is not None and early.poll() is None
    finally:
        if st.get("collector"):
            resume(st["collector"])
    eout, eerr = early.communicate(timeout=60) if early else ("", "never started")
    f = torture.FileInfo(ctx, out)
    m = torture.SUMMARY.search(r.stderr)
    tag = "%s goprof-report" % tc
    checks = [
        ("%s --wait 0.5, the collector stopped after the program ended: exit 1 after %.1f s, "
         "'still being written'" % (tag, waited),
         r.rc == 0 and late.returncode == 1 and 0.5 <= waited < 10 and not late.stdout and
         "still being written after 0.5 s" in late.stderr,
         "program rc %d, report rc %d\n%s" % (r.rc, late.returncode, late.stderr)),
    ]
    n = total(parse_folded(eout)) if early and early.returncode == 0 else -1
    checks.append((
        "%s started while the program ran: still waiting while the collector was stopped, "
        "then reads the whole file (%d samples)" % (tag, n),
        early_waiting and early.returncode == 0 and "waiting for the collector" in eerr and
        f.complete and m and n == f.weight == int(m.group(1)) > 0,
        "waiting %s rc %s %r\nsummary %s\n%s" % (early_waiting, early and early.returncode, f,
                                                m and m.group(0), eerr)))
    nw = st.get("nowait")
    k = total(parse_folded(nw.stdout)) if nw and nw.returncode == 0 else -1
    checks.append((
        "%s --no-wait while the program runs: the complete blocks (%d of %d samples), "
        "with a warning that the file is still being written" % (tag, k, f.weight),
        nw and nw.returncode == 0 and "is still being written" in nw.stderr and
        0 < k < f.weight, nw and nw.stderr))
    return checks


# GOPROF_SIGNAL values and the signals they name (glibc: SIGRTMIN is 34).
SIGNALS = [("50", 50), ("SIGRTMIN+5", signal.SIGRTMIN + 5), ("SIGRTMAX-3", signal.SIGRTMAX - 3)]
KILLS = 3


def other_signal(ctx, tc, binary, value, signo):
    """Once main runs (the runtime's handlers are in place: it ignores a
    real-time signal it was not asked to deliver), the test sends the
    signal KILLS times: goprof, holding it, passes each on and counts it."""
    out = ctx.tmp / ("%s-signal-%s.zst" % (tc, value))
    sent = []

    def tick(live):
        if not sent and "pid " in live.stdout():
            for _ in range(KILLS):
                os.kill(live.pid, signo)
            sent.append(live.elapsed)

    r = torture.run(ctx, [binary, "-seconds", "0.5"],
                    env={"GOPROF_SIGNAL": value, "GOPROF_OUT": str(out)}, tick=tick)
    f = torture.FileInfo(ctx, out)
    tag = "%s GOPROF_SIGNAL=%s" % (tc, value)
    name, ok = count_check(tag, f.weight, r.cpu, torture.HZ)
    return [
        (name + ", the file complete", r.rc == 0 and f.ok and f.complete and ok,
         "rc %d %r\n%s" % (r.rc, f, r.stderr[-1000:])),
        ("%s: goprof holds signal %d: the %d sent from outside were passed on" %
         (tag, signo, KILLS), sent and f.counters.get("forwarded") == KILLS, repr(f)),
    ]


def run(ctx):
    jobs = []
    for tc in ctx.toolchains:
        b = torture.binary(ctx, tc)
        jobs.append(job("%s drops" % tc, drops, ctx, tc, b))
        jobs.append(job("%s waiting" % tc, waiting, ctx, tc, b))
        for value, signo in SIGNALS:
            jobs.append(job("%s signal %s" % (tc, value), other_signal, ctx, tc, b, value,
                            signo))
    torture.parallel(ctx, jobs)
