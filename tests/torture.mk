# The torture suite's builds (issue 5), included by the Makefile:
#  make asan       libgoprof.so and goprof-report with AddressSanitizer and
#                  UndefinedBehaviorSanitizer, in build/asan/ (the
#                  end-to-end sanitizer test preloads this library)
#  make fuzz-replay  the fuzz targets as plain programs (gcc, sanitizers),
#                  which `make test` runs over the committed corpus and
#                  crash reproducers in tests/fuzz/
#  make fuzz       builds the targets with clang's libFuzzer and runs each
#                  for FUZZ_SECONDS (default 60), then merges what it found
#                  into tests/fuzz/corpus/TARGET; crashes are written to
#                  tests/fuzz/crashes/TARGET/ (commit both)
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all
ASAN_B      := $(B)/asan
FUZZ_TARGETS := sample_reader elf_pclntab protobuf
FUZZ_LINK   := $(filter-out tools/report_main.c,$(REPORT_SRC))
FUZZ_CC     ?= clang
FUZZ_SECONDS ?= 60

asan_obj = $(patsubst %.c,$(ASAN_B)/obj/%.o,$(1))

.PHONY: asan fuzz-replay fuzz fuzz-seeds

$(ASAN_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(ASAN_B)/libgoprof.so: $(call asan_obj,$(LIB_SRC)) preload/exports.map
	$(CC) -shared $(SAN_FLAGS) -o $@ $(call asan_obj,$(LIB_SRC)) \
	    -Wl,--version-script=preload/exports.map -Wl,-z,nodelete $(LIB_LIBS)

$(ASAN_B)/goprof-report: $(call asan_obj,$(REPORT_SRC))
	$(CC) $(SAN_FLAGS) -o $@ $^ $(REPORT_LIBS)

asan: $(ASAN_B)/libgoprof.so $(ASAN_B)/goprof-report

$(ASAN_B)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(call asan_obj,$(FUZZ_LINK))
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -o $@ tests/fuzz/fuzz_$*.c tests/fuzz/replay_main.c \
	    $(call asan_obj,$(FUZZ_LINK)) $(REPORT_LIBS)

fuzz-replay: $(patsubst %,$(ASAN_B)/fuzz/replay_%,$(FUZZ_TARGETS))

# libFuzzer builds compile the sources themselves: their objects are
# instrumented for coverage, unlike everything else.
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LINK)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -O1 -g -std=gnu11 -fno-omit-frame-pointer \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $@ tests/fuzz/fuzz_$*.c $(FUZZ_LINK) $(REPORT_LIBS)

# Seeds the binary reader's corpus with small synthetic Go executables.
$(B)/fuzz/mkseed_elf: tests/fuzz/mkseed_elf.c tests/unit/synth_pclntab.c tests/unit/synth_elf.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) -o $@ $^

fuzz-seeds: $(B)/fuzz/mkseed_elf
	@mkdir -p $(B)/fuzz/seeds/elf_pclntab tests/fuzz/corpus/elf_pclntab
	$(B)/fuzz/mkseed_elf $(B)/fuzz/seeds/elf_pclntab
	cp $(B)/fuzz/seeds/elf_pclntab/*.elf tests/fuzz/corpus/elf_pclntab/
	for f in $(B)/fuzz/seeds/elf_pclntab/*.pclntab; do \
	    { printf P; cat $$f; } > tests/fuzz/corpus/elf_pclntab/$$(basename $$f); done

fuzz: $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(B)/fuzz/work/$$t tests/fuzz/corpus/$$t tests/fuzz/crashes/$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    $(B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 \
	        -max_len=65536 -print_final_stats=1 \
	        -artifact_prefix=tests/fuzz/crashes/$$t/ $(B)/fuzz/work/$$t tests/fuzz/corpus/$$t \
	        2>&1 | grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' ; \
	    rm -rf $(B)/fuzz/merged/$$t && mkdir -p $(B)/fuzz/merged/$$t && \
	    $(B)/fuzz/fuzz_$$t -merge=1 -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
	        $(B)/fuzz/merged/$$t tests/fuzz/corpus/$$t $(B)/fuzz/work/$$t >/dev/null 2>&1 && \
	    rm -rf tests/fuzz/corpus/$$t && cp -r $(B)/fuzz/merged/$$t tests/fuzz/corpus/$$t; \
	    echo "fuzz: $$t corpus $$(ls tests/fuzz/corpus/$$t | wc -l) inputs," \
	         "crashes $$(ls tests/fuzz/crashes/$$t | wc -l)"; \
	done

-include $(shell find $(ASAN_B) -name '*.d' 2>/dev/null)
