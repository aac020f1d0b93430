/* One-line messages on stderr, prefixed "goprof: ". Not for the signal
 * handler (stdio). */
#ifndef GOPROF_LOG_H
#define GOPROF_LOG_H

__attribute__((format(printf, 1, 2))) void goprof_log(const char *fmt, ...);

#endif
