/* The hand-off between the signal handler (many producers, in the profiled
 * process) and the collector (one consumer, in another process), in a
 * MAP_SHARED anonymous mapping created before the collector is forked.
 *
 * A bounded queue of fixed-size slots with a sequence number per slot
 * (Vyukov's bounded MPMC queue, used here with one consumer): a producer
 * claims a slot with one CAS on head, fills it and publishes it by storing
 * the slot's sequence. No locks, no allocation, bounded retries: a full
 * ring drops the sample and counts it. Fixed-size slots let the consumer
 * skip a slot that a thread left half-written when the process died
 * (exit_group can stop a thread anywhere, including in our handler). */
#ifndef GOPROF_RING_H
#define GOPROF_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gooffsets.h"

#define RING_MAGIC 0x676f70726f667231ull /* "goprofr1" */

#define RING_NO_HOLE 0xffff

enum { RING_OFF_PENDING, RING_OFF_DWARF, RING_OFF_NONE };

struct ring_slot {
    _Atomic uint64_t seq;
    uint32_t tid;
    uint16_t nframes;
    uint16_t flags; /* SF_STACK_* */
    uint64_t time; /* TSC ticks if ring.tsc_time, else CLOCK_MONOTONIC ns */
    uint64_t goid;
    uint64_t weight;
    /* C frames left for the collector to unwind with libunwind
     * (GOPROF_UNWIND=mixed or libunwind): they belong at pcs[hole], start
     * at c_ip, and their stack from c_sp is copied after the pcs. */
    uint16_t hole;
    uint16_t pad;
    uint32_t copy_len;
    uint64_t c_ip, c_sp, c_bp;
    uint64_t pcs[]; /* ring.depth entries, then ring.copy_max bytes */
};

/* The counters the handler updates on every sample, striped by thread:
 * one shared line would move between cores on every sample. The collector
 * adds the stripes up. */
#define RING_STRIPES 16

struct ring_stripe {
    _Alignas(64) _Atomic uint64_t signals;
    _Atomic uint64_t samples;
    _Atomic uint64_t dropped_signals;
    _Atomic uint64_t dropped_weight;
    _Atomic uint64_t handler_ticks; /* TSC ticks spent in the handler */
};

/* Counters the handler and the library maintain; the collector copies
 * them into the file. */
struct ring_counters {
    struct ring_stripe stripe[RING_STRIPES];
    _Alignas(64) _Atomic uint64_t forwarded;
    _Atomic uint64_t threads;
    _Atomic uint64_t timer_errors;
};

static inline struct ring_stripe *ring_stripe_of(struct ring_counters *c, uint32_t tid)
{
    return &c->stripe[tid % RING_STRIPES];
}

struct ring {
    uint64_t magic;
    uint32_t depth;     /* max frames per slot */
    uint32_t slot_size; /* bytes per slot */
    uint32_t copy_max;  /* bytes of stack a slot can hold (0: none) */
    uint64_t nslots;    /* a power of two */
    _Atomic uint32_t stopped; /* set by the collector when it gives up */
    uint32_t tsc_time;        /* slots are timestamped with the TSC */
    /* The runtime's g/m offsets from the executable's DWARF. Reading them
     * takes a few ms (godwarf.h), so the collector does it, beside the
     * program instead of before it, and publishes them here: off_state
     * goes from RING_OFF_PENDING to RING_OFF_DWARF (off is set) or
     * RING_OFF_NONE. Until then the handler uses the table's. */
    _Atomic uint32_t off_state;
    struct go_offsets off;
    /* head is hammered by producers: keep it off the other lines */
    _Alignas(64) _Atomic uint64_t head;
    _Alignas(64) struct ring_counters counters;
    _Alignas(64) uint8_t slots[];
};

size_t ring_bytes(uint32_t depth, uint32_t copy_max, uint64_t *nslots, uint32_t *slot_size);
/* Maps a shared ring whose slots hold depth PCs and copy_max bytes of
 * stack; NULL on failure (errno set). */
struct ring *ring_create(uint32_t depth, uint32_t copy_max);

static inline uint8_t *ring_slot_copy(const struct ring *r, struct ring_slot *s)
{
    return (uint8_t *)(s->pcs + r->depth);
}

static inline struct ring_slot *ring_slot_at(struct ring *r, uint64_t pos)
{
    return (struct ring_slot *)(r->slots + (pos & (r->nslots - 1)) * r->slot_size);
}

/* Producer side: async-signal-safe. Returns a slot to fill and publish
 * with ring_publish, or NULL when the ring is full. */
static inline struct ring_slot *ring_claim(struct ring *r, uint64_t *pos_out)
{
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (int tries = 0; tries < 64; tries++) {
        struct ring_slot *s = ring_slot_at(r, pos);
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t diff = (int64_t)(seq - pos);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                *pos_out = pos;
                return s;
            }
        } else if (diff < 0) {
            return NULL; /* full: the collector has not freed this slot yet */
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
    return NULL;
}

static inline void ring_publish(struct ring_slot *s, uint64_t pos)
{
    atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
}

/* Consumer side (collector process). */
struct ring_reader {
    struct ring *r;
    uint64_t tail;
};

enum ring_next { RING_EMPTY, RING_READY, RING_TORN };

/* Looks at the next slot. READY: *slot may be read, then ring_release it.
 * EMPTY: nothing published yet. With producers_dead set, a claimed slot
 * that was never published is reported as TORN (and must be released). */
enum ring_next ring_next(struct ring_reader *rd, bool producers_dead, struct ring_slot **slot);
void ring_release(struct ring_reader *rd, struct ring_slot *slot);

#endif
