"""Torture, signals: a program that asks for every signal, one that walks
goprof's signal (and others) through signal.Notify, Reset, Ignore and
Notify again, one that sends goprof's signal to itself, and C code that
takes goprof's signal with glibc's signal() or with the raw system call.
Each behaves exactly as it does without goprof (its "key value" lines are
compared with a run without the library), and sampling goes on."""
import torture
from torture import count_detail, count_ok, job

# mode, the lines that must match a run without goprof, the lower bound of
# the sample count. rawsig: until the watchdog (50 ms) puts the handler
# back, the program's handler gets the samples.
CASES = [
    ("notifyall", ("received",), torture.LO),
    ("resetignore", ("steps",), torture.LO),
    ("selfkill", ("selfkill",), torture.LO),
    ("csignal", ("csignal", "csignal-other"), torture.LO),
    ("rawsig", ("rawsig",), 0.9),
]


def case(ctx, tc, binary, mode, keys, lo):
    plain = torture.run(ctx, [binary, "-mode", mode], preload=False)
    out = ctx.tmp / ("%s-%s.zst" % (tc, mode))
    r = torture.run(ctx, [binary, "-mode", mode], env={"GOPROF_OUT": str(out)})
    f = torture.FileInfo(ctx, out)
    want = {k: plain.values(k) for k in keys}
    got = {k: r.values(k) for k in keys}
    tag = "%s %s" % (tc, mode)
    checks = [
        ("%s: behaves as without goprof: %s" % (tag, "; ".join(
            "%s %s" % (k, " | ".join(v)) for k, v in got.items())),
         r.rc == plain.rc == 0 and got == want and all(want.values()),
         "without goprof (rc %d): %s\nwith goprof (rc %d): %s\n%s" %
         (plain.rc, want, r.rc, got, r.stderr[-1500:])),
        ("%s: sampling goes on: %s" % (tag, count_detail(f.weight, r.cpu)),
         f.ok and f.complete and count_ok(f.weight, r.cpu, lo), repr(f)),
    ]
    if mode == "selfkill":
        sent = int(r.value("selfkill").split()[1])
        checks.append(("%s: the file counts the %d signals forwarded to the program" %
                       (tag, sent), f.counters.get("forwarded") == sent, repr(f)))
    if mode == "rawsig":
        checks.append(("%s: the program's raw handler got at most 100 ms of samples (%s) "
                       "before the watchdog put goprof's back" % (tag, r.value("rawsig-other")),
                       int(r.value("rawsig-other") or 1e9) <= 0.1 * torture.HZ * 2, r.stdout))
    return checks


def run(ctx):
    jobs = []
    for tc in ctx.toolchains:
        b = torture.binary(ctx, tc)
        for mode, keys, lo in CASES:
            jobs.append(job("%s %s" % (tc, mode), case, ctx, tc, b, mode, keys, lo))
    torture.parallel(ctx, jobs)
