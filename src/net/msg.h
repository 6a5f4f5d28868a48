/* P2P message payloads (DESIGN.md §7; layouts in docs/protocol.md).
 *
 * One tagged struct, tc_msg, covers every message type. Chain objects (tx,
 * proposal, vote, block, certificate) travel as byte views; the decoder checks
 * each with its chain decoder, so such a message is well-formed down to the
 * last byte, and the receiver decodes the view again when it uses it. Blocks
 * in `block` and `blocks` are the exception: only their size, header and
 * transaction count are checked here, and the receiver's tc_block_decode is
 * the full check (a block that fails it is the sender's violation).
 *
 * Decoders are pure, bounded by the input, reject truncation, trailing bytes,
 * oversize counts and non-canonical encodings, and zero their output on
 * failure. Byte views in a decoded message point into the decoder's input and
 * are valid as long as it is; lists are heap-owned by the message and freed by
 * tc_msg_release. */
#ifndef TC_NET_MSG_H
#define TC_NET_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "chain/params.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "net/frame.h"
#include "util/buf.h"
#include "util/err.h"

enum tc_msg_type {
    TC_MSG_VERSION = 1,
    TC_MSG_VERACK = 2,
    TC_MSG_PING = 3,
    TC_MSG_PONG = 4,
    TC_MSG_GETPEERS = 5,
    TC_MSG_PEERS = 6,
    TC_MSG_GETMASTERNODES = 7,
    TC_MSG_MASTERNODES = 8,
    TC_MSG_HEARTBEAT = 9,
    TC_MSG_INV = 10,
    TC_MSG_GETDATA = 11,
    TC_MSG_TX = 12,
    TC_MSG_PROPOSAL = 13,
    TC_MSG_VOTE = 14,
    TC_MSG_BLOCK = 15,
    TC_MSG_GETBLOCKS = 16,
    TC_MSG_BLOCKS = 17,
    TC_MSG_GETHASH = 18,
    TC_MSG_HASH = 19,
    TC_MSG_EVIDENCE = 20,
    TC_MSG_REJECT = 21,
    TC_MSG_MNAUTH = 22, /* protocol 2 */
    TC_MSG_TYPE_END /* one past the last type */
};

#define TC_MSG_MAX_PEERS 1000
#define TC_MSG_MAX_MASTERNODES 8192
#define TC_MSG_MAX_INV 1024
#define TC_MSG_MAX_BLOCKS 128 /* per getblocks / blocks */
#define TC_MSG_MAX_UA 256
#define TC_MSG_MAX_REASON 256
/* Largest canonical certificate: header, count, one (key, sig) per validator. */
#define TC_MSG_MAX_CERT (8 + 4 + 32 + 3 + TC_MAX_VALIDATORS * 96)

enum tc_inv_type { TC_INV_TX = 1, TC_INV_BLOCK = 2 };

/* "host:port" in printable ASCII (0x21..0x7e), at most TC_MAX_NETADDR bytes;
 * empty where a field allows it (a version from a node that does not listen). */
typedef struct {
    char s[TC_MAX_NETADDR + 1];
} tc_netaddr;

typedef struct {
    const uint8_t *p;
    size_t len;
} tc_bytes;

typedef struct {
    uint32_t protocol;
    uint32_t chain_id;
    tc_hash genesis;
    tc_pubkey node_key;
    uint64_t height; /* best certified height */
    tc_netaddr listen;
    uint64_t nonce;  /* random per node start: detects self-connections */
    char user_agent[TC_MSG_MAX_UA + 1];
    tc_sig sig;      /* over tc_msg_version_sign_bytes */
} tc_msg_version;

typedef struct {
    uint64_t nonce;
    uint64_t height;
} tc_msg_ping; /* ping and pong */

typedef struct {
    tc_netaddr addr;
    uint64_t last_seen; /* unix seconds */
} tc_msg_peer;

typedef struct {
    size_t n;
    tc_msg_peer *v;
} tc_msg_peers;

typedef struct {
    tc_pubkey key; /* operator key */
    uint8_t tier;
    tc_netaddr addr;
    uint64_t last_seen_ms; /* last heartbeat, wall ms */
} tc_msg_mn;

typedef struct {
    size_t n;
    tc_msg_mn *v;
} tc_msg_masternodes;

typedef struct {
    tc_pubkey key; /* operator key */
    uint64_t height;
    uint64_t time_ms;
    tc_netaddr addr;
    tc_sig sig;    /* over tc_msg_heartbeat_sign_bytes */
} tc_msg_heartbeat;

typedef struct {
    uint8_t type; /* enum tc_inv_type */
    size_t n;     /* 1 .. TC_MSG_MAX_INV */
    tc_hash *h;
} tc_msg_inv; /* inv and getdata */

typedef struct {
    tc_bytes proposal; /* TC_PROPOSAL_SIZE bytes */
    tc_bytes block;    /* the proposed block; empty if sent separately */
} tc_msg_proposal;

typedef struct {
    tc_bytes block;
    tc_bytes cert; /* the block's own commit certificate; empty if none yet */
} tc_msg_block;

typedef struct {
    uint64_t from;
    uint32_t count; /* 1 .. TC_MSG_MAX_BLOCKS */
} tc_msg_getblocks;

typedef struct {
    size_t n; /* 0 .. TC_MSG_MAX_BLOCKS; each with a non-empty certificate */
    tc_msg_block *v;
} tc_msg_blocks;

typedef struct {
    uint64_t height;
    tc_hash hash;  /* zero: the responder has no block at that height */
    tc_bytes cert; /* empty when hash is zero */
} tc_msg_hash;

typedef struct {
    tc_bytes a, b; /* two conflicting votes, TC_VOTE_SIZE bytes each */
} tc_msg_evidence;

/* A masternode's attestation that this link is its node: its operator key
 * signs the session's channel binding (tc_msg_mnauth_sign_bytes). Sent once
 * per link, right after it is up, by a node that holds an operator key, to
 * peers of protocol 2 or newer. */
typedef struct {
    tc_pubkey operator_key;
    tc_sig sig;
} tc_msg_mnauth;

typedef struct {
    uint16_t type; /* message type being rejected */
    int32_t code;  /* TC_E* code */
    char reason[TC_MSG_MAX_REASON + 1];
} tc_msg_reject;

typedef struct {
    uint16_t type; /* enum tc_msg_type */
    union {
        tc_msg_version version;
        tc_msg_ping ping;
        tc_msg_peers peers;
        tc_msg_masternodes masternodes;
        tc_msg_heartbeat heartbeat;
        tc_msg_inv inv;
        tc_bytes tx;
        tc_msg_proposal proposal;
        tc_bytes vote;
        tc_msg_block block;
        tc_msg_getblocks getblocks;
        tc_msg_blocks blocks;
        uint64_t gethash; /* height */
        tc_msg_hash hash;
        tc_msg_evidence evidence;
        tc_msg_reject reject;
        tc_msg_mnauth mnauth;
    } u;
} tc_msg;

/* Zeroes m as an empty message of the given type. */
void tc_msg_init(tc_msg *m, uint16_t type);
/* Frees lists owned by m (from tc_msg_decode or set by the caller with
 * tc_xmalloc) and zeroes it. */
void tc_msg_release(tc_msg *m);

/* Appends the payload of m to b. Returns 0, TC_ENET_MSG_TYPE for an unknown
 * type, or TC_EOVERSIZE / TC_EBADVAL if m breaks a bound the decoder enforces
 * (b is then left as it was). Chain payloads are not re-validated here. */
int tc_msg_encode(const tc_msg *m, tc_buf *b) TC_MUST_CHECK;

/* Chain objects of at least this size may be referenced instead of copied. */
#define TC_MSG_REF_MIN (64u * 1024)

/* A chain object left out of an encoding: len bytes at p belong at offset
 * at of the whole payload. */
typedef struct {
    size_t at;
    const uint8_t *p;
    size_t len;
} tc_msg_ref;

/* tc_msg_encode without copying large chain objects (a block sent to a
 * peer is sealed straight from where it lies): up to max_refs objects of
 * TC_MSG_REF_MIN bytes or more are left out of what is appended to b and
 * listed in refs (*n_refs of them, by ascending at); the payload is b's new
 * bytes with each refs[i] inserted at refs[i].at, *total bytes in all. The
 * objects must stay unchanged until the payload has been used. Same errors
 * as tc_msg_encode (then b is as it was, *n_refs and *total 0). */
int tc_msg_encode_refs(const tc_msg *m, tc_buf *b, tc_msg_ref *refs, size_t max_refs, size_t *n_refs,
                       size_t *total) TC_MUST_CHECK;

/* Decodes a payload of the given type into m. Returns 0 or TC_ENET_MSG_TYPE,
 * TC_ETRUNC, TC_ETRAILING, TC_EOVERSIZE, TC_ENONCANON, TC_EBADVAL or a chain
 * decoder's error; on failure m is released (type kept). */
int tc_msg_decode(tc_msg *m, uint16_t type, const uint8_t *p, size_t len) TC_MUST_CHECK;

/* "version", "verack", … or NULL for an unknown type. */
const char *tc_msg_type_name(uint16_t type);

/* Version channel binding: BLAKE3 (TC_H_HANDSHAKE) of the 32-byte TLS exporter
 * value of this session and the version encoding up to the signature. */
void tc_msg_version_sign_bytes(const tc_msg_version *v, const uint8_t exporter[32],
                               tc_hash *out);
void tc_msg_version_sign(tc_msg_version *v, const uint8_t exporter[32], const tc_keypair *kp);
/* 0 or TC_ESIG; verifies against v->node_key. */
int tc_msg_version_verify(const tc_msg_version *v, const uint8_t exporter[32]) TC_MUST_CHECK;

/* Heartbeat: BLAKE3 (TC_H_HEARTBEAT) of u32 chain id and the encoding up to
 * the signature, signed by the operator key. */
void tc_msg_heartbeat_sign_bytes(const tc_msg_heartbeat *h, uint32_t chain_id, tc_hash *out);
void tc_msg_heartbeat_sign(tc_msg_heartbeat *h, uint32_t chain_id, const tc_keypair *kp);
int tc_msg_heartbeat_verify(const tc_msg_heartbeat *h, uint32_t chain_id) TC_MUST_CHECK;

/* mnauth: BLAKE3 (TC_H_MNAUTH) of the 32-byte TLS exporter value of the
 * session | u32 chain id | the sending node's key | operator_key. The
 * exporter ties it to one TLS session, the sender's key to one direction (a
 * peer cannot send ours back to us as its own). */
void tc_msg_mnauth_sign_bytes(const tc_pubkey *operator_key, const uint8_t exporter[32], uint32_t chain_id,
                              const tc_pubkey *sender_node_key, tc_hash *out);
void tc_msg_mnauth_sign(tc_msg_mnauth *a, const uint8_t exporter[32], uint32_t chain_id,
                        const tc_pubkey *sender_node_key, const tc_keypair *operator_kp);
/* 0 or TC_ESIG; verifies a->sig against a->operator_key. */
int tc_msg_mnauth_verify(const tc_msg_mnauth *a, const uint8_t exporter[32], uint32_t chain_id,
                         const tc_pubkey *sender_node_key) TC_MUST_CHECK;

/* Whether s is a valid tc_netaddr string (printable, ≤ TC_MAX_NETADDR; empty
 * allowed only if allow_empty). */
int tc_netaddr_valid(const char *s, size_t len, int allow_empty);
/* Copies s into a (TC_ENET_ADDR if invalid; a is then empty). */
int tc_netaddr_set(tc_netaddr *a, const char *s) TC_MUST_CHECK;

#endif
