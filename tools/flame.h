/* The flame graph's tree: a report's stacks merged by function name from
 * the root (or, reversed, from the leaf), children in name order, each
 * node with the samples through it and its colour class. */
#ifndef GOPROF_FLAME_H
#define GOPROF_FLAME_H

#include "report.h"

/* What a frame's colour tells apart. */
enum frame_class {
    FC_GO,      /* Go code of the program and its libraries */
    FC_RUNTIME, /* the Go runtime on a goroutine's stack */
    FC_SYSTEM,  /* the Go runtime on the system stack (g0, signal stack) */
    FC_C,       /* C code (ELF symbols) */
    FC_OTHER,   /* unknown code, [truncated], thread/goroutine roots */
    FC_COUNT
};

#define FLAME_NONE UINT32_MAX

struct flame_node {
    uint32_t func; /* function index (one per name); FLAME_NONE for the root */
    uint32_t parent, child, sibling; /* FLAME_NONE when absent */
    uint32_t depth;                  /* 0 for the root ("all") */
    uint8_t cls;                     /* enum frame_class */
    uint64_t count;                  /* samples through this frame */
    uint64_t x;                      /* samples left of it (set by flame_build) */
};

struct flame {
    struct flame_node *nodes; /* nodes[0] is the root; children follow parents */
    size_t n, cap;
    uint32_t max_depth;
};

/* Builds the tree of r. reverse: stacks leaf first (a callers view).
 * Returns 0, or -1 with a message. */
int flame_build(struct flame *fl, const struct report *r, bool reverse, char *err,
                size_t errlen);
void flame_free(struct flame *fl);

/* Colour classes of the frames of one stack, root first: funcs[i] ->
 * cls[i]. Runtime frames called from a stack switch (systemstack, mcall,
 * morestack, asmcgocall) or under a system-stack root (mstart, sigtramp)
 * run on the system stack until cgocallback returns to the goroutine. */
void classify_stack(const struct report *r, const uint32_t *funcs, size_t n, uint8_t *cls);

#endif
