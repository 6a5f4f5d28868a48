/* Which masternode operator each P2P link speaks for, and which operators'
 * links have all closed.
 *
 * A link speaks for an operator key once the peer has sent an `mnauth`
 * signed with that key over the link's channel binding (net/msg.h): the
 * node behind the link holds the operator key. Nothing here knows whether the
 * key is registered; callers weigh it against the validator set. An operator
 * whose every attested link closed, with none attested since, is "gone": its
 * process has most likely stopped (the node uses that to stop waiting for
 * its proposal; prevoting nil is always safe). One whose links to us were
 * cut while it runs still signs, and other nodes relay that: a vote or
 * proposal of it at a height more than one above the height its last link
 * closed at (which a stopped process cannot have made; one above could be
 * a process that was a height ahead) ends "gone" too, so a cut link costs
 * at most the heights until then, not every round it leads. A restart of
 * this node starts with nobody gone.
 *
 * Pure and bounded: at most one entry per live link (each link attests at
 * most once) and TC_OPLINKS_GONE_MAX gone keys (the oldest forgotten first). */
#ifndef TC_NODE_OPLINKS_H
#define TC_NODE_OPLINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/ed25519.h"
#include "util/err.h"

#define TC_OPLINKS_GONE_MAX 64

typedef struct tc_oplinks tc_oplinks;

/* Empty; never NULL (aborts on out of memory). */
tc_oplinks *tc_oplinks_new(void);
void tc_oplinks_free(tc_oplinks *o); /* NULL is a no-op */

/* Link peer (live) attested key: 0 (also for the key it attested already:
 * a repeat says nothing new); TC_EEXIST if it attested another key (a link
 * speaks for one operator: a violation). key is no longer gone. */
int tc_oplinks_attest(tc_oplinks *o, uint64_t peer, const tc_pubkey *key) TC_MUST_CHECK;
/* Link peer closed while consensus was at height. Returns true, with its
 * key in *key, if it had attested one and no other live link attests that
 * key: the key is now gone. */
bool tc_oplinks_down(tc_oplinks *o, uint64_t peer, uint64_t height, tc_pubkey *key);
/* The key link peer attested: true, or false if none. */
bool tc_oplinks_operator(const tc_oplinks *o, uint64_t peer, tc_pubkey *key);
/* Live links attesting key. */
size_t tc_oplinks_count(const tc_oplinks *o, const tc_pubkey *key);
/* Whether key had attested links, all of them closed, and none since. */
bool tc_oplinks_gone(const tc_oplinks *o, const tc_pubkey *key);
/* A verified vote or proposal of key at height reached us (relayed): if key
 * is gone and height is more than one above the height it went at, it is
 * alive, no longer gone (true). */
bool tc_oplinks_heard(tc_oplinks *o, const tc_pubkey *key, uint64_t height);

#endif
