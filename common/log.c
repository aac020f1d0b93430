#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void goprof_log(const char *fmt, ...)
{
    /* Formatted into one buffer and written with one write(2) so that the
     * line is not interleaved with the program's own output. */
    char line[1024];
    int n = snprintf(line, sizeof line, "goprof: ");
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t rc = write(2, line, (size_t)n);
    (void)rc;
}
