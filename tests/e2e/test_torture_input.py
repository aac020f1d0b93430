"""Torture, bad input to goprof-report: empty, truncated and bit-flipped
files, a wrong magic, a newer format version, huge declared lengths, a
binary that is not Go or is cut short. Each is one line on stderr naming
the file and the problem, a non-zero exit status, no crash, no hang (30 s)
and no unbounded allocation (1 GiB of address space); the same inputs go
through the AddressSanitizer build of goprof-report. A file cut after its
first complete block is the one exception, by design: it is what a killed
collector leaves, so it is read as far as it goes, with a warning. Last,
valgrind runs goprof-report over real recordings. (A different build of
the binary is checked by test_record.py, the reader's limits one by one by
the unit tests of sample_format.)"""
import random
import shutil
import struct
import subprocess

import torture
from torture import ZMAGIC
from helpers import read_uvarint, uvarint

# a zstd frame of raw blocks with a 4-byte content size and no checksum:
# enough to wrap any bytes we make up


def zframe(data, declared=None):
    out = bytearray(ZMAGIC)
    if declared is None:
        out += bytes([0xA0]) + struct.pack("<I", len(data))  # single segment, 4-byte size
    else:
        out += bytes([0xE0]) + struct.pack("<Q", declared)  # 8-byte size
    chunks = [data[i:i + (128 << 10)] for i in range(0, len(data), 128 << 10)] or [b""]
    for k, c in enumerate(chunks):
        hdr = (len(c) << 3) | (1 if k == len(chunks) - 1 else 0)  # raw block
        out += struct.pack("<I", hdr)[:3] + c
    return bytes(out)


def record(rtype, payload, declared_len=None):
    return bytes([rtype]) + uvarint(len(payload) if declared_len is None else declared_len) + payload


def header_prefix(raw):
    """The magic and the HEADER record of a decompressed stream."""
    n, p = read_uvarint(raw, 8 + 1)
    return raw[:p + n]


def report(ctx, args, exe=None, limit=True):
    cmd = (["prlimit", "--as=%d" % (1 << 30), "--"] if limit else []) + \
          [str(exe or ctx.report)] + [str(a) for a in args]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return None, "", "timed out after 30 s"


def one_line_error(rc, err, path, words):
    lines = err.splitlines()
    return (rc is not None and rc > 0 and len(lines) == 1 and lines[0].startswith("goprof-report: ")
            and str(path) in lines[0] and all(w in lines[0] for w in words))


def bad_files(ctx, good, raw):
    """(name, path, words the error must contain) for every bad file."""
    d = ctx.tmp
    last_frame = good.rfind(ZMAGIC)
    prefix = header_prefix(raw)
    cases = [
        ("empty", b"", ["empty"]),
        ("cut inside its first block", good[:60], ["truncated", "first complete block"]),
        ("not zstd at all", b"samples, honest\n" * 10, ["not zstd"]),
        ("zstd of something else: wrong magic", zframe(b"NOTGOPRF" + raw[8:]), ["bad magic"]),
        ("format version 2", zframe(raw[:7] + b"\x02" + raw[8:]), ["version 2 is newer"]),
        ("a block declaring 1 TiB", zframe(b"x" * 8, declared=1 << 40) + good,
         ["declares", "more than"]),
        ("a record length of 2^62", zframe(prefix + record(3, b"\x00\x00\x01\x02", 1 << 62)),
         ["runs past the end"]),
        ("a stack of 2^32 frames", zframe(prefix + record(3, uvarint(0) + uvarint(0) +
                                                          uvarint(1 << 32) + b"\x02")),
         ["declares", "frames"]),
        ("a batch of 2^40 samples", zframe(prefix + record(5, uvarint(1 << 40) + uvarint(0) +
                                                          b"\x00" * 10)),
         ["declares", "samples"]),
        ("a second frame after a lying block size",
         good[:last_frame] + good[last_frame:last_frame + 9] + b"\xff" +
         good[last_frame + 10:] + good[last_frame:], ["corrupt"]),
    ]
    out = []
    for i, (name, data, words) in enumerate(cases):
        p = d / ("bad-%d.zst" % i)
        p.write_bytes(data)
        out.append((name, p, words))
    return out


def check_bad(ctx, good_rc_out, name, path, words, exe, tag):
    rc, out, err = report(ctx, ["--format=folded", path], exe, limit=exe is None)
    ok = one_line_error(rc, err, path, words)
    if name == "a second frame after a lying block size" and not ok:
        ok = one_line_error(rc, err, path, ["corrupt"])
    ctx.check("%s %s: one-line error naming the file, exit %s" % (tag, name, rc), ok,
              "rc %s\n%s" % (rc, err[-1500:]))


def bit_flips(ctx, good, want_out, exe, tag, n):
    """n single-bit flips: each an error, or (a bit zstd ignores) the very
    same output; a flip in the last frame may also read as a cut."""
    rnd = random.Random(5)
    last_frame = good.rfind(ZMAGIC)
    bad = []
    outcomes = {"refused": 0, "same": 0, "cut": 0}
    p = ctx.tmp / ("flip-%s.zst" % tag.replace(" ", "-"))
    for _ in range(n):
        pos, bit = rnd.randrange(len(good)), rnd.randrange(8)
        data = bytearray(good)
        data[pos] ^= 1 << bit
        p.write_bytes(bytes(data))
        rc, out, err = report(ctx, ["--format=folded", p], exe, limit=exe is None)
        if rc == 0 and out == want_out and not err:
            outcomes["same"] += 1
        elif rc == 0 and pos >= last_frame and "truncated" in err and err.count("\n") == 1:
            outcomes["cut"] += 1
        elif one_line_error(rc, err, p, []):
            outcomes["refused"] += 1
        else:
            bad.append("byte %d bit %d: rc %s %s" % (pos, bit, rc, err[-300:]))
    ctx.check("%s %d single-bit flips: %s" % (tag, n, ", ".join(
        "%d %s" % (v, k) for k, v in outcomes.items())), not bad, "\n".join(bad[:10]))


def binaries(ctx, zst, binary, exe, tag):
    cut = ctx.tmp / "binary-cut-short"
    cut.write_bytes(binary.read_bytes()[:200 << 10])
    text = ctx.tmp / "not-a-binary.txt"
    text.write_text("#!/bin/sh\necho not an ELF file\n")
    for name, b, words in (("a binary that is not Go (/bin/true)", "/bin/true", ["not a Go"]),
                           ("a binary that is not ELF", text, ["not an ELF"]),
                           ("a Go binary cut short", cut, [])):
        rc, out, err = report(ctx, ["--format=folded", "--binary", b, zst], exe,
                              limit=exe is None)
        ctx.check("%s %s: one-line error naming it, exit %s" % (tag, name, rc),
                  one_line_error(rc, err, b, words), "rc %s\n%s" % (rc, err[-1500:]))


def valgrind(ctx, files):
    vg = shutil.which("valgrind")
    if not ctx.check("valgrind is installed (.ci/run installs it)", vg):
        return
    for fmt in ("folded", "pprof", "svg", "top"):
        out = ctx.tmp / ("vg." + fmt)
        r = ctx.sh([vg, "-q", "--error-exitcode=99", "--leak-check=full",
                    "--errors-for-leak-kinds=definite", ctx.report, "--format=" + fmt,
                    "-o", out] + files, timeout=300)
        ctx.check("valgrind: goprof-report --format=%s over %d recordings: no error, no leak"
                  % (fmt, len(files)), r.returncode == 0 and not r.stderr.strip(),
                  "rc %d\n%s" % (r.returncode, r.stderr[-3000:]))


def run(ctx):
    tc = ctx.toolchains[0]
    binary = torture.binary(ctx, tc)
    zst = ctx.tmp / "good.zst"
    r = torture.run(ctx, [binary, "-seconds", "2.2", "-goroutines", "1"],
                    env={"GOPROF_OUT": str(zst)})
    zst2 = ctx.tmp / "selfkill.zst"
    torture.run(ctx, [binary, "-mode", "selfkill", "-seconds", "0.5"],
                env={"GOPROF_OUT": str(zst2), "GOPROF_UNWIND": "mixed"})
    rc, want_out, err = report(ctx, ["--format=folded", zst])
    if not ctx.check("a good recording to spoil (%d blocks)" % zst.read_bytes().count(ZMAGIC),
                     r.rc == 0 and rc == 0 and zst.read_bytes().count(ZMAGIC) >= 3, err):
        return
    z = shutil.which("zstd")
    if not ctx.check("zstd is installed (.ci/run installs it)", z):
        return
    good = zst.read_bytes()
    raw = subprocess.run([z, "-dc", str(zst)], capture_output=True).stdout
    cut = ctx.tmp / "cut-mid-file.zst"
    cut.write_bytes(good[:good.rfind(ZMAGIC) + 40])
    asan = ctx.build / "asan" / "goprof-report"
    for exe, tag in ((None, "goprof-report"), (asan, "goprof-report (ASan+UBSan)")):
        for name, path, words in bad_files(ctx, good, raw):
            check_bad(ctx, want_out, name, path, words, exe, tag)
        rc, out, err = report(ctx, ["--format=folded", cut], exe, limit=exe is None)
        ctx.check("%s a file cut inside a later block (a killed collector's): read as far as "
                  "it goes, one warning" % tag,
                  rc == 0 and out and err.count("\n") == 1 and "truncated" in err, err)
        bit_flips(ctx, good, want_out, exe, tag, 40 if exe is None else 15)
        binaries(ctx, zst, binary, exe, tag)
    valgrind(ctx, [zst, zst2])
