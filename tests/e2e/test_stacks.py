"""Whole, true stacks: system-stack stitching, C frames of cgo calls, Go
called back from C, inlined frames, goroutine and thread labels, every
unwinding strategy, and agreement with runtime/pprof where both can see."""
import collections
import re

from helpers import (debug_file_of, folded, libc_path, pprof, pprof_labels, pprof_top,
                     rewrite_stack_flags, within)

STRATEGIES = ("fp", "go", "libunwind", "mixed")


def record(ctx, tc, binary, name, args, env=None, hz=1000):
    out = ctx.tmp / ("%s-%s.zst" % (tc, name))
    e = {"GOPROF_HZ": str(hz), "GOPROF_OUT": str(out)}
    e.update(env or {})
    run = ctx.profile([binary] + list(args), env=e)
    return run, out


def share(stacks, pred, within_pred):
    """Of the samples whose stack satisfies within_pred, the fraction that
    also satisfies pred; and their count."""
    total = sum(n for f, n in stacks if within_pred(f))
    good = sum(n for f, n in stacks if within_pred(f) and pred(f))
    return (good / total if total else 0.0), total


def chain(frames, names):
    """True if names (root first, regular expressions) appear in frames as
    one unbroken run."""
    pats = [re.compile(n + "$") for n in names]
    for i in range(len(frames) - len(pats) + 1):
        if all(p.match(frames[i + k]) for k, p in enumerate(pats)):
            return True
    return False


def in_order(frames, names):
    """True if every name (root first, regex) appears in that order."""
    i = 0
    for n in names:
        p = re.compile(n + "$")
        while i < len(frames) and not p.match(frames[i]):
            i += 1
        if i == len(frames):
            return False
        i += 1
    return True


def test_newproc(ctx, tc, binary):
    for strategy in ("go", "mixed"):
        run, out = record(ctx, tc, binary, "spawn-" + strategy, ["-mode", "spawn", "-seconds", "2"],
                          {"GOPROF_UNWIND": strategy})
        stacks = folded(ctx, [out])
        frac, n = share(stacks, lambda f: chain(f, ["main.spawner", "runtime.newproc",
                                                     "runtime.systemstack",
                                                     "runtime.newproc.func1",
                                                     "runtime.newproc1"]),
                        lambda f: "runtime.newproc1" in f)
        ctx.check("%s %s: runtime.newproc1 sits under spawner -> newproc -> systemstack "
                  "(%.1f%% of %d samples)" % (tc, strategy, 100 * frac, n),
                  n >= 50 and frac >= 0.95, run.stderr[-500:])


def test_mcall(ctx, tc, binary):
    """Goroutines that park in a loop (channel ping-pong): the scheduler's
    work on g0 under runtime.mcall sits under the function that blocked
    while that goroutine is still current (park_m before it drops it);
    after, it stays under a plain runtime.mcall root, as runtime/pprof
    has all of it."""
    blocked = [r"main\.(pingpong|ponger)", r"runtime\.chan(send|recv)[12]",
               r"runtime\.chan(send|recv)", "runtime.gopark", "runtime.mcall", "runtime.park_m"]
    for strategy in ("go", "mixed"):
        run, out = record(ctx, tc, binary, "pingpong-" + strategy,
                          ["-mode", "pingpong", "-seconds", "2"], {"GOPROF_UNWIND": strategy})
        stacks = folded(ctx, [out])
        frac, n = share(stacks, lambda f: chain(f, blocked),
                        lambda f: "runtime.park_m" in f and f[0] != "runtime.mcall")
        plain = sum(c for f, c in stacks if f[:2] == ["runtime.mcall", "runtime.park_m"])
        ctx.check("%s %s: park_m under mcall, while the goroutine that parked is current, "
                  "sits under main.pingpong/ponger <- chansend/chanrecv <- gopark (%.1f%% of %d; "
                  "%d later ones stay under mcall)" % (tc, strategy, 100 * frac, n, plain),
                  n >= 30 and frac >= 0.95 and plain > 0,
                  "\n".join(["%d %s" % (c, ";".join(f)) for f, c in
                             sorted(stacks, key=lambda x: -x[1]) if "runtime.park_m" in f][:8]))


def test_cgo(ctx, tc, binary):
    go_side = ["runtime.cgocall", "main._Cfunc_c_burn", "main.cgoCaller"]
    for strategy, c_side in (("go", ["c_leaf.*"]),
                             ("mixed", ["_cgo_.*_Cfunc_c_burn", "c_burn.*", "c_leaf.*"]),
                             ("libunwind", ["_cgo_.*_Cfunc_c_burn", "c_burn.*", "c_leaf.*"])):
        run, out = record(ctx, tc, binary, "cgo-" + strategy, ["-mode", "cgo", "-seconds", "2"],
                          {"GOPROF_UNWIND": strategy})
        stacks = folded(ctx, [out])
        is_c = lambda f: f and f[-1].startswith("c_leaf")
        if strategy == "libunwind":
            # libunwind alone cannot cross from g0 back to the goroutine
            want = c_side
        else:
            want = list(reversed(go_side)) + c_side
        frac, n = share(stacks, lambda f: chain(f, want), is_c)
        ctx.check("%s %s: C samples read %s (%.1f%% of %d)" %
                  (tc, strategy, " <- ".join(reversed(want)), 100 * frac, n),
                  n >= 200 and frac >= 0.95,
                  "\n".join("%d %s" % (c, ";".join(f)) for f, c in
                            sorted(stacks, key=lambda x: -x[1])[:5]))


def test_callback(ctx, tc, binary):
    layers = ["main.callbacker", "main._Cfunc_c_calls_go", "runtime.cgocall",  # Go
              "crosscall2",                                                    # C
              "runtime.cgocallback", "main.goCallback", "main.goBurn"]         # Go again
    for strategy in ("go", "mixed"):
        run, out = record(ctx, tc, binary, "callback-" + strategy,
                          ["-mode", "callback", "-seconds", "2"], {"GOPROF_UNWIND": strategy})
        stacks = folded(ctx, [out])
        frac, n = share(stacks, lambda f: in_order(f, layers), lambda f: "main.goBurn" in f)
        ctx.check("%s %s: Go -> C -> Go callbacks show all three layers in order "
                  "(%.1f%% of %d)" % (tc, strategy, 100 * frac, n),
                  n >= 200 and frac >= 0.95,
                  "\n".join("%d %s" % (c, ";".join(f)) for f, c in
                            sorted(stacks, key=lambda x: -x[1])[:4]))
        if strategy == "mixed":
            # libunwind finds the C function that called back, and its caller
            frac, n = share(stacks, lambda f: in_order(f, ["runtime.cgocall",
                                                            "_cgo_.*_Cfunc_c_calls_go",
                                                            "c_calls_go.*", "crosscall2"]),
                            lambda f: "main.goBurn" in f)
            ctx.check("%s mixed: the C caller of the callback is recovered (%.1f%% of %d)" %
                      (tc, 100 * frac, n), n >= 200 and frac >= 0.95)


def test_inline(ctx, tc, binary):
    run, out = record(ctx, tc, binary, "inline", ["-mode", "inline", "-seconds", "2"])
    src = (ctx.repo / "tests" / "workloads" / "stitch" / "main.go").read_text().splitlines()
    first = next(i for i, l in enumerate(src, 1) if l.startswith("func mix("))
    body = set(range(first + 1, first + 4))
    prof = ctx.tmp / ("%s-inline.pb.gz" % tc)
    ctx.goprof_report(["-o", prof, out])
    r = pprof(ctx, "-top", "-lines", "-nodecount=30", prof)
    lines = {int(m.group(1)) for m in re.finditer(r"main\.mix \S+main\.go:(\d+)", r.stdout)}
    mix = re.search(r"([\d.]+)%\s+\S+\s+\S+\s+[\d.]+%\s+main\.mix \(inline\)",
                    pprof(ctx, "-top", prof).stdout)
    ctx.check("%s: the inlined main.mix is a frame of its own, with its own lines %s" %
              (tc, sorted(body)),
              mix and float(mix.group(1)) > 20 and lines and lines <= body,
              "lines %s\n%s" % (sorted(lines), r.stdout[:2000]))
    stacks = folded(ctx, [out], "--no-inline")
    ctx.check("%s: --no-inline folds main.mix into main.inlineLoop" % tc,
              not any("main.mix" in f for f, _ in stacks) and
              any(f[-1] == "main.inlineLoop" for f, _ in stacks))


# The flags of a stack (docs/FORMAT.md) and the root frame each one gets.
NO_G, ON_SIGNAL = 2, 4
ROOTS = {NO_G: "[no goroutine]", ON_SIGNAL: "[signal handler]"}


def test_no_goroutine(ctx, tc, binary):
    """A thread of C's own, which never enters Go: its samples sit under
    [no goroutine], with its C frames and nothing else."""
    root = re.escape(ROOTS[NO_G])
    # libunwind also finds the thread's start in libc: named from libc's
    # debug symbols, or as libc.so.6+OFFSET when they are not installed
    named = debug_file_of(libc_path()) is not None
    start = ["clone3", "start_thread"] if named else [r"libc\.so\.6\+0x[0-9a-f]+"] * 2
    frames = {"go": [[root, "cthread_leaf"]],
              "mixed": [[root] + start + ["cthread_main", "cthread_leaf"]]}
    for strategy in ("go", "mixed"):
        run, out = record(ctx, tc, binary, "cthread-" + strategy,
                          ["-mode", "cthread", "-seconds", "2"], {"GOPROF_UNWIND": strategy})
        stacks = folded(ctx, [out])
        frac, n = share(stacks, lambda f: any(len(f) == len(w) and chain(f, w)
                                              for w in frames[strategy]),
                        lambda f: f[-1] == "cthread_leaf")
        ctx.check("%s %s: a C thread's samples read %s (%.1f%% of %d)" %
                  (tc, strategy, " <- ".join(reversed(frames[strategy][0])).replace("\\", ""),
                   100 * frac, n),
                  n >= 500 and frac >= 0.95,
                  "\n".join("%d %s" % (c, ";".join(f)) for f, c in
                            sorted(stacks, key=lambda x: -x[1])[:5]))


def test_c_symbols(ctx, tc, binary):
    """C code in the C library is named from the library's symbols: the
    exported memfrob from its .dynsym, the implementation memset resolves
    to from its separate debug file (libc6-dbg), when it is installed."""
    dbg = debug_file_of(libc_path())
    memset = r"__memset_\w+" if dbg else r"libc\.so\.6\+0x[0-9a-f]+"
    callers = {"go": ["main._Cfunc_c_libc", "runtime.cgocall"],
               "mixed": ["runtime.cgocall", "_cgo_.*_Cfunc_c_libc", "c_libc"]}
    for strategy in ("go", "mixed"):
        run, out = record(ctx, tc, binary, "libc-" + strategy, ["-mode", "libc", "-seconds", "2"],
                          {"GOPROF_UNWIND": strategy})
        stacks = folded(ctx, [out])
        in_c = lambda f: "main._Cfunc_c_libc" in f
        shares = {leaf: share(stacks, lambda f: chain(f, callers[strategy] + [leaf]) and
                              len(f) > 0 and re.match(leaf + "$", f[-1]), in_c)
                  for leaf in ("memfrob", memset)}
        ctx.check("%s %s: samples in libc called from cgo read memfrob and %s under %s "
                  "(%.0f%% and %.0f%% of %d)%s" %
                  (tc, strategy, "__memset_*" if dbg else "libc.so.6+OFFSET",
                   " <- ".join(reversed(callers[strategy])),
                   100 * shares["memfrob"][0], 100 * shares[memset][0], shares[memset][1],
                   "" if dbg else " (libc's debug symbols are not installed: memset's "
                   "implementation has no name)"),
                  shares[memset][1] >= 500 and shares["memfrob"][0] >= 0.2 and
                  shares[memset][0] >= 0.2 and shares["memfrob"][0] + shares[memset][0] >= 0.95,
                  "\n".join("%d %s" % (c, ";".join(f)) for f, c in
                            sorted(stacks, key=lambda x: -x[1])[:5]))
    # C file and line from the binary's DWARF: the cgo preamble's c_leaf
    # (gcc may name its copy c_leaf.constprop.0) is in main.go
    src = (ctx.repo / "tests" / "workloads" / "stitch" / "main.go").read_text().splitlines()
    first = next(i for i, l in enumerate(src, 1) if " c_leaf(uint64_t x" in l)
    last = next(i for i, l in enumerate(src[first:], first + 1) if l == "}")
    nm = ctx.sh(["nm", binary]).stdout
    addr = re.search(r"^([0-9a-f]+) [tT] (c_leaf(\.\w+)*)$", nm, re.M)
    r = ctx.goprof_report(["--addr2line", "--binary", binary, "0x" + addr.group(1)]) \
        if addr else None
    lines = r.stdout.splitlines() if r else []
    m = re.match(r"(.*):(\d+)$", lines[1]) if len(lines) == 2 else None
    ctx.check("%s: --addr2line on the cgo C function c_leaf gives its name and its line in "
              "main.go (%d-%d)" % (tc, first, last),
              m and lines[0] == addr.group(2) and m.group(1).endswith("/stitch/main.go") and
              first <= int(m.group(2)) <= last, r.stdout if r else nm[:300])


def test_root_flags(ctx, tc, binary):
    """The report side of the [signal handler] and [no goroutine] roots.
    No workload puts samples on the signal stack: the Go runtime's handlers
    block every signal while they run (sa_mask is full), so goprof's
    sample comes after sigreturn and is charged to the interrupted code.
    So a real recording is rewritten with the flags set on chosen stacks,
    and goprof-report must put exactly those samples under the roots."""
    run, src = record(ctx, tc, binary, "flags-src", ["-mode", "spawn", "-seconds", "1"])
    dst = ctx.tmp / ("%s-flags.zst" % tc)
    rewrite_stack_flags(src, dst, lambda sid, pcs, fl: fl | [0, NO_G, ON_SIGNAL][sid % 3])
    want = collections.Counter()
    r = ctx.goprof_report(["--format=raw", dst])
    for line in r.stdout.splitlines():
        p = line.split()
        if p[0] == "stack":
            want[int(p[2]) & (NO_G | ON_SIGNAL)] += int(p[1])
    got = collections.Counter()
    for f, n in folded(ctx, [dst]):
        got[{ROOTS[NO_G]: NO_G, ROOTS[ON_SIGNAL]: ON_SIGNAL}.get(f[0], 0) |
            (NO_G if ROOTS[NO_G] in f[1:] else 0)] += n
    ctx.check("%s: samples of stacks flagged no-goroutine or signal-stack are under [no "
              "goroutine] or [signal handler], and only those (%s)" % (tc, dict(want)),
              r.returncode == 0 and want[NO_G] > 0 and want[ON_SIGNAL] > 0 and want[0] > 0 and
              got == want, "want %s got %s" % (dict(want), dict(got)))


def test_labels(ctx, tc, ratio):
    """Goroutine and thread ids on every sample, whatever the strategy:
    fp walks plain frame pointers, but still reads the goroutine id. Each
    of the 4 busy goroutines is locked to a thread (-lock) that prints its
    CPU time: how the scheduler shares 2 cores among them varies with the
    machine's load, so each goroutine's samples are held to its thread's
    CPU time, not to a quarter."""
    for strategy in ("go", "fp"):
        run, out = record(ctx, tc, ratio, "labels-" + strategy,
                          ["-seconds", "2", "-goroutines", "4", "-lock"],
                          {"GOPROF_UNWIND": strategy})
        prof = ctx.tmp / ("%s-labels-%s.pb.gz" % (tc, strategy))
        ctx.goprof_report(["-o", prof, out])
        cpu = {int(t): float(c) for t, c in re.findall(r"thread (\d+) cpu ([\d.]+)", run.stdout)}
        per = collections.Counter()
        for n, labs in pprof_labels(prof):
            d = {k: v for k, _, v in labs}
            per[(d.get("thread"), d.get("goroutine"))] += n
        bad, goids = [], set()
        for tid, c in cpu.items():
            on_tid = {g: n for (t, g), n in per.items() if t == tid}
            g = max(on_tid, key=on_tid.get) if on_tid else None
            goids.add(g)
            if not g or not within(on_tid[g], c * 1000, 0.15):
                bad.append("tid %d: goroutine %s %d samples for %.3f CPU-s" %
                           (tid, g, on_tid.get(g, 0), c))
        ctx.check("%s %s: each of the 4 busy goroutines, locked to a thread, has its thread's "
                  "CPU time in samples (+-15%%) under its own goroutine id" % (tc, strategy),
                  len(cpu) == 4 and len(goids) == 4 and not bad,
                  "; ".join(bad) + " cpu=%s" % cpu + run.stderr[-300:])
        # go tool pprof -tags prints numeric and string labels alike: read
        # the Label messages themselves.
        samples = pprof_labels(prof)
        kinds = collections.Counter()
        for n, labs in samples:
            kinds.update({(k, kind): n for k, kind, _ in labs})
        n_all = sum(n for n, _ in samples)
        with_goid = sum(n for n, labs in samples
                        if any(k == "goroutine" and v for k, _, v in labs))
        # thread_name is left out where the collector found the thread gone
        # before it could read its name (/proc/PID/task/TID/comm)
        ctx.check("%s %s: every sample has the numeric labels (num) thread and goroutine, "
                  "and nearly every one the string label (str) thread_name (%d of %d with a "
                  "goroutine id)" %
                  (tc, strategy, with_goid, n_all),
                  n_all > 500 and set(kinds) == {("goroutine", "num"), ("thread", "num"),
                                                  ("thread_name", "str")} and
                  kinds[("thread", "num")] == n_all and
                  kinds[("thread_name", "str")] >= 0.99 * n_all and
                  with_goid >= 0.95 * n_all, str(kinds))
        stacks = folded(ctx, [out], "--group-by=goroutine")
        roots = {f[0] for f, n in stacks if n > 50}
        ctx.check("%s %s: --group-by=goroutine puts stacks under their goroutine" %
                  (tc, strategy),
                  len(roots) == 4 and all(re.match(r"goroutine [1-9]\d*$", x) for x in roots),
                  str(roots))


def test_mappings(ctx, tc, binary):
    """No strategy ever records a frame outside the process's executable
    mappings, over thousands of samples."""
    for strategy in STRATEGIES:
        outs = []
        for mode in ("spawn", "cgo", "callback", "pingpong"):
            run, out = record(ctx, tc, binary, "maps-%s-%s" % (strategy, mode),
                              ["-mode", mode, "-seconds", "1"], {"GOPROF_UNWIND": strategy})
            outs.append(out)
        r = ctx.goprof_report(["--format=raw"] + outs)
        maps, bad, frames, samples, unwind = [], [], 0, 0, set()
        for line in r.stdout.splitlines():
            p = line.split()
            if p[0] == "file":
                maps = []
                unwind.add(p[p.index("unwind") + 1])
            elif p[0] == "map":
                maps.append((int(p[1], 16), int(p[2], 16)))
            elif p[0] == "stack":
                samples += int(p[1])
                for pc in p[3:]:
                    frames += 1
                    v = int(pc, 16)
                    if not any(lo <= v < hi for lo, hi in maps):
                        bad.append(pc)
        want = str(1 + STRATEGIES.index(strategy))
        ctx.check("%s %s: all %d frames of %d samples lie in executable mappings, and the "
                  "file records the strategy" % (tc, strategy, frames, samples),
                  r.returncode == 0 and samples >= 2000 and not bad and unwind == {want},
                  "outside: %s unwind %s %s" % (bad[:10], unwind, r.stderr))


def test_offsets(ctx, tc, binary):
    r = ctx.goprof_report(["--info", "--binary", binary])
    table = re.search(r"offsets table: (.*)", r.stdout)
    dwarf = re.search(r"offsets dwarf: (.*)", r.stdout)
    ctx.check("%s: the offsets table agrees with the binary's DWARF, vDSO fields included" % tc,
              table and dwarf and table.group(1) == dwarf.group(1) and
              "m.vdsoSP/PC 0/0" not in dwarf.group(1), r.stdout)
    nodwarf = ctx.build_workload("ratio", tc, ["-ldflags=-w"], "ratio-nodwarf")
    r2 = ctx.goprof_report(["--info", "--binary", nodwarf])
    ctx.check("%s: the offsets come from DWARF when the binary has it, else from the table" %
              tc, "offsets used: DWARF\n" in r.stdout and
              re.search(r"offsets used: table go1\.", r2.stdout), r.stdout + r2.stdout)


def unknown_release(ctx, tc, binary, name):
    """A copy of binary whose build info names go1.99 instead of tc's
    release; and whether the version string was found and patched."""
    data = binary.read_bytes()
    i = data.find(b"\xff Go buildinf:")
    j = data.find(tc.version.encode(), i)
    patched = ctx.tmp / ("%s-%s" % (tc, name))
    fake = ("go1.99" + tc.version[len("go1.NN"):]).encode()
    patched.write_bytes(data[:j] + fake + data[j + len(fake):])
    patched.chmod(0o755)
    return patched, 0 < j - i < 200


def test_unknown_release(ctx, tc):
    """A release goprof does not know, without DWARF: a one-line notice,
    frame pointers only, the program unharmed. With DWARF: the offsets come
    from it, and nothing is lost."""
    binary = ctx.build_workload("ratio", tc, ["-ldflags=-w"], "ratio-nodwarf")
    patched, ok = unknown_release(ctx, tc, binary, "unknown")
    run, out = record(ctx, tc, patched, "unknown", ["-seconds", "1"])
    notes = [l for l in run.stderr.splitlines() if "not a Go release goprof knows" in l]
    r = ctx.goprof_report(["--format=raw", out])
    ctx.check("%s: an unknown Go release degrades to frame pointers with one notice" % tc,
              ok and run.rc == 0 and len(notes) == 1 and "unwind 1" in r.stdout and
              "stack" in r.stdout, run.stderr)
    patched, ok = unknown_release(ctx, tc, ctx.build_workload("ratio", tc), "unknown-dwarf")
    run, out = record(ctx, tc, patched, "unknown-dwarf", ["-seconds", "1", "-goroutines", "2"])
    r = ctx.goprof_report(["--format=raw", out])
    stacks = folded(ctx, [out], "--group-by=goroutine")
    with_goid = sum(n for f, n in stacks if re.match(r"goroutine [1-9]", f[0]))
    ctx.check("%s: an unknown Go release with DWARF is unwound in full, from the offsets "
              "DWARF gives (%d of %d samples with a goroutine id)" %
              (tc, with_goid, sum(n for _, n in stacks)),
              ok and run.rc == 0 and "unwind 2" in r.stdout and
              not [l for l in run.stderr.splitlines() if l and "samples written" not in l] and
              with_goid >= 0.95 * sum(n for _, n in stacks) > 0, run.stderr)


# runtime/pprof cannot see into the vDSO and charges its time to the Go
# function that called it; goprof shows the vDSO frame.
VDSO_CALLERS = ("runtime.nanotime", "runtime.walltime", "time.now")


def strip_inline(fn):
    return fn[:-len(" (inline)")] if fn.endswith(" (inline)") else fn


def merge_inline(rows):
    out = {}
    for fn, (flat, cum) in rows.items():
        f0, c0 = out.get(strip_inline(fn), (0.0, 0.0))
        out[strip_inline(fn)] = (f0 + flat, c0 + cum)
    return out


def top10_agreement(ctx, tc, name, binary, args, c_time_in=(), env=None, same_run=False,
                    joined=None):
    """Flat and cumulative percentages of runtime/pprof's top 10 functions,
    against goprof's for the same binary and work (separate runs). Where C
    code runs, runtime/pprof cannot see it and charges its time to the
    functions in c_time_in: their flat is not compared (goprof is right
    there), their cumulative is. Both sample at 1000 Hz; runtime/pprof
    records about a quarter of that (its timer fires on the tick), which
    is still ~1500 samples.

    runtime/pprof's tick-driven clock puts samples on the first
    instruction of runtime.asyncPreempt when a preemption and its
    profiling signal meet (goprof's timer source does the same; its
    default perf source does not), so samples in asyncPreempt are left out
    on both sides. A function's inlined and out-of-line copies count as
    one.

    joined, a regular expression, names the functions on the stack of a
    goroutine that parks (the caller of gopark down to goexit): goprof
    joins the first steps of park_m under them (see test_mcall), which
    runtime/pprof leaves under a plain runtime.mcall root. Their
    cumulative share may be larger in goprof, by any amount; not smaller
    by more than 5 points."""
    c_time_in = tuple(c_time_in) + VDSO_CALLERS
    theirs = ctx.tmp / ("%s-%s.pprof" % (tc, name))
    pprof_args = ["-pprof", theirs, "-pprofhz", "1000"]
    goprof_env = dict(env or {})
    if same_run:
        run, out = record(ctx, tc, binary, "cmp-" + name, args + pprof_args, goprof_env)
    else:
        import os
        ctx.sh([binary] + args + pprof_args, timeout=120, env=dict(os.environ, **(env or {})))
        run, out = record(ctx, tc, binary, "cmp-" + name, args, goprof_env)
    ours = ctx.tmp / ("%s-%s-goprof.pb.gz" % (tc, name))
    ctx.goprof_report(["-o", ours, out])
    skip = ["-ignore=^runtime\\.asyncPreempt$", "-relative_percentages"]
    r = pprof(ctx, "-top", "-nodecount=10", *skip, theirs)
    top = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*\S+\s+([\d.]+)%\s+[\d.]+%\s+\S+\s+([\d.]+)%\s+(.+)$", line)
        if m:
            top.append((m.group(3).strip(), float(m.group(1)), float(m.group(2))))
    theirs_all, _ = pprof_top(ctx, theirs, *skip)
    mine, _ = pprof_top(ctx, ours, *skip)
    theirs_all, mine = merge_inline(theirs_all), merge_inline(mine)
    top = [(strip_inline(fn),) + theirs_all[strip_inline(fn)] for fn, _, _ in top]
    bad = []
    for fn, flat, cum in top:
        oflat, ocum = mine.get(fn, (0.0, 0.0))
        if fn not in c_time_in and abs(flat - oflat) > 5:
            bad.append("%s flat %.1f%% vs goprof %.1f%%" % (fn, flat, oflat))
        if (cum - ocum > 5) if joined and re.match(joined + "$", fn) else abs(cum - ocum) > 5:
            bad.append("%s cum %.1f%% vs goprof %.1f%%" % (fn, cum, ocum))
    blind = [f for f in c_time_in if f not in VDSO_CALLERS]
    ctx.check("%s %s: runtime/pprof's top 10 agree with goprof within 5 points%s%s%s" %
              (tc, name, " (C time: pprof charges it to %s)" % ", ".join(blind)
               if blind else "", " (both in one run)" if same_run else "",
               " (goprof shows more cum where park_m is joined: %s)" % joined.replace("\\", "")
               if joined else ""),
              len(top) >= 3 and not bad, "; ".join(bad) + "\n" + r.stdout[:2500])


def test_versus_pprof(ctx, tc, stitch, ratio):
    top10_agreement(ctx, tc, "ratio", ratio, ["-seconds", "3", "-goroutines", "4"])
    for mode in ("inline", "callback"):
        top10_agreement(ctx, tc, mode, stitch, ["-mode", mode, "-seconds", "3"])
    # Goroutine creation is compared within one run, with both profilers
    # on: runtime/pprof changes this workload (with it enabled the
    # scheduler spends ~10% in checkTimers, without it <1%, as goprof shows
    # either way), and with two Ps the interleaving of creation and exit
    # differs from run to run. One P keeps the work steady. goprof uses its
    # timer source here, the clock runtime/pprof uses: on this scheduler-
    # bound work a tick-driven clock and the precise perf clock disagree
    # by a few points on their own.
    top10_agreement(ctx, tc, "spawn", stitch, ["-mode", "spawn", "-seconds", "3",
                                               "-goroutines", "1"],
                    env={"GOMAXPROCS": "1", "GOPROF_SOURCE": "timer"}, same_run=True)
    top10_agreement(ctx, tc, "cgo", stitch, ["-mode", "cgo", "-seconds", "3"],
                    c_time_in=("runtime.cgocall",))
    # Goroutines parking in a loop: runtime/pprof ends every stack on g0
    # at mcall; goprof continues the first steps of park_m onto the
    # goroutine that parked, so the functions on its stack (gopark, the
    # channel operation, the user function, goexit) get more cum: with two
    # Ps, in separate runs, runtime.gopark 2.8% -> 7.8% and main.pingpong
    # 33.9% -> 39.1% (Go 1.26). Scheduler-bound like spawn, so compared the
    # same way: one run, one P, the timer source.
    top10_agreement(ctx, tc, "pingpong", stitch, ["-mode", "pingpong", "-seconds", "3",
                                                  "-goroutines", "1"],
                    env={"GOMAXPROCS": "1", "GOPROF_SOURCE": "timer"}, same_run=True,
                    joined=r"runtime\.goexit|main\..*|runtime\.chan(send|recv)[12]?|"
                           r"runtime\.gopark")


def run(ctx):
    r = ctx.profile(["true"], env={"GOPROF_UNWIND": "dwarf"})
    ctx.check("a non-Go program ignores even a bad GOPROF_UNWIND", r.rc == 0 and not r.stderr)
    for tc in ctx.toolchains:
        stitch = ctx.build_workload("stitch", tc)
        ratio = ctx.build_workload("ratio", tc)
        bad = ctx.profile([ratio, "-seconds", "0.1"], env={"GOPROF_UNWIND": "dwarf"})
        ctx.check("%s GOPROF_UNWIND=dwarf: one-line error listing the strategies" % tc,
                  bad.rc == 0 and "fp, go, libunwind, mixed or none" in bad.stderr, bad.stderr)
        test_offsets(ctx, tc, stitch)
        test_newproc(ctx, tc, stitch)
        test_mcall(ctx, tc, stitch)
        test_cgo(ctx, tc, stitch)
        test_callback(ctx, tc, stitch)
        test_inline(ctx, tc, stitch)
        test_no_goroutine(ctx, tc, stitch)
        test_c_symbols(ctx, tc, stitch)
        test_root_flags(ctx, tc, stitch)
        test_labels(ctx, tc, ratio)
        test_mappings(ctx, tc, stitch)
        test_unknown_release(ctx, tc)
        test_versus_pprof(ctx, tc, stitch, ratio)
