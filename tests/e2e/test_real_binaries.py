"""goprof-report's symbolizer on real Go executables from the releases we
cannot build here (Go 1.18, 1.20-1.25, and a stripped Go 1.26 one), as
fetched by tests/fetch_go_binaries.sh.

For each binary, some 2200 addresses (entries, interior points and last
bytes of 100 functions spread over the table, then random interior
points) are symbolized by `goprof-report --addr2line` and by the newest
toolchain's `go tool addr2line`, whose debug/gosym reads every pclntab
layout since Go 1.2. go tool addr2line does not expand inlining: it names
the function the code belongs to, with the innermost source position
(verified on a Go 1.26 build). So our outermost frame's function and our
innermost frame's file:line must equal its answer.

The inlined frames, which go tool addr2line cannot confirm, are checked
for consistency instead: each name must be one of the function name
table's (a wrong inlinedCall layout reads offsets into the middle of
names), and each position must lie in a file of that function's own code
when it also exists out of line (a wrong parentPc gives the caller's
position some other function's file).

These binaries are all stripped (no .symtab, so no runtime.text symbol):
the text start comes from the pclntab header, or for Go 1.26 (header
textStart 0) from runtime.firstmoduledata. A copy of each older binary
with the header's textStart zeroed forces the moduledata path on every
older layout too.
"""
import hashlib
import os
import random
import re
import struct
from pathlib import Path

PIN_RE = re.compile(r"^\s*pin\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\\?\s*$")
SHA_RE = re.compile(r"^\s*([0-9a-f]{64})\s*$")
ADDR_LINE = re.compile(r"^0x[0-9a-f]{16}$")


def pinned(script):
    """[(name, package, version, sha256)] from the script's pin lines (each
    continued on the next line by its checksum)."""
    out, lines = [], script.read_text().splitlines()
    for i, line in enumerate(lines):
        m = PIN_RE.match(line)
        if m and i + 1 < len(lines) and SHA_RE.match(lines[i + 1]):
            out.append((m.group(1), m.group(2), m.group(3), SHA_RE.match(lines[i + 1]).group(1)))
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Elf:
    """The few facts about an ELF64 file this test needs."""

    def __init__(self, path):
        self.data = Path(path).read_bytes()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2:
            raise ValueError("%s: not an ELF64 file" % path)
        self.type = struct.unpack_from("<H", d, 16)[0]  # 2 EXEC, 3 DYN
        shoff, = struct.unpack_from("<Q", d, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
        raw = [struct.unpack_from("<IIQQQQ", d, shoff + i * shentsize) for i in range(shnum)]
        strtab = raw[shstrndx][4]
        self.sections = {}
        for name, typ, _flags, addr, off, size in raw:
            end = d.index(b"\0", strtab + name)
            self.sections[d[strtab + name:end].decode()] = (typ, addr, off, size)
        phoff, = struct.unpack_from("<Q", d, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", d, 0x36)
        self.interp = any(struct.unpack_from("<I", d, phoff + i * phentsize)[0] == 3  # PT_INTERP
                          for i in range(phnum))

    def pclntab(self):
        """(file offset, bytes) of the pclntab, for the layouts seen here."""
        for name in (".gopclntab", ".data.rel.ro.gopclntab"):
            if name in self.sections:
                _, _, off, size = self.sections[name]
                return off, self.data[off:off + size]
        raise ValueError("no .gopclntab section")

    def functab(self):
        """[(entry, end)] of every function, read from the pclntab's functab
        (Go 1.18+ layout: nfunc+1 entry offsets from the text start)."""
        _, tab = self.pclntab()
        magic, = struct.unpack_from("<I", tab, 0)
        if magic not in (0xFFFFFFF0, 0xFFFFFFF1):
            raise ValueError("pclntab magic %#x is not Go 1.18+" % magic)
        nfunc, = struct.unpack_from("<Q", tab, 8)
        text, = struct.unpack_from("<Q", tab, 24)
        if text == 0:  # Go 1.26: what debug/gosym uses too
            text = self.sections[".text"][1]
        pcln, = struct.unpack_from("<Q", tab, 64)
        offs = struct.unpack_from("<%dI" % (2 * nfunc + 1), tab, pcln)
        entries = [text + offs[2 * i] for i in range(nfunc + 1)]
        return [(entries[i], entries[i + 1]) for i in range(nfunc) if entries[i + 1] > entries[i]]

    def header_text_start(self):
        _, tab = self.pclntab()
        return struct.unpack_from("<Q", tab, 24)[0]

    def describe(self):
        return "%s, %s, %s, header textStart %#x" % (
            {2: "EXEC", 3: "PIE"}.get(self.type, "type %d" % self.type),
            "dynamic" if self.interp else "static",
            "symbols" if ".symtab" in self.sections else "stripped",
            self.header_text_start())


def pick_addresses(funcs, seed, n=100, interior=2000):
    """Entries, interior points and last bytes of n functions spread over
    the whole table, then many more interior points (where inlined code
    is), chosen reproducibly."""
    rng = random.Random(seed)
    addrs = []
    for k in range(n):
        lo = k * len(funcs) // n
        hi = max(lo + 1, (k + 1) * len(funcs) // n)
        entry, end = funcs[rng.randrange(lo, hi)]
        addrs.append(entry)
        if end - entry > 1:
            addrs.append(rng.randrange(entry + 1, end))
        if k % 4 == 0:
            addrs.append(end - 1)  # often alignment padding after the code
    for _ in range(interior):
        entry, end = funcs[rng.randrange(len(funcs))]
        addrs.append(rng.randrange(entry, end))
    return sorted(set(addrs))


def go_env(go):
    env = dict(os.environ)
    env["GOROOT"] = str(Path(go).resolve().parent.parent)
    env["GOTOOLCHAIN"] = "local"
    env.pop("GOFLAGS", None)
    return env


def go_addr2line(ctx, go, binary, addrs):
    """{addr: (function, "file:line")} from go tool addr2line."""
    r = ctx.sh([go, "tool", "addr2line", binary], env=go_env(go), timeout=600,
               input="".join("%#x\n" % a for a in addrs))
    lines = r.stdout.splitlines()
    if r.returncode != 0 or len(lines) != 2 * len(addrs):
        raise RuntimeError("go tool addr2line %s: exit %d, %d lines for %d addresses\n%s"
                           % (binary, r.returncode, len(lines), len(addrs), r.stderr[-2000:]))
    return {a: (lines[2 * i], lines[2 * i + 1]) for i, a in enumerate(addrs)}


def goprof_addr2line(ctx, binary, addrs):
    """{addr: [(function, "file:line")] innermost first}, and the raw output."""
    r = ctx.sh([ctx.report, "--addr2line", "-a", "--binary", binary], timeout=600,
               input="".join("%x\n" % a for a in addrs))
    if r.returncode != 0:
        raise RuntimeError("goprof-report --addr2line %s: exit %d\n%s"
                           % (binary, r.returncode, r.stderr[-2000:]))
    out, cur, lines = {}, None, r.stdout.splitlines()
    i = 0
    while i < len(lines):
        if ADDR_LINE.match(lines[i]):
            cur = out.setdefault(int(lines[i], 16), [])
            i += 1
        elif cur is not None and i + 1 < len(lines):
            cur.append((lines[i], lines[i + 1]))
            i += 2
        else:
            raise RuntimeError("unexpected goprof-report output line %r" % lines[i])
    return out, r.stdout


def unknown(fileline):
    """A position neither tool knows: go prints "?:0", goprof "?:0"/"??:0"."""
    return fileline.rsplit(":", 1)[0] in ("?", "??", "") or fileline.endswith(":0")


def same_position(ours, theirs):
    return ours == theirs or (unknown(ours) and unknown(theirs))


def compare(addrs, ours, theirs):
    """Mismatch descriptions: our outermost function and innermost position
    against go tool addr2line's answer."""
    bad = []
    for a in addrs:
        fr = ours.get(a)
        fn, pos = theirs[a]
        if not fr:
            bad.append("%#x: goprof has no frames, go says %s %s" % (a, fn, pos))
        elif fr[-1][0] != fn or not same_position(fr[0][1], pos):
            bad.append("%#x: goprof %s, go %s %s" % (
                a, " <- ".join("%s %s" % f for f in fr), fn, pos))
    return bad


def inline_consistency(frames, home, names):
    """(frames checked, inlined frames seen, problems) over the addresses
    that expand to several frames: every frame must carry a name from the
    function name table, and one whose function also exists out of line
    must be positioned in a file that function's code is in. Package
    initializers (pkg.init) are skipped for the latter:
    their code comes from every file of the package. So are addresses
    with one frame: the comparison with go tool addr2line covers those
    whole (and the compiler does leave the odd instruction with a callee's
    position but no inlining index)."""
    checked, inlined, bad = 0, 0, []
    for a, fr in sorted(frames.items()):
        if len(fr) < 2:
            continue
        inlined += len(fr) - 1
        for fn, pos in fr:
            if fn not in names:
                bad.append("%#x: %r is no function name of the binary, in %s" % (a, fn, fr))
                continue
            if fn in home and not unknown(pos) and not fn.endswith(".init"):
                checked += 1
                if pos.rsplit(":", 1)[0] not in home[fn]:
                    bad.append("%#x: %s at %s, but its code is in %s" % (
                        a, fn, pos, ", ".join(sorted(home[fn]))))
    return checked, inlined, bad


def function_files(ctx, go, path, funcs):
    """{function: files its own code is in}, from go tool addr2line at each
    function's entry and last bytes (where the stack-growth call and the
    final RET carry the function's own position even when everything
    before is inlined code). A set also because ABI wrappers share their
    function's name but are <autogenerated>."""
    points = []
    for entry, end in funcs:
        points.append(entry)
        points.extend(range(max(entry + 1, end - 48), end))
    home = {}
    for fn, pos in go_addr2line(ctx, go, path, points).values():
        if not unknown(pos):
            home.setdefault(fn, set()).add(pos.rsplit(":", 1)[0])
    return home


def function_names(elf):
    """Every name in the pclntab's funcnametab. An inlined frame's name
    read through a wrong offset would start inside one of them."""
    _, tab = elf.pclntab()
    start, end = struct.unpack_from("<QQ", tab, 32)
    return set(n.decode(errors="replace") for n in tab[start:end].split(b"\0"))


def go_version_ok(ctx, go, binary, name):
    """The release in the pin's name is what built the binary: from
    `go version`, or from runtime.buildVersion when the binary has no
    .go.buildinfo (esbuild 0.27 and later)."""
    want = name.split("-", 1)[0]
    r = ctx.sh([go, "version", binary], env=go_env(go), timeout=60)
    m = re.search(r": (go1\.\S+)\s*$", r.stdout)
    if m:
        return m.group(1) == want, "go version says " + m.group(1)
    found = want.encode() in Path(binary).read_bytes()
    return found, "go version: %s; %s %s in the binary" % (
        (r.stdout + r.stderr).strip().rsplit(": ", 1)[-1], want,
        "found" if found else "not found")


def with_zero_text_start(elf, binary, out):
    """A copy of binary whose pclntab header says textStart 0 (as Go 1.26
    writes it), so that the text start must come from moduledata."""
    off, _ = elf.pclntab()
    data = bytearray(elf.data)
    data[off + 24:off + 32] = b"\0" * 8
    out.write_bytes(bytes(data))
    out.chmod(0o755)
    return out


def check_binary(ctx, go, name, path):
    elf = Elf(path)
    # debug/gosym takes the text start from the .text section, which is
    # right only for internally linked binaries (external linking puts C
    # start-up code first): go tool addr2line would be the one wrong.
    hdr, text = elf.header_text_start(), elf.sections[".text"][1]
    if not ctx.check("%s: internally linked (pclntab text start is .text)" % name,
                     hdr in (0, text), "header textStart %#x, .text at %#x" % (hdr, text)):
        return
    funcs = elf.functab()
    addrs = pick_addresses(funcs, name)
    theirs = go_addr2line(ctx, go, path, addrs)
    ours, raw = goprof_addr2line(ctx, path, addrs)
    bad = compare(addrs, ours, theirs)
    ctx.check("%s: goprof-report --addr2line agrees with go tool addr2line" % name, not bad,
              "%s; %d addresses in %d functions, %d mismatches%s" % (
                  elf.describe(), len(addrs), len(funcs), len(bad),
                  "".join("\n" + b for b in bad[:10])))

    home = function_files(ctx, go, path, funcs)
    checked, inlined, problems = inline_consistency(ours, home, function_names(elf))
    ctx.check("%s: inlined frames are named and lie in their functions' files" % name,
              not problems and inlined >= 100 and checked >= 100,
              "%d inlined frames, %d frames checked against %d known functions, %d problems%s"
              % (inlined, checked, len(home), len(problems),
                 "".join("\n" + p for p in problems[:10])))

    if elf.header_text_start():
        copy = with_zero_text_start(elf, path, ctx.tmp / (name + "-textstart0"))
        ours0, raw0 = goprof_addr2line(ctx, copy, addrs)
        diff = [a for a in addrs if ours0.get(a) != ours.get(a)]
        ctx.check("%s: with header textStart 0 the text start comes from moduledata" % name,
                  not diff and raw0 == raw,
                  "%d of %d addresses differ%s" % (len(diff), len(addrs), "".join(
                      "\n%#x: %s vs %s" % (a, ours0.get(a), ours.get(a)) for a in diff[:5])))


def newest_go(ctx):
    def release(tc):
        m = re.match(r"go(\d+)\.(\d+)", tc.label)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    return max(ctx.toolchains, key=release).go


def run(ctx):
    script = ctx.repo / "tests" / "fetch_go_binaries.sh"
    pins = pinned(script)
    releases = {re.match(r"go1\.(\d+)", p[0]).group(1) for p in pins if re.match(r"go1\.\d+", p[0])}
    missing = sorted({"18", "20", "21", "22", "23", "24", "25"} - releases, key=int)
    ctx.check("fetch_go_binaries.sh pins a binary of each of Go 1.18, 1.20-1.25", not missing,
              "missing: %s; pins: %s" % (", ".join("go1." + m for m in missing),
                                         ", ".join(p[0] for p in pins)))
    if not ctx.check("a Go toolchain for go tool addr2line", ctx.toolchains):
        return
    r = ctx.sh(["sh", script], timeout=900)
    dest = ctx.cache / "gobins"
    go = newest_go(ctx)
    for name, pkg, version, sha in pins:
        path = dest / name
        ok = path.is_file() and sha256(path) == sha
        detail = "%s@%s" % (pkg, version)
        if ok:
            ok, vdetail = go_version_ok(ctx, go, path, name)
            detail += ": " + vdetail
        else:
            detail += " missing or wrong checksum:\n" + r.stdout[-1500:] + r.stderr[-1500:]
        if ctx.check("fetched %s" % name, ok, detail):
            check_binary(ctx, go, name, path)
