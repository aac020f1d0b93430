#include "flame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"

/* ---- colour classes ------------------------------------------------------ */

enum { SW_NONE, SW_ROOT, SW_TO_SYSTEM, SW_TO_GOROUTINE };

static bool name_is(const char *name, const char *want)
{
    size_t n = strlen(want);
    return !strncmp(name, want, n) && (!name[n] || !strcmp(name + n, ".abi0"));
}

static int switch_kind(const char *name)
{
    static const char *const roots[] = {"runtime.mstart", "runtime.mstart0", "runtime.mstart1",
                                        "runtime.rt0_go", "runtime.sigtramp",
                                        "runtime.sigtrampgo", "runtime.cgoSigtramp"};
    static const char *const to_sys[] = {"runtime.systemstack", "runtime.mcall",
                                         "runtime.morestack", "runtime.asmcgocall"};
    if (strncmp(name, "runtime.", 8) != 0)
        return SW_NONE;
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++)
        if (name_is(name, roots[i]))
            return SW_ROOT;
    for (size_t i = 0; i < sizeof to_sys / sizeof *to_sys; i++)
        if (name_is(name, to_sys[i]))
            return SW_TO_SYSTEM;
    if (name_is(name, "runtime.cgocallback"))
        return SW_TO_GOROUTINE;
    return SW_NONE;
}

static bool is_runtime(const char *name)
{
    return !strncmp(name, "runtime.", 8) || !strncmp(name, "runtime/internal/", 17) ||
           !strncmp(name, "internal/runtime/", 17);
}

void classify_stack(const struct report *r, const uint32_t *funcs, size_t n, uint8_t *cls)
{
    bool on_system = false;
    for (size_t i = 0; i < n; i++) {
        const struct rp_func *f = &r->funcs[funcs[i]];
        int sw = f->kind == FRAME_GO ? switch_kind(f->name) : SW_NONE;
        if (sw == SW_ROOT || sw == SW_TO_GOROUTINE)
            on_system = sw == SW_ROOT;
        if (f->kind == FRAME_C)
            cls[i] = FC_C;
        else if (f->kind != FRAME_GO)
            cls[i] = FC_OTHER;
        else if (!is_runtime(f->name))
            cls[i] = FC_GO;
        else
            cls[i] = on_system ? FC_SYSTEM : FC_RUNTIME;
        if (sw == SW_TO_SYSTEM)
            on_system = true; /* for what it calls */
    }
}

/* ---- building ------------------------------------------------------------ */

static int64_t new_node(struct flame *fl, uint32_t parent, uint32_t func, uint8_t cls)
{
    if (fl->n == fl->cap) {
        size_t ncap = fl->cap ? fl->cap * 2 : 1024;
        struct flame_node *p = realloc(fl->nodes, ncap * sizeof *p);
        if (!p)
            return -1;
        fl->nodes = p;
        fl->cap = ncap;
    }
    uint32_t depth = parent == FLAME_NONE ? 0 : fl->nodes[parent].depth + 1;
    fl->nodes[fl->n] = (struct flame_node){func, parent, FLAME_NONE, FLAME_NONE, depth, cls, 0, 0};
    if (parent != FLAME_NONE) {
        fl->nodes[fl->n].sibling = fl->nodes[parent].child;
        fl->nodes[parent].child = (uint32_t)fl->n;
    }
    if (depth > fl->max_depth)
        fl->max_depth = depth;
    return (int64_t)fl->n++;
}

/* The child of parent for (func, cls), created when new. */
static int64_t child(struct flame *fl, struct u64map *index, uint32_t parent, uint32_t func,
                     uint8_t cls)
{
    uint64_t key = hash_mix(hash_mix(hash_mix(23, parent), func), cls) | 1, v;
    for (int probe = 0; probe < 64; probe++, key = hash_mix(key, 1) | 1) {
        if (!u64map_get(index, key, &v)) {
            int64_t id = new_node(fl, parent, func, cls);
            if (id < 0 || !u64map_put(index, key, (uint64_t)id))
                return -1;
            return id;
        }
        const struct flame_node *c = &fl->nodes[v];
        if (c->parent == parent && c->func == func && c->cls == cls)
            return (int64_t)v;
    }
    return new_node(fl, parent, func, cls); /* unindexed: still correct */
}

static const struct report *sort_report; /* qsort has no context argument */

static int by_name(const void *a, const void *b)
{
    const struct flame_node *x = *(const struct flame_node *const *)a;
    const struct flame_node *y = *(const struct flame_node *const *)b;
    int c = strcmp(sort_report->funcs[x->func].name, sort_report->funcs[y->func].name);
    return c ? c : (int)x->cls - (int)y->cls;
}

/* Orders every node's children by name (as FlameGraph does, so that
 * equal input gives an equal picture) and sets x from the left. */
static int layout(struct flame *fl, const struct report *r)
{
    struct flame_node **kids = malloc((fl->n + 1) * sizeof *kids);
    if (!kids)
        return -1;
    sort_report = r;
    /* parents come before their children: one pass in index order works */
    for (size_t p = 0; p < fl->n; p++) {
        size_t k = 0;
        for (uint32_t c = fl->nodes[p].child; c != FLAME_NONE; c = fl->nodes[c].sibling)
            kids[k++] = &fl->nodes[c];
        if (!k)
            continue;
        qsort(kids, k, sizeof *kids, by_name);
        uint64_t x = fl->nodes[p].x;
        for (size_t i = 0; i < k; i++) {
            kids[i]->x = x;
            x += kids[i]->count;
            kids[i]->sibling = i + 1 < k ? (uint32_t)(kids[i + 1] - fl->nodes) : FLAME_NONE;
        }
        fl->nodes[p].child = (uint32_t)(kids[0] - fl->nodes);
    }
    free(kids);
    return 0;
}

int flame_build(struct flame *fl, const struct report *r, bool reverse, char *err,
                size_t errlen)
{
    memset(fl, 0, sizeof *fl);
    uint32_t *canon = canon_funcs(r);
    struct funcbuf b = {0};
    uint8_t *cls = NULL;
    size_t ncls = 0;
    struct u64map index = {0};
    int rc = -1;
    if (!canon || new_node(fl, FLAME_NONE, FLAME_NONE, FC_OTHER) < 0)
        goto out;
    for (size_t i = 0; i < r->nsamples; i++) {
        const struct rp_sample *s = &r->samples[i];
        if (sample_funcs(r, s, false, &b) != 0)
            goto out;
        if (b.n > ncls) {
            uint8_t *p = realloc(cls, b.n);
            if (!p)
                goto out;
            cls = p;
            ncls = b.n;
        }
        classify_stack(r, b.v, b.n, cls);
        fl->nodes[0].count += s->count;
        uint32_t node = 0;
        for (size_t k = 0; k < b.n; k++) {
            size_t j = reverse ? b.n - 1 - k : k;
            int64_t c = child(fl, &index, node, canon[b.v[j]], cls[j]);
            if (c < 0)
                goto out;
            node = (uint32_t)c;
            fl->nodes[node].count += s->count;
        }
    }
    rc = layout(fl, r);
out:
    if (rc != 0) {
        snprintf(err, errlen, "out of memory while building the flame graph");
        flame_free(fl);
    }
    free(canon);
    free(cls);
    funcbuf_free(&b);
    u64map_free(&index);
    return rc;
}

void flame_free(struct flame *fl)
{
    free(fl->nodes);
    memset(fl, 0, sizeof *fl);
}
