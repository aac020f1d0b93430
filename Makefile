# goprof: see README.md. `make` builds the library and the tools,
# `make test` runs every test, `make demo` records a bundled workload.
CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -fno-omit-frame-pointer -fPIC -MMD -MP
CPPFLAGS += -Icommon -Icollector -Ipreload -Itools
B       := build

COMMON_SRC  := common/pclntab.c common/elfimage.c common/gobinary.c common/u64map.c
FORMAT_SRC  := collector/sample_format.c
LIB_SRC     := $(wildcard preload/*.c) collector/collector.c collector/ring.c \
               collector/stack_table.c $(FORMAT_SRC) $(COMMON_SRC)
REPORT_SRC  := $(filter-out tools/bench_%.c,$(wildcard tools/*.c)) $(FORMAT_SRC) $(COMMON_SRC)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIB_LIBS    := -lzstd -lelf -ldl -lpthread
REPORT_LIBS := -lzstd -lelf -lz

.PHONY: all test unit e2e clean
all: $(B)/libgoprof.so $(B)/goprof-report

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Only the interposed entry points are exported; the rest stays private.
$(B)/libgoprof.so: $(call obj,$(LIB_SRC)) preload/exports.map
	$(CC) -shared -o $@ $(call obj,$(LIB_SRC)) -Wl,--version-script=preload/exports.map \
	    -Wl,-z,nodelete $(LIB_LIBS)

$(B)/goprof-report: $(call obj,$(REPORT_SRC))
	$(CC) -o $@ $^ $(REPORT_LIBS)

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
