#include "protobuf.h"

#include <string.h>

enum { WIRE_VARINT = 0, WIRE_BYTES = 2 };

void pb_reset(struct bytebuf *b)
{
    b->len = 0;
}

static void key(struct bytebuf *b, unsigned field, unsigned wire)
{
    bytebuf_uvarint(b, (uint64_t)field << 3 | wire);
}

void pb_uint64(struct bytebuf *b, unsigned field, uint64_t v)
{
    key(b, field, WIRE_VARINT);
    bytebuf_uvarint(b, v);
}

void pb_uint64_opt(struct bytebuf *b, unsigned field, uint64_t v)
{
    if (v)
        pb_uint64(b, field, v);
}

void pb_int64(struct bytebuf *b, unsigned field, int64_t v)
{
    pb_uint64(b, field, (uint64_t)v); /* int64 is plain two's complement varint */
}

void pb_int64_opt(struct bytebuf *b, unsigned field, int64_t v)
{
    if (v)
        pb_int64(b, field, v);
}

void pb_bool_opt(struct bytebuf *b, unsigned field, bool v)
{
    if (v)
        pb_uint64(b, field, 1);
}

void pb_bytes(struct bytebuf *b, unsigned field, const void *d, size_t n)
{
    key(b, field, WIRE_BYTES);
    bytebuf_uvarint(b, n);
    bytebuf_put(b, d, n);
}

void pb_string(struct bytebuf *b, unsigned field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

void pb_packed_uint64(struct bytebuf *b, unsigned field, const uint64_t *v, size_t n)
{
    if (!n)
        return;
    /* Encoded in place after room for the longest length prefix, which is
     * then written before it: one pass over the values, not two. */
    enum { PREFIX = 20 }; /* a key and a length: 2 + 10 bytes at most */
    size_t start = b->len;
    if (!bytebuf_reserve(b, PREFIX + 10 * n))
        return;
    uint8_t *body = b->p + start + PREFIX, *p = body;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = v[i];
        while (x >= 0x80) {
            *p++ = (uint8_t)(x | 0x80);
            x >>= 7;
        }
        *p++ = (uint8_t)x;
    }
    size_t len = (size_t)(p - body);
    key(b, field, WIRE_BYTES);
    bytebuf_uvarint(b, len);
    /* the key and the length fit in the room reserved before body, and
     * the reservation kept the buffer where it was */
    memmove(b->p + b->len, body, len);
    b->len += len;
}

void pb_packed_int64(struct bytebuf *b, unsigned field, const int64_t *v, size_t n)
{
    pb_packed_uint64(b, field, (const uint64_t *)v, n);
}

void pb_message(struct bytebuf *b, unsigned field, struct bytebuf *msg)
{
    pb_bytes(b, field, msg->p, msg->len);
    if (msg->oom)
        b->oom = true;
    pb_reset(msg);
}
