"""Torture, fuzzing regressions: every input of the committed corpus of
each fuzz target (tests/fuzz/corpus/TARGET, what `make fuzz` found with
libFuzzer) and every crash reproducer (tests/fuzz/crashes/TARGET, each
fixed by the commit that added it) goes through the target again, built
by gcc as a plain program with AddressSanitizer and
UndefinedBehaviorSanitizer (`make fuzz-replay`): no crash, no report."""
TARGETS = {
    "sample_reader": "the sample-file reader",
    "elf_pclntab": "the ELF, Go metadata and pclntab reader and the symbolizer",
    "protobuf": "the pprof protobuf writer and the other writers",
}


def run(ctx):
    for t, what in TARGETS.items():
        exe = ctx.build / "asan" / "fuzz" / ("replay_" + t)
        dirs = [d for d in (ctx.repo / "tests" / "fuzz" / "corpus" / t,
                            ctx.repo / "tests" / "fuzz" / "crashes" / t) if d.is_dir()]
        n = sum(1 for d in dirs for f in d.iterdir() if not f.name.startswith("."))
        if not ctx.check("fuzz %s: the replay program is built (make fuzz-replay) and there "
                         "are inputs" % t, exe.exists() and n > 0, str(exe)):
            continue
        r = ctx.sh([exe] + dirs, timeout=600,
                   env={"ASAN_OPTIONS": "detect_leaks=1", "UBSAN_OPTIONS": "halt_on_error=1"})
        ctx.check("fuzz %s: %s takes all %d committed inputs (corpus and crash reproducers) "
                  "cleanly" % (t, what, n),
                  r.returncode == 0 and ("replayed %d inputs" % n) in r.stdout,
                  "rc %d %s\n%s" % (r.returncode, r.stdout[-300:], r.stderr[-3000:]))
