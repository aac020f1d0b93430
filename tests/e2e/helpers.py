"""Shared helpers of the end-to-end modules: reading goprof's outputs and
go tool pprof's views of them."""
import collections
import gzip
import os
import re
import subprocess

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


def read_uvarint(buf, i):
    """An unsigned LEB128 varint at buf[i]: (value, index after it).
    Raises ValueError past the end of buf."""
    v = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("bad varint")
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def uvarint(v):
    """v as an unsigned LEB128 varint."""
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _fields(buf):
    """(field number, wire type, value) of each field of a protobuf
    message: an int for varints and fixed-width fields, bytes for
    length-delimited ones. Raises ValueError on malformed input."""
    i, out = 0, []
    while i < len(buf):
        key, i = read_uvarint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_uvarint(buf, i)
            out.append((field, wire, v))
        elif wire == 2:
            n, i = read_uvarint(buf, i)
            if i + n > len(buf):
                raise ValueError("length past the end")
            out.append((field, wire, buf[i:i + n]))
            i += n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            out.append((field, wire, int.from_bytes(buf[i:i + n], "little")))
            i += n
        else:
            raise ValueError("wire type %d" % wire)
    return out


def _varints(buf):
    """The values of a packed repeated varint field."""
    out, i = [], 0
    while i < len(buf):
        v, i = read_uvarint(buf, i)
        out.append(v)
    return out


def pprof_labels(path):
    """The labels of every sample of a pprof file (gzipped protobuf),
    decoded from the wire format itself, not through go tool pprof (which
    shows numeric and string labels alike): per sample, its first value
    (the sample count) and a list of (key, kind, value), kind "num" when
    the Label sets num (field 3), "str" when it sets str (field 2), "both"
    or "none" otherwise."""
    top = _fields(gzip.decompress(open(path, "rb").read()))
    strings = [v.decode() for f, w, v in top if f == 6 and w == 2]  # string_table
    samples = []
    for f, w, v in top:
        if f != 2 or w != 2:  # Profile.sample
            continue
        labels, count = [], 0
        for lf, lw, lv in _fields(v):
            if lf == 2 and not count:  # Sample.value, packed or not
                count = (_varints(lv) if lw == 2 else [lv])[0]
            if lf != 3 or lw != 2:  # Sample.label
                continue
            lab = {k: val for k, _, val in _fields(lv)}  # key=1, str=2, num=3
            kind = {(False, True): "num", (True, False): "str",
                    (True, True): "both"}.get((2 in lab, 3 in lab), "none")
            value = strings[lab[2]] if kind == "str" else lab.get(3)
            labels.append((strings[lab.get(1, 0)], kind, value))
        samples.append((count, labels))
    return samples


def rewrite_stack_flags(src, dst, flags_of):
    """Copies the sample file src to dst with each STACK record's flags
    replaced by flags_of(stack_id, pcs, flags). Written from docs/FORMAT.md
    alone (zstd frames of records; the zstd command does the compression),
    as another writer of the format would be."""
    raw = subprocess.run(["zstd", "-dcq", str(src)], capture_output=True, check=True).stdout
    if raw[:8] != b"GOPROF\0\x01":
        raise ValueError("%s: not a version 1 sample file" % src)
    out, i = bytearray(raw[:8]), 8
    while i < len(raw):
        rtype = raw[i]
        n, j = read_uvarint(raw, i + 1)
        payload = raw[j:j + n]
        if rtype == 3:  # STACK: u id, u flags, u n, z PCs (deltas)
            sid, k = read_uvarint(payload, 0)
            flags, k2 = read_uvarint(payload, k)
            count, k3 = read_uvarint(payload, k2)
            pcs, pc = [], 0
            for _ in range(count):
                z, k3 = read_uvarint(payload, k3)
                pc += (z >> 1) ^ -(z & 1)
                pcs.append(pc)
            payload = uvarint(sid) + uvarint(flags_of(sid, pcs, flags)) + payload[k2:]
        out += bytes([rtype]) + uvarint(len(payload)) + payload
        i = j + n
    # from a file, so that the frame records its content size
    plain = str(dst) + ".raw"
    with open(plain, "wb") as f:
        f.write(out)
    subprocess.run(["zstd", "-qf", "--rm", plain, "-o", str(dst)], check=True)


def debug_file_of(lib):
    """The separate debug file of a shared library, found by its build id
    the way goprof-report looks for it, or None."""
    r = subprocess.run(["readelf", "-n", str(lib)], capture_output=True, text=True)
    m = re.search(r"Build ID: ([0-9a-f]{4,})", r.stdout)
    if not m:
        return None
    path = "/usr/lib/debug/.build-id/%s/%s.debug" % (m.group(1)[:2], m.group(1)[2:])
    return path if os.path.exists(path) else None


def libc_path():
    """The C library the test programs load."""
    r = subprocess.run(["ldd", "/bin/true"], capture_output=True, text=True)
    m = re.search(r"libc\.so\.6 => (\S+)", r.stdout)
    return m.group(1) if m else "/lib/x86_64-linux-gnu/libc.so.6"
