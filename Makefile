# goprof: see README.md. `make` builds the library and the tools,
# `make test` runs every test, `make demo` records a bundled workload.
CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -fno-omit-frame-pointer -fPIC -MMD -MP
CPPFLAGS += -Icommon -Icollector -Ipreload -Itools
B       := build

COMMON_SRC  := common/pclntab.c common/elfimage.c common/gobinary.c common/u64map.c \
               common/bytebuf.c \
               common/gooffsets.c common/godwarf.c
FORMAT_SRC  := collector/sample_format.c
LIB_SRC     := $(wildcard preload/*.c) common/log.c collector/collector.c collector/ring.c \
               collector/cunwind.c \
               collector/stack_table.c $(FORMAT_SRC) $(COMMON_SRC)
REPORT_SRC  := $(filter-out tools/bench_%.c tools/record_main.c,$(wildcard tools/*.c)) \
               $(B)/gen/flame_assets.c $(FORMAT_SRC) $(COMMON_SRC)
RECORD_SRC  := tools/record_main.c common/elfimage.c common/gobinary.c common/pclntab.c

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIB_LIBS    := -lzstd -lz -lelf -lunwind-x86_64 -lunwind -ldl -lpthread
REPORT_LIBS := -lzstd -ldw -lelf -lz

UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
# What unit tests may link: everything but the two entry points and the
# parts of the library that only make sense inside a profiled process.
# Support files in tests/unit (not named test_*) are linked into every test.
UNIT_LINK   := $(filter-out tools/report_main.c,$(REPORT_SRC)) preload/unwind.c \
               collector/stack_table.c collector/ring.c \
               $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))

.PHONY: all test unit demo bench install clean
all: $(B)/libgoprof.so $(B)/goprof-report $(B)/goprof-record

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Only the interposed entry points are exported; the rest stays private.
$(B)/libgoprof.so: $(call obj,$(LIB_SRC)) preload/exports.map
	$(CC) -shared -o $@ $(call obj,$(LIB_SRC)) -Wl,--version-script=preload/exports.map \
	    -Wl,-z,nodelete $(LIB_LIBS)

$(B)/goprof-report: $(call obj,$(REPORT_SRC))
	$(CC) -o $@ $^ $(REPORT_LIBS)

$(B)/goprof-record: $(call obj,$(RECORD_SRC))
	$(CC) -o $@ $^ -lelf

# The flame graph's script and style, embedded in goprof-report as strings.
$(B)/gen/flame_assets.c: tools/flame.js tools/flame.css
	@mkdir -p $(dir $@)
	{ echo '#include "flame_assets.h"'; \
	  for f in $^; do \
	    echo "const char flame_$$(basename $$f | sed 's/.*\.//')[] ="; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $$f; \
	    echo '    ;'; \
	  done; } > $@.tmp && mv $@.tmp $@

$(B)/tests/%: tests/unit/%.c $(call obj,$(UNIT_LINK))
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) -o $@ $< $(call obj,$(UNIT_LINK)) \
	    $(REPORT_LIBS) -lcmocka

unit: $(UNIT_BINS)

# The whole suite: unit tests, then end-to-end tests that build Go
# workloads with every Go toolchain found. Ends with "N passed, N failed, N skipped".
test: all unit asan fuzz-replay
	python3 tests/run.py

# Records a bundled workload (three functions burning CPU 1:2:4 through one
# frameless leaf) with goprof-record, writes the pprof profile and the
# flame graph, and shows the top list.
GO ?= go
demo: all
	cd tests/workloads/ratio && $(GO) build -o $(CURDIR)/$(B)/demo-ratio .
	rm -f demo/samples.zst
	$(B)/goprof-record -F 1000 -o demo/samples.zst -- $(B)/demo-ratio -seconds 2
	$(B)/goprof-report -o demo/profile.pb.gz demo/samples.zst
	$(B)/goprof-report -o demo/flame.svg demo/samples.zst
	$(B)/goprof-report --format=top --cum --nodecount=12 demo/samples.zst
	@echo "demo: wrote demo/samples.zst, demo/profile.pb.gz and demo/flame.svg (open it in a browser)"

# Writes the big recording that run.sh times goprof-report on.
$(B)/bench/gen_samples: tools/bench/gen_samples.c $(call obj,$(FORMAT_SRC) $(COMMON_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(call obj,$(FORMAT_SRC) $(COMMON_SRC)) -lzstd -lz -lelf

$(B)/bench/unwind_bench: tools/bench/unwind_bench.c \
        $(call obj,preload/unwind.c collector/ring.c common/pclntab.c common/elfimage.c common/gobinary.c)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ -lelf

# C without frame pointers, as cgo code usually is.
$(B)/bench/cchain.o: tools/bench/cchain.c tools/bench/cchain.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fomit-frame-pointer -c -o $@ $<

$(B)/bench/cunwind_bench: tools/bench/cunwind_bench.c $(B)/bench/cchain.o \
        $(call obj,collector/cunwind.c)
	$(CC) $(CPPFLAGS) -Itools/bench $(CFLAGS) -o $@ $^ -lunwind-x86_64 -lunwind

# The overhead of seeing a stack, every way (tools/bench/bench.py, writes
# bench/results/), then goprof-report on a big recording (run.sh). Numbers
# are reported, never asserted. BENCH_ARGS=--quick for a shorter run.
bench: all $(B)/bench/gen_samples $(B)/bench/unwind_bench $(B)/bench/cunwind_bench
	GO=$(GO) python3 tools/bench/bench.py $(BENCH_ARGS)
	GO=$(GO) bash tools/bench/run.sh

# Installs the tools, the library (where goprof-record looks for it:
# ../lib/goprof from its bin directory) and the Go package that links the
# library into a program (see preload/go/goprof).
PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/goprof \
	    $(DESTDIR)$(PREFIX)/share/goprof/go/goprof
	install -m 755 $(B)/goprof-record $(B)/goprof-report $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(B)/libgoprof.so $(DESTDIR)$(PREFIX)/lib/goprof/
	install -m 644 preload/go/goprof/go.mod preload/go/goprof/goprof.go \
	    $(DESTDIR)$(PREFIX)/share/goprof/go/goprof/

clean:
	rm -rf $(B)

include tests/torture.mk

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
