/* A hash map from fixed-length byte keys to pointers (open addressing,
 * linear probing, backward-shift deletion). Keys are hashed with SipHash
 * under a random per-map key, so peers cannot choose keys that collide.
 * The map stores a copy of each key; values are the caller's. */
#ifndef TC_UTIL_HMAP_H
#define TC_UTIL_HMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tc_hmap tc_hmap;

/* A map for keys of exactly key_len bytes (1..64). */
tc_hmap *tc_hmap_new(size_t key_len);
void tc_hmap_free(tc_hmap *m); /* NULL is a no-op; values are not freed */
size_t tc_hmap_size(const tc_hmap *m);
/* The value stored under key, or NULL. */
void *tc_hmap_get(const tc_hmap *m, const void *key);
/* Stores value (not NULL) under key, replacing any previous value. */
void tc_hmap_put(tc_hmap *m, const void *key, void *value);
/* Removes key; returns its value, or NULL if it was absent. */
void *tc_hmap_del(tc_hmap *m, const void *key);
/* Calls fn for every entry in unspecified order; fn must not change the map. */
void tc_hmap_each(const tc_hmap *m, void (*fn)(void *ctx, const void *key, void *value), void *ctx);

#endif
