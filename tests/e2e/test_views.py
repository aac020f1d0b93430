"""The views people use: the flame graph (checked as XML and in headless
Chromium), the top list (against go tool pprof -top), folded stacks (their
conventions and the round trip to the pprof profile), the filters shared
by every output, goprof-record, the Go package that builds the profiler
in, make install, and the documentation of every option."""
import collections
import fcntl
import os
import re
import resource
import shlex
import shutil
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET

import cdp
from helpers import folded, pprof, top_rows, total, within

SVG = "{http://www.w3.org/2000/svg}"
WIDTH = 1200
XPAD = 10
BURN = "main.(*Tëst).Bürn"
CSPIN = "c_spin"
CTHREAD = "views-cthread"  # the workload's C thread, the only thread so named


# The format -o infers from the file's name: (extension, the --format it
# stands for); the last is any other name, which gets the default.
EXTENSIONS = [(".pb.gz", "pprof"), (".pb", "pprof"), (".pprof", "pprof"),
              (".folded", "folded"), (".txt", "folded"), (".collapsed", "folded"),
              (".svg", "svg"), (".data", "pprof")]


# ---- reading the outputs ---------------------------------------------------

def record(ctx, binary, name, args=(), hz=1000, extra=()):
    """goprof-record -F hz -o NAME.zst BINARY -seconds 2 ARGS: (process, file)."""
    out = ctx.tmp / (name + ".zst")
    p = ctx.sh([ctx.build / "goprof-record", "-F", hz, "-o", out] + list(extra) +
               ["--", binary, "-seconds", "2"] + list(args), timeout=180, cwd=ctx.tmp,
               env=clean_env())
    return p, out


def clean_env(**extra):
    """The environment without the caller's LD_PRELOAD and GOPROF_*."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("GOPROF_")}
    env.update(extra)
    return env


def pprof_top(ctx, profile):
    r = pprof(ctx, "-top", "-sample_index=samples", "-nodefraction=0", "-nodecount=1000000",
              profile)
    if r.returncode != 0:
        raise RuntimeError("go tool pprof -top failed: " + r.stderr)
    return top_rows(r.stdout)


def pprof_stacks(ctx, profile):
    """Counter of root-first stacks (';'-joined, ';' in names as '_') from
    go tool pprof -traces: what the folded output must equal."""
    r = pprof(ctx, "-traces", "-sample_index=samples", profile)
    if r.returncode != 0:
        raise RuntimeError("go tool pprof -traces failed: " + r.stderr)
    stacks, cur = collections.Counter(), None

    def done():
        if cur:
            stacks[";".join(f.replace(";", "_") for f in reversed(cur[1]))] += cur[0]
    for line in r.stdout.splitlines():
        if line.startswith("-----------+"):
            done()
            cur = None
            continue
        m = re.match(r"\s*(\d+)\s+(\S.*)$", line)
        name = None
        if m and cur is None:
            cur, name = (int(m.group(1)), []), m.group(2)
        elif cur is not None and line.strip():
            name = line.strip()
        if name is not None:
            cur[1].append(re.sub(r" \((partial-)?inline\)$", "", name))
    done()
    return stacks


def folded_counter(ctx, files, *args):
    return collections.Counter({";".join(f): n for f, n in folded(ctx, files, *args)})


def generic_name_ok(tc, name, semicolon):
    """Mix instantiated with a struct: Go 1.21 and later name it
    main.Mix[go.shape.struct { A uint64; B string }] (spaces and a ';',
    which folded output writes as semicolon); older releases elide the
    type arguments: main.Mix[...]."""
    if tc.release < (1, 21):
        return name == "main.Mix[...]"
    return name == "main.Mix[go.shape.struct { A uint64%s B string }]" % semicolon


def svg_frames(path):
    """(root element, [frame dicts]) of a flame graph."""
    root = ET.parse(str(path)).getroot()
    frames = []
    for g in root.iter(SVG + "g"):
        cls = g.get("class", "").split()
        if "f" not in cls:
            continue
        title = g.find(SVG + "title").text
        m = re.match(r"(.*) \((\d+) samples, ([\d.]+)%\)$", title, re.S)
        rect = g.find(SVG + "rect")
        frames.append({"name": m.group(1), "samples": int(m.group(2)), "kind": cls[1],
                       "x": float(rect.get("x")), "y": float(rect.get("y")),
                       "w": float(rect.get("width")), "fill": rect.get("fill"),
                       "dx": int(g.get("data-x")), "dw": int(g.get("data-w")),
                       "label": g.find(SVG + "text").text or ""})
    return root, frames


def text_of(root, ident):
    for t in root.iter(SVG + "text"):
        if t.get("id") == ident:
            return t.text or ""
    return None


def outermost_samples(frames, name):
    """Samples through the frames named name, nested ones counted once."""
    spans = sorted((f["dx"], f["dx"] + f["dw"]) for f in frames if f["name"] == name)
    n, end = 0, -1
    for a, b in spans:
        if a >= end:
            n, end = n + b - a, b
        elif b > end:
            n, end = n + b - end, b
    return n


def ancestors(frames, f, inverted=False):
    """The frames on the path from the root to f (root first)."""
    step = -16 if not inverted else 16
    out, y = [], f["y"] - step
    while True:
        up = [p for p in frames if abs(p["y"] - y) < 0.5 and p["dx"] <= f["dx"] and
              p["dx"] + p["dw"] >= f["dx"] + f["dw"]]
        if not up:
            return list(reversed(out))
        out.append(up[0])
        y -= step


# ---- the colour classes, restated independently of tools/flame.c -------------

def expected_class(frames, f):
    """go, rt, sys, c or x for a frame from its name and its callers;
    None for the names this oracle cannot judge (other C code)."""
    name = f["name"]
    if name == "all" or name.startswith(("thread ", "goroutine ", "[truncated]")):
        return "x"
    if name == CSPIN or (name.startswith("_cgo_") and "_Cfunc_" in name):
        return "c"
    if name.startswith("main."):
        return "go"
    if not name.startswith(("runtime.", "internal/runtime/", "runtime/internal/")):
        return None
    system = False
    for a in ancestors(frames, f) + [f]:
        base = re.sub(r"\.abi0$", "", a["name"])
        if base in ("runtime.mstart", "runtime.mstart0", "runtime.mstart1", "runtime.rt0_go",
                    "runtime.sigtramp", "runtime.sigtrampgo", "runtime.cgoSigtramp"):
            system = True
        elif base == "runtime.cgocallback":
            system = False
        if a is not f and base in ("runtime.systemstack", "runtime.mcall", "runtime.morestack",
                                   "runtime.asmcgocall"):
            system = True
    return "sys" if system else "rt"


FILLS = {  # each class's colour range, mutually exclusive
    "go": lambda r, g, b: r >= 205 and b <= 55,
    "rt": lambda r, g, b: r <= 110 and g >= 165 and b >= 165,
    "sys": lambda r, g, b: 160 <= r <= 200 and b >= 215,
    "c": lambda r, g, b: r <= 130 and g >= 190 and b <= 120,
    "x": lambda r, g, b: r == g == b,
}


def rgb(fill):
    return tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))


# ---- flame graph, as a file ------------------------------------------------

def test_svg_file(ctx, tc, zst, prof):
    svg = ctx.tmp / ("%s.svg" % tc)
    r = ctx.goprof_report(["-o", svg, zst])
    if not ctx.check("%s svg: -o x.svg writes a flame graph" % tc, r.returncode == 0, r.stderr):
        return
    same = ctx.goprof_report(["--format=svg", zst])
    ctx.check("%s svg: --format=svg writes the same to stdout" % tc,
              same.returncode == 0 and same.stdout == svg.read_text(), same.stderr)
    text = svg.read_text()
    try:
        root, frames = svg_frames(svg)
    except (ET.ParseError, AttributeError) as e:
        ctx.check("%s svg: well-formed XML with a title per frame" % tc, False, str(e))
        return
    ctx.check("%s svg: well-formed XML, %d frames" % (tc, len(frames)), len(frames) > 20)
    refs = [m for m in re.findall(r"(?:href|src)\s*=|url\(|@import|https?://[^\s\"'<]*", text)
            if m != "http://www.w3.org/2000/svg"]
    ctx.check("%s svg: self-contained (no external reference) with its script" % tc,
              not refs and "<script" in text and "function zoom" in text, str(refs[:5]))
    n = total(folded(ctx, [zst]))
    all_ = [f for f in frames if f["name"] == "all"]
    ctx.check("%s svg: the root holds every sample (%d)" % (tc, n),
              len(all_) == 1 and all_[0]["samples"] == n and all_[0]["dw"] == n,
              str(all_))
    bad = [f["name"] for f in frames
           if abs(f["w"] - f["samples"] * (WIDTH - 2 * XPAD) / n) > 0.01 or f["dw"] != f["samples"]]
    ctx.check("%s svg: every frame's width is its share of %d px" % (tc, WIDTH - 2 * XPAD),
              not bad, str(bad[:5]))
    theirs = pprof_top(ctx, prof)
    for fn in (BURN, CSPIN):
        got, want = outermost_samples(frames, fn), theirs.get(fn, (0, 0))[1]
        ctx.check("%s svg: %s's frames hold its samples (%d, pprof cum %d)" % (tc, fn, got, want),
                  want > 0 and got == want)
    mix = [f for f in frames if f["name"].startswith("main.Mix[")]
    ctx.check("%s svg: the generic function's name is kept whole: %s" % (tc, mix[:1] and mix[0]["name"]),
              mix and generic_name_ok(tc, mix[0]["name"], ";") and
              mix[0]["samples"] == theirs.get(mix[0]["name"], (0, 0))[1])
    wrong = []
    for f in frames:
        want = expected_class(frames, f)
        if want is not None and f["kind"] != want:
            wrong.append("%s is %s, want %s" % (f["name"], f["kind"], want))
    kinds = collections.Counter(f["kind"] for f in frames)
    ctx.check("%s svg: frame classes: Go, Go runtime, system stack, C, other (%s)" %
              (tc, dict(kinds)),
              not wrong and all(kinds[k] for k in ("go", "rt", "sys", "c", "x")),
              "\n".join(wrong[:10]))
    off = ["%s %s %s" % (f["name"], f["kind"], f["fill"]) for f in frames
           if not FILLS[f["kind"]](*rgb(f["fill"]))]
    ctx.check("%s svg: each class has its own colours" % tc, not off, "\n".join(off[:10]))
    title, sub = text_of(root, "title"), text_of(root, "subtitle")
    m = re.match(r"([\d.]+) s, (\d+) samples at (\d+) Hz", sub or "")
    ctx.check("%s svg: title names the program; subtitle duration, samples, rate" % tc,
              "views" in title and m and 1.5 < float(m.group(1)) < 4 and int(m.group(2)) == n
              and m.group(3) == "1000", "%r %r" % (title, sub))

    # the FlameGraph options
    small = ctx.tmp / ("%s-800.svg" % tc)
    r = ctx.goprof_report(["-o", small, "--width=800", "--title=Spaß <&> \"quoted\"",
                           "--min-width=20", zst])
    root2, frames2 = svg_frames(small)
    ctx.check("%s svg: --width, --title (escaped), --min-width" % tc,
              r.returncode == 0 and root2.get("width") == "800" and
              text_of(root2, "title") == "Spaß <&> \"quoted\"" and
              all(f["w"] >= 20 for f in frames2) and 0 < len(frames2) < len(frames) and
              abs([f for f in frames2 if f["name"] == "all"][0]["w"] - 780) < 0.01,
              r.stderr + str(root2.attrib))
    rev = ctx.tmp / ("%s-rev.svg" % tc)
    r = ctx.goprof_report(["-o", rev, "--reverse", zst])
    _, frames3 = svg_frames(rev)
    top_y = min(f["y"] for f in frames3)
    first = collections.Counter()  # a name may stand in two classes
    for f in frames3:
        if abs(f["y"] - top_y - 16) < 0.5:
            first[f["name"]] += f["samples"]
    root_ok = [f for f in frames3 if f["name"] == "all" and f["y"] == top_y]
    bad = [(fn, s, theirs.get(fn, (0, 0))[0]) for fn, s in first.items()
           if s != theirs.get(fn, (0, 0))[0]]
    ctx.check("%s svg --reverse: icicle, root on top, leaf functions under it with their flat "
              "samples (%d functions)" % (tc, len(first)),
              r.returncode == 0 and root_ok and BURN in first and not bad, str(bad[:5]))
    return svg


def test_width_range(ctx, tc, zst):
    """--width takes the range --help states, and nothing outside it."""
    help_ = ctx.sh([ctx.report, "--help"]).stdout
    m = re.search(r"--width PIXELS .*?(\d+)-(\d+)", help_)
    lo, hi = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    wrong = []
    for width, ok in ((lo, True), (lo - 1, False), (hi, True), (hi + 1, False)):
        svg = ctx.tmp / ("%s-width-%d.svg" % (tc, width))
        r = ctx.goprof_report(["-o", svg, "--width=%d" % width, zst])
        if (r.returncode == 0) != ok or (ok and ET.parse(str(svg)).getroot().get("width")
                                         != str(width)):
            wrong.append("--width=%d: exit %d %s" % (width, r.returncode, r.stderr))
    ctx.check("%s svg: --width takes %d to %d, as --help says, and refuses %d and %d" %
              (tc, lo, hi, lo - 1, hi + 1), m and lo < hi and not wrong, "\n".join(wrong))


def test_output_names(ctx, tc, zst):
    """-o FILE writes, byte for byte, what --format=FORMAT writes to stdout
    for the FORMAT FILE's extension stands for."""
    want, wrong = {}, []
    for ext, fmt in EXTENSIONS:
        if fmt not in want:
            want[fmt] = subprocess.run([str(ctx.report), "--format=" + fmt, str(zst)],
                                       capture_output=True, timeout=120).stdout
        out = ctx.tmp / ("%s-out%s" % (tc, ext))
        r = ctx.goprof_report(["-o", out, zst])
        if r.returncode != 0 or not out.exists() or out.read_bytes() != want[fmt]:
            wrong.append("%s: exit %d, not the %s output %s" % (ext, r.returncode, fmt, r.stderr))
    ctx.check("%s -o FILE: the format follows the extension (%s)" %
              (tc, ", ".join("%s %s" % e for e in EXTENSIONS)),
              not wrong and len(set(want.values())) == 3 and all(want.values()),
              "\n".join(wrong))


# ---- flame graph, in the browser ---------------------------------------------

BOX = """(function(){var out={};document.querySelectorAll('g.f').forEach(function(g){
var n=g.goprof.name, b=g.querySelector('rect').getBoundingClientRect();
(out[n]=out[n]||[]).push([b.x,b.y,b.width,b.height,g.getAttribute('class')]);});return out;})()"""


def center(box):
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def element_center(page, ident):
    b = page.evaluate("(function(){var b=document.getElementById('%s').getBoundingClientRect();"
                      "return [b.x,b.y,b.width,b.height];})()" % ident)
    return center(b)


def neutral(page):
    """The mouse off every frame and button, for comparable screenshots."""
    page.hover(2, 2)


DOM = "new XMLSerializer().serializeToString(document.documentElement)"


def changed(before, after, box=None):
    """Pixels that differ between two screenshots, and whether they touch
    box (x, y, w, h). A few pixels differ after any repaint (anti-aliasing
    of a frame the mouse went over), so callers compare with a margin."""
    n, bb = cdp.png_diff(before, after)
    hit = bb is not None and (box is None or not (
        bb[2] < box[0] or bb[0] > box[0] + box[2] or bb[3] < box[1] or bb[1] > box[1] + box[3]))
    return n, hit


def test_browser(ctx, tc, svg, prof):
    if not ctx.check("chromium is installed (%s)" % cdp.CHROMIUM, os.access(cdp.CHROMIUM, os.X_OK),
                     "apt-get install chromium (.ci/run does)"):
        return
    theirs = pprof_top(ctx, prof)
    n = sum(flat for flat, _ in theirs.values())
    browser = cdp.Browser(ctx.tmp)
    try:
        root = ET.parse(str(svg)).getroot()
        page = browser.open(svg.resolve().as_uri(), WIDTH, int(float(root.get("height"))))
        ok = page.evaluate("typeof window.goprofFlame") == "object"
        ctx.check("%s browser: the flame graph loads, its script runs, no errors" % tc,
                  ok and not page.errors(), "\n".join(page.errors()) + browser.stderr()[-1500:])
        boxes = page.evaluate(BOX)
        bad = []
        for fn in (BURN, CSPIN, "runtime.goexit"):
            got = sum(b[2] for b in boxes.get(fn, []))
            want = theirs.get(fn, (0, 0))[1] / n * (WIDTH - 2 * XPAD)
            if not (fn in boxes and within(got, want, 0.02)):
                bad.append("%s: %.1f px, want %.1f px" % (fn, got, want))
        ctx.check("%s browser: functions drawn with widths proportional to samples (+-2%%)" % tc,
                  not bad, "; ".join(bad))

        # search: the Search button asks for a term (a prompt); frames
        # matching it are highlighted and the matched share is shown
        neutral(page)
        before = page.screenshot()
        answer = {"text": BURN.split(".")[-1]}
        page.handlers["Page.javascriptDialogOpening"] = lambda p: page.send(
            "Page.handleJavaScriptDialog", accept=True, promptText=answer["text"])
        page.click(*element_center(page, "search"))
        matched = page.evaluate("document.getElementById('matched').textContent")
        hits = page.evaluate("Array.from(document.querySelectorAll('g.match')).map("
                             "function(g){return [g.goprof.name, g.querySelector('rect')"
                             ".getAttribute('fill')]})")
        want = 100 * theirs[BURN][1] / n
        m = re.match(r"Matched: ([\d.]+)%", matched)
        ctx.check("%s browser: search highlights the matches and shows %.1f%% matched" % (tc, want),
                  m and abs(float(m.group(1)) - want) <= 0.051 and hits and
                  all(h[0] == BURN and h[1] == "#e600e6" for h in hits),
                  "%r %s" % (matched, hits[:5]))
        neutral(page)
        n_px, hit = changed(before, page.screenshot(), boxes[BURN][0][:4])
        ctx.check("%s browser: search changes the picture where %s is (%d pixels)" %
                  (tc, BURN, n_px), n_px > 1000 and hit)
        page.click(*element_center(page, "search"))  # now "Reset Search"
        left = page.evaluate("document.querySelectorAll('g.match').length")
        answer["text"] = "^main\\.Mix\\[|^c_spin$"
        page.click(*element_center(page, "search"))
        matched = page.evaluate("document.getElementById('matched').textContent")
        mix = [k for k in theirs if k.startswith("main.Mix[")]
        want = 100 * (theirs[mix[0]][1] + theirs[CSPIN][1]) / n if mix else -1
        m = re.match(r"Matched: ([\d.]+)%", matched)
        ctx.check("%s browser: reset search clears it; a regex matches %.1f%%" % (tc, want),
                  left == 0 and m and abs(float(m.group(1)) - want) <= 0.051, matched)
        page.click(*element_center(page, "search"))

        # click-to-zoom on the generic function, then reset
        neutral(page)
        before, dom = page.screenshot(), page.evaluate(DOM)
        mixbox = boxes[mix[0]][0]
        page.click(*center(mixbox))
        after = page.evaluate(BOX)
        zoomed = after[mix[0]][0]
        burn_hidden = all(b[2] == 0 for b in after.get(BURN, []))
        parents = [k for k, v in after.items() if "parent" in v[0][4]]
        ctx.check("%s browser: a click zooms: the frame fills the width, others hide, callers "
                  "fade" % tc,
                  abs(zoomed[2] - (WIDTH - 2 * XPAD)) < 1 and burn_hidden and
                  "runtime.goexit" in parents and "all" in parents,
                  "zoomed %s, %s hidden %s, parents %s" % (zoomed, BURN, burn_hidden, parents))
        neutral(page)
        n_px, _ = changed(before, page.screenshot())
        ctx.check("%s browser: zooming changes the picture (%d pixels)" % (tc, n_px),
                  n_px > 20000)
        page.hover(*center(zoomed))
        details = page.evaluate("document.getElementById('details').textContent")
        ctx.check("%s browser: the frame under the mouse is described" % tc,
                  re.match(r"Function: main\.Mix\[.*\] \(\d+ samples, [\d.]+%\)$", details),
                  details)
        page.click(*element_center(page, "unzoom"))
        neutral(page)
        back = page.evaluate(BOX)
        n_px, _ = changed(before, page.screenshot())
        ctx.check("%s browser: Reset Zoom restores the picture (the same DOM, %d pixels "
                  "differ)" % (tc, n_px),
                  abs(back[BURN][0][2] - boxes[BURN][0][2]) < 0.5 and
                  abs(back[mix[0]][0][2] - mixbox[2]) < 0.5 and
                  page.evaluate("document.getElementById('unzoom').getBoundingClientRect()"
                                ".width") == 0 and page.evaluate(DOM) == dom and n_px < 300,
                  "%s %s" % (back[BURN][0], boxes[BURN][0]))
        ctx.check("%s browser: no script errors after zoom and search" % tc, not page.errors(),
                  "\n".join(page.errors()))

        page = browser.open(svg.resolve().as_uri() + "?s=" + urllib.parse.quote("Bürn$"),
                            WIDTH, 600)
        opened = page.evaluate("document.getElementById('matched').textContent")
        want = 100 * theirs[BURN][1] / n
        m = re.match(r"Matched: ([\d.]+)%", opened)
        ctx.check("%s browser: flame.svg?s=REGEX opens with the search done" % tc,
                  m and abs(float(m.group(1)) - want) <= 0.051, opened)

        rev = ctx.tmp / ("%s-rev.svg" % tc)
        page = browser.open(rev.resolve().as_uri(), WIDTH, 600)
        boxes = page.evaluate(BOX)
        ctx.check("%s browser: the reversed graph loads, root on top" % tc,
                  not page.errors() and boxes["all"][0][1] < boxes[BURN][0][1],
                  "\n".join(page.errors()))
    finally:
        browser.close()


# ---- top list ----------------------------------------------------------------

def test_top(ctx, tc, zst, prof, rec):
    r = ctx.goprof_report(["--format=top", "--nodecount=0", zst])
    ours, theirs = top_rows(r.stdout), pprof_top(ctx, prof)
    diff = [(k, ours.get(k), theirs.get(k)) for k in set(ours) | set(theirs)
            if ours.get(k) != theirs.get(k)]
    ctx.check("%s top: flat and cum of all %d functions equal go tool pprof -top's" %
              (tc, len(ours)), r.returncode == 0 and len(ours) > 10 and not diff,
              str(diff[:10]) + r.stderr)
    flats = [f for f, _ in ours.values()]
    ctx.check("%s top: sorted by flat" % tc, flats == sorted(flats, reverse=True))
    n = total(folded(ctx, [zst]))
    summary = re.search(r"goprof: (\d+) samples written, (\d+) dropped, (\d+) threads seen",
                        rec.stderr)
    head = dict(re.findall(r"^(\w+): +(.*)$", r.stdout, re.M))
    ok = (summary and "views" in head.get("Program", "") and
          1.5 < float(head.get("Duration", "0 s").split()[0]) < 4 and
          head.get("Samples", "").startswith("%d (" % n) and
          head.get("Dropped") == "%s samples" % summary.group(2) and
          head.get("Threads") == summary.group(3) and head.get("Rate", "").startswith("1000 Hz"))
    ctx.check("%s top: header with program, duration, samples, dropped, threads, rate" % tc, ok,
              r.stdout[:600] + rec.stderr[-500:])
    r = ctx.goprof_report(["--format=top", "--nodecount=3", "--cum", zst])
    rows = top_rows(r.stdout)
    cums = [c for _, c in rows.values()]
    ctx.check("%s top: --nodecount=3 --cum: three rows by cum" % tc,
              len(rows) == 3 and cums == sorted(cums, reverse=True) and
              cums[0] == max(c for _, c in theirs.values()), r.stdout)


# ---- folded --------------------------------------------------------------------

def test_folded(ctx, tc, zst, prof):
    r = ctx.goprof_report(["--format=folded", zst])
    lines = r.stdout.splitlines()
    bad = [l for l in lines if not re.match(r"^[^;\n]+(;[^;\n]+)* [1-9]\d*$", l)
           or any(not f or f != f.strip() or f == " " for f in l.rpartition(" ")[0].split(";"))]
    ctx.check("%s folded: every line is 'frame;...;frame count', no empty frame" % tc,
              r.returncode == 0 and lines and not bad, "\n".join(bad[:5]))
    stacks = [l.rpartition(" ")[0].split(";") for l in lines]
    burn = [s for s in stacks if BURN in s]
    ctx.check("%s folded: root first (runtime.goexit ... %s), unicode and (*T) kept" % (tc, BURN),
              burn and all(s[0] == "runtime.goexit" and s.index(BURN) > 1 for s in burn),
              str(burn[:2]))
    mix = [f for s in stacks for f in s if f.startswith("main.Mix[")]
    ctx.check("%s folded: spaces kept, ';' inside a name written as '_' (%s)" % (tc, mix[:1]),
              mix and all(generic_name_ok(tc, f, "_") for f in mix))
    ctx.check("%s folded: each stack once (sorted, merged)" % tc,
              len(set(map(tuple, stacks))) == len(stacks) and lines == sorted(lines))
    mine, theirs = folded_counter(ctx, [zst]), pprof_stacks(ctx, prof)
    diff = [(k, mine[k], theirs[k]) for k in set(mine) | set(theirs) if mine[k] != theirs[k]]
    ctx.check("%s folded: round trip, every stack's count equals the pprof profile's (%d stacks)"
              % (tc, len(mine)), mine and not diff, "\n".join(map(str, diff[:5])))


# ---- filters ---------------------------------------------------------------------

def test_filters(ctx, tc, zst, prof, rec, ratio_files):
    everything = folded_counter(ctx, [zst])
    n = sum(everything.values())

    a = total(folded(ctx, [zst], "--to=1"))
    b = total(folded(ctx, [zst], "--from=1"))
    c = total(folded(ctx, [zst], "--from=0.5", "--to=1"))
    ctx.check("%s filters: --to=1 + --from=1 = all (%d + %d = %d); each about half" % (tc, a, b, n),
              a + b == n and within(a, n / 2, 0.3) and within(c, a / 2, 0.35), "0.5-1: %d" % c)
    r = ctx.goprof_report(["--format=top", "--from=0.5", "--to=1", zst])
    ctx.check("%s filters: the header's duration is the window" % tc,
              re.search(r"^Duration: 0\.50 s", r.stdout, re.M), r.stdout[:300])

    parts = dict(re.findall(r"part (\w+) thread (\d+)", rec.stdout))
    by_thread = collections.Counter()
    names = collections.Counter()
    for frames, k in folded(ctx, [zst], "--group-by=thread"):
        m = re.match(r"thread (\d+)(?: \((.*)\))?$", frames[0])
        by_thread[m.group(1)] += k
        names[m.group(2)] += k
    tid = parts.get("method")
    one = folded(ctx, [zst], "--thread=%s" % tid) if tid else []
    burn = sum(k for f, k in one if BURN in f)
    ctx.check("%s filters: --thread=TID keeps that thread's %d samples, >= 90%% in %s" %
              (tc, by_thread[tid], BURN),
              tid and total(one) == by_thread[tid] > 0 and burn >= 0.9 * total(one),
              "parts %s, %d of %d in %s" % (parts, burn, total(one), BURN))

    # Each --thread filter must keep exactly the stacks, thread by thread,
    # that the unfiltered recording has on the threads it names: TIDs, a
    # thread name (the C thread's; Go's threads all have the program's),
    # and both, the option repeated.
    grouped = folded_counter(ctx, [zst], "--group-by=thread")

    def of_threads(keep):
        return collections.Counter({s: k for s, k in grouped.items()
                                    if keep(*re.match(r"thread (\d+)(?: \((.*)\))?$",
                                                      s.split(";")[0]).groups())})
    method, cgo = parts.get("method"), parts.get("cgo")
    for what, args, keep in (
            ("two TIDs, comma-separated", ["--thread=%s,%s" % (method, cgo)],
             lambda t, name: t in (method, cgo)),
            ("a thread name", ["--thread=" + CTHREAD], lambda t, name: name == CTHREAD),
            ("a TID and a name, the option repeated",
             ["--thread=%s" % cgo, "--thread=" + CTHREAD],
             lambda t, name: t == cgo or name == CTHREAD)):
        want = of_threads(keep)
        got = folded_counter(ctx, [zst], "--group-by=thread", *args)
        threads = sorted({s.split(";")[0] for s in want})
        ctx.check("%s filters: --thread with %s keeps exactly the %d samples of %s" %
                  (tc, what, sum(want.values()), ", ".join(threads)),
                  got == want and 0 < sum(want.values()) < n and
                  len(threads) == (1 if what == "a thread name" else 2),
                  "names %s; %s: got %d samples, %d stacks differ" %
                  (dict(names), args, sum(got.values()),
                   len(set(got.items()) ^ set(want.items()))))

    by_g = collections.Counter()
    for frames, k in folded(ctx, [zst], "--group-by=goroutine"):
        by_g[frames[0].split()[1]] += k
    # (goroutine 0 stands for "not known": recorders that do not read the
    # goroutine id record 0 everywhere)
    g, k = max(by_g.items(), key=lambda x: (x[0] != "0", x[1]))
    other = max(int(x) for x in by_g) + 1
    ctx.check("%s filters: --goroutine=%s keeps its %d samples, --goroutine=%d none" %
              (tc, g, k, other),
              total(folded(ctx, [zst], "--goroutine=%s" % g)) == k and
              not folded(ctx, [zst], "--goroutine=%d" % other), str(by_g))

    # (every goroutine stack goes through runtime.goexit, so --ignore takes
    # the C function: some stacks have it, some not)
    for opt, regex, keep in (("--focus", "Bürn|c_spin", True), ("--ignore", "^c_spin$", False)):
        want = sum(v for s, v in everything.items()
                   if any(re.search(regex, f) for f in s.split(";")) == keep)
        got = folded_counter(ctx, [zst], "%s=%s" % (opt, regex))
        wrong = [s for s in got if any(re.search(regex, f) for f in s.split(";")) != keep]
        ctx.check("%s filters: %s=%s keeps %d of %d samples, the right stacks" %
                  (tc, opt, regex, want, n),
                  sum(got.values()) == want and 0 < want < n and not wrong, str(wrong[:3]))
    fprof = ctx.tmp / ("%s-focus.pb.gz" % tc)
    r = ctx.goprof_report(["-o", fprof, "--focus=Bürn", zst])
    rows = pprof_top(ctx, fprof)
    ctx.check("%s filters: apply to the pprof output too" % tc,
              r.returncode == 0 and rows and rows[BURN][1] == max(c for _, c in rows.values())
              == sum(f for f, _ in rows.values()), str(list(rows.items())[:5]))
    for args, what in ((["--focus=("], "--focus"), (["--from=2", "--to=1"], "--to"),
                       (["--width=abc"], "--width"), (["--goroutine=x"], "--goroutine")):
        r = ctx.goprof_report(["--format=top"] + args + [zst])
        ctx.check("%s filters: %s is refused with a message naming %s" % (tc, " ".join(args), what),
                  r.returncode == 2 and what in r.stderr, r.stderr)

    # several runs merged into one profile
    one, two = (folded_counter(ctx, [f]) for f in ratio_files)
    both = folded_counter(ctx, ratio_files)
    r = ctx.goprof_report(["--format=top"] + ratio_files)
    ctx.check("%s merge: two runs = the sum of each, stack by stack (%d + %d samples)" %
              (tc, sum(one.values()), sum(two.values())),
              both == one + two and "(2 files merged)" in r.stdout, r.stdout[:300])


# ---- goprof-record ---------------------------------------------------------------

def pure_go_program(ctx, tc):
    """A program without cgo (static by default) in a module of its own."""
    d = ctx.tmp / ("pure-%s" % tc)
    d.mkdir(exist_ok=True)
    (d / "go.mod").write_text("module pure\n\ngo 1.19\n")
    (d / "main.go").write_text(
        "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"time\"\n)\n\n"
        "//go:noinline\nfunc spin(x uint64) uint64 {\n\tfor i := 0; i < 1000000; i++ {\n"
        "\t\tx = x*6364136223846793005 + 1\n\t}\n\treturn x\n}\n\n"
        "func main() {\n\tvar x uint64\n\tfor t := time.Now(); time.Since(t) < time.Second; {\n"
        "\t\tx = spin(x)\n\t}\n\tfmt.Println(x, len(os.Args))\n}\n")
    return d


def go_build(ctx, tc, src, out, flags=(), cgo=True):
    env = clean_env(GOROOT=str(tc.go.resolve().parent.parent), GOTOOLCHAIN="local",
                    CGO_ENABLED="1" if cgo else "0", GOFLAGS="-mod=mod",
                    GOCACHE=str(ctx.cache / "gocache"), GOPATH=str(ctx.cache / "gopath"))
    return ctx.sh([tc.go, "build", "-o", out] + list(flags) + ["."], env=env, cwd=src,
                  timeout=600)


def test_record(ctx, tc, ratio):
    r = ctx.sh([ctx.build / "goprof-record", "--help"])
    ctx.check("goprof-record --help", r.returncode == 0 and "usage: goprof-record" in r.stdout)
    v = [ctx.sh([ctx.build / t, "--version"]) for t in ("goprof-record", "goprof-report")]
    m = [re.fullmatch(r"%s (\d+\.\d+\.\d+)\n" % t, x.stdout)
         for t, x in zip(("goprof-record", "goprof-report"), v)]
    ctx.check("goprof-record --version: one line with the version, goprof-report's too",
              all(x.returncode == 0 for x in v) and all(m) and
              m[0].group(1) == m[1].group(1), v[0].stdout + v[1].stdout)
    p, out = record(ctx, ratio, "%s-quiet" % tc, hz=500, extra=["-q"])
    ctx.check("%s goprof-record -q: nothing on stderr (the collector's summary neither), "
              "the samples recorded" % tc,
              p.returncode == 0 and p.stderr == "" and total(folded(ctx, [out])) > 0,
              p.stderr)
    p, out = record(ctx, ratio, "%s-rec" % tc, ["-end", "exit"], hz=500, extra=["-d", "4"])
    m = re.search(r"samples in (\S+)", p.stderr)
    ctx.check("%s goprof-record: exit status 3 kept, says where the samples are" % tc,
              p.returncode == 3 and m and m.group(1) == str(out.resolve()), p.stderr)
    cmd = re.search(r"^\s+(\S*goprof-report --format=top .*)$", p.stderr, re.M)
    r = ctx.sh(shlex.split(cmd.group(1))) if cmd else None
    ctx.check("%s goprof-record: the printed goprof-report command works" % tc,
              r and r.returncode == 0 and "main.leaf" in r.stdout and
              "Rate:     500 Hz" in r.stdout, (cmd and cmd.group(1) or p.stderr) +
              (r.stdout[:500] + r.stderr if r else ""))
    stacks = [f for f, _ in folded(ctx, [out]) if "main.leaf" in f]
    ctx.check("%s goprof-record -d 4: depth passed on (stacks cut at 4 frames)" % tc,
              stacks and all(f[0] == "[truncated]" and len(f) == 5 for f in stacks),
              str(stacks[:2]))
    env = shutil.which("env")
    r = ctx.sh([ctx.build / "goprof-record", "-F", "250", "-d", "32", "--unwind", "mixed",
                "-o", ctx.tmp / "env.zst", "--", env], cwd=ctx.tmp, env=clean_env())
    e = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    ctx.check("goprof-record: sets LD_PRELOAD, GOPROF_OUT/HZ/DEPTH/UNWIND for the program",
              e.get("GOPROF_UNWIND") == "mixed" and e.get("GOPROF_HZ") == "250" and
              e.get("GOPROF_DEPTH") == "32" and e.get("GOPROF_OUT") == str(ctx.tmp / "env.zst") and
              e.get("LD_PRELOAD", "").split(":")[0] == str(ctx.lib.resolve()) and
              "not a Go program" in r.stderr and r.returncode == 0, r.stdout[-800:] + r.stderr)

    src = pure_go_program(ctx, tc)
    static = ctx.tmp / ("pure-static-%s" % tc)
    b = go_build(ctx, tc, src, static, cgo=False)
    r = ctx.sh([ctx.build / "goprof-record", "-o", ctx.tmp / "static.zst", static])
    ctx.check("%s goprof-record: refuses a static binary, with the fix" % tc,
              b.returncode == 0 and r.returncode == 126 and "statically linked" in r.stderr and
              'import _ "runtime/cgo"' in r.stderr and "-linkmode=external" in r.stderr and
              not (ctx.tmp / "static.zst").exists(), b.stderr + r.stderr)
    # the fixes it suggests: the import (any release), external linking
    # (enough on its own in recent releases)
    fixes = [("import", "main.go", [])]
    if tc.release >= (1, 21):
        fixes.append(("linkmode", "main.go", ["-ldflags=-linkmode=external"]))
    for fix, _, flags in fixes:
        if fix == "import":
            (src / "cgo.go").write_text('package main\n\nimport _ "runtime/cgo"\n')
        dyn = ctx.tmp / ("pure-%s-%s" % (fix, tc))
        b = go_build(ctx, tc, src, dyn, flags)
        (src / "cgo.go").unlink(missing_ok=True)
        zst = ctx.tmp / ("fix-%s-%s.zst" % (fix, tc))
        r = ctx.sh([ctx.build / "goprof-record", "-F", "1000", "-o", zst, dyn], cwd=ctx.tmp,
                   env=clean_env())
        spin = [n for f, n in folded(ctx, [zst]) if "main.spin" in f] \
            if r.returncode == 0 and zst.exists() else []
        ctx.check("%s goprof-record: the suggested fix (%s) records" % (tc, fix),
                  b.returncode == 0 and sum(spin) > 500, b.stderr + r.stderr)
    # the cause and a fix, even with -q (errors are all it prints)
    missing = [ctx.sh([ctx.build / "goprof-record", "-q", prog], cwd=ctx.tmp) for prog in
               ("no-such-program-goprof", "./no-such-file", "./env")]
    says = ["no-such-program-goprof: command not found in PATH",
            "./no-such-file: No such file or directory", "./env: No such file or directory"]
    fixes = ["give its path (e.g. ./no-such-program-goprof)", "give the program's right path",
             "run the %s found in PATH: goprof-record env" % shutil.which("env")]
    ctx.check("goprof-record: refuses a missing program (127) with the cause and a fix: not in "
              "PATH, a path that is not there, one whose name is in PATH",
              all(r.returncode == 127 and "goprof-record: " + c in r.stderr and
                  re.search(r"^  Fix: .*" + re.escape(f), r.stderr, re.M)
                  for r, c, f in zip(missing, says, fixes)) and
              all("current directory, %s" % ctx.tmp.resolve() in r.stderr for r in missing[1:]),
              "".join(r.stderr for r in missing))
    r = ctx.sh([ctx.build / "goprof-record", "-o", "/proc/goprof-no-dir/x.zst", ratio])
    ctx.check("goprof-record: refuses an unwritable output path, with the fix",
              r.returncode == 125 and "cannot write" in r.stderr and "-o FILE" in r.stderr,
              r.stderr)
    busy = ctx.tmp / "busy.zst"
    with open(busy, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        r = ctx.sh([ctx.build / "goprof-record", "-o", busy, ratio])
    ctx.check("goprof-record: refuses a file another profiled process is writing",
              r.returncode == 125 and "being written" in r.stderr, r.stderr)
    r = ctx.sh([ctx.build / "goprof-record", "-F", "0", ratio])
    ctx.check("goprof-record: a bad -F is refused", r.returncode == 125 and "-F" in r.stderr,
              r.stderr)


# ---- the Go package, make install ---------------------------------------------------

PKG = "goprof/preload/go/goprof"


def builtin_program(ctx, tc, pkgdir, name):
    """The ratio workload with the package imported, in a module of its own."""
    d = ctx.tmp / name
    d.mkdir(exist_ok=True)
    (d / "go.mod").write_text("module goprofbuiltin\n\ngo 1.19\n\nrequire %s v0.0.0\n\n"
                              "replace %s => %s\n" % (PKG, PKG, pkgdir))
    src = (ctx.repo / "tests/workloads/ratio/main.go").read_text()
    (d / "main.go").write_text(src.replace('import "C"\n', 'import "C"\n\nimport _ "%s"\n' % PKG, 1))
    out = ctx.tmp / (name + ".bin")
    return go_build(ctx, tc, d, out), out


def run_plain(ctx, argv, env_extra, cwd):
    """Runs argv without LD_PRELOAD: (completed process, CPU seconds)."""
    env = clean_env(**env_extra)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = ctx.sh(argv, env=env, cwd=cwd, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def check_builtin(ctx, tag, binary):
    out = ctx.tmp / (binary.name + ".zst")
    r, cpu = run_plain(ctx, [binary, "-seconds", "2"],
                       {"GOPROF_OUT": str(out), "GOPROF_HZ": "1000"}, ctx.tmp)
    stacks = folded(ctx, [out]) if out.exists() else []
    n = total(stacks)
    share = {fn: sum(k for f, k in stacks if fn in f) / max(n, 1)
             for fn in ("main.burnA", "main.burnB", "main.burnC")}
    ok = all(abs(share[fn] - w) < 0.04 for fn, w in
             (("main.burnA", 1 / 7), ("main.burnB", 2 / 7), ("main.burnC", 4 / 7)))
    ctx.check("%s: runs without LD_PRELOAD, records %d samples for %.2f CPU-s, burns 1:2:4" %
              (tag, n, cpu), r.returncode == 0 and within(n, cpu * 1000, 0.15) and ok,
              "%s\n%s" % (share, r.stderr[-800:]))
    r, _ = run_plain(ctx, [binary, "-seconds", "0.2"],
                     {"GOPROF_OUT": str(out) + "-2", "GOPROF_HZ": "abc"}, ctx.tmp)
    lines = [l for l in r.stderr.splitlines() if l.startswith("goprof:")]
    ctx.check("%s: reads the same GOPROF_* variables (GOPROF_HZ=abc refused)" % tag,
              r.returncode == 0 and len(lines) == 1 and "GOPROF_HZ" in lines[0], r.stderr)


def test_go_package(ctx, tc):
    b, binary = builtin_program(ctx, tc, ctx.repo / "preload/go/goprof", "builtin-%s" % tc)
    if not ctx.check("%s Go package: a program importing it builds" % tc, b.returncode == 0,
                     b.stderr):
        return
    d = ctx.sh(["readelf", "-d", binary]).stdout
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", d)
    ctx.check("%s Go package: libgoprof.so is needed before libc" % tc,
              "libgoprof.so" in needed and "libc.so.6" in needed and
              needed.index("libgoprof.so") < needed.index("libc.so.6"), d)
    check_builtin(ctx, "%s Go package" % tc, binary)


def test_install(ctx, tc, ratio):
    prefix = ctx.tmp / "prefix"
    r = ctx.sh(["make", "-s", "install", "PREFIX=%s" % prefix], cwd=ctx.repo, timeout=600)
    files = ["bin/goprof-record", "bin/goprof-report", "lib/goprof/libgoprof.so",
             "share/goprof/go/goprof/goprof.go", "share/goprof/go/goprof/go.mod"]
    ctx.check("make install PREFIX=...: tools, library, Go package",
              r.returncode == 0 and all((prefix / f).exists() for f in files),
              r.stdout + r.stderr)
    env = clean_env(PATH="%s:%s" % (prefix / "bin", os.environ.get("PATH", "")))
    out = ctx.tmp / "installed.zst"
    r = ctx.sh(["goprof-record", "-o", out, ratio, "-seconds", "1"], env=env, cwd=ctx.tmp)
    cmd = re.search(r"^\s+(goprof-report --format=top .*)$", r.stderr, re.M)
    t = ctx.sh(shlex.split(cmd.group(1)), env=env) if cmd else None
    ctx.check("installed goprof-record finds ../lib/goprof and prints a working command",
              r.returncode == 0 and t and t.returncode == 0 and "main.leaf" in t.stdout,
              r.stderr + (t.stderr if t else ""))
    b, binary = builtin_program(ctx, tc, prefix / "share/goprof/go/goprof", "installed-pkg")
    ctx.check("%s installed Go package: a program importing it builds" % tc, b.returncode == 0,
              b.stderr)
    if b.returncode == 0:
        check_builtin(ctx, "%s installed Go package" % tc, binary)


# ---- documentation ------------------------------------------------------------------

def readme_examples(readme, tool):
    """The command lines of tool in the README's code blocks, as tokens."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", readme, re.M | re.S)
    return [line.split() for b in blocks for line in b.splitlines()
            if re.search(r"(^|[\s/$])%s\b" % tool, line)]


def used_in(option, short, lines):
    """Whether --option (or its short form -x) is on one of the lines."""
    return any(t == "--" + option or t.startswith("--%s=" % option) or
               (short and t.startswith("-" + short) and not t.startswith("--"))
               for line in lines for t in line)


def test_docs(ctx):
    readme = (ctx.repo / "README.md").read_text()
    for tool, sources in (("goprof-report", ["tools/report_main.c", "tools/view_args.c"]),
                          ("goprof-record", ["tools/record_main.c"])):
        opts = []  # (long name, short letter or "")
        for s in sources:
            opts += re.findall(r'\{"([a-z0-9-]+)",\s*(?:no|required)_argument,\s*0,\s*'
                               r"(?:'(.)')?", (ctx.repo / s).read_text())
        help_ = ctx.sh([ctx.build / tool, "--help"]).stdout
        missing_help = [o for o, _ in opts if "--" + o not in help_]
        missing_readme = [o for o, _ in opts if "--" + o not in readme]
        ctx.check("%s: every option (%d) in --help and the README" % (tool, len(opts)),
                  len(opts) > 3 and not missing_help and not missing_readme,
                  "not in --help: %s; not in README: %s" % (missing_help, missing_readme))
        lines = readme_examples(readme, tool)
        no_example = [o for o, short in opts if o != "help" and not used_in(o, short, lines)]
        ctx.check("%s: every option but --help is used in an example in the README (%d "
                  "command lines)" % (tool, len(lines)), len(lines) > 3 and not no_example,
                  "no example: %s" % no_example)
    help_ = ctx.sh([ctx.report, "--help"]).stdout
    named = [e for e, _ in EXTENSIONS[:-1]]
    ctx.check("goprof-report: every extension -o understands (%s) in --help and the README" %
              " ".join(named), all(e in help_ and "`%s`" % e in readme for e in named),
              "not in --help: %s; not in README: %s" % (
                  [e for e in named if e not in help_],
                  [e for e in named if "`%s`" % e not in readme]))
    shot = re.search(r"!\[[^\]]*\]\((docs/[^)]+\.png)\)", readme)
    ctx.check("README shows a flame graph screenshot",
              shot and (ctx.repo / shot.group(1)).stat().st_size > 10000)


def run(ctx):
    test_docs(ctx)
    for i, tc in enumerate(ctx.toolchains):
        views = ctx.build_workload("views", tc)
        ratio = ctx.build_workload("ratio", tc)
        rec, zst = record(ctx, views, "%s-views" % tc)
        if not ctx.check("%s goprof-record records the views workload" % tc,
                         rec.returncode == 0 and zst.exists(), rec.stderr):
            continue
        prof = ctx.tmp / ("%s-views.pb.gz" % tc)
        r = ctx.goprof_report(["-o", prof, zst])
        ctx.check("%s goprof-report writes pprof" % tc, r.returncode == 0, r.stderr)
        svg = test_svg_file(ctx, tc, zst, prof)
        test_width_range(ctx, tc, zst)
        test_output_names(ctx, tc, zst)
        if svg and i == 0:
            test_browser(ctx, tc, svg, prof)
        test_top(ctx, tc, zst, prof, rec)
        test_folded(ctx, tc, zst, prof)
        runs = [record(ctx, ratio, "%s-run%d" % (tc, k), hz=500)[1] for k in (1, 2)]
        test_filters(ctx, tc, zst, prof, rec, runs)
        test_record(ctx, tc, ratio)
        test_go_package(ctx, tc)
    if ctx.toolchains:
        test_install(ctx, ctx.toolchains[0], ctx.build_workload("ratio", ctx.toolchains[0]))
