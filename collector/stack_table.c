#include "stack_table.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    uint64_t hash;
    uint64_t off; /* into pool */
    uint32_t n, flags;
    int64_t id; /* -1: empty */
};

struct stack_table {
    struct entry *slots;
    size_t cap, count;
    uint64_t *pool;
    size_t pool_len, pool_cap;
};

static uint64_t hash_stack(const uint64_t *pcs, uint32_t n, uint32_t flags)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n << 32 | flags);
    for (uint32_t i = 0; i < n; i++) {
        h ^= pcs[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

struct stack_table *stack_table_new(void)
{
    struct stack_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cap = 1024;
    t->slots = malloc(t->cap * sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < t->cap; i++)
        t->slots[i].id = -1;
    return t;
}

void stack_table_free(struct stack_table *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t->pool);
    free(t);
}

static bool grow(struct stack_table *t)
{
    size_t ncap = t->cap * 2;
    struct entry *ns = malloc(ncap * sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < ncap; i++)
        ns[i].id = -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].id < 0)
            continue;
        size_t j = t->slots[i].hash & (ncap - 1);
        while (ns[j].id >= 0)
            j = (j + 1) & (ncap - 1);
        ns[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return true;
}

int64_t stack_table_intern(struct stack_table *t, const uint64_t *pcs, uint32_t n,
                           uint32_t flags, bool *is_new)
{
    uint64_t h = hash_stack(pcs, n, flags);
    size_t j = h & (t->cap - 1);
    /* Compare the frames, not just the hash: two stacks must never merge. */
    for (; t->slots[j].id >= 0; j = (j + 1) & (t->cap - 1)) {
        struct entry *e = &t->slots[j];
        if (e->hash == h && e->n == n && e->flags == flags &&
            (!n || !memcmp(t->pool + e->off, pcs, n * sizeof *pcs))) {
            *is_new = false;
            return e->id;
        }
    }
    if (t->pool_len + n > t->pool_cap) {
        size_t ncap = t->pool_cap ? t->pool_cap : 4096;
        while (ncap < t->pool_len + n)
            ncap *= 2;
        uint64_t *np = realloc(t->pool, ncap * sizeof *np);
        if (!np)
            return -1;
        t->pool = np;
        t->pool_cap = ncap;
    }
    if (n) /* the pool is still NULL when the first stack is empty */
        memcpy(t->pool + t->pool_len, pcs, n * sizeof *pcs);
    t->slots[j] = (struct entry){h, t->pool_len, n, flags, (int64_t)t->count};
    t->pool_len += n;
    *is_new = true;
    int64_t id = (int64_t)t->count++;
    if (t->count * 2 > t->cap && !grow(t))
        return -1;
    return id;
}

size_t stack_table_count(const struct stack_table *t)
{
    return t->count;
}
