#include "addr2line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize.h"

static void print_addr(struct symbolizer *s, struct binary *b, const char *text,
                       bool show_addr)
{
    char *end;
    unsigned long long a = strtoull(text, &end, 16);
    if (show_addr)
        printf("0x%016llx\n", a);
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    struct sym_frame fr[64];
    int n = (*end || end == text) ? 0 : symbolize(s, b, a, false, fr, 64);
    if (n == 0) {
        printf("??\n??:0\n");
        return;
    }
    for (int i = 0; i < n; i++) {
        printf("%s\n", fr[i].function ? fr[i].function : "??");
        if (fr[i].file && *fr[i].file)
            printf("%s:%d\n", fr[i].file, fr[i].line);
        else
            printf("??:0\n");
    }
}

int addr2line_main(const char *binary, char *const *addrs, int naddrs, bool expand_inline,
                   bool show_addr)
{
    if (!binary) {
        fprintf(stderr, "goprof-report: --addr2line needs --binary PATH\n");
        return 2;
    }
    struct symbolizer *s = symbolizer_new(expand_inline);
    char err[512];
    struct binary *b = s ? symbolizer_binary(s, binary, err, sizeof err) : NULL;
    if (!b) {
        fprintf(stderr, "goprof-report: %s\n", s ? err : "out of memory");
        symbolizer_free(s);
        return 1;
    }
    if (naddrs > 0) {
        for (int i = 0; i < naddrs; i++)
            print_addr(s, b, addrs[i], show_addr);
    } else {
        char line[256];
        while (fgets(line, sizeof line, stdin)) {
            print_addr(s, b, line, show_addr);
            fflush(stdout); /* answer line by line, for use as a coprocess */
        }
    }
    symbolizer_free(s);
    return 0;
}
