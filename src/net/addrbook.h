/* Address book: where outbound connections go. Records come from the config
 * (`connect`, `addnode`, `seednode`), from `peers` gossip and from masternode
 * registrations; each remembers its attempts so reconnects back off
 * exponentially and addresses that keep failing are aged out (config
 * `connect` / `addnode` entries never are). Persisted through a tc_netstore.
 * Times are wall-clock ms passed in. Not thread-safe. */
#ifndef TC_NET_ADDRBOOK_H
#define TC_NET_ADDRBOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/netstore.h"
#include "util/err.h"

#define TC_ADDRBOOK_MAX 4096
#define TC_ADDR_BACKOFF_BASE_MS 1000ull
#define TC_ADDR_BACKOFF_MAX_MS (10ull * 60 * 1000)
#define TC_ADDR_MAX_FAILURES 8                         /* then aged out */
#define TC_ADDR_MAX_AGE_MS (14ull * 24 * 3600 * 1000)  /* gossip unseen this long: aged out */

typedef struct tc_addrbook tc_addrbook;

/* Loads stored records; store may be NULL. NULL with *err on a store error. */
tc_addrbook *tc_addrbook_new(const tc_netstore *store, int *err);
void tc_addrbook_free(tc_addrbook *ab); /* NULL is a no-op */

/* Adds addr or refreshes its last_seen (a stronger source replaces a weaker
 * one: connect < seed < chain < gossip). Returns 0, TC_ENET_ADDR for an
 * invalid address, TC_ELIMIT when full of stronger entries. */
int tc_addrbook_add(tc_addrbook *ab, const char *addr, uint8_t source, uint64_t now_ms)
    TC_MUST_CHECK;
/* The address to try next at now_ms: due (backoff elapsed), and for which
 * skip(arg, addr) is false (already connected, banned…). Copies it into out
 * and returns true, or false if none is due. */
bool tc_addrbook_next(tc_addrbook *ab, uint64_t now_ms, bool (*skip)(void *arg, const char *addr),
                      void *arg, tc_netaddr *out);
/* Whether addr's backoff has elapsed at now_ms (true for an unknown address). */
bool tc_addrbook_due(const tc_addrbook *ab, const char *addr, uint64_t now_ms);
void tc_addrbook_attempt(tc_addrbook *ab, const char *addr, uint64_t now_ms);
void tc_addrbook_success(tc_addrbook *ab, const char *addr, uint64_t now_ms);
/* A failed attempt: backoff doubles; after TC_ADDR_MAX_FAILURES a non-config
 * address is removed. */
void tc_addrbook_failure(tc_addrbook *ab, const char *addr, uint64_t now_ms);
/* Removes gossip / seed / chain records unseen for TC_ADDR_MAX_AGE_MS; returns how many. */
size_t tc_addrbook_age(tc_addrbook *ab, uint64_t now_ms);
/* Up to max addresses good enough to share (not failing), into out. */
size_t tc_addrbook_sample(const tc_addrbook *ab, tc_msg_peer *out, size_t max);
size_t tc_addrbook_size(const tc_addrbook *ab);
/* The record of addr, or NULL (valid until the next call that changes ab). */
const tc_addr_rec *tc_addrbook_get(const tc_addrbook *ab, const char *addr);

#endif
