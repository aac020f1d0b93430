/* The few protobuf encoding primitives a pprof writer needs. Hand-written
 * (as runtime/pprof's protobuf.go is): the profile is one flat message of
 * small repeated sub-messages, which a library would not make simpler. */
#ifndef GOPROF_PROTOBUF_H
#define GOPROF_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb {
    uint8_t *p;
    size_t len, cap;
    bool oom;
};

void pb_reset(struct pb *b);
void pb_free(struct pb *b);
void pb_raw(struct pb *b, const void *d, size_t n);
void pb_varint(struct pb *b, uint64_t v);
/* Fields; the *_opt forms skip zero values as proto3 does. */
void pb_uint64(struct pb *b, unsigned field, uint64_t v);
void pb_uint64_opt(struct pb *b, unsigned field, uint64_t v);
void pb_int64(struct pb *b, unsigned field, int64_t v);
void pb_int64_opt(struct pb *b, unsigned field, int64_t v);
void pb_bool_opt(struct pb *b, unsigned field, bool v);
void pb_bytes(struct pb *b, unsigned field, const void *d, size_t n);
void pb_string(struct pb *b, unsigned field, const char *s);
/* Packed repeated integers. */
void pb_packed_uint64(struct pb *b, unsigned field, const uint64_t *v, size_t n);
void pb_packed_int64(struct pb *b, unsigned field, const int64_t *v, size_t n);
/* Appends msg as an embedded message field and resets msg. */
void pb_message(struct pb *b, unsigned field, struct pb *msg);

#endif
