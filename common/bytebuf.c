#include "bytebuf.h"

#include <stdlib.h>
#include <string.h>

bool grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

bool bytebuf_reserve(struct bytebuf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->len + n > b->cap && !grow_array((void **)&b->p, &b->cap, b->len + n, 1)) {
        b->oom = true;
        return false;
    }
    return true;
}

void bytebuf_put(struct bytebuf *b, const void *d, size_t n)
{
    if (!n || !bytebuf_reserve(b, n))
        return;
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

void bytebuf_free(struct bytebuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
