#include <stdlib.h>
#include <string.h>

#include "sluice/arena.h"

typedef struct arena_block {
    struct arena_block *next;
    size_t size;   /* usable bytes after the header */
    size_t used;
    /* data follows, 16-byte aligned */
} arena_block;

struct sluice_arena {
    arena_block *head;     /* current block (most recent) */
    arena_block *first;    /* kept across resets */
    size_t block_size;
    size_t used_total;
    size_t block_total;    /* bytes of the blocks malloc'd, headers included */
};

#define ARENA_HDR ((sizeof(arena_block) + 15u) & ~(size_t)15u)

static arena_block *block_new(size_t size) {
    arena_block *b = malloc(ARENA_HDR + size);
    if (!b) return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

sluice_arena *sluice_arena_new(size_t block_size) {
    sluice_arena *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->first = a->head = block_new(a->block_size);
    if (!a->first) {
        free(a);
        return NULL;
    }
    a->block_total = ARENA_HDR + a->block_size;
    return a;
}

/* A new current block for at least need bytes; NULL when out of memory. */
static arena_block *arena_grow(sluice_arena *a, size_t need) {
    size_t bs = need > a->block_size ? need : a->block_size;
    arena_block *nb = block_new(bs);
    if (!nb) return NULL;
    a->block_total += ARENA_HDR + bs;
    nb->next = a->head;
    a->head = nb;
    return nb;
}

void *sluice_arena_alloc(sluice_arena *a, size_t size) {
    size_t need = (size + 15u) & ~(size_t)15u;
    if (need == 0) need = 16;
    arena_block *b = a->head;
    /* packed allocations may have left the block's end unaligned */
    size_t off = (b->used + 15u) & ~(size_t)15u;
    if (off > b->size || b->size - off < need) {
        if (!(b = arena_grow(a, need))) return NULL;
        off = 0;
    }
    void *p = (char *)b + ARENA_HDR + off;
    a->used_total += off - b->used + need;
    b->used = off + need;
    return p;
}

void *sluice_arena_alloc_packed(sluice_arena *a, size_t size) {
    if (size == 0) size = 1;
    arena_block *b = a->head;
    if (b->size - b->used < size && !(b = arena_grow(a, size))) return NULL;
    void *p = (char *)b + ARENA_HDR + b->used;
    b->used += size;
    a->used_total += size;
    return p;
}

char *sluice_arena_strndup(sluice_arena *a, const char *s, size_t len) {
    char *p = sluice_arena_alloc(a, len + 1);
    if (!p) return NULL;
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void sluice_arena_reset(sluice_arena *a) {
    arena_block *b = a->head;
    while (b && b != a->first) {
        arena_block *next = b->next;
        a->block_total -= ARENA_HDR + b->size;
        free(b);
        b = next;
    }
    a->head = a->first;
    a->first->used = 0;
    a->used_total = 0;
}

size_t sluice_arena_used(const sluice_arena *a) {
    return a ? a->used_total : 0;
}

size_t sluice_arena_bytes(const sluice_arena *a) {
    return a ? sizeof *a + a->block_total : 0;
}

void sluice_arena_destroy(sluice_arena *a) {
    if (!a) return;
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}
