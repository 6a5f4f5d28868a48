/* Bans with expiry, persisted through a tc_netstore so they survive restarts.
 * Subjects are IP addresses or node keys (see tc_ban). Times are wall-clock
 * ms passed in by the caller, so tests drive expiry with a fake clock.
 * Not thread-safe: owned by the network thread. */
#ifndef TC_NET_BANLIST_H
#define TC_NET_BANLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/ed25519.h"
#include "net/netstore.h"
#include "util/err.h"

#define TC_BAN_DEFAULT_MS (24ull * 3600 * 1000)
#define TC_BANLIST_MAX 65536

typedef struct tc_banlist tc_banlist;

/* Loads the stored bans (dropping, and deleting from the store, those expired
 * at now_ms). store may be NULL (nothing persisted); it is copied and must
 * outlive the list. Returns NULL and sets *err if loading fails. */
tc_banlist *tc_banlist_new(const tc_netstore *store, uint64_t now_ms, int *err);
void tc_banlist_free(tc_banlist *bl); /* NULL is a no-op */

/* Bans subject until until_ms (replacing an earlier ban of the same subject
 * only if this one lasts longer). Returns 0, TC_EINVAL for an empty or
 * overlong subject, TC_ELIMIT when TC_BANLIST_MAX bans exist, or the store's
 * error (the ban then still holds in memory). */
int tc_banlist_add(tc_banlist *bl, const char *subject, uint64_t now_ms, uint64_t until_ms,
                   const char *reason) TC_MUST_CHECK;
/* Lifts a ban. TC_ENOTFOUND if there was none. */
int tc_banlist_remove(tc_banlist *bl, const char *subject) TC_MUST_CHECK;
/* Whether subject is banned at now_ms; an expired ban is dropped here. */
bool tc_banlist_is_banned(tc_banlist *bl, const char *subject, uint64_t now_ms);
/* Drops every ban expired at now_ms; returns how many. */
size_t tc_banlist_sweep(tc_banlist *bl, uint64_t now_ms);
/* A copy of the live bans at now_ms (heap array the caller frees; NULL when
 * empty) and their number. */
size_t tc_banlist_list(tc_banlist *bl, uint64_t now_ms, tc_ban **out);
/* Removes every ban, from memory and from the store (also stored bans the
 * list did not load: over TC_BANLIST_MAX). 0, or the store's error (the
 * list is empty all the same; what the store still holds comes back at the
 * next load). */
int tc_banlist_clear(tc_banlist *bl) TC_MUST_CHECK;

/* Subject for a node key: "key:<64 hex>". out has TC_BAN_SUBJECT_MAX bytes. */
void tc_ban_subject_key(char *out, const tc_pubkey *key);
/* The canonical subject for s: an IPv4 or IPv6 address as connections
 * report it ("2001:DB8:0::7" is "2001:db8::7"), or "key:" and 64 hex digits
 * of either case (lowercased). Into out (TC_BAN_SUBJECT_MAX bytes); 0, or
 * TC_EINVAL (out then empty) for anything else: host names, ports,
 * subnets. */
int tc_ban_subject_parse(char *out, const char *s) TC_MUST_CHECK;

#endif
