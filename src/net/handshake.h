/* The link handshake after TLS, as a pure state machine (no sockets, no
 * clocks): both sides send `version` at once, each checks the other's and
 * answers `verack`; the link is up when a side has both accepted the peer's
 * version and received its verack.
 *
 *   AWAIT_TLS --tls_done--> AWAIT_VERSION --version ok--> AWAIT_VERACK
 *   AWAIT_VERACK --verack--> ESTABLISHED
 *
 * A `reject` from the peer before ESTABLISHED ends the link without a ban
 * (the peer is refusing us and says why). Anything else before ESTABLISHED
 * is a violation. Every failure names what
 * to do with the peer: TC_HS_DISCONNECT (honest mistakes: self-connection) or
 * TC_HS_BAN (wrong chain, bad signature, key mismatch, a version older
 * than min_protocol, out-of-order message). Duplicate connections and limits are the peer
 * manager's call, not the handshake's. */
#ifndef TC_NET_HANDSHAKE_H
#define TC_NET_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "net/msg.h"
#include "util/err.h"

#define TC_HS_TIMEOUT_MS 10000u

enum tc_hs_state {
    TC_HS_AWAIT_TLS = 0,
    TC_HS_AWAIT_VERSION,
    TC_HS_AWAIT_VERACK,
    TC_HS_ESTABLISHED,
    TC_HS_FAILED,
};

enum tc_hs_action {
    TC_HS_CONTINUE = 0, /* wait for more */
    TC_HS_DONE,         /* just became ESTABLISHED */
    TC_HS_DISCONNECT,   /* drop without ban */
    TC_HS_BAN,          /* drop and ban */
};

typedef struct {
    uint32_t chain_id;
    tc_hash genesis;
    uint64_t local_nonce;  /* this node's nonce, for self-connection detection */
    uint32_t min_protocol; /* oldest peer protocol version accepted */
    uint32_t max_protocol; /* the version this node speaks (sent in its version); a
                              peer announcing a newer one is accepted: it talks
                              down to ours (docs/protocol.md, versioning) */
} tc_hs_config;

typedef struct {
    tc_hs_config cfg;
    enum tc_hs_state state;
    uint8_t exporter[32]; /* TLS exporter value of this session */
    tc_pubkey cert_key;   /* the peer's certificate key */
    tc_msg_version peer;  /* the peer's accepted version */
    int err;              /* why it failed */
} tc_handshake;

void tc_handshake_init(tc_handshake *hs, const tc_hs_config *cfg);
/* TLS finished: the session's exporter value and the key of the peer's
 * certificate. AWAIT_TLS -> AWAIT_VERSION. */
void tc_handshake_tls_done(tc_handshake *hs, const uint8_t exporter[32], const tc_pubkey *cert_key);
/* Fills *out with our version for this session, signed by kp. */
void tc_handshake_make_version(const tc_handshake *hs, const tc_keypair *kp, uint64_t height,
                               const char *listen, const char *user_agent, tc_msg_version *out);
/* Feeds one decoded message received before ESTABLISHED. Returns the action;
 * on DISCONNECT / BAN, hs->err says why (TC_ENET_* or TC_ESIG). After
 * ESTABLISHED the caller stops feeding: a message here then is a caller bug
 * reported as TC_HS_BAN with TC_ESTATE. */
enum tc_hs_action tc_handshake_on_message(tc_handshake *hs, const tc_msg *m);
/* Marks the handshake failed with err and the given action (for a frame that
 * did not decode, a timeout, a TLS error); returns action. */
enum tc_hs_action tc_handshake_fail(tc_handshake *hs, int err, enum tc_hs_action action);

#endif
