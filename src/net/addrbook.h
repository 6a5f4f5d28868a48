/* Address book: where outbound connections go. Modelled on Bitcoin Core's
 * addrman (our own code), so that no one source can fill it:
 *
 * - Config (`connect`, `addnode`, `seednode`) and chain (masternode)
 *   addresses are anchored: kept outside the tables below, never evicted by
 *   gossip. `connect` / `addnode` are never aged out nor dropped for
 *   failures; chain addresses are never dropped for failures.
 * - Gossiped addresses go to the "new" table; an address we connected to
 *   (tc_addrbook_success) moves to "tried". Each table is an array of
 *   buckets of TC_ADDRBOOK_BUCKET_SIZE entries. A new entry's bucket is a
 *   keyed hash of (source group, address group), so one source group reaches
 *   at most TC_ADDRBOOK_NEW_PER_SOURCE buckets; a tried entry's bucket is a
 *   keyed hash of the address and its group, so one group reaches at most
 *   TC_ADDRBOOK_TRIED_PER_GROUP buckets. The key is a secret per node, kept
 *   with the book (tc_netstore.book_key), so a peer cannot aim at a bucket.
 * - Address group: IPv4 /16, IPv6 /32, loopback by /24 (127.a.b.x; ::1 is a
 *   group of its own), IPv4-mapped IPv6 as IPv4. At most
 *   TC_ADDRBOOK_GROUP_MAX_NEW / _TRIED entries of one group per table.
 * - A new entry that finds its bucket full evicts only an entry of that
 *   bucket learnt from the same source group and not seen later, or a
 *   terrible one (failing without ever having connected, or unseen for
 *   TC_ADDR_MAX_AGE_MS); otherwise it is dropped. A flood from one source
 *   therefore only churns its own few buckets.
 *
 * Each record remembers its attempts so reconnects back off exponentially.
 * Changes are collected and handed to the tc_netstore as one batch per
 * tc_addrbook_flush. Times are wall-clock ms passed in. Not thread-safe. */
#ifndef TC_NET_ADDRBOOK_H
#define TC_NET_ADDRBOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/netstore.h"
#include "util/err.h"

#define TC_ADDRBOOK_NEW_BUCKETS 128
#define TC_ADDRBOOK_TRIED_BUCKETS 32
#define TC_ADDRBOOK_BUCKET_SIZE 32
#define TC_ADDRBOOK_NEW_PER_SOURCE 4   /* new buckets one source group can reach */
#define TC_ADDRBOOK_TRIED_PER_GROUP 2  /* tried buckets one address group can reach */
#define TC_ADDRBOOK_GROUP_MAX_NEW 32   /* entries of one address group in new */
#define TC_ADDRBOOK_GROUP_MAX_TRIED 8  /* ... and in tried */
#define TC_ADDRBOOK_ANCHORED_MAX 1024  /* config and chain addresses */
#define TC_ADDRBOOK_MAX                                                                              \
    ((TC_ADDRBOOK_NEW_BUCKETS + TC_ADDRBOOK_TRIED_BUCKETS) * TC_ADDRBOOK_BUCKET_SIZE +             \
     TC_ADDRBOOK_ANCHORED_MAX)
_Static_assert(TC_ADDRBOOK_NEW_PER_SOURCE <= TC_ADDRBOOK_NEW_BUCKETS, "per-source buckets");
_Static_assert(TC_ADDRBOOK_TRIED_PER_GROUP <= TC_ADDRBOOK_TRIED_BUCKETS, "per-group buckets");
_Static_assert(TC_ADDRBOOK_BUCKET_SIZE <= 255, "slot index is a byte");

#define TC_ADDR_BACKOFF_BASE_MS 1000ull
#define TC_ADDR_BACKOFF_MAX_MS (10ull * 60 * 1000)
#define TC_ADDR_MAX_FAILURES 8                         /* then aged out */
#define TC_ADDR_MAX_AGE_MS (14ull * 24 * 3600 * 1000)  /* gossip unseen this long: aged out */
#define TC_ADDR_TERRIBLE_FAILURES 3 /* failed this often, never connected: evictable */

typedef struct tc_addrbook tc_addrbook;

/* Loads stored records and the bucketing key; store may be NULL (random key,
 * nothing persisted). NULL with *err on a store error. */
tc_addrbook *tc_addrbook_new(const tc_netstore *store, int *err);
void tc_addrbook_free(tc_addrbook *ab); /* NULL is a no-op; does not flush */

/* The address group of "ip:port", "[v6]:port" or a bare IP (see above),
 * never 0; 0 if s is not a numeric address. Equal groups: same netgroup. */
uint64_t tc_addrbook_group(const char *s);

/* Adds addr or refreshes its last_seen (a stronger source replaces a weaker
 * one: connect < seed < chain < gossip; an anchored address leaves the
 * tables). A TC_ADDR_GOSSIP address added here has no known source (its
 * source group is 0). Returns 0, TC_ENET_ADDR unless addr is a numeric
 * ip:port with a port (not 0.0.0.0 or ::), TC_ELIMIT when it found no room,
 * TC_EINVAL for an unknown source. */
int tc_addrbook_add(tc_addrbook *ab, const char *addr, uint8_t source, uint64_t now_ms)
    TC_MUST_CHECK;
/* A gossiped address learnt from the peer at from (its IP): goes to the new
 * table in a bucket of from's group. Same returns as tc_addrbook_add. */
int tc_addrbook_learn(tc_addrbook *ab, const char *addr, const char *from, uint64_t now_ms)
    TC_MUST_CHECK;
/* The address to try next at now_ms: due (backoff elapsed), and for which
 * skip(arg, addr) is false (already connected, banned, its group taken…).
 * Anchored addresses first (stronger source, then longest untried), then
 * gossip, alternating between tried and new, from a random bucket on. Copies
 * it into out and returns true, or false if none is due. */
bool tc_addrbook_next(tc_addrbook *ab, uint64_t now_ms, bool (*skip)(void *arg, const char *addr),
                      void *arg, tc_netaddr *out);
/* Whether addr's backoff has elapsed at now_ms (true for an unknown address). */
bool tc_addrbook_due(const tc_addrbook *ab, const char *addr, uint64_t now_ms);
void tc_addrbook_attempt(tc_addrbook *ab, const char *addr, uint64_t now_ms);
/* A successful outbound connection: failures reset; a new entry moves to
 * tried (unless its group has TC_ADDRBOOK_GROUP_MAX_TRIED there already). */
void tc_addrbook_success(tc_addrbook *ab, const char *addr, uint64_t now_ms);
/* A failed attempt: backoff doubles; after TC_ADDR_MAX_FAILURES a gossip or
 * seed address is removed. */
void tc_addrbook_failure(tc_addrbook *ab, const char *addr, uint64_t now_ms);
/* Removes gossip / seed / chain records unseen for TC_ADDR_MAX_AGE_MS; returns how many. */
size_t tc_addrbook_age(tc_addrbook *ab, uint64_t now_ms);
/* Up to max addresses good enough to share (not failing), from a random
 * place on, into out. */
size_t tc_addrbook_sample(const tc_addrbook *ab, tc_msg_peer *out, size_t max);
size_t tc_addrbook_size(const tc_addrbook *ab);
/* Entries per table: new, tried, anchored (any may be NULL). */
void tc_addrbook_counts(const tc_addrbook *ab, size_t *n_new, size_t *n_tried, size_t *n_anchored);
/* The record of addr, or NULL (valid until the next call that changes ab). */
const tc_addr_rec *tc_addrbook_get(const tc_addrbook *ab, const char *addr);
/* Hands every change since the last flush to the store as one batch
 * (tc_netstore.addr_save_batch). Returns the records written plus removed,
 * 0 without a store or changes, or the store's error (the changes are kept
 * for the next flush). Meant to be called once per housekeeping tick. */
int tc_addrbook_flush(tc_addrbook *ab);

#endif
