#include "net/handshake.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

void tc_handshake_init(tc_handshake *hs, const tc_hs_config *cfg)
{
    memset(hs, 0, sizeof *hs);
    hs->cfg = *cfg;
    hs->state = TC_HS_AWAIT_TLS;
}

void tc_handshake_tls_done(tc_handshake *hs, const uint8_t exporter[32], const tc_pubkey *cert_key)
{
    if (hs->state != TC_HS_AWAIT_TLS)
        return;
    memcpy(hs->exporter, exporter, 32);
    hs->cert_key = *cert_key;
    hs->state = TC_HS_AWAIT_VERSION;
}

void tc_handshake_make_version(const tc_handshake *hs, const tc_keypair *kp, uint64_t height,
                               const char *listen, const char *user_agent, tc_msg_version *out)
{
    memset(out, 0, sizeof *out);
    out->protocol = hs->cfg.max_protocol;
    out->chain_id = hs->cfg.chain_id;
    out->genesis = hs->cfg.genesis;
    out->node_key = kp->pk;
    out->height = height;
    if (listen == NULL || tc_netaddr_set(&out->listen, listen) != 0)
        out->listen.s[0] = 0;
    if (user_agent)
        snprintf(out->user_agent, sizeof out->user_agent, "%s", user_agent);
    out->nonce = hs->cfg.local_nonce;
    tc_msg_version_sign(out, hs->exporter, kp);
}

enum tc_hs_action tc_handshake_fail(tc_handshake *hs, int err, enum tc_hs_action action)
{
    hs->state = TC_HS_FAILED;
    hs->err = err;
    return action;
}

static enum tc_hs_action check_version(tc_handshake *hs, const tc_msg_version *v)
{
    if (v->chain_id != hs->cfg.chain_id || !tc_hash_eq(&v->genesis, &hs->cfg.genesis))
        return tc_handshake_fail(hs, TC_ENET_CHAIN, TC_HS_BAN);
    /* Newer is fine: the newer side speaks ours on this link. */
    if (v->protocol < hs->cfg.min_protocol)
        return tc_handshake_fail(hs, TC_ENET_VERSION, TC_HS_BAN);
    if (sodium_memcmp(v->node_key.b, hs->cert_key.b, 32) != 0)
        return tc_handshake_fail(hs, TC_ENET_KEY, TC_HS_BAN);
    if (tc_msg_version_verify(v, hs->exporter) != 0)
        return tc_handshake_fail(hs, TC_ESIG, TC_HS_BAN);
    if (v->nonce == hs->cfg.local_nonce)
        return tc_handshake_fail(hs, TC_ENET_SELF, TC_HS_DISCONNECT);
    hs->peer = *v;
    hs->state = TC_HS_AWAIT_VERACK;
    return TC_HS_CONTINUE;
}

enum tc_hs_action tc_handshake_on_message(tc_handshake *hs, const tc_msg *m)
{
    /* The peer refuses us (banned, limits, wrong chain) and says why: it is
     * leaving, not misbehaving. */
    if (m->type == TC_MSG_REJECT && hs->state != TC_HS_ESTABLISHED && hs->state != TC_HS_FAILED &&
        hs->state != TC_HS_AWAIT_TLS)
        return tc_handshake_fail(hs, TC_ENET_CLOSED, TC_HS_DISCONNECT);
    switch (hs->state) {
    case TC_HS_AWAIT_VERSION:
        if (m->type != TC_MSG_VERSION)
            return tc_handshake_fail(hs, TC_ENET_PROTOCOL, TC_HS_BAN);
        return check_version(hs, &m->u.version);
    case TC_HS_AWAIT_VERACK:
        if (m->type != TC_MSG_VERACK)
            return tc_handshake_fail(hs, TC_ENET_PROTOCOL, TC_HS_BAN);
        hs->state = TC_HS_ESTABLISHED;
        return TC_HS_DONE;
    case TC_HS_AWAIT_TLS:
        return tc_handshake_fail(hs, TC_ENET_PROTOCOL, TC_HS_BAN);
    case TC_HS_ESTABLISHED:
    case TC_HS_FAILED:
    default:
        return tc_handshake_fail(hs, TC_ESTATE, TC_HS_BAN);
    }
}
