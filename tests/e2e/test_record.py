"""Recording a cgo Go program with LD_PRELOAD and reading it back as pprof:
the ratio and count checks of the recorder, on every Go toolchain, for
every way the program can end and every way it can be built."""
import os
import re
import shutil
import time

from helpers import BURNS, build_id, folded, pprof, pprof_top, pprof_traces, total, within

SUMMARY = re.compile(r"goprof: (\d+) samples written, (\d+) dropped, (\d+) threads seen, file (\S+)")


def check_ratio(ctx, tag, tc, samples):
    """go tool pprof -top shows burnA/B/C at 1/7, 2/7, 4/7 of the samples
    (+-4 points), and >= 98% of the frameless leaf's samples have one of
    them as parent."""
    prof = ctx.tmp / (samples.stem + ".pb.gz")
    r = ctx.goprof_report(["-o", prof, samples])
    if not ctx.check("%s %s: goprof-report writes pprof" % (tc, tag), r.returncode == 0, r.stderr):
        return
    rows, text = pprof_top(ctx, prof)
    bad = []
    for fn, want in BURNS.items():
        got = rows.get(fn, (0, 0))[1]
        if abs(got - 100 * want) > 4:
            bad.append("%s cum %.1f%% (want %.1f%%)" % (fn, got, 100 * want))
    ctx.check("%s %s: burnA:burnB:burnC = 1:2:4 within 4 points" % (tc, tag), not bad,
              "; ".join(bad) + "\n" + text[:3000])
    leaf = parent_ok = 0
    for count, frames in pprof_traces(ctx, prof):
        for i, f in enumerate(frames):
            if f == "main.leaf":
                leaf += count
                if i + 1 < len(frames) and frames[i + 1] in BURNS:
                    parent_ok += count
                break
    ctx.check("%s %s: >= 98%% of the frameless leaf's samples name its caller" % (tc, tag),
              leaf > 0 and parent_ok >= 0.98 * leaf,
              "%d of %d leaf samples under burnA/B/C" % (parent_ok, leaf))


def check_count(ctx, tag, tc, run, samples, hz, rel=0.15):
    """Samples = CPU seconds x rate, within 15%; and the collector's summary
    line says the same."""
    n = total(folded(ctx, [samples]))
    want = run.cpu * hz
    ctx.check("%s %s: %d samples for %.2f CPU-s at %d Hz (want %d +-%d%%)" %
              (tc, tag, n, run.cpu, hz, want, rel * 100), within(n, want, rel),
              "stderr:\n" + run.stderr[-1500:])
    m = SUMMARY.search(run.stderr)
    ctx.check("%s %s: summary line on stderr names the file and the count" % (tc, tag),
              m and int(m.group(1)) == n and m.group(4).endswith(samples.name) and int(m.group(3)) >= 2,
              run.stderr[-1500:])


def record(ctx, binary, name, args=(), env=None, hz=1000, seconds=2):
    out = ctx.tmp / (name + ".zst")
    e = {"GOPROF_HZ": str(hz), "GOPROF_OUT": str(out)}
    e.update(env or {})
    run = ctx.profile([binary, "-seconds", str(seconds)] + list(args), env=e)
    return run, out


def variants(ctx, tc):
    """Every build of the workload the recorder must handle."""
    return [
        ("default", ctx.build_workload("ratio", tc)),
        ("stripped", ctx.build_workload("ratio", tc, ["-ldflags=-s -w"], "ratio-stripped")),
        ("pie", ctx.build_workload("ratio", tc, ["-buildmode=pie"], "ratio-pie")),
        ("race", ctx.build_workload("ratio", tc, ["-race"], "ratio-race")),
    ]


def test_builds_and_endings(ctx, tc):
    for tag, binary in variants(ctx, tc):
        run, out = record(ctx, binary, "%s-%s" % (tc, tag))
        ctx.check("%s %s: program exits 0 under the profiler" % (tc, tag), run.rc == 0,
                  run.stderr[-1500:])
        check_ratio(ctx, tag, tc, out)
        check_count(ctx, tag, tc, run, out, 1000)
    binary = ctx.build_workload("ratio", tc)
    for end, rc in (("exit", 3), ("panic", 2)):
        run, out = record(ctx, binary, "%s-end-%s" % (tc, end), ["-end", end])
        ctx.check("%s ends with %s: exit status %d kept" % (tc, end, rc), run.rc == rc,
                  "got %d" % run.rc)
        check_ratio(ctx, "ends with " + end, tc, out)
        check_count(ctx, "ends with " + end, tc, run, out, 1000)


def test_rates_and_sources(ctx, tc):
    binary = ctx.build_workload("ratio", tc)
    for hz in (100, 1000):
        for source in ("perf", "timer"):
            tag = "%d Hz %s" % (hz, source)
            run, out = record(ctx, binary, "%s-%d-%s" % (tc, hz, source), [],
                              {"GOPROF_SOURCE": source}, hz)
            check_count(ctx, tag, tc, run, out, hz)
            prof = ctx.tmp / ("%s-%d-%s.pb.gz" % (tc, hz, source))
            ctx.goprof_report(["-o", prof, out])
            r = pprof(ctx, "-comments", prof)
            want = "perf cpu-clock" if source == "perf" else "cpu timer"
            ctx.check("%s %s: the profile records the source that ran" % (tc, tag),
                      want in r.stdout, r.stdout + r.stderr)
    # Started through /usr/bin/time: time itself stays inert, the Go
    # program is recorded, and its CPU time is still matched.
    tim = shutil.which("time") or "/usr/bin/time"
    out = ctx.tmp / ("%s-via-time.zst" % tc)
    run = ctx.profile([tim, "-f", "time says %U %S", binary, "-seconds", "2"],
                      env={"GOPROF_HZ": "1000", "GOPROF_OUT": str(out)})
    ctx.check("%s via /usr/bin/time: one sample file, from the Go program" % tc,
              run.rc == 0 and out.exists() and len(list(ctx.tmp.glob("%s-via-time*" % tc))) == 1,
              run.stderr[-1000:])
    check_count(ctx, "via /usr/bin/time", tc, run, out, 1000)


def thread_samples(ctx, out):
    """{tid: samples} of a sample file."""
    per = {}
    for frames, n in folded(ctx, [out], "--group-by=thread"):
        m = re.match(r"thread (\d+)", frames[0])
        if m:
            per[int(m.group(1))] = per.get(int(m.group(1)), 0) + n
    return per


def test_thread_shares(ctx, tc):
    """Each busy thread gets its share: 4 goroutines locked to 4 threads on
    2 cores; each thread's samples match its own CPU time."""
    binary = ctx.build_workload("ratio", tc)
    run, out = record(ctx, binary, "%s-threads" % tc, ["-lock"])
    cpu = {int(t): float(s) for t, s in re.findall(r"thread (\d+) cpu ([\d.]+)", run.stdout)}
    per = thread_samples(ctx, out)
    bad = ["tid %d: %d samples for %.3f CPU-s" % (t, per.get(t, 0), c)
           for t, c in cpu.items() if not within(per.get(t, 0), c * 1000, 0.15)]
    ctx.check("%s: each of 4 busy threads gets its share (+-15%%)" % tc,
              len(cpu) == 4 and not bad, "; ".join(bad) + " cpu=%s samples=%s" % (cpu, per))


def test_depth(ctx, tc):
    binary = ctx.build_workload("ratio", tc)
    run, out = record(ctx, binary, "%s-depth4" % tc, [], {"GOPROF_DEPTH": "4"}, 100)
    stacks = folded(ctx, [out])
    deep = [f for f, _ in stacks if "main.leaf" in f]
    ctx.check("%s GOPROF_DEPTH=4: stacks cut at 4 frames are marked [truncated]" % tc,
              deep and all(f[0] == "[truncated]" and len(f) == 5 for f in deep),
              str(deep[:3]))
    run, out = record(ctx, binary, "%s-depth512" % tc, ["-recurse", "400"],
                      {"GOPROF_DEPTH": "512"}, 100)
    stacks = [f for f, _ in folded(ctx, [out]) if "main.leaf" in f]
    ok = stacks and all(f[0] != "[truncated]" and f.count("main.recurse") == 401 for f in stacks)
    ctx.check("%s GOPROF_DEPTH=512: a 400-deep recursion is recorded whole" % tc, ok,
              "frames per stack: %s" % sorted({len(f) for f in stacks}))


def test_callers_match_go(ctx, tc):
    """--addr2line agrees with runtime.CallersFrames on every PC of a stack
    through inlined functions, methods and closures."""
    binary = ctx.build_workload("callers", tc)
    r = ctx.sh([binary])
    go = []  # [(pc, [frames])]
    for line in r.stdout.splitlines():
        if line.startswith("pc "):
            go.append((int(line[3:], 16), []))
        elif line.startswith("frame ") and go:
            go[-1][1].append(line[6:].replace("\t", " "))
    flat = [(pc, f[0]) for pc, f in go]  # Go returns one frame per PC
    q = "".join("%x\n" % (pc - 1) for pc, _ in flat)
    a = ctx.sh([ctx.report, "--addr2line", "--addresses", "--binary", binary], input=q)
    ours = []
    lines = a.stdout.splitlines()
    k = 0
    while k < len(lines):
        if lines[k].startswith("0x"):
            ours.append([])
            k += 1
        else:
            ours[-1].append("%s %s" % (lines[k], lines[k + 1]))
            k += 2
    # A physical frame's PC expands to its inlined frames; Go lists the
    # outer ones as separate (fake) PCs right after it.
    mismatches, k = [], 0
    while k < len(flat):
        exp = ours[k] or ["?"]
        want = [f for _, f in flat[k:k + len(exp)]]
        if exp != want:
            mismatches.append("pc %x: goprof %s, Go %s" % (flat[k][0], exp, want))
            k += 1
        else:
            k += len(exp)
    ctx.check("%s: --addr2line matches runtime.CallersFrames (%d PCs, inlined frames included)"
              % (tc, len(flat)), len(flat) >= 15 and not mismatches,
              "\n".join(mismatches[:10]) + r.stderr)
    # The same addresses as arguments (0x-prefixed this time) and without
    # -a: the same frames without the address lines; an address that is
    # not hex, or not in any function, gets "??" lines as in addr2line.
    args = ["0x%x" % (pc - 1) for pc, _ in flat] + ["zz", "0x1"]
    p = ctx.sh([ctx.report, "--addr2line", "--binary", binary] + args)
    want = "".join(l + "\n" for l in lines if not l.startswith("0x")) + "??\n??:0\n" * 2
    ctx.check("%s: --addr2line ADDR... without -a prints the same frames, no addresses" % tc,
              p.returncode == 0 and p.stdout == want and len(lines) > len(flat),
              "rc %d\ngot:\n%s\nwant:\n%s%s" % (p.returncode, p.stdout[:1500], want[:1500],
                                                p.stderr))


def test_high_rate(ctx, tc):
    """GOPROF_HZ=10000, above the kernel tick: still one sample per 100 us
    of CPU time."""
    binary = ctx.build_workload("ratio", tc)
    run, out = record(ctx, binary, "%s-10khz" % tc, ["-goroutines", "2"], hz=10000,
                      seconds=0.75)
    check_count(ctx, "10000 Hz", tc, run, out, 10000)


def test_unwind_none(ctx, tc):
    """GOPROF_UNWIND=none, the benchmark's floor: every signal is counted,
    no stack is recorded."""
    binary = ctx.build_workload("ratio", tc)
    run, out = record(ctx, binary, "%s-unwind-none" % tc, ["-goroutines", "2"],
                      {"GOPROF_UNWIND": "none"}, seconds=0.5)
    r = ctx.goprof_report(["--format=raw", out])
    m = re.search(r"^file .* unwind 5 complete 1\ncounters signals (\d+) samples (\d+) ",
                  r.stdout, re.M)
    stacks = [l for l in r.stdout.splitlines() if l.startswith("stack ")]
    ctx.check("%s GOPROF_UNWIND=none: %s signals counted for %.2f CPU-s at 1000 Hz (+-15%%), "
              "no stacks" % (tc, m and m.group(1), run.cpu),
              run.rc == 0 and m and within(int(m.group(1)), run.cpu * 1000, 0.15) and
              m.group(2) == "0" and not stacks, r.stdout[:1000] + r.stderr + run.stderr)


def section_names(ctx, binary):
    r = ctx.sh(["readelf", "-SW", binary])
    return re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", r.stdout, re.M)


def test_stripped_pie(ctx, tc):
    """A stripped PIE binary (-buildmode=pie -ldflags='-s -w'): no symbol
    table, and where no section names the pclntab either (Go 1.19: it lies
    inside .data.rel.ro) goprof finds it by scanning for its magic."""
    binary = ctx.build_workload("ratio", tc, ["-buildmode=pie", "-ldflags=-s -w"],
                                "ratio-stripped-pie")
    secs = section_names(ctx, binary)
    info = ctx.sh([ctx.report, "--info", "--binary", binary])
    m = re.search(r"^pclntab .* from (.*), \d+ functions$", info.stdout, re.M)
    named = [n for n in secs if n.endswith("gopclntab")]
    want = "section " + named[0] if named else "scan for the pclntab magic"
    ctx.check("%s stripped PIE: no .symtab; the pclntab is found by %s" % (tc, want),
              secs and ".symtab" not in secs and m and m.group(1) == want,
              "sections %s\n%s%s" % (secs, info.stdout, info.stderr))
    run, out = record(ctx, binary, "%s-stripped-pie" % tc, seconds=0.7)
    ctx.check("%s stripped PIE: program exits 0 under the profiler" % tc, run.rc == 0,
              run.stderr[-1500:])
    check_ratio(ctx, "stripped PIE", tc, out)
    check_count(ctx, "stripped PIE", tc, run, out, 1000)


def test_default_output(ctx, tc):
    """Neither GOPROF_OUT nor GOPROF_HZ set: samples.zst in the working
    directory, at 100 Hz."""
    binary = ctx.build_workload("ratio", tc)
    d = ctx.tmp / ("defaults-%s" % tc)
    d.mkdir()
    run = ctx.profile([binary, "-seconds", "1", "-goroutines", "2"], cwd=d)
    files = sorted(p.name for p in d.iterdir())
    ctx.check("%s GOPROF_OUT unset: samples.zst in the working directory" % tc,
              files == ["samples.zst"], "files %s\n%s" % (files, run.stderr[-1000:]))
    if files != ["samples.zst"]:
        return
    top = ctx.goprof_report(["--format=top", d / "samples.zst"])
    ctx.check("%s GOPROF_HZ unset: the file says 100 Hz" % tc,
              re.search(r"^Rate:\s+100 Hz ", top.stdout, re.M), top.stdout[:600] + top.stderr)
    check_count(ctx, "defaults", tc, run, d / "samples.zst", 100)


def prethread_lib(ctx):
    """tests/workloads/prethread built as a shared library (once)."""
    lib = ctx.tmp / "prethread.so"
    if not lib.exists():
        r = ctx.sh([os.environ.get("CC", "gcc"), "-O2", "-Wall", "-Wextra", "-Werror", "-shared",
                    "-fPIC", "-o", lib, ctx.repo / "tests/workloads/prethread/prethread.c",
                    "-lpthread"])
        if r.returncode != 0:
            raise RuntimeError("building prethread.so failed:\n" + r.stderr)
    return lib


def test_thread_before_goprof(ctx, tc):
    """A thread that exists before goprof's constructor runs is sampled
    (arm_others in preload/threads.c). The prethread library, preloaded
    after libgoprof.so so that its constructor runs first, starts a thread
    that burns 0.3 s of CPU; the torture workload burns on one goroutine
    until that thread is done. The thread's samples match its CPU time."""
    binary = ctx.build_workload("torture", tc)
    out, done = ctx.tmp / ("%s-prethread.zst" % tc), ctx.tmp / ("%s-prethread.done" % tc)
    run = ctx.profile([binary, "-goroutines", "1", "-seconds", "30", "-until", done],
                      env={"LD_PRELOAD": "%s %s" % (ctx.lib, prethread_lib(ctx)),
                           "GOPROF_HZ": "1000", "GOPROF_OUT": str(out),
                           "PRETHREAD_DONE": str(done)})
    m = re.search(r"^prethread (\d+) cpu ([\d.]+) goprof_first (-?\d)$", run.stdout, re.M)
    tag = "%s thread started before goprof" % tc
    ctx.check("%s: it was created before goprof's constructor ran" % tag,
              m and m.group(3) == "0", run.stdout + run.stderr[-1000:])
    if not m:
        return
    tid, cpu = int(m.group(1)), float(m.group(2))
    n = thread_samples(ctx, out).get(tid, 0)
    ctx.check("%s: %d samples for its %.3f CPU-s at 1000 Hz (+-15%%)" % (tag, n, cpu),
              within(n, cpu * 1000, 0.15), run.stderr[-1000:])
    check_count(ctx, "thread started before goprof", tc, run, out, 1000)


def test_config_errors(ctx, tc):
    """A bad setting: one line naming the variable and its range, and the
    program runs on unprofiled."""
    binary = ctx.build_workload("ratio", tc)
    cases = {"GOPROF_HZ": ("abc", "1 to 20000"), "GOPROF_DEPTH": ("0", "1 to 1024"),
             "GOPROF_SIGNAL": ("9", "real-time signal"), "GOPROF_SOURCE": ("bogus", "auto, perf or timer")}
    for var, (val, hint) in cases.items():
        out = ctx.tmp / ("bad-%s.zst" % var)
        run = ctx.profile([binary, "-seconds", "0.2"], env={var: val, "GOPROF_OUT": str(out)})
        lines = [l for l in run.stderr.splitlines() if l.startswith("goprof:")]
        ctx.check("%s %s=%s: one-line error with the range, program unprofiled" % (tc, var, val),
                  run.rc == 0 and "checksum" in run.stdout and len(lines) == 1 and
                  var in lines[0] and hint in lines[0] and not out.exists(), run.stderr)
    unwritable = "/proc/goprof-no-such-dir/x.zst"
    run = ctx.profile([binary, "-seconds", "0.2"], env={"GOPROF_OUT": unwritable})
    lines = run.stderr.splitlines()
    ctx.check("%s unwritable GOPROF_OUT: one line naming the file, program runs on" % tc,
              run.rc == 0 and "checksum" in run.stdout and len(lines) == 1 and
              lines[0].startswith("goprof: cannot create") and unwritable in lines[0],
              run.stderr)


def test_inert_and_naming(ctx, tc):
    binary = ctx.build_workload("ratio", tc)
    d = ctx.tmp / ("names-%s" % tc)
    d.mkdir()
    # The shell, env and ls inherit LD_PRELOAD too: only the Go program
    # may write a file, named by its own pid.
    run = ctx.profile(["sh", "-c", "ls >/dev/null; env >/dev/null; %s -seconds 0.3" % binary],
                      env={"GOPROF_OUT": str(d / "p-%p.zst")}, cwd=d)
    pid = re.search(r"pid (\d+)", run.stdout)
    files = sorted(p.name for p in d.iterdir())
    ctx.check("%s sh -c: exactly one file, named by the Go program's pid (%%p)" % tc,
              pid and files == ["p-%s.zst" % pid.group(1)], "files %s, stdout %s" % (files, run.stdout))
    # Two live processes with one GOPROF_OUT never share the file.
    env = dict(os.environ, LD_PRELOAD=str(ctx.lib), GOPROF_OUT=str(d / "same.zst"))
    import subprocess
    ps = [subprocess.Popen([str(binary), "-seconds", "0.5"], env=env, cwd=d,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in ps]
    same = sorted(d.glob("same*.zst"))
    ok = len(same) == 2 and all(total(folded(ctx, [f])) > 0 for f in same)
    ctx.check("%s two processes, one GOPROF_OUT: two separate readable files" % tc, ok,
              "%s %s" % ([p.name for p in same], [o[1].decode()[-300:] for o in outs]))


def test_report_errors(ctx, tc):
    binary = ctx.build_workload("ratio", tc)
    copy = ctx.tmp / ("app-%s" % tc)
    shutil.copy(binary, copy)
    run, out = record(ctx, copy, "%s-rebuilt" % tc, [], None, 100)
    other = ctx.build_workload("ratio", tc, ["-ldflags=-X main.unused=1"], "ratio-other")
    shutil.copy(other, copy)
    r = ctx.goprof_report(["--format=folded", out])
    ran, now = build_id(ctx, binary), build_id(ctx, other)
    lines = r.stderr.splitlines()
    ctx.check("%s different build of the binary: one line naming the file and both build ids "
              "(%s recorded, %s found)" % (tc, ran, now),
              r.returncode != 0 and ran and now and ran != now and len(lines) == 1 and
              ran in lines[0] and now in lines[0] and str(out) in lines[0], r.stderr)
    shutil.copy(binary, ctx.tmp / "moved")
    r = ctx.goprof_report(["--format=folded", "--binary", ctx.tmp / "moved", out])
    ctx.check("%s --binary PATH: the right binary elsewhere symbolizes" % tc,
              r.returncode == 0 and "main.burnC" in r.stdout, r.stderr)


def run(ctx):
    r = ctx.sh([ctx.report, "--help"])
    ctx.check("goprof-report --help documents every option",
              r.returncode == 0 and all(o in r.stdout for o in
                                        ("--output", "--format", "--binary", "--no-inline",
                                         "--group-by", "--wait", "--no-wait", "--addr2line")),
              r.stdout)
    r = ctx.sh([ctx.report])
    ctx.check("goprof-report without a file: usage error", r.returncode == 2 and "no sample file"
              in r.stderr, r.stderr)
    for tc in ctx.toolchains:
        test_builds_and_endings(ctx, tc)
        test_rates_and_sources(ctx, tc)
        test_thread_shares(ctx, tc)
        test_thread_before_goprof(ctx, tc)
        test_high_rate(ctx, tc)
        test_stripped_pie(ctx, tc)
        test_default_output(ctx, tc)
        test_unwind_none(ctx, tc)
        test_depth(ctx, tc)
        test_callers_match_go(ctx, tc)
        test_config_errors(ctx, tc)
        test_inert_and_naming(ctx, tc)
        test_report_errors(ctx, tc)
