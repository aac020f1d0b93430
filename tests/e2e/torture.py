"""Shared by the torture modules (test_torture_*.py, issue 5): running the
torture workload under goprof however it has to end, and reading back what
its sample file holds.

The rule the endings are held to: the file holds at least 95% of the
samples that the program's CPU time implies (CPU seconds x GOPROF_HZ, the
CPU time from wait4, or from the program's own getrusage(RUSAGE_SELF)
when it waited for children of its own), and not more than 110%: a file
that held samples of some other process would be caught too. The 15 ms
the program spends starting, before goprof arms its first thread, are
left out of the 95%."""
import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HZ = 1000
LO, HI = 0.95, 1.10
SUMMARY = re.compile(r"goprof: (\d+) samples written, (\d+) dropped, (\d+) threads seen, file (\S+)")
ZMAGIC = b"\x28\xb5\x2f\xfd"  # starts every zstd frame, one per block


def blocks(path):
    """How many blocks (zstd frames) of path the collector has begun."""
    try:
        return path.read_bytes().count(ZMAGIC)
    except OSError:
        return 0


def binary(ctx, tc, flags=(), name=None):
    return ctx.build_workload("torture", tc, list(flags), name)


_run_classes = {}


def run_class(ctx):
    """The driver's Run (rc, cpu, wall, stdout, and stderr once the
    collector is done), with the workload's "key value" lines."""
    base = sys.modules[type(ctx).__module__].Run
    if base not in _run_classes:
        class Run(base):
            def value(self, key):
                """The value of the last "key value" line."""
                vals = self.values(key)
                return vals[-1] if vals else None

            def values(self, key):
                return [l[len(key) + 1:] for l in self.stdout.splitlines()
                        if l.startswith(key + " ")]

            def selfcpu(self):
                v = self.value("selfcpu")
                return float(v) if v else None
        _run_classes[base] = Run
    return _run_classes[base]


def collector_of(pid):
    """The pid of the goprof collector that pid forked, or None."""
    try:
        kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
    except OSError:
        return None
    for k in kids:
        try:
            if open("/proc/%s/comm" % k).read().strip() == "goprof-collect":
                return int(k)
        except OSError:
            pass
    return None


def written(f):
    """What the program has written so far to f, a file it shares with us:
    read without moving the offset it writes at (a seek would make its
    next write land on what it wrote before)."""
    return os.pread(f.fileno(), os.fstat(f.fileno()).st_size, 0).decode(errors="replace")


class Live:
    """What a tick function sees of the program while it runs."""

    def __init__(self, pid, t0, out):
        self.pid = pid
        self.t0 = t0
        self._out = out

    @property
    def elapsed(self):
        return time.monotonic() - self.t0

    def stdout(self):
        """What the program has written to stdout so far."""
        return written(self._out)

    def collector(self):
        return collector_of(self.pid)

    def cpu(self):
        """CPU seconds the program has used so far (all its threads)."""
        try:
            f = open("/proc/%d/stat" % self.pid).read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def run(ctx, argv, env=None, preload=True, lib=None, kill_after=None,
        kill_collector_after=None, limits=(), timeout=90, cwd=None, extra_preload=(),
        watch=None, tick=None):
    """Runs argv, with goprof preloaded unless preload is False. GOPROF_*
    and LD_PRELOAD of the caller's environment are dropped; env adds to it.
    kill_after: SIGKILL the program after that many seconds.
    kill_collector_after: SIGKILL its collector after that many seconds,
    or, when it is a function of the elapsed time, as soon as it says so.
    limits: prlimit(1) options for the program (and so for its collector),
    such as "--fsize=8192"; core dumps are always off.
    watch: called every 5 ms with the stderr written so far.
    tick: called every 5 ms with a Live view of the running program."""
    full = {k: v for k, v in os.environ.items()
            if not k.startswith("GOPROF_") and k != "LD_PRELOAD"}
    full.setdefault("GOPROF_HZ", str(HZ))
    if preload:
        full["LD_PRELOAD"] = " ".join([str(p) for p in extra_preload] + [str(lib or ctx.lib)])
    if env:
        full.update(env)
    # prlimit execs the program in its own process (it stays inert: not Go),
    # so the pid, wait4 and the limits are the program's.
    argv = ["prlimit", "--core=0"] + list(limits) + ["--"] + [str(a) for a in argv]
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=out, stderr=err, env=full, cwd=cwd or ctx.tmp,
                         start_new_session=True)
    killed = collector_killed = False
    live = Live(p.pid, t0, out)
    while True:
        wpid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if wpid == p.pid:
            break
        el = time.monotonic() - t0
        if kill_after is not None and not killed and el >= kill_after:
            os.kill(p.pid, signal.SIGKILL)
            killed = True
        if kill_collector_after is not None and not collector_killed and (
                kill_collector_after(el) if callable(kill_collector_after)
                else el >= kill_collector_after):
            c = collector_of(p.pid)
            if c:
                os.kill(c, signal.SIGKILL)
            collector_killed = True
        if watch:
            watch(written(err))
        if tick:
            tick(live)
        if el > timeout:
            os.killpg(p.pid, signal.SIGKILL)
            os.waitpid(p.pid, 0)
            raise TimeoutError("%s still running after %d s" % (argv, timeout))
        time.sleep(0.005)
    p.returncode = os.waitstatus_to_exitcode(status)
    r = run_class(ctx)(p.returncode, ru.ru_utime + ru.ru_stime, time.monotonic() - t0, out, err)
    r.pid = p.pid
    return r




def once_a_block_is_written(out, after):
    """For run(kill_collector_after=): true once `after` seconds have
    passed and the collector has written a block of samples to out (a
    zstd frame after the header's): the collector is then killed mid-run,
    with something to recover."""
    def ready(elapsed):
        return elapsed >= after and blocks(out) >= 2
    return ready


class FileInfo:
    """What goprof-report --format=raw says about a sample file."""

    def __init__(self, ctx, path, report=None):
        r = ctx.sh([report or ctx.report, "--format=raw", path], timeout=120)
        self.rc, self.stderr = r.returncode, r.stderr
        self.complete = bool(re.search(r" complete 1\b", r.stdout))
        self.counters = {}
        m = re.search(r"^counters (.*)$", r.stdout, re.M)
        if m:
            f = m.group(1).split()
            self.counters = {f[i]: int(f[i + 1]) for i in range(0, len(f) - 1, 2)}
        self.weight = sum(int(l.split()[1]) for l in r.stdout.splitlines()
                          if l.startswith("stack "))
        self.ok = r.returncode == 0

    def __repr__(self):
        return "weight %d complete %s counters %s rc %d %s" % (
            self.weight, self.complete, self.counters, self.rc, self.stderr[-300:])


# CPU time no in-process profiler can sample: loading and goprof's own
# constructor, before the first thread is armed. Measured: 11 to 14 ms
# (selfcpu less samples of 0.3 s runs, loaded 2-core machine): about 2 ms
# loading libgoprof.so and its libraries, 8 ms in the constructor, most of
# it mapping and clearing the 8 MiB sample ring and forking the collector.
# A short process (a child that burns 0.1 s) is below 95% without it.
STARTUP = 0.015


def count_ok(weight, cpu, lo=LO, hi=HI):
    want = cpu * HZ
    return want > 0 and lo * (cpu - STARTUP) * HZ <= weight <= hi * want


def count_detail(weight, cpu):
    return "%d samples for %.3f CPU-s at %d Hz (%.1f%%)" % (
        weight, cpu, HZ, 100.0 * weight / (cpu * HZ) if cpu else 0)


# A job's check whose ok is SKIP did not run (detail says why): run.py
# prints a SKIP line that counts neither as passed nor as failed. (Not
# None: a failed re.search is None, and must stay a failure.)
SKIP = object()


def parallel(ctx, jobs, workers=2):
    """Runs jobs (callables returning [(name, ok, detail)]) a few at a time
    and records their checks in order. Two at a time on two cores: CPU time
    and samples are per thread, so running side by side changes neither
    the rule nor the outcome, only the wall time."""
    def safe(job):
        try:
            return job()
        except Exception:
            return [("%s ran to the end" % getattr(job, "name", job), False,
                     traceback.format_exc())]
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        for checks in list(ex.map(safe, jobs)):
            for name, ok, detail in checks:
                if ok is SKIP:
                    ctx.skip(name, detail)
                else:
                    ctx.check(name, ok, detail)


def job(name, fn, *args):
    """A named job for parallel()."""
    def call():
        return fn(*args)
    call.name = name
    return call
