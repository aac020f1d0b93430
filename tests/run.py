#!/usr/bin/env python3
"""goprof's test driver: `make test` runs it after building.

It runs every unit test binary (cmocka, build/tests/test_*) and every
end-to-end module (tests/e2e/test_*.py, each a `run(ctx)` function that
builds Go workloads with every Go toolchain found and checks what goprof
records). Each check prints one PASS/FAIL line; a check that cannot run
here (ctx.skip: it needs root, say) prints a SKIP line with the reason and
counts neither as passed nor as failed. The last line is the summary
"N passed, N failed, N skipped". Exit status 1 if anything failed.

Options: -k SUBSTRING runs only the modules/unit binaries whose name
contains it; -v shows each check's detail even when it passes.
"""
import argparse
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))  # for the modules' shared helpers
BUILD = REPO / "build"
CACHE = REPO / "tests" / ".cache"


class Toolchain:
    def __init__(self, go, version):
        self.go = Path(go)
        self.version = version  # e.g. "go1.26.8"
        m = re.match(r"go(\d+)\.(\d+)", version)
        self.release = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        self.label = "go%d.%d" % self.release

    def __repr__(self):
        return self.label


def find_toolchains():
    """Every distinct Go release we can find: the one on PATH (Go 1.26 on
    these machines) and Debian's golang-1.19-go."""
    cands = []
    if shutil.which("go"):
        cands.append(shutil.which("go"))
    cands += sorted(str(p) for p in Path("/usr/lib").glob("go-1.*/bin/go"))
    cands += [str(p) for p in Path("/usr/local/go/bin").glob("go")]
    seen, out = set(), []
    for go in cands:
        try:
            v = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                               timeout=60, env=go_env(go)).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if v and v not in seen:
            seen.add(v)
            out.append(Toolchain(go, v))
    out.sort(key=lambda t: t.release, reverse=True)
    return out


def go_env(go, extra=None):
    env = dict(os.environ)
    env["GOROOT"] = str(Path(go).resolve().parent.parent)
    env["GOTOOLCHAIN"] = "local"  # never download another toolchain
    env["CGO_ENABLED"] = "1"
    env["GOFLAGS"] = "-mod=mod"
    env.setdefault("GOCACHE", str(CACHE / "gocache"))
    env.setdefault("GOPATH", str(CACHE / "gopath"))
    for k in ("LD_PRELOAD",) + tuple(k for k in env if k.startswith("GOPROF_")):
        env.pop(k, None)
    if extra:
        env.update(extra)
    return env


class Results:
    def __init__(self, verbose):
        self.passed = 0
        self.failed = 0
        self.verbose = verbose
        self.failures = []
        self.skips = []

    def record(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            line = "PASS " + name + (("  (" + detail + ")") if detail and self.verbose else "")
        else:
            self.failed += 1
            line = "FAIL " + name + (("\n     " + detail.replace("\n", "\n     ")) if detail else "")
            self.failures.append(name)
        print(line, flush=True)
        return ok

    def skip(self, name, why):
        """A check that did not run: not a pass, and named in the summary."""
        self.skips.append(name)
        print("SKIP %s  (%s)" % (name, why), flush=True)


class Ctx:
    """What an end-to-end module sees."""

    def __init__(self, results, module, toolchains):
        self.results = results
        self.module = module
        self.repo = REPO
        self.build = BUILD
        self.report = BUILD / "goprof-report"
        self.lib = BUILD / "libgoprof.so"
        self.cache = CACHE
        self.toolchains = toolchains
        self.tmp = Path(tempfile.mkdtemp(prefix="goprof-%s-" % module))

    def check(self, name, ok, detail=""):
        return self.results.record("%s: %s" % (self.module, name), bool(ok), detail)

    def skip(self, name, why):
        self.results.skip("%s: %s" % (self.module, name), why)

    def sh(self, args, env=None, timeout=120, input=None, cwd=None):
        return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                              env=env, timeout=timeout, input=input, cwd=cwd)

    def build_workload(self, name, tc, flags=(), out_name=None):
        """Builds tests/workloads/NAME with toolchain tc and extra `go build`
        flags; cached by the sources, flags and toolchain."""
        src = REPO / "tests" / "workloads" / name
        h = hashlib.sha256()
        for p in sorted(src.rglob("*")) + [REPO / "tests" / "workloads" / "go.mod"]:
            if p.is_file():
                h.update(p.name.encode() + p.read_bytes())
        h.update(repr((tc.version, tuple(flags))).encode())
        out = CACHE / "bin" / ("%s-%s-%s" % (out_name or name, tc.label, h.hexdigest()[:12]))
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".tmp%d" % os.getpid())
            r = subprocess.run([str(tc.go), "build", "-o", str(tmp)] + list(flags) + ["."],
                               cwd=src, capture_output=True, text=True, env=go_env(tc.go),
                               timeout=600)
            if r.returncode != 0:
                raise RuntimeError("go build of %s with %s failed:\n%s" % (name, tc.label, r.stderr))
            tmp.rename(out)
        return out

    def profile(self, argv, env=None, timeout=120, cwd=None):
        """Runs argv with libgoprof.so preloaded (and GOPROF_* from env).
        Returns a Run with the program's exit status, CPU seconds (from
        wait4, so only the program and what it waited for), stdout and
        stderr (which the collector shares)."""
        full = dict(os.environ)
        for k in list(full):
            if k.startswith("GOPROF_") or k == "LD_PRELOAD":
                del full[k]
        full["LD_PRELOAD"] = str(self.lib)
        if env:
            full.update(env)
        cwd = cwd or self.tmp
        # Files, not pipes: the collector outlives the program and keeps
        # stderr; the Run object reads it later, when the file is complete.
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        t0 = time.monotonic()
        p = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=err, env=full,
                             cwd=cwd, start_new_session=True)
        try:
            _, status, ru = wait4_timeout(p.pid, timeout)
        except TimeoutError:
            os.killpg(p.pid, 9)
            os.waitpid(p.pid, 0)
            raise
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        return Run(p.returncode, ru.ru_utime + ru.ru_stime, wall, out, err)

    def go_env(self, tc, extra=None):
        """The environment that builds with toolchain tc, and nothing else
        (no LD_PRELOAD, no GOPROF_*)."""
        return go_env(tc.go, extra)

    def goprof_report(self, args, timeout=120):
        return self.sh([self.report] + list(args), timeout=timeout)


class Run:
    def __init__(self, rc, cpu, wall, out, err):
        self.rc = rc
        self.cpu = cpu
        self.wall = wall
        out.seek(0)
        self.stdout = out.read().decode(errors="replace")
        self._err = err

    @property
    def stderr(self):
        # The collector may still be writing its summary after the program
        # ended; whoever waits for the sample file (goprof-report) has it.
        self._err.seek(0)
        return self._err.read().decode(errors="replace")


def wait4_timeout(pid, timeout):
    deadline = time.monotonic() + timeout
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            return wpid, status, ru
        if time.monotonic() > deadline:
            raise TimeoutError("pid %d still running after %.0f s" % (pid, timeout))
        time.sleep(0.01)


def run_unit(results, binary):
    """A cmocka binary with TAP output: one result per test case."""
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
    try:
        r = subprocess.run([str(binary)], capture_output=True, text=True, env=env, timeout=600)
    except subprocess.TimeoutExpired:
        results.record("unit %s" % binary.name, False, "timed out")
        return
    seen, planned = 0, None
    for line in r.stdout.splitlines():
        m = re.match(r"(not ok|ok) \d+ - (.*)", line)
        if m:
            seen += 1
            detail = "" if m.group(1) == "ok" else (r.stdout[-2000:] + r.stderr[-2000:])
            results.record("unit %s: %s" % (binary.name, m.group(2)), m.group(1) == "ok", detail)
        m = re.match(r"1\.\.(\d+)", line)
        if m:
            planned = int(m.group(1))
    # A crash ends the output early: the plan says how many should have run.
    if seen == 0 or (planned is not None and seen < planned) or r.returncode < 0:
        results.record("unit %s ran all its tests" % binary.name, False,
                       "exit %d, %d of %s results\n%s%s" % (r.returncode, seen, planned,
                                                            r.stdout[-2000:], r.stderr[-2000:]))


def run_module(results, path, toolchains):
    name = path.stem[len("test_"):]
    spec = importlib.util.spec_from_file_location("e2e_" + name, path)
    mod = importlib.util.module_from_spec(spec)
    ctx = Ctx(results, name, toolchains)
    t0 = time.monotonic()
    try:
        spec.loader.exec_module(mod)
        mod.run(ctx)
    except Exception:
        results.record("%s: module ran to the end" % name, False, traceback.format_exc())
    finally:
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    print("     (%s took %.1f s)" % (name, time.monotonic() - t0), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="run only tests whose name contains this")
    ap.add_argument("-v", action="store_true", help="show details of passing checks")
    args = ap.parse_args()
    results = Results(args.v)
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()

    for b in sorted((BUILD / "tests").glob("test_*")):
        if args.k in b.name and os.access(b, os.X_OK):
            run_unit(results, b)

    toolchains = find_toolchains()
    results.record("toolchains: Go 1.26+ and Go 1.19 are both present (%s)" %
                   ", ".join(t.version for t in toolchains),
                   any(t.release >= (1, 26) for t in toolchains) and
                   any(t.release == (1, 19) for t in toolchains),
                   "install golang-1.19-go and Go 1.26 (.ci/run does both)")
    for path in sorted((REPO / "tests" / "e2e").glob("test_*.py")):
        if args.k in path.name:
            run_module(results, path, toolchains)

    print("     (all tests took %.1f s)" % (time.monotonic() - t0))
    if results.failures:
        print("failed: " + "; ".join(results.failures))
    if results.skips:
        print("skipped: " + "; ".join(results.skips))
    print("%d passed, %d failed, %d skipped" % (results.passed, results.failed,
                                                len(results.skips)))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
