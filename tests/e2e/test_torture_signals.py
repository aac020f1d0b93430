"""Torture, signals: a program that asks for every signal, one that walks
goprof's signal (and others) through signal.Notify, Reset, Ignore and
Notify again, one that sends goprof's signal to itself, and C code that
takes goprof's signal with glibc's signal() or with the raw system call.
Each behaves exactly as it does without goprof (its "key value" lines are
compared with a run without the library), and sampling goes on."""
import torture
from torture import count_detail, count_ok, job

# mode, the lines that must match a run without goprof
CASES = [
    ("notifyall", ("received",)),
    ("resetignore", ("steps",)),
    ("selfkill", ("selfkill",)),
    ("csignal", ("csignal", "csignal-other")),
    ("rawsig", ("rawsig",)),
]


def case(ctx, tc, binary, mode, keys, source=None):
    plain = torture.run(ctx, [binary, "-mode", mode], preload=False)
    out = ctx.tmp / ("%s-%s-%s.zst" % (tc, mode, source))
    env = {"GOPROF_OUT": str(out)}
    if source:
        env["GOPROF_SOURCE"] = source
    r = torture.run(ctx, [binary, "-mode", mode], env=env)
    f = torture.FileInfo(ctx, out)
    want = {k: plain.values(k) for k in keys}
    got = {k: r.values(k) for k in keys}
    tag = "%s %s%s" % (tc, mode, " (GOPROF_SOURCE=%s)" % source if source else "")
    checks = [
        ("%s: behaves as without goprof: %s" % (tag, "; ".join(
            "%s %s" % (k, " | ".join(v)) for k, v in got.items())),
         r.rc == plain.rc == 0 and got == want and all(want.values()),
         "without goprof (rc %d): %s\nwith goprof (rc %d): %s\n%s" %
         (plain.rc, want, r.rc, got, r.stderr[-1500:])),
    ]
    # rawsig: until the watchdog (50 ms) puts the handler back, the
    # program's handler gets the samples; together they make the count.
    taken = int(r.value("rawsig-other") or 0) if mode == "rawsig" else 0
    checks.append(("%s: sampling goes on: %s%s" % (tag, count_detail(f.weight, r.cpu),
                                                 " and %d in the program's handler" % taken
                                                 if mode == "rawsig" else ""),
                   f.ok and f.complete and count_ok(f.weight + taken, r.cpu), repr(f)))
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
        for mode, keys in CASES:
            jobs.append(job("%s %s" % (tc, mode), case, ctx, tc, b, mode, keys))
    # The timer source tells its samples apart by si_code and a cookie, not
    # by fd: the same cases once with it, on the newest toolchain.
    tc = ctx.toolchains[0]
    b = torture.binary(ctx, tc)
    for mode, keys in CASES:
        jobs.append(job("%s %s timer" % (tc, mode), case, ctx, tc, b, mode, keys, "timer"))
    torture.parallel(ctx, jobs)
