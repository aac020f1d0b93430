"""Recordings the test reaches into while they run, on every Go toolchain:

- Dropped samples: the collector is stopped (SIGSTOP) until the program
  has used enough CPU time to fill the shared-memory ring three times over,
  then continued. What the handler could not hand off is counted: the
  file's counters, the summary line and the report's header say how many
  samples were dropped, and written + dropped is CPU seconds x GOPROF_HZ.

Counts are held to test_record's rule: within 15% of CPU seconds x rate."""
import os
import signal

import torture
from helpers import within
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


def run(ctx):
    jobs = []
    for tc in ctx.toolchains:
        b = torture.binary(ctx, tc)
        jobs.append(job("%s drops" % tc, drops, ctx, tc, b))
    torture.parallel(ctx, jobs)
