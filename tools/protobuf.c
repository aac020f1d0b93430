#include "protobuf.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_BYTES = 2 };

void pb_reset(struct pb *b)
{
    b->len = 0;
}

void pb_free(struct pb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void pb_raw(struct pb *b, const void *d, size_t n)
{
    if (b->oom || !n)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

void pb_varint(struct pb *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    pb_raw(b, t, n);
}

static void key(struct pb *b, unsigned field, unsigned wire)
{
    pb_varint(b, (uint64_t)field << 3 | wire);
}

void pb_uint64(struct pb *b, unsigned field, uint64_t v)
{
    key(b, field, WIRE_VARINT);
    pb_varint(b, v);
}

void pb_uint64_opt(struct pb *b, unsigned field, uint64_t v)
{
    if (v)
        pb_uint64(b, field, v);
}

void pb_int64(struct pb *b, unsigned field, int64_t v)
{
    pb_uint64(b, field, (uint64_t)v); /* int64 is plain two's complement varint */
}

void pb_int64_opt(struct pb *b, unsigned field, int64_t v)
{
    if (v)
        pb_int64(b, field, v);
}

void pb_bool_opt(struct pb *b, unsigned field, bool v)
{
    if (v)
        pb_uint64(b, field, 1);
}

void pb_bytes(struct pb *b, unsigned field, const void *d, size_t n)
{
    key(b, field, WIRE_BYTES);
    pb_varint(b, n);
    pb_raw(b, d, n);
}

void pb_string(struct pb *b, unsigned field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void pb_packed_uint64(struct pb *b, unsigned field, const uint64_t *v, size_t n)
{
    if (!n)
        return;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += varint_len(v[i]);
    key(b, field, WIRE_BYTES);
    pb_varint(b, total);
    for (size_t i = 0; i < n; i++)
        pb_varint(b, v[i]);
}

void pb_packed_int64(struct pb *b, unsigned field, const int64_t *v, size_t n)
{
    pb_packed_uint64(b, field, (const uint64_t *)v, n);
}

void pb_message(struct pb *b, unsigned field, struct pb *msg)
{
    pb_bytes(b, field, msg->p, msg->len);
    if (msg->oom)
        b->oom = true;
    pb_reset(msg);
}
