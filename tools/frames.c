#include "frames.h"

#include <stdlib.h>
#include <string.h>

static int push(struct funcbuf *b, uint32_t f)
{
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 128;
        uint32_t *p = realloc(b->v, ncap * sizeof *p);
        if (!p)
            return -1;
        b->v = p;
        b->cap = ncap;
    }
    b->v[b->n++] = f;
    return 0;
}

int sample_funcs(const struct report *r, const struct rp_sample *s, bool leaf_first,
                 struct funcbuf *b)
{
    b->n = 0;
    /* loc_ids are leaf first, and a location's lines innermost first */
    for (uint32_t k = 0; k < s->nlocs; k++) {
        const struct rp_loc *l = &r->locs[r->loc_ids[s->loc_off + k]];
        for (uint32_t j = 0; j < l->nlines; j++)
            if (push(b, r->lines[l->line_off + j].func) != 0)
                return -1;
    }
    if (!leaf_first)
        for (size_t i = 0, j = b->n; i + 1 < j--; i++) {
            uint32_t t = b->v[i];
            b->v[i] = b->v[j];
            b->v[j] = t;
        }
    return 0;
}

void funcbuf_free(struct funcbuf *b)
{
    free(b->v);
    memset(b, 0, sizeof *b);
}

uint32_t *canon_funcs(const struct report *r)
{
    uint32_t *canon = malloc((r->nfuncs + 1) * sizeof *canon);
    struct u64map byname = {0};
    if (!canon)
        return NULL;
    for (size_t i = 0; i < r->nfuncs; i++) {
        canon[i] = (uint32_t)i;
        uint64_t key = hash_str(17, r->funcs[i].name) | 1, v;
        for (int probe = 0; probe < 64; probe++, key = hash_mix(key, 1) | 1) {
            if (!u64map_get(&byname, key, &v)) {
                if (!u64map_put(&byname, key, i)) {
                    free(canon);
                    u64map_free(&byname);
                    return NULL;
                }
                break;
            }
            if (!strcmp(r->funcs[v].name, r->funcs[i].name)) {
                canon[i] = (uint32_t)v;
                break;
            }
        }
    }
    u64map_free(&byname);
    return canon;
}

const char *func_display_name(const struct report *r, uint32_t func)
{
    const char *n = r->funcs[func].name;
    return n && *n ? n : "[unknown]";
}
