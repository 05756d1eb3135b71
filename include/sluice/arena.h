/*
 * sluice — arena (region) allocator, as nginx pools: many small allocations
 * freed as a whole.  Per-batch memory (decoded strings, emitted rows) comes
 * from an arena that is reset between micro-batches, so the hot path does no
 * malloc per row.
 */
#ifndef SLUICE_ARENA_H
#define SLUICE_ARENA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sluice_arena sluice_arena;

/** Create an arena whose blocks are at least block_size bytes (0 = 64 KiB).
 *  Returns NULL when out of memory.  Free with sluice_arena_destroy(). */
sluice_arena *sluice_arena_new(size_t block_size);

/** Allocate size bytes aligned to 16 bytes.  The memory lives until the next
 *  sluice_arena_reset() or sluice_arena_destroy().  Returns NULL when out of
 *  memory.  size 0 returns a valid unique pointer. */
void *sluice_arena_alloc(sluice_arena *a, size_t size);

/** Allocate size bytes with no alignment (1 byte for size 0), packed
 *  after the previous allocation: for bytes read as bytes (interned
 *  strings).  Lives as sluice_arena_alloc's; NULL when out of memory. */
void *sluice_arena_alloc_packed(sluice_arena *a, size_t size);

/** Copy len bytes of s into the arena and NUL-terminate the copy (the copy
 *  is len+1 bytes).  Returns NULL when out of memory. */
char *sluice_arena_strndup(sluice_arena *a, const char *s, size_t len);

/** Release every allocation at once; keeps the first block for reuse. */
void sluice_arena_reset(sluice_arena *a);

/** Bytes currently handed out by the arena (for metrics). */
size_t sluice_arena_used(const sluice_arena *a);

/** Bytes the arena holds from malloc (its blocks, headers included, and
 *  itself): what it costs in memory, whatever part is handed out.  0 for
 *  NULL. */
size_t sluice_arena_bytes(const sluice_arena *a);

/** Free the arena and everything allocated from it.  NULL-safe. */
void sluice_arena_destroy(sluice_arena *a);

#ifdef __cplusplus
}
#endif
#endif
