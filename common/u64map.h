/* An open-addressing hash map from 64-bit keys to 64-bit values, for the
 * report's many "have I seen this before" lookups. Keys are hashes or
 * packed ids chosen by the caller; key 0 is reserved. */
#ifndef GOPROF_U64MAP_H
#define GOPROF_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
    uint64_t *keys, *vals;
    size_t cap, count;
};

bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val);
/* Returns false on OOM. */
bool u64map_put(struct u64map *m, uint64_t key, uint64_t val);
void u64map_free(struct u64map *m);

/* Mixing helpers for building keys. */
static inline uint64_t hash_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static inline uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return hash_mix(h, 0);
}

#endif
