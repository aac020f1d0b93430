#include "ring.h"

#include <sys/mman.h>

/* About 8 MiB of slots whatever the depth: at depth 64 that is 8192
 * samples, 0.4 s of a 10 kHz x 2-core run between two collector drains
 * that happen every 10 ms. Slots carrying stack copies get 32 MiB. */
#define RING_TARGET_BYTES (8u << 20)
#define RING_TARGET_BYTES_COPY (32u << 20)

size_t ring_bytes(uint32_t depth, uint32_t copy_max, uint64_t *nslots, uint32_t *slot_size)
{
    uint32_t sz = (uint32_t)(sizeof(struct ring_slot) + (size_t)depth * 8 + copy_max);
    sz = (sz + 63) & ~63u;
    uint64_t target = copy_max ? RING_TARGET_BYTES_COPY : RING_TARGET_BYTES;
    uint64_t n = 256;
    while (n * 2 * sz <= target && n < 65536)
        n *= 2;
    *nslots = n;
    *slot_size = sz;
    return sizeof(struct ring) + n * sz;
}

struct ring *ring_create(uint32_t depth, uint32_t copy_max)
{
    uint64_t n;
    uint32_t sz;
    size_t bytes = ring_bytes(depth, copy_max, &n, &sz);
    /* Populated now: a first touch from the signal handler would cost a
     * page fault on the samples that fill the ring the first time. */
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    struct ring *r = m;
    r->magic = RING_MAGIC;
    r->depth = depth;
    r->slot_size = sz;
    r->copy_max = copy_max;
    r->nslots = n;
    for (uint64_t i = 0; i < n; i++)
        atomic_store_explicit(&ring_slot_at(r, i)->seq, i, memory_order_relaxed);
    atomic_store_explicit(&r->head, 0, memory_order_release);
    return r;
}

enum ring_next ring_next(struct ring_reader *rd, bool producers_dead, struct ring_slot **slot)
{
    struct ring *r = rd->r;
    struct ring_slot *s = ring_slot_at(r, rd->tail);
    uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
    *slot = s;
    if (seq == rd->tail + 1)
        return RING_READY;
    /* Claimed (head moved past it) but never published: only a producer
     * that died mid-write leaves that behind once the process is gone. */
    if (producers_dead && atomic_load_explicit(&r->head, memory_order_acquire) > rd->tail)
        return RING_TORN;
    return RING_EMPTY;
}

void ring_release(struct ring_reader *rd, struct ring_slot *slot)
{
    atomic_store_explicit(&slot->seq, rd->tail + rd->r->nslots, memory_order_release);
    rd->tail++;
}
