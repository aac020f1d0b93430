"""Torture, processes: children started with os/exec and with fork+exec
from C each write a file of their own, named by their pid, or are left
alone with GOPROF_FOLLOW_CHILDREN=0; a child forked without exec never
writes into its parent's file; a full disk or a file size limit stops
profiling with a message while the program runs on, and the file written
so far stays readable; a live process's file is never taken over by
another. (An unwritable path is checked by test_record.py.)"""
import concurrent.futures
import os
import re
import subprocess
import time

from helpers import folded
import torture
from torture import count_detail, count_ok, job


def files_in(d):
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".zst"))


def exec_children(ctx, tc, binary, follow, pattern):
    """-mode exec: two children of the program's own binary, one after the
    other; each prints its pid, its CPU time and GOPROF_PARENT_PID."""
    d = ctx.tmp / ("%s-exec-%s-%s" % (tc, follow, "pid" if "%p" in pattern else "fixed"))
    d.mkdir()
    env = {"GOPROF_OUT": str(d / pattern)}
    if follow is not None:
        env["GOPROF_FOLLOW_CHILDREN"] = follow
    r = torture.run(ctx, [binary, "-mode", "exec", "-seconds", "2"], env=env)
    parent = r.value("pid")
    kids = [re.match(r"(\d+) cpu ([\d.]+) said .*parent-env \"(\d*)\"", v) for v in
            r.values("child")]
    tag = "%s os/exec children, GOPROF_FOLLOW_CHILDREN=%s, GOPROF_OUT=%s" % (
        tc, follow if follow is not None else "unset", pattern)
    checks = [("%s: the program and both children run" % tag,
               r.rc == 0 and len(kids) == 2 and all(kids), r.stdout + r.stderr[-1000:])]
    if not checks[0][1]:
        return checks
    parent_file = d / pattern.replace("%p", parent)
    f = torture.FileInfo(ctx, parent_file)
    checks.append(("%s: the parent's file: %s" % (tag, count_detail(f.weight, r.selfcpu())),
                   f.complete and count_ok(f.weight, r.selfcpu()), repr(f)))
    if follow == "0":
        checks.append(("%s: no file but the parent's; the children saw GOPROF_PARENT_PID=%s" %
                       (tag, parent), files_in(d) == [parent_file.name] and
                       all(k.group(3) == parent for k in kids), "%s %s" % (files_in(d), r.stdout)))
        return checks
    for k in kids:
        pid, cpu = k.group(1), float(k.group(2))
        name = pattern.replace("%p", pid) if "%p" in pattern else "t.%s.zst" % pid
        kf = torture.FileInfo(ctx, d / name)
        checks.append(("%s: child wrote %s, its own file named by its pid: %s" %
                       (tag, name, count_detail(kf.weight, cpu)),
                       kf.complete and count_ok(kf.weight, cpu) and k.group(3) == "",
                       "%s %r" % (files_in(d), kf)))
    return checks


def fork_helper(ctx, tc, binary):
    """-mode fork: C code forks, and the child (no exec) starts a thread
    and burns in c_child_burn, which the parent's file must not show."""
    d = ctx.tmp / ("%s-fork" % tc)
    d.mkdir()
    r = torture.run(ctx, [binary, "-mode", "fork"], env={"GOPROF_OUT": str(d / "f-%p.zst")})
    out = d / ("f-%s.zst" % r.value("pid"))
    f = torture.FileInfo(ctx, out)
    child = sum(n for s, n in folded(ctx, [out]) if any("c_child_burn" in x for x in s))
    tag = "%s fork() without exec from C" % tc
    return [
        ("%s: one file, the parent's; none of the child's samples in it (%d)" % (tag, child),
         r.rc == 0 and files_in(d) == [out.name] and child == 0, "%s" % files_in(d)),
        ("%s: the parent's own samples: %s" % (tag, count_detail(f.weight, r.selfcpu())),
         f.complete and count_ok(f.weight, r.selfcpu()), repr(f)),
    ]


def fork_exec(ctx, tc, binary, follow):
    d = ctx.tmp / ("%s-forkexec-%s" % (tc, follow))
    d.mkdir()
    r = torture.run(ctx, [binary, "-mode", "forkexec", "-seconds", "2"],
                    env={"GOPROF_OUT": str(d / "f-%p.zst"), "GOPROF_FOLLOW_CHILDREN": follow})
    m = re.match(r"(\d+) cpu ([\d.]+)", r.value("child") or "")
    tag = "%s fork()+exec() of a Go helper from C, GOPROF_FOLLOW_CHILDREN=%s" % (tc, follow)
    if not m or r.rc:
        return [("%s: runs" % tag, False, r.stdout + r.stderr[-1000:])]
    # the helper prints to the same stdout: the first pid line is ours
    want = ["f-%s.zst" % r.values("pid")[0]] + (["f-%s.zst" % m.group(1)] if follow == "1" else [])
    checks = [("%s: files %s" % (tag, ", ".join(files_in(d))), files_in(d) == sorted(want),
               r.stdout)]
    if follow == "1":
        kf = torture.FileInfo(ctx, d / ("f-%s.zst" % m.group(1)))
        checks.append(("%s: the helper's file: %s" % (tag, count_detail(kf.weight,
                                                                       float(m.group(2)))),
                       kf.complete and count_ok(kf.weight, float(m.group(2))), repr(kf)))
    return checks


def live_file(ctx, tc, binary):
    """A second process told to write the file a live one is writing
    writes NAME.<pid>.zst instead; the first file is whole."""
    d = ctx.tmp / ("%s-live" % tc)
    d.mkdir()
    env = {"GOPROF_OUT": str(d / "same.zst")}
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        first = ex.submit(torture.run, ctx, [binary, "-seconds", "2.5", "-goroutines", "1"], env)
        time.sleep(1)
        second = torture.run(ctx, [binary, "-seconds", "0.5", "-goroutines", "1"], env)
        first = first.result()
    f = torture.FileInfo(ctx, d / "same.zst")
    other = "same.%s.zst" % second.value("pid")
    g = torture.FileInfo(ctx, d / other)
    tag = "%s a second process with the GOPROF_OUT of a live one" % tc
    return [
        ("%s: writes %s and says so" % (tag, other),
         files_in(d) == sorted(["same.zst", other]) and g.complete and
         count_ok(g.weight, second.cpu) and "being written by another live process" in
         second.stderr, "%s %r\n%s" % (files_in(d), g, second.stderr)),
        ("%s: the live one's file is whole: %s" % (tag, count_detail(f.weight, first.cpu)),
         f.complete and count_ok(f.weight, first.cpu), repr(f)),
    ]


def stopped_writing(ctx, tag, binary, out, limits=()):
    """The program burns until the collector has said that it cannot write
    (it is then told to stop through its -until file); it must run on to
    its end, and the file written so far must read."""
    stop = out.with_suffix(".stop")

    def watch(err):
        if "cannot write" in err and not stop.exists():
            stop.write_text("")

    r = torture.run(ctx, [binary, "-seconds", "30", "-until", stop],
                    env={"GOPROF_OUT": str(out)}, limits=limits, watch=watch)
    rep = ctx.goprof_report(["--format=folded", out])
    kept = sum(int(l.rsplit(" ", 1)[1]) for l in rep.stdout.splitlines())
    return [
        ("%s: the program runs on to its end" % tag, r.rc == 0 and r.selfcpu(),
         "rc %d %s" % (r.rc, r.stderr[-800:])),
        ("%s: one line says profiling stopped and why" % tag,
         re.search(r"goprof: cannot write %s: .*; profiling stopped, the program continues"
                   % re.escape(str(out)), r.stderr), r.stderr[-800:]),
        ("%s: the file written so far reads, %d samples, with a warning" % (tag, kept),
         rep.returncode == 0 and "truncated" in rep.stderr, rep.stderr),
    ]


def file_size_limit(ctx, tc, binary):
    out = ctx.tmp / ("%s-fsize.zst" % tc)
    return stopped_writing(ctx, "%s RLIMIT_FSIZE of 8 KiB" % tc, binary, out,
                           ["--fsize=8192"])


def full_disk(ctx, tc, binary):
    """A 64 KiB tmpfs with two pages left. Needs mount(2): root, as in CI."""
    mnt = ctx.tmp / ("%s-tmpfs" % tc)
    mnt.mkdir()
    tag = "%s full disk (tmpfs with 8 KiB free)" % tc
    if os.geteuid() != 0:
        return [(tag, torture.SKIP, "mounting a tmpfs needs root; CI runs as root, and the "
                 "RLIMIT_FSIZE case checks the same write error")]
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if m.returncode != 0:
        return [("%s: mount a tmpfs (needs root)" % tag, False, m.stderr)]
    try:
        with open(mnt / "filler", "wb") as fh:
            fh.write(b"\0" * (56 << 10))
        return stopped_writing(ctx, tag, binary, mnt / "samples.zst")
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def run(ctx):
    jobs = []
    for tc in ctx.toolchains:
        b = torture.binary(ctx, tc)
        for follow, pattern in ((None, "t-%p.zst"), (None, "t.zst"), ("0", "t-%p.zst")):
            jobs.append(job("%s exec %s %s" % (tc, follow, pattern), exec_children, ctx, tc, b,
                            follow, pattern))
        jobs.append(job("%s fork" % tc, fork_helper, ctx, tc, b))
        for follow in ("1", "0"):
            jobs.append(job("%s forkexec %s" % (tc, follow), fork_exec, ctx, tc, b, follow))
        jobs.append(job("%s live file" % tc, live_file, ctx, tc, b))
        jobs.append(job("%s fsize" % tc, file_size_limit, ctx, tc, b))
        jobs.append(job("%s full disk" % tc, full_disk, ctx, tc, b))
    torture.parallel(ctx, jobs)
