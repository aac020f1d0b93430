#!/usr/bin/env python3
"""make bench: what each way of seeing a Go stack costs, side by side, in
one run on this machine. Prints a markdown table and writes it, with the
raw numbers (results.json) and a chart (chart.svg), to bench/results/.

1. In-process Go strategies, per call, at stack depths 8, 32 and 128
   (tools/bench/gostack).
2. Signal-driven sampling at 100, 1000 and 10,000 Hz of a CPU-bound
   workload (tools/bench/burn, fixed work, 4 goroutines, stacks 32 deep):
   no profiler; goprof with each GOPROF_UNWIND strategy; runtime/pprof at
   the same rate; goprof's timers with an empty handler (the floor: the
   signal alone). Rounds are interleaved; every run is paired with an
   unprofiled run just before it. The cost is measured twice: as the time
   the workload saw taken from its work (precise), and as the extra CPU
   time of the process (noisy on a shared machine); see sampling().
3. File size per sample and goprof-report's time on those files.
4. The handler's own cost per sample: a microbenchmark of the unwinder on
   a 32-deep stack laid out from the workload's real pclntab (hot caches),
   and the time the handler measured in the runs above (cold caches).

It never fails on a number: targets are reported as met or not.
"""
import argparse
import ctypes
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
OUT = REPO / "bench" / "results"
STRATEGIES = ["fp", "go", "mixed", "libunwind"]


def go_env(go):
    env = dict(os.environ, GOTOOLCHAIN="local", CGO_ENABLED="1", GOFLAGS="-mod=mod")
    for k in [k for k in env if k.startswith("GOPROF_")] + ["LD_PRELOAD"]:
        env.pop(k, None)
    return env


def build_go(go, pkg, out):
    subprocess.run([go, "build", "-o", str(out), "."], cwd=REPO / "tools" / "bench" / pkg,
                   check=True, env=go_env(go))


def subreaper():
    """Become the parent of orphans, so that the collector (which outlives
    the program it profiles) is reaped here and its CPU time is known."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def run_once(argv, env, timeout=300):
    """Runs argv; returns (wall s, cpu s of the program, cpu s of the
    collector it left behind, or 0, stdout)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("%s exited with %d" % (argv, os.waitstatus_to_exitcode(status)))
    collector = 0.0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # orphans re-parented to us
        try:
            pid, _, cru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.005)
            continue
        collector += cru.ru_utime + cru.ru_stime
    return wall, ru.ru_utime + ru.ru_stime, collector, out


def gaps_ns(out):
    """The time the workload's threads were taken off their work in short
    gaps (burn's "gaps NS COUNT LONG" line)."""
    m = re.search(r"^gaps (\d+) (\d+) (\d+)$", out, re.M)
    if not m:
        raise RuntimeError("no gaps line in the workload's output: %r" % out[-300:])
    return int(m.group(1))


def counters(sample_file):
    r = subprocess.run([BUILD / "goprof-report", "--format=raw", sample_file],
                       capture_output=True, text=True)
    m = re.search(r"^counters (.*)$", r.stdout, re.M)
    if not m:
        raise RuntimeError("no counters in %s: %s" % (sample_file, r.stderr))
    f = m.group(1).split()
    return {f[i]: int(f[i + 1]) for i in range(0, len(f), 2)}


def pprof_samples(go, prof, hz):
    r = subprocess.run([go, "tool", "pprof", "-top", "-nodecount=1", prof],
                       capture_output=True, text=True)
    m = re.search(r"Total samples = ([\d.]+)(ms|s|us|µs|ns|mins|hrs)", r.stdout)
    if not m:
        return 0
    scale = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "mins": 60, "hrs": 3600}
    return round(float(m.group(1)) * scale[m.group(2)] * hz)


def summarize(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def sampling(go, burn, rates, runs, units, tmp):
    """The sampling configurations, each at each rate. goprof's default
    source is perf's cpu-clock; runtime/pprof uses the thread CPU-time
    timer, which goprof also has (GOPROF_SOURCE=timer): both are measured,
    each against the empty handler on its own timers.

    Two measures of what sampling costs the workload, each against the
    unprofiled run just before it (same load, same moment):
    - taken: the time the profiler took from the workload's threads, from
      the gaps the workload saw in its own work (see burn/main.go), per
      signal and as a share of the work. Interrupts, page faults and
      everything else that is not the profiler are in both runs and cancel
      out; the slowing of the whole machine by other tenants does not reach
      it. This is the precise number.
    - slowdown: the extra CPU time the process used for the same work.
      It includes any indirect cost (caches the handler evicted), but on a
      shared 2-core machine its run-to-run noise is a few percent."""
    configs = []
    for hz in rates:
        configs.append(("empty handler", hz, {"GOPROF_UNWIND": "none"}))
        configs.append(("empty handler, timer", hz, {"GOPROF_UNWIND": "none",
                                                      "GOPROF_SOURCE": "timer"}))
        for s in STRATEGIES:
            configs.append(("goprof " + s, hz, {"GOPROF_UNWIND": s}))
        configs.append(("goprof go, timer", hz, {"GOPROF_UNWIND": "go", "GOPROF_SOURCE": "timer"}))
        configs.append(("runtime/pprof", hz, None))
    metrics = ("slowdown", "wall_slowdown", "taken_ns", "taken_pct", "handler_ns",
               "collector_ns", "bytes", "report_s", "signals")
    rows = {(name, hz): {m: [] for m in metrics} for name, hz, _ in configs}
    base = {"wall": [], "cpu": [], "gaps_ms": []}
    argv = [str(burn), "-units", str(units)]
    for rnd in range(runs):
        for name, hz, env in configs:
            out = tmp / ("r%d-%s-%d" % (rnd, name.replace(" ", "_").replace("/", "_"), hz))
            e = go_env(go)
            # the unprofiled run is repeated before each profiled one, so
            # that each pair is measured under the same load
            wall0, cpu0, _, o0 = run_once(argv, go_env(go))
            gap0 = gaps_ns(o0)
            base["wall"].append(wall0)
            base["cpu"].append(cpu0)
            base["gaps_ms"].append(gap0 / 1e6)
            if env is None:
                wall, cpu, coll, o = run_once(argv + ["-pprof", str(out), "-pprofhz", str(hz)], e)
                signals = pprof_samples(go, out, hz)  # one per SIGPROF, overruns ignored
                handler = None
            else:
                e.update(env, LD_PRELOAD=str(BUILD / "libgoprof.so"), GOPROF_HZ=str(hz),
                         GOPROF_OUT=str(out), GOPROF_QUIET="1")
                wall, cpu, coll, o = run_once(argv, e)
                k = counters(out)
                signals = k["signals"]
                # the handler's own clock, over the signals it handled (not
                # the samples: a timer sample weighs 1 + its overruns)
                handler = k["handler_ns"] / signals if signals and env["GOPROF_UNWIND"] != "none" \
                    else None
                if env["GOPROF_UNWIND"] != "none":
                    t = time.monotonic()
                    subprocess.run([BUILD / "goprof-report", "-q", "-o", str(out) + ".pb.gz", out],
                                   check=True)
                    rows[(name, hz)]["report_s"].append(time.monotonic() - t)
            taken = gaps_ns(o) - gap0
            row = rows[(name, hz)]
            row["slowdown"].append(100 * (cpu / cpu0 - 1))
            row["wall_slowdown"].append(100 * (wall / wall0 - 1))
            row["taken_ns"].append(taken / signals if signals else None)
            row["taken_pct"].append(100 * taken / (cpu0 * 1e9))
            row["handler_ns"].append(handler)
            row["collector_ns"].append(1e9 * coll / signals if signals and env else None)
            row["bytes"].append(out.stat().st_size / signals if signals else None)
            row["signals"].append(signals)
        print("  round %d of %d done" % (rnd + 1, runs), file=sys.stderr, flush=True)
    return configs, {k: {m: summarize(v) for m, v in r.items()} for k, r in rows.items()}, base


def fmt(s, digits=0, pct=False):
    if not s:
        return "–"
    f = "%%.%df" % digits
    unit = "%" if pct else ""
    return (f % s["median"]) + unit + (" (" + f % s["min"] + "…" + f % s["max"] + ")")


def chart(rows, rates, path):
    """Horizontal bars: the median time taken from the workload per signal
    at each rate."""
    names = (["empty handler", "empty handler, timer"] + ["goprof " + s for s in STRATEGIES] +
             ["goprof go, timer", "runtime/pprof"])
    colors = {100: "#9ecae1", 1000: "#3182bd", 10000: "#08519c"}
    vals = [(n, hz, (rows[(n, hz)]["taken_ns"] or {}).get("median") or 0)
            for n in names for hz in rates]
    top = max([v for _, _, v in vals] + [1])
    bar, gap, left, width = 14, 10, 170, 520
    height = 60 + len(names) * (len(rates) * bar + gap)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (left + width + 120, height),
           '<text x="10" y="20" font-size="14">Time taken from the workload per signal '
           '(ns, median), CPU-bound Go workload, stacks 32 deep</text>']
    y = 40
    for n in names:
        out.append('<text x="10" y="%d">%s</text>' % (y + bar * len(rates) / 2 + 4, n))
        for hz in rates:
            v = (rows[(n, hz)]["taken_ns"] or {}).get("median") or 0
            w = max(1, width * max(v, 0) / top)
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' %
                       (left, y, w, bar - 2, colors.get(hz, "#888")))
            out.append('<text x="%.1f" y="%d">%.0f</text>' % (left + w + 4, y + bar - 4, v))
            y += bar
        y += gap
    for i, hz in enumerate(rates):
        out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">'
                   '%d Hz</text>' % (left + 90 * i, height - 16, colors[hz], left + 90 * i + 14,
                                     height - 7, hz))
    out.append("</svg>")
    path.write_text("\n".join(out))


def machine():
    model = ""
    try:
        model = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    return "%s, %d CPUs, Linux %s" % (model, os.cpu_count(), platform.release())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--units", type=int, default=6000, help="work per goroutine per run")
    ap.add_argument("--quick", action="store_true", help="3 rounds, a third of the work")
    ap.add_argument("--report-only", action="store_true",
                    help="only write results.md and chart.svg again from results.json")
    args = ap.parse_args()
    if args.report_only:
        results = json.loads((OUT / "results.json").read_text())
        rows = {(x["config"], x["hz"]): x for x in results["sampling"]}
        rates = sorted({x["hz"] for x in results["sampling"]})
        write_outputs(results, rows, rates)
        return
    if args.quick:
        args.runs, args.units = 3, args.units // 3
    go = shutil.which(os.environ.get("GO", "go")) or "go"
    gover = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout.strip()
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="goprof-bench-"))
    subreaper()
    try:
        burn, gostack = tmp / "burn", tmp / "gostack"
        build_go(go, "burn", burn)
        build_go(go, "gostack", gostack)
        results = {"machine": machine(), "go": gover, "date": time.strftime("%Y-%m-%d"),
                   "command": "make bench"}

        print("1/4 in-process Go strategies...", file=sys.stderr, flush=True)
        r = subprocess.run([gostack], capture_output=True, text=True, check=True)
        results["gostack"] = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

        print("2/4 signal-driven sampling (%d interleaved rounds)..." % args.runs,
              file=sys.stderr, flush=True)
        rates = [100, 1000, 10000]
        configs, rows, base = sampling(go, burn, rates, args.runs, args.units, tmp)
        results["base"] = {k: summarize(v) for k, v in base.items()}
        results["sampling"] = [dict(config=n, hz=hz, **rows[(n, hz)]) for n, hz, _ in configs]

        print("3/4 a run of 100,000 samples for the file size...", file=sys.stderr, flush=True)
        big = tmp / "big.zst"
        e = go_env(go)
        e.update(LD_PRELOAD=str(BUILD / "libgoprof.so"), GOPROF_HZ="10000", GOPROF_OUT=str(big),
                 GOPROF_QUIET="1")
        run_once([str(burn), "-units", str(args.units * 4)], e)
        k = counters(big)
        results["big"] = {"samples": k["samples"], "bytes": big.stat().st_size,
                          "bytes_per_sample": big.stat().st_size / max(1, k["samples"])}

        print("4/4 unwinder microbenchmark...", file=sys.stderr, flush=True)
        micro = []
        for depth in (8, 32, 128):
            r = subprocess.run([BUILD / "bench" / "unwind_bench", burn, str(depth), "300000"],
                               capture_output=True, text=True)
            for line in r.stdout.splitlines():
                m = re.match(r"case (\S+) depth (\d+) ns_per_op ([\d.]+)", line)
                if m:
                    micro.append({"case": m.group(1), "depth": int(m.group(2)),
                                  "ns": float(m.group(3))})
        results["micro"] = micro
        cu = []
        for depth in (4, 16):
            r = subprocess.run([BUILD / "bench" / "cunwind_bench", str(depth), "20000"],
                               capture_output=True, text=True)
            for line in r.stdout.splitlines():
                m = re.match(r"case (.+) depth (\d+) ns_per_op ([\d.]+) bytes (\d+) frames (\d+)",
                             line)
                if m:
                    cu.append({"case": m.group(1), "depth": int(m.group(2)),
                               "ns": float(m.group(3)), "bytes": int(m.group(4)),
                               "frames": int(m.group(5))})
        results["cunwind"] = cu
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    write_outputs(results, rows, rates)


def write_outputs(results, rows, rates):
    md = report(results, rows, rates)
    print(md)
    (OUT / "results.md").write_text(md)
    chart(rows, rates, OUT / "chart.svg")
    print("wrote %s, results.json and chart.svg" % (OUT / "results.md"), file=sys.stderr)


def report(res, rows, rates):
    L = ["# goprof benchmark", "",
         "`%s` on %s, %s, %s. Medians of %d interleaved runs, (min…max)." %
         (res["command"], res["machine"], res["go"], res["date"],
          res["sampling"][0]["slowdown"]["n"] if res["sampling"][0]["slowdown"] else 0), "",
         "## 1. In-process Go strategies: cost per call", "",
         "| strategy | depth 8 | depth 32 | depth 128 | stop-the-world pause per call (median / longest of 20 calls, depth 32) |",
         "|---|---|---|---|---|"]
    g = {}
    for x in res["gostack"]:
        key = x["what"] + (" with %d goroutines" % x["goroutines"] if x.get("goroutines") else "")
        g.setdefault(key, {})[x["depth"]] = x
    for key, by in g.items():
        cells = ["%.1f µs" % (by[d]["ns"] / 1000) if d in by else "–" for d in (8, 32, 128)]
        p = by.get(32, {})
        pause = ("%.0f / %.0f µs" % (p["pause_median_us"], p["pause_max_us"])
                 if p.get("pause_max_us") is not None else "–")
        L.append("| %s | %s | %s |" % (key, " | ".join(cells), pause))
    L += ["", "The pauses are the runtime's own record of them (`/sched/pauses/total/other:seconds`, "
              "histogram bucket bounds; a goroutine that polls the clock measures them with Go "
              "before 1.22). Every other goroutine of the program stands still that long.", "",
          "goprof's handler, for comparison (no formatting, no symbols: those happen "
              "offline):", "",
          "| goprof handler work (excluding the kernel's signal delivery) | depth 8 | depth 32 | depth 128 |",
          "|---|---|---|---|"]
    for case in ("fp", "go", "go+ring"):
        by = {m["depth"]: m["ns"] for m in res["micro"] if m["case"] == case}
        L.append("| unwinder microbenchmark, `%s` (hot caches) | %s |" %
                 (case, " | ".join("%.0f ns" % by[d] if d in by else "–" for d in (8, 32, 128))))
    for s in STRATEGIES:
        h = rows[("goprof " + s, 1000)]["handler_ns"]
        L.append("| measured in the handler at 1000 Hz, `%s`, depth 32 (cold caches) | – | %s ns | – |"
                 % (s, fmt(h)))
    L += ["", "C frames (GOPROF_UNWIND=mixed): libunwind inside the handler against what goprof "
              "does, a copy of the C frames' stack in the handler and libunwind's remote API "
              "in the collector (tools/bench/cunwind_bench.c, a chain of C frames without "
              "frame pointers):", "",
          "| | 4 C frames | 16 C frames |", "|---|---|---|"]
    cases = []
    for x in res.get("cunwind", []):
        if x["case"] not in cases:
            cases.append(x["case"])
    for case in cases:
        by = {x["depth"]: x for x in res["cunwind"] if x["case"] == case}
        L.append("| %s | %s |" % (case, " | ".join(
            "%.0f ns%s" % (by[d]["ns"], " (%d bytes)" % by[d]["bytes"] if "copy" in case else "")
            if d in by else "–" for d in (4, 16))))
    L += ["", "## 2. Signal-driven sampling of a CPU-bound workload", "",
          "4 goroutines, fixed work, stacks 32 frames deep; unprofiled run: %s s wall, %s CPU-s, "
          "%s ms of short gaps in its work." %
          (fmt(res["base"]["wall"], 2), fmt(res["base"]["cpu"], 2), fmt(res["base"]["gaps_ms"], 1)),
          "",
          "Each profiled run is compared with an unprofiled run just before it. "
          "**Taken per signal**: the time the profiler took from the workload's threads, "
          "measured by the workload itself as gaps of 0.5–200 µs in its work (it reads the "
          "TSC every ~200 ns of work) beyond those of the unprofiled run, divided by the "
          "signals delivered: the kernel's interrupt and signal delivery, the handler and "
          "the return. **Taken**: the same time as a share of the work: the slowdown, "
          "measured where other tenants of a shared machine do not reach. "
          "**CPU slowdown**: the extra CPU time the process used for the same work; it also "
          "holds indirect costs (caches the handler evicted) but moves by a few percent from "
          "run to run here. **In the handler**: what the handler measured of itself (TSC). "
          "The collector is a separate process; its CPU time is counted apart. runtime/pprof's "
          "signals are its samples (it ignores timer overruns).", "",
          "| rate | profiler | taken per signal | taken | CPU slowdown | in the handler | collector per signal | file bytes per signal | goprof-report |",
          "|---|---|---|---|---|---|---|---|---|"]
    for x in res["sampling"]:
        L.append("| %d Hz | %s | %s ns | %s | %s | %s | %s | %s | %s |" % (
            x["hz"], x["config"], fmt(x["taken_ns"]), fmt(x["taken_pct"], 2, True),
            fmt(x["slowdown"], 1, True),
            fmt(x["handler_ns"]) + " ns" if x["handler_ns"] else "–",
            fmt(x["collector_ns"]) + " ns" if x["collector_ns"] else "–",
            fmt(x["bytes"], 2), fmt(x["report_s"], 3) + " s" if x["report_s"] else "–"))
    b = res["big"]
    L += ["", "## 3. File size", "",
          "A 10 kHz run of %d samples: %d bytes, %.2f bytes per sample." %
          (b["samples"], b["bytes"], b["bytes_per_sample"])]
    L += ["", "## Targets", ""]
    L += targets(res, rows)
    return "\n".join(L) + "\n"


def med(rows, key, metric):
    s = rows.get(key, {}).get(metric)
    return s["median"] if s else None


def targets(res, rows):
    out = []

    def line(ok, text):
        out.append("- %s %s" % ("**met**:" if ok else "**not met**:", text))

    def overlap(a, b, k):
        """Whether the runs' ranges leave the comparison a <= k*b open."""
        return a and b and a["min"] <= k * b["max"] and a["max"] > k * b["min"]

    noise = " (the runs' ranges overlap: within this machine's noise)"
    for name, src in (("goprof go", "perf"), ("goprof go, timer", "timer")):
        r = rows.get((name, 1000), {})
        taken, cpu = r.get("taken_pct"), r.get("slowdown")
        if not taken:
            continue
        line(taken["median"] < 1,
             "goprof (default `go`, %s source) at 1000 Hz takes %.2f%% (%.2f…%.2f) of the "
             "workload's time (target < 1%%); its CPU time grew by %s, a measure this "
             "machine's noise swamps" % (src, taken["median"], taken["min"], taken["max"],
                                         fmt(cpu, 1, True)))
    for hz in (100, 1000, 10000):
        for src, floor_name, mine_name in (("perf", "empty handler", "goprof go"),
                                           ("timer", "empty handler, timer", "goprof go, timer")):
            floor = rows.get((floor_name, hz), {}).get("taken_ns")
            mine = rows.get((mine_name, hz), {}).get("taken_ns")
            theirs = rows.get(("runtime/pprof", hz), {}).get("taken_ns")
            if not mine:
                continue
            for what, other, limit in (("the empty handler's", floor, 1.5),
                                       ("runtime/pprof's", theirs, 0.5)):
                if not other:
                    continue
                m, o = mine["median"], other["median"]
                if o <= 0 or m < 0:
                    out.append("- **unclear**: at %d Hz (%s source) goprof takes %.0f ns per "
                               "signal against %s %.0f ns: the noise of this run is larger "
                               "than the cost" % (hz, src, m, what, o))
                    continue
                line(m <= limit * o, "at %d Hz (%s source) goprof takes %.0f ns per "
                     "signal, %.2f× %s %.0f ns (target ≤ %.1f×)%s" %
                     (hz, src, m, m / o, what, o, limit,
                      noise if overlap(mine, other, limit) else ""))
    b = res["big"]
    line(b["bytes_per_sample"] < 4, "%.2f bytes per sample over %d samples (target < 4)" %
         (b["bytes_per_sample"], b["samples"]))
    return out


if __name__ == "__main__":
    main()
