/* The few protobuf encoding primitives a pprof writer needs. Hand-written
 * (as runtime/pprof's protobuf.go is): the profile is one flat message of
 * small repeated sub-messages, which a library would not make simpler. */
#ifndef GOPROF_PROTOBUF_H
#define GOPROF_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"

/* Messages are encoded into a struct bytebuf (bytes and varints:
 * common/bytebuf.c). */
void pb_reset(struct bytebuf *b);
/* Fields; the *_opt forms skip zero values as proto3 does. */
void pb_uint64(struct bytebuf *b, unsigned field, uint64_t v);
void pb_uint64_opt(struct bytebuf *b, unsigned field, uint64_t v);
void pb_int64(struct bytebuf *b, unsigned field, int64_t v);
void pb_int64_opt(struct bytebuf *b, unsigned field, int64_t v);
void pb_bool_opt(struct bytebuf *b, unsigned field, bool v);
void pb_bytes(struct bytebuf *b, unsigned field, const void *d, size_t n);
void pb_string(struct bytebuf *b, unsigned field, const char *s);
/* Packed repeated integers. */
void pb_packed_uint64(struct bytebuf *b, unsigned field, const uint64_t *v, size_t n);
void pb_packed_int64(struct bytebuf *b, unsigned field, const int64_t *v, size_t n);
/* Appends msg as an embedded message field and resets msg. */
void pb_message(struct bytebuf *b, unsigned field, struct bytebuf *msg);

#endif
