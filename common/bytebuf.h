/* A growable byte buffer with a varint writer, and a helper to grow
 * arrays: what the sample-file writer and the protobuf writer both encode
 * into, and what the readers grow their tables with. */
#ifndef GOPROF_BYTEBUF_H
#define GOPROF_BYTEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bytebuf {
    uint8_t *p;
    size_t len, cap;
    bool oom; /* an allocation failed: the contents are incomplete */
};

void bytebuf_put(struct bytebuf *b, const void *d, size_t n);
/* Makes room for n more bytes; false (and oom set) when it cannot. */
bool bytebuf_reserve(struct bytebuf *b, size_t n);
void bytebuf_free(struct bytebuf *b);

/* Unsigned LEB128, as protobuf and the sample file both use. Inline and
 * written in place: a pprof profile holds tens of millions of them. */
static inline void bytebuf_uvarint(struct bytebuf *b, uint64_t v)
{
    if (b->oom || (b->cap - b->len < 10 && !bytebuf_reserve(b, 10)))
        return;
    uint8_t *p = b->p + b->len;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    b->len = (size_t)(p - b->p);
}

/* Grows *arr (elements of elem bytes, *cap of them) to hold need; doubles
 * the capacity. False on allocation failure, *arr unchanged. */
bool grow_array(void **arr, size_t *cap, size_t need, size_t elem);

#endif
