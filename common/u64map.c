#include "u64map.h"

#include <stdlib.h>

static size_t slot(uint64_t key, size_t cap)
{
    key ^= key >> 31;
    key *= 0x7fb5d329728ea185ull;
    key ^= key >> 27;
    return key & (cap - 1);
}

bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
    if (!m->cap)
        return false;
    if (key == 0)
        key = 1;
    for (size_t j = slot(key, m->cap); m->keys[j]; j = (j + 1) & (m->cap - 1))
        if (m->keys[j] == key) {
            *val = m->vals[j];
            return true;
        }
    return false;
}

static bool grow(struct u64map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    uint64_t *k = calloc(ncap, sizeof *k), *v = calloc(ncap, sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = slot(m->keys[i], ncap);
        while (k[j])
            j = (j + 1) & (ncap - 1);
        k[j] = m->keys[i];
        v[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = k;
    m->vals = v;
    m->cap = ncap;
    return true;
}

bool u64map_put(struct u64map *m, uint64_t key, uint64_t val)
{
    if (key == 0)
        key = 1; /* 0 marks an empty slot; callers use hashes, so a remap is fine */
    if ((m->count + 1) * 2 > m->cap && !grow(m))
        return false;
    size_t j = slot(key, m->cap);
    for (; m->keys[j]; j = (j + 1) & (m->cap - 1))
        if (m->keys[j] == key) {
            m->vals[j] = val;
            return true;
        }
    m->keys[j] = key;
    m->vals[j] = val;
    m->count++;
    return true;
}

void u64map_free(struct u64map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = m->vals = NULL;
    m->cap = m->count = 0;
}
