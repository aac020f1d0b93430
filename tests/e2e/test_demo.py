"""`make demo`, the README's first command: it builds goprof, records the
ratio workload (main.burnA, burnB and burnC burn CPU 1:2:4 through one
frameless leaf) with goprof-record, writes demo/samples.zst,
demo/profile.pb.gz and demo/flame.svg, and prints the top list. It runs
in the checkout itself, with the Go on PATH (GO=, as a user runs it), and
leaves the outputs there, as a user's `make demo` does (they are
gitignored); they are removed first, so only this run's can pass."""
import re
import xml.etree.ElementTree as ET

from helpers import BURNS, pprof_top, top_rows
import torture

SVG = "{http://www.w3.org/2000/svg}"
OUTPUTS = ("samples.zst", "profile.pb.gz", "flame.svg")


def shares(cum):
    """Each burner's share of the three's samples, and what is wrong with
    them (more than 4 points from 1:2:4, or missing)."""
    got = {fn: cum.get(fn, 0) for fn in BURNS}
    n = sum(got.values())
    share = {fn: got[fn] / n if n else 0 for fn in BURNS}
    bad = ["%s %.1f%% (want %.1f%%)" % (fn, 100 * share[fn], 100 * w)
           for fn, w in BURNS.items() if not got[fn] or abs(share[fn] - w) > 0.04]
    return ", ".join("%.1f%%" % (100 * share[fn]) for fn in BURNS), bad


def run(ctx):
    demo = ctx.repo / "demo"
    for name in OUTPUTS:
        (demo / name).unlink(missing_ok=True)
    tc = ctx.toolchains[0]
    r = ctx.sh(["make", "demo", "GO=%s" % tc.go], cwd=ctx.repo, env=ctx.go_env(tc), timeout=600)
    if not ctx.check("make demo (GO=%s) runs and says what it wrote" % tc.version,
                     r.returncode == 0 and "demo: wrote demo/samples.zst, demo/profile.pb.gz "
                     "and demo/flame.svg" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]):
        return
    samples = demo / "samples.zst"
    f = torture.FileInfo(ctx, samples)
    ctx.check("make demo: demo/samples.zst is complete and reads (%d samples); goprof-record "
              "said where it is" % f.weight,
              f.ok and f.complete and f.weight > 500 and
              "samples in %s" % samples.resolve() in r.stderr, "%r\n%s" % (f, r.stderr[-1500:]))

    # the top list it printed, sorted by cum (--cum)
    rows = top_rows(r.stdout)
    said, bad = shares({fn: cum for fn, (_, cum) in rows.items()})
    cums = [cum for _, cum in rows.values()]
    ctx.check("make demo: the top list it prints, sorted by cum, has burnA:B:C = 1:2:4 (%s)" %
              said, rows and not bad and cums == sorted(cums, reverse=True),
              "; ".join(bad) + "\n" + r.stdout[-2500:])

    try:
        pp, text = pprof_top(ctx, demo / "profile.pb.gz")
    except RuntimeError as e:
        pp, text = {}, str(e)
    said, bad = shares({fn: cum for fn, (_, cum) in pp.items()})
    ctx.check("make demo: demo/profile.pb.gz opens with go tool pprof -top, burnA:B:C = 1:2:4 "
              "(%s)" % said, pp and not bad, "; ".join(bad) + "\n" + text[:2500])

    svg = demo / "flame.svg"
    try:
        root = ET.parse(str(svg)).getroot()
        titles = [t.text or "" for t in root.iter(SVG + "title")]
    except (ET.ParseError, OSError) as e:
        root, titles = None, [str(e)]
    names = {m.group(1): int(m.group(2)) for m in
             (re.match(r"(.*) \((\d+) samples", t) for t in titles) if m}
    ctx.check("make demo: demo/flame.svg is SVG (parsed as XML), its root frame holds all %d "
              "samples, with burnA, burnB and burnC" % f.weight,
              root is not None and root.tag == SVG + "svg" and names.get("all") == f.weight and
              all(fn in names for fn in BURNS), "\n".join(titles[:20]))
