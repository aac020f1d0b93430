"""Shared helpers of the end-to-end modules: reading goprof's outputs and
go tool pprof's views of them."""
import collections
import re

# The ratio workload's three burners and their share of its CPU time.
BURNS = {"main.burnA": 1 / 7, "main.burnB": 2 / 7, "main.burnC": 4 / 7}
TOP_ROW = re.compile(r"^\s*(\d+)\s+([\d.]+)%\s+([\d.]+)%\s+(\d+)\s+([\d.]+)%\s+(.+?)"
                     r"( \((partial-)?inline\))?$")


def folded(ctx, sample_files, *args):
    """[(frames root-first, count)] from goprof-report --format=folded."""
    r = ctx.goprof_report(["--format=folded"] + list(args) + [str(f) for f in sample_files])
    if r.returncode != 0:
        raise RuntimeError("goprof-report failed: " + r.stderr)
    return parse_folded(r.stdout)


def parse_folded(text):
    """[(frames root-first, count)] of folded output."""
    out = []
    for line in text.splitlines():
        stack, _, n = line.rpartition(" ")
        out.append((stack.split(";"), int(n)))
    return out


def top_rows(text):
    """{function: (flat, cum)} of a top table (ours or go tool pprof's),
    in its order."""
    rows = collections.OrderedDict()
    for line in text.splitlines():
        m = TOP_ROW.match(line)
        if m:
            rows[m.group(6)] = (int(m.group(1)), int(m.group(4)))
    return rows


def total(stacks):
    return sum(n for _, n in stacks)


def pprof(ctx, *args):
    """Runs the newest toolchain's go tool pprof."""
    go = ctx.toolchains[0].go
    return ctx.sh([go, "tool", "pprof"] + [str(a) for a in args], timeout=300)


def pprof_top(ctx, profile, *opts):
    """{function: (flat_pct, cum_pct)} from go tool pprof -top."""
    r = pprof(ctx, "-top", "-nodecount=200", *opts, profile)
    if r.returncode != 0:
        raise RuntimeError("go tool pprof -top failed: " + r.stderr)
    rows = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*\S+\s+([\d.]+)%\s+[\d.]+%\s+\S+\s+([\d.]+)%\s+(.+)$", line)
        if m:
            rows[m.group(3).strip()] = (float(m.group(1)), float(m.group(2)))
    return rows, r.stdout


def pprof_traces(ctx, profile):
    """[(count, [frames leaf-first])] from go tool pprof -traces; count is
    the first sample value (samples)."""
    r = pprof(ctx, "-traces", "-sample_index=samples", profile)
    if r.returncode != 0:
        raise RuntimeError("go tool pprof -traces failed: " + r.stderr)
    traces, cur = [], None
    for line in r.stdout.splitlines():
        if line.startswith("-----------+"):
            if cur:
                traces.append(cur)
            cur = None
            continue
        m = re.match(r"\s*(\d+)\s+(\S.*)$", line)
        if m and cur is None:
            cur = (int(m.group(1)), [m.group(2).strip()])
        elif cur is not None and line.strip():
            cur[1].append(line.strip())
    if cur:
        traces.append(cur)
    return traces


def build_id(ctx, binary):
    """The build id goprof records for a binary: the GNU one (readelf -n),
    or Go's own (go tool buildid) when there is none."""
    r = ctx.sh(["readelf", "-n", "--wide", binary])
    m = re.search(r"Build ID: ([0-9a-f]+)", r.stdout)
    if m:
        return m.group(1)
    r = ctx.sh([ctx.toolchains[0].go, "tool", "buildid", binary])
    return r.stdout.strip() if r.returncode == 0 else None


def within(value, expected, rel):
    return expected > 0 and abs(value - expected) <= rel * expected
