/* TLS identity of a node: a self-signed X.509 certificate for its Ed25519
 * node key, and the TLS 1.3-only, mutually authenticated SSL_CTX built on it.
 * Peers are identified by the Ed25519 key of their certificate, not by a CA:
 * the verify callback accepts self-signed certificates, and the key is taken
 * from the certificate after the handshake (tc_tlscert_peer_key). */
#ifndef TC_NET_TLSCERT_H
#define TC_NET_TLSCERT_H

#include <stdint.h>

#include <openssl/ssl.h>

#include "crypto/ed25519.h"
#include "util/err.h"

#define TC_TLS_EXPORTER_LABEL "EXPORTER-timecoin-version"
#define TC_TLS_CERT_FILE "p2p_cert.pem"
#define TC_TLS_KEY_FILE "p2p_key.pem"

/* A new SSL_CTX (TLS 1.3 only, peer certificate required both ways) holding
 * a fresh self-signed certificate for kp. The caller frees it with
 * SSL_CTX_free. NULL with *err = TC_ECRYPTO on failure. */
SSL_CTX *tc_tlscert_ctx_new(const tc_keypair *kp, int *err);

/* Like tc_tlscert_ctx_new, with the certificate and key kept in datadir
 * (TC_TLS_CERT_FILE, TC_TLS_KEY_FILE, mode 0600): created on first start,
 * loaded later, and recreated if they no longer match kp. Errors: TC_EIO
 * (with the path logged), TC_ECRYPTO. */
SSL_CTX *tc_tlscert_ctx_load(const tc_keypair *kp, const char *datadir, int *err);

/* The Ed25519 key of the peer's certificate on an established session.
 * TC_ENET_TLS if there is none, it is not Ed25519, or its self-signature is
 * invalid. */
int tc_tlscert_peer_key(SSL *ssl, tc_pubkey *out) TC_MUST_CHECK;

/* 32 bytes of keying material exported from the session under
 * TC_TLS_EXPORTER_LABEL (RFC 8446 §7.5): equal on both ends of one session,
 * different for every session. 0 or TC_ENET_TLS. */
int tc_tlscert_exporter(SSL *ssl, uint8_t out[32]) TC_MUST_CHECK;

#endif
