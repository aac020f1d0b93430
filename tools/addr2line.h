#ifndef GOPROF_ADDR2LINE_H
#define GOPROF_ADDR2LINE_H

#include <stdbool.h>

/* `goprof-report --addr2line`: for each address (link-time, hex) print its
 * frames innermost first, a function line then a file:line line each, as
 * `addr2line -f -i` does. Addresses come from argv, else one per line on
 * stdin. show_addr: print each address first (addr2line -a). Returns the
 * exit status. */
int addr2line_main(const char *binary, char *const *addrs, int naddrs, bool expand_inline,
                   bool show_addr);

#endif
