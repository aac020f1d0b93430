/* Text for XML (SVG): always well-formed, whatever bytes a symbol holds. */
#ifndef GOPROF_XMLOUT_H
#define GOPROF_XMLOUT_H

#include <stddef.h>
#include <stdio.h>

/* Writes the first max characters of s (SIZE_MAX: all), escaping markup;
 * invalid UTF-8 becomes U+FFFD and control characters spaces. */
void xml_text(FILE *out, const char *s, size_t max);
/* Characters (code points) of s as xml_text counts them. */
size_t utf8_chars(const char *s);

#endif
