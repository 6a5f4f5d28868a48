#include "net/msg.h"

#include <stdlib.h>
#include <string.h>

#include "chain/block.h"
#include "chain/cert.h"
#include "chain/tx.h"
#include "chain/vote.h"
#include "util/mem.h"

_Static_assert(TC_MAX_VALIDATORS <= 0xffff, "TC_MSG_MAX_CERT allows 3 bytes for the signature count");
_Static_assert(TC_MSG_MAX_CERT == 8 + 4 + sizeof(tc_hash) + 3 + TC_MAX_VALIDATORS * (sizeof(tc_pubkey) + sizeof(tc_sig)),
               "TC_MSG_MAX_CERT: height, round, block, count, one (key, sig) per validator");

static const char *const type_names[TC_MSG_TYPE_END] = {
    [TC_MSG_VERSION] = "version",     [TC_MSG_VERACK] = "verack",
    [TC_MSG_PING] = "ping",           [TC_MSG_PONG] = "pong",
    [TC_MSG_GETPEERS] = "getpeers",   [TC_MSG_PEERS] = "peers",
    [TC_MSG_GETMASTERNODES] = "getmasternodes",
    [TC_MSG_MASTERNODES] = "masternodes",
    [TC_MSG_HEARTBEAT] = "heartbeat", [TC_MSG_INV] = "inv",
    [TC_MSG_GETDATA] = "getdata",     [TC_MSG_TX] = "tx",
    [TC_MSG_PROPOSAL] = "proposal",   [TC_MSG_VOTE] = "vote",
    [TC_MSG_BLOCK] = "block",         [TC_MSG_GETBLOCKS] = "getblocks",
    [TC_MSG_BLOCKS] = "blocks",       [TC_MSG_GETHASH] = "gethash",
    [TC_MSG_HASH] = "hash",           [TC_MSG_EVIDENCE] = "evidence",
    [TC_MSG_REJECT] = "reject",       [TC_MSG_MNAUTH] = "mnauth",
};

const char *tc_msg_type_name(uint16_t type)
{
    return type < TC_MSG_TYPE_END ? type_names[type] : NULL;
}

void tc_msg_init(tc_msg *m, uint16_t type)
{
    memset(m, 0, sizeof *m);
    m->type = type;
}

void tc_msg_release(tc_msg *m)
{
    switch (m->type) {
    case TC_MSG_PEERS:
        free(m->u.peers.v);
        break;
    case TC_MSG_MASTERNODES:
        free(m->u.masternodes.v);
        break;
    case TC_MSG_INV:
    case TC_MSG_GETDATA:
        free(m->u.inv.h);
        break;
    case TC_MSG_BLOCKS:
        free(m->u.blocks.v);
        break;
    default:
        break;
    }
    tc_msg_init(m, m->type);
}

/* ---- strings ------------------------------------------------------------ */

static int printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

int tc_netaddr_valid(const char *s, size_t len, int allow_empty)
{
    if (len == 0)
        return allow_empty;
    return len <= TC_MAX_NETADDR && printable(s, len);
}

int tc_netaddr_set(tc_netaddr *a, const char *s)
{
    memset(a, 0, sizeof *a);
    size_t n = strnlen(s, TC_MAX_NETADDR + 1);
    if (!tc_netaddr_valid(s, n, 1))
        return TC_ENET_ADDR;
    memcpy(a->s, s, n);
    return 0;
}

/* Text with spaces allowed (user agent, reject reason): 0x20..0x7e. */
static int text_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static int rd_netaddr(tc_reader *r, tc_netaddr *a, int allow_empty)
{
    size_t n;
    const uint8_t *p = tc_rd_var(r, TC_MAX_NETADDR, &n);
    if (p == NULL)
        return r->err;
    if (!tc_netaddr_valid((const char *)p, n, allow_empty))
        return tc_rd_fail(r, TC_ENET_ADDR);
    memcpy(a->s, p, n);
    a->s[n] = 0;
    return 0;
}

static int rd_text(tc_reader *r, char *out, size_t max)
{
    size_t n;
    const uint8_t *p = tc_rd_var(r, max, &n);
    if (p == NULL)
        return r->err;
    if (!text_ok((const char *)p, n))
        return tc_rd_fail(r, TC_EBADVAL);
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

static int wr_netaddr(tc_buf *b, const tc_netaddr *a, int allow_empty)
{
    size_t n = strnlen(a->s, sizeof a->s);
    if (n == sizeof a->s || !tc_netaddr_valid(a->s, n, allow_empty))
        return TC_ENET_ADDR;
    tc_buf_var(b, a->s, n);
    return 0;
}

static int wr_text(tc_buf *b, const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return TC_EOVERSIZE;
    if (!text_ok(s, n))
        return TC_EBADVAL;
    tc_buf_var(b, s, n);
    return 0;
}

/* ---- chain payload checks ----------------------------------------------- */

static int check_tx(const uint8_t *p, size_t n)
{
    tc_tx tx;
    tc_tx_init(&tx);
    int err = tc_tx_decode(&tx, p, n);
    tc_tx_release(&tx);
    return err;
}

static int check_block(const uint8_t *p, size_t n)
{
    tc_block blk;
    tc_block_init(&blk);
    int err = tc_block_decode(&blk, p, n);
    tc_block_release(&blk);
    return err;
}

/* Smallest transaction encoding (version, kind, two empty counts, lock time):
 * bounds the transaction count a block of n bytes can claim. */
#define BLOCK_TX_MIN (4 + 1 + 1 + 1 + 4)

/* Structure-only check of a block in `block` / `blocks`: within the size
 * limit, a whole header, a canonical transaction count that the remaining
 * bytes could hold. No allocation. The node decodes every block it uses with
 * tc_block_decode and reports one that fails as a violation (ban); decoding a
 * ~1 MiB block here as well cost a sixth of the receive thread in bench/net.
 * A proposal's block keeps the full check: the node relays proposals it does
 * not decode, and must not relay a malformed block. */
static int check_block_shape(const uint8_t *p, size_t n)
{
    if (n > TC_MAX_BLOCK_SIZE)
        return TC_EBLK_SIZE;
    tc_reader r;
    tc_reader_init(&r, p, n);
    tc_header h;
    size_t n_tx;
    if (tc_header_read(&r, &h) == 0)
        (void)tc_rd_count(&r, TC_MAX_BLOCK_SIZE / BLOCK_TX_MIN, BLOCK_TX_MIN, &n_tx);
    return r.err;
}

static int check_cert(const uint8_t *p, size_t n)
{
    tc_cert c;
    tc_cert_init(&c);
    int err = tc_cert_decode(&c, p, n);
    tc_cert_release(&c);
    return err;
}

static int check_vote(const uint8_t *p, size_t n)
{
    tc_vote v;
    return tc_vote_decode(&v, p, n);
}

/* Reads a compact-size length-prefixed chain object and checks it. */
static int rd_obj(tc_reader *r, tc_bytes *out, size_t max, int allow_empty,
                  int (*check)(const uint8_t *, size_t))
{
    size_t n;
    const uint8_t *p = tc_rd_var(r, max, &n);
    if (p == NULL)
        return r->err;
    if (n == 0) {
        if (!allow_empty)
            return tc_rd_fail(r, TC_EBADVAL);
        out->p = NULL;
        out->len = 0;
        return 0;
    }
    int err = check(p, n);
    if (err)
        return tc_rd_fail(r, err);
    out->p = p;
    out->len = n;
    return 0;
}

/* Where an encoding goes: b, and (refs != NULL) the list of large objects
 * left out of b, referenced instead of copied. */
typedef struct {
    tc_buf *b;
    size_t start; /* where this payload begins in b */
    tc_msg_ref *refs;
    size_t n_refs, max_refs;
    size_t ref_bytes; /* their total length */
} encoder;

static int wr_obj(encoder *w, const tc_bytes *o, size_t max, int allow_empty)
{
    if (o->len > max || (o->len == 0 && !allow_empty) || (o->len && o->p == NULL))
        return TC_EOVERSIZE;
    if (w->refs == NULL || o->len < TC_MSG_REF_MIN || w->n_refs == w->max_refs) {
        tc_buf_var(w->b, o->p, o->len);
        return 0;
    }
    tc_buf_cs(w->b, o->len);
    w->refs[w->n_refs++] = (tc_msg_ref){w->b->len - w->start + w->ref_bytes, o->p, o->len};
    w->ref_bytes += o->len;
    return 0;
}

/* ---- per-type encoders -------------------------------------------------- */

static void version_body(const tc_msg_version *v, tc_buf *b, int *err)
{
    tc_buf_u32(b, v->protocol);
    tc_buf_u32(b, v->chain_id);
    tc_buf_put(b, v->genesis.b, 32);
    tc_buf_put(b, v->node_key.b, 32);
    tc_buf_u64(b, v->height);
    int e = wr_netaddr(b, &v->listen, 1);
    tc_buf_u64(b, v->nonce);
    if (!e)
        e = wr_text(b, v->user_agent, TC_MSG_MAX_UA);
    *err = e;
}

static void heartbeat_body(const tc_msg_heartbeat *h, tc_buf *b, int *err)
{
    tc_buf_put(b, h->key.b, 32);
    tc_buf_u64(b, h->height);
    tc_buf_u64(b, h->time_ms);
    *err = wr_netaddr(b, &h->addr, 0);
}

static int encode_version(tc_buf *b, const tc_msg_version *v)
{
    int err;
    version_body(v, b, &err);
    if (!err)
        tc_buf_put(b, v->sig.b, 64);
    return err;
}

static int encode_ping(tc_buf *b, const tc_msg_ping *p)
{
    tc_buf_u64(b, p->nonce);
    tc_buf_u64(b, p->height);
    return 0;
}

static int encode_peers(tc_buf *b, const tc_msg_peers *ps)
{
    if (ps->n > TC_MSG_MAX_PEERS)
        return TC_EOVERSIZE;
    int err = 0;
    tc_buf_cs(b, ps->n);
    for (size_t i = 0; i < ps->n && !err; i++) {
        err = wr_netaddr(b, &ps->v[i].addr, 0);
        tc_buf_u64(b, ps->v[i].last_seen);
    }
    return err;
}

static int encode_masternodes(tc_buf *b, const tc_msg_masternodes *ms)
{
    if (ms->n > TC_MSG_MAX_MASTERNODES)
        return TC_EOVERSIZE;
    int err = 0;
    tc_buf_cs(b, ms->n);
    for (size_t i = 0; i < ms->n && !err; i++) {
        if (ms->v[i].tier > TC_TIER_GOLD)
            return TC_EBADVAL;
        tc_buf_put(b, ms->v[i].key.b, 32);
        tc_buf_u8(b, ms->v[i].tier);
        err = wr_netaddr(b, &ms->v[i].addr, 0);
        tc_buf_u64(b, ms->v[i].last_seen_ms);
    }
    return err;
}

static int encode_heartbeat(tc_buf *b, const tc_msg_heartbeat *h)
{
    int err;
    heartbeat_body(h, b, &err);
    if (!err)
        tc_buf_put(b, h->sig.b, 64);
    return err;
}

/* inv and getdata */
static int encode_inv(tc_buf *b, const tc_msg_inv *iv)
{
    if (iv->type != TC_INV_TX && iv->type != TC_INV_BLOCK)
        return TC_EBADVAL;
    if (iv->n == 0 || iv->n > TC_MSG_MAX_INV)
        return TC_EOVERSIZE;
    tc_buf_u8(b, iv->type);
    tc_buf_cs(b, iv->n);
    for (size_t i = 0; i < iv->n; i++)
        tc_buf_put(b, iv->h[i].b, 32);
    return 0;
}

/* The transaction is the whole payload: no length prefix. */
static int encode_tx(tc_buf *b, const tc_bytes *tx)
{
    if (tx->len == 0 || tx->len > TC_MAX_TX_SIZE || tx->p == NULL)
        return TC_EOVERSIZE;
    tc_buf_put(b, tx->p, tx->len);
    return 0;
}

static int encode_proposal(encoder *w, const tc_msg_proposal *p)
{
    if (p->proposal.len != TC_PROPOSAL_SIZE || p->proposal.p == NULL)
        return TC_EBADVAL;
    tc_buf_put(w->b, p->proposal.p, TC_PROPOSAL_SIZE);
    return wr_obj(w, &p->block, TC_MAX_BLOCK_SIZE, 1);
}

static int encode_vote(tc_buf *b, const tc_bytes *vote)
{
    if (vote->len != TC_VOTE_SIZE || vote->p == NULL)
        return TC_EBADVAL;
    tc_buf_put(b, vote->p, TC_VOTE_SIZE);
    return 0;
}

static int encode_block(encoder *w, const tc_msg_block *blk)
{
    int err = wr_obj(w, &blk->block, TC_MAX_BLOCK_SIZE, 0);
    return err ? err : wr_obj(w, &blk->cert, TC_MSG_MAX_CERT, 1);
}

static int encode_getblocks(tc_buf *b, const tc_msg_getblocks *gb)
{
    if (gb->count == 0 || gb->count > TC_MSG_MAX_BLOCKS)
        return TC_EOVERSIZE;
    tc_buf_u64(b, gb->from);
    tc_buf_u32(b, gb->count);
    return 0;
}

static int encode_blocks(encoder *w, const tc_msg_blocks *bs)
{
    if (bs->n > TC_MSG_MAX_BLOCKS)
        return TC_EOVERSIZE;
    int err = 0;
    tc_buf_cs(w->b, bs->n);
    for (size_t i = 0; i < bs->n && !err; i++) {
        err = wr_obj(w, &bs->v[i].block, TC_MAX_BLOCK_SIZE, 0);
        if (!err)
            err = wr_obj(w, &bs->v[i].cert, TC_MSG_MAX_CERT, 0);
    }
    return err;
}

static int encode_hash(encoder *w, const tc_msg_hash *h)
{
    if (tc_hash_is_zero(&h->hash) && h->cert.len)
        return TC_EBADVAL;
    tc_buf_u64(w->b, h->height);
    tc_buf_put(w->b, h->hash.b, 32);
    return wr_obj(w, &h->cert, TC_MSG_MAX_CERT, 1);
}

static int encode_evidence(tc_buf *b, const tc_msg_evidence *ev)
{
    if (ev->a.len != TC_VOTE_SIZE || ev->b.len != TC_VOTE_SIZE || !ev->a.p || !ev->b.p)
        return TC_EBADVAL;
    tc_buf_put(b, ev->a.p, TC_VOTE_SIZE);
    tc_buf_put(b, ev->b.p, TC_VOTE_SIZE);
    return 0;
}

static int encode_reject(tc_buf *b, const tc_msg_reject *rj)
{
    tc_buf_u16(b, rj->type);
    tc_buf_u32(b, (uint32_t)rj->code);
    return wr_text(b, rj->reason, TC_MSG_MAX_REASON);
}

/* Appends m's payload to w; on error w->b may hold part of it (encode()
 * truncates it). */
static int encode_body(const tc_msg *m, encoder *w)
{
    tc_buf *b = w->b;
    switch (m->type) {
    case TC_MSG_VERSION:
        return encode_version(b, &m->u.version);
    case TC_MSG_VERACK:
    case TC_MSG_GETPEERS:
    case TC_MSG_GETMASTERNODES:
        return 0; /* no payload */
    case TC_MSG_PING:
    case TC_MSG_PONG:
        return encode_ping(b, &m->u.ping);
    case TC_MSG_PEERS:
        return encode_peers(b, &m->u.peers);
    case TC_MSG_MASTERNODES:
        return encode_masternodes(b, &m->u.masternodes);
    case TC_MSG_HEARTBEAT:
        return encode_heartbeat(b, &m->u.heartbeat);
    case TC_MSG_INV:
    case TC_MSG_GETDATA:
        return encode_inv(b, &m->u.inv);
    case TC_MSG_TX:
        return encode_tx(b, &m->u.tx);
    case TC_MSG_PROPOSAL:
        return encode_proposal(w, &m->u.proposal);
    case TC_MSG_VOTE:
        return encode_vote(b, &m->u.vote);
    case TC_MSG_BLOCK:
        return encode_block(w, &m->u.block);
    case TC_MSG_GETBLOCKS:
        return encode_getblocks(b, &m->u.getblocks);
    case TC_MSG_BLOCKS:
        return encode_blocks(w, &m->u.blocks);
    case TC_MSG_GETHASH:
        tc_buf_u64(b, m->u.gethash);
        return 0;
    case TC_MSG_HASH:
        return encode_hash(w, &m->u.hash);
    case TC_MSG_EVIDENCE:
        return encode_evidence(b, &m->u.evidence);
    case TC_MSG_REJECT:
        return encode_reject(b, &m->u.reject);
    case TC_MSG_MNAUTH:
        tc_buf_put(b, m->u.mnauth.operator_key.b, 32);
        tc_buf_put(b, m->u.mnauth.sig.b, 64);
        return 0;
    default:
        return TC_ENET_MSG_TYPE;
    }
}

static int encode(const tc_msg *m, encoder *w)
{
    int err = encode_body(m, w);
    if (!err && w->b->len - w->start + w->ref_bytes > TC_FRAME_MAX_PAYLOAD)
        err = TC_EOVERSIZE;
    if (err) {
        w->b->len = w->start;
        w->n_refs = 0;
        w->ref_bytes = 0;
    }
    return err;
}

int tc_msg_encode(const tc_msg *m, tc_buf *b)
{
    encoder w = {.b = b, .start = b->len};
    return encode(m, &w);
}

int tc_msg_encode_refs(const tc_msg *m, tc_buf *b, tc_msg_ref *refs, size_t max_refs, size_t *n_refs,
                       size_t *total)
{
    encoder w = {.b = b, .start = b->len, .refs = refs, .max_refs = max_refs};
    int err = encode(m, &w);
    *n_refs = w.n_refs;
    *total = err ? 0 : b->len - w.start + w.ref_bytes;
    return err;
}

/* ---- per-type decoders -------------------------------------------------- */

static void rd_hash(tc_reader *r, tc_hash *h)
{
    tc_rd_bytes(r, h->b, 32);
}

static int decode_version(tc_reader *r, tc_msg_version *v)
{
    tc_rd_u32(r, &v->protocol);
    tc_rd_u32(r, &v->chain_id);
    rd_hash(r, &v->genesis);
    tc_rd_bytes(r, v->node_key.b, 32);
    tc_rd_u64(r, &v->height);
    rd_netaddr(r, &v->listen, 1);
    tc_rd_u64(r, &v->nonce);
    rd_text(r, v->user_agent, TC_MSG_MAX_UA);
    tc_rd_bytes(r, v->sig.b, 64);
    return r->err;
}

static int decode_ping(tc_reader *r, tc_msg_ping *p)
{
    tc_rd_u64(r, &p->nonce);
    tc_rd_u64(r, &p->height);
    return r->err;
}

static int decode_peers(tc_reader *r, tc_msg_peers *ps)
{
    size_t n;
    /* smallest entry: cs 1 + 1 address byte + u64 */
    if (tc_rd_count(r, TC_MSG_MAX_PEERS, 10, &n))
        return r->err;
    ps->v = tc_xcalloc(n ? n : 1, sizeof *ps->v);
    ps->n = n;
    for (size_t i = 0; i < n && !r->err; i++) {
        rd_netaddr(r, &ps->v[i].addr, 0);
        tc_rd_u64(r, &ps->v[i].last_seen);
    }
    return r->err;
}

static int decode_masternodes(tc_reader *r, tc_msg_masternodes *ms)
{
    size_t n;
    if (tc_rd_count(r, TC_MSG_MAX_MASTERNODES, 32 + 1 + 2 + 8, &n))
        return r->err;
    ms->v = tc_xcalloc(n ? n : 1, sizeof *ms->v);
    ms->n = n;
    for (size_t i = 0; i < n && !r->err; i++) {
        tc_msg_mn *e = &ms->v[i];
        tc_rd_bytes(r, e->key.b, 32);
        if (tc_rd_u8(r, &e->tier) == 0 && e->tier > TC_TIER_GOLD)
            return tc_rd_fail(r, TC_EBADVAL);
        rd_netaddr(r, &e->addr, 0);
        tc_rd_u64(r, &e->last_seen_ms);
    }
    return r->err;
}

static int decode_heartbeat(tc_reader *r, tc_msg_heartbeat *h)
{
    tc_rd_bytes(r, h->key.b, 32);
    tc_rd_u64(r, &h->height);
    tc_rd_u64(r, &h->time_ms);
    rd_netaddr(r, &h->addr, 0);
    tc_rd_bytes(r, h->sig.b, 64);
    return r->err;
}

/* inv and getdata */
static int decode_inv(tc_reader *r, tc_msg_inv *iv)
{
    size_t n;
    if (tc_rd_u8(r, &iv->type))
        return r->err;
    if (iv->type != TC_INV_TX && iv->type != TC_INV_BLOCK)
        return tc_rd_fail(r, TC_EBADVAL);
    if (tc_rd_count(r, TC_MSG_MAX_INV, 32, &n))
        return r->err;
    if (n == 0)
        return tc_rd_fail(r, TC_EBADVAL);
    iv->h = tc_xcalloc(n, sizeof *iv->h);
    iv->n = n;
    for (size_t i = 0; i < n; i++)
        rd_hash(r, &iv->h[i]);
    return r->err;
}

/* The transaction is the whole rest of the payload. */
static int decode_tx(tc_reader *r, tc_bytes *tx)
{
    size_t n = tc_rd_left(r);
    if (n == 0)
        return tc_rd_fail(r, TC_ETRUNC);
    if (n > TC_MAX_TX_SIZE)
        return tc_rd_fail(r, TC_EOVERSIZE);
    const uint8_t *p = tc_rd_ptr(r, n);
    int err = check_tx(p, n);
    if (err)
        return tc_rd_fail(r, err);
    tx->p = p;
    tx->len = n;
    return 0;
}

static int decode_proposal(tc_reader *r, tc_msg_proposal *out)
{
    const uint8_t *p = tc_rd_ptr(r, TC_PROPOSAL_SIZE);
    if (p == NULL)
        return r->err;
    tc_proposal prop;
    int err = tc_proposal_decode(&prop, p, TC_PROPOSAL_SIZE);
    if (err)
        return tc_rd_fail(r, err);
    out->proposal.p = p;
    out->proposal.len = TC_PROPOSAL_SIZE;
    return rd_obj(r, &out->block, TC_MAX_BLOCK_SIZE, 1, check_block);
}

static int decode_vote(tc_reader *r, tc_bytes *vote)
{
    const uint8_t *p = tc_rd_ptr(r, TC_VOTE_SIZE);
    if (p == NULL)
        return r->err;
    int err = check_vote(p, TC_VOTE_SIZE);
    if (err)
        return tc_rd_fail(r, err);
    vote->p = p;
    vote->len = TC_VOTE_SIZE;
    return 0;
}

static int decode_block(tc_reader *r, tc_msg_block *blk)
{
    if (rd_obj(r, &blk->block, TC_MAX_BLOCK_SIZE, 0, check_block_shape))
        return r->err;
    return rd_obj(r, &blk->cert, TC_MSG_MAX_CERT, 1, check_cert);
}

static int decode_getblocks(tc_reader *r, tc_msg_getblocks *gb)
{
    tc_rd_u64(r, &gb->from);
    if (tc_rd_u32(r, &gb->count))
        return r->err;
    if (gb->count == 0)
        return tc_rd_fail(r, TC_EBADVAL);
    if (gb->count > TC_MSG_MAX_BLOCKS)
        return tc_rd_fail(r, TC_EOVERSIZE);
    return 0;
}

static int decode_blocks(tc_reader *r, tc_msg_blocks *bs)
{
    size_t n;
    /* smallest entry: a header-sized block and a non-empty certificate */
    if (tc_rd_count(r, TC_MSG_MAX_BLOCKS, TC_HEADER_SIZE + 2 + 2, &n))
        return r->err;
    bs->v = tc_xcalloc(n ? n : 1, sizeof *bs->v);
    bs->n = n;
    for (size_t i = 0; i < n && !r->err; i++) {
        if (rd_obj(r, &bs->v[i].block, TC_MAX_BLOCK_SIZE, 0, check_block_shape))
            break;
        rd_obj(r, &bs->v[i].cert, TC_MSG_MAX_CERT, 0, check_cert);
    }
    return r->err;
}

/* A zero hash (no block at that height) must come with an empty certificate. */
static int decode_hash(tc_reader *r, tc_msg_hash *h)
{
    tc_rd_u64(r, &h->height);
    rd_hash(r, &h->hash);
    if (r->err)
        return r->err;
    if (tc_hash_is_zero(&h->hash)) {
        uint64_t n;
        if (tc_rd_cs(r, &n))
            return r->err;
        if (n != 0)
            return tc_rd_fail(r, TC_ENONCANON);
        return 0;
    }
    return rd_obj(r, &h->cert, TC_MSG_MAX_CERT, 1, check_cert);
}

/* Two well-formed votes that conflict (tc_vote_conflict), else TC_EEVIDENCE. */
static int decode_evidence(tc_reader *r, tc_msg_evidence *ev)
{
    const uint8_t *a = tc_rd_ptr(r, TC_VOTE_SIZE);
    const uint8_t *b = tc_rd_ptr(r, TC_VOTE_SIZE);
    if (r->err)
        return r->err;
    tc_vote va, vb;
    int err = tc_vote_decode(&va, a, TC_VOTE_SIZE);
    if (!err)
        err = tc_vote_decode(&vb, b, TC_VOTE_SIZE);
    if (!err && !tc_vote_conflict(&va, &vb))
        err = TC_EEVIDENCE;
    if (err)
        return tc_rd_fail(r, err);
    ev->a.p = a;
    ev->a.len = TC_VOTE_SIZE;
    ev->b.p = b;
    ev->b.len = TC_VOTE_SIZE;
    return 0;
}

static int decode_reject(tc_reader *r, tc_msg_reject *rj)
{
    uint32_t code;
    tc_rd_u16(r, &rj->type);
    tc_rd_u32(r, &code);
    rj->code = (int32_t)code;
    return rd_text(r, rj->reason, TC_MSG_MAX_REASON);
}

/* Reads m's payload by m->type; tc_msg_decode checks that r is used up and
 * releases m on error. */
static int decode_body(tc_msg *m, tc_reader *r)
{
    switch (m->type) {
    case TC_MSG_VERSION:
        return decode_version(r, &m->u.version);
    case TC_MSG_VERACK:
    case TC_MSG_GETPEERS:
    case TC_MSG_GETMASTERNODES:
        return 0; /* no payload */
    case TC_MSG_PING:
    case TC_MSG_PONG:
        return decode_ping(r, &m->u.ping);
    case TC_MSG_PEERS:
        return decode_peers(r, &m->u.peers);
    case TC_MSG_MASTERNODES:
        return decode_masternodes(r, &m->u.masternodes);
    case TC_MSG_HEARTBEAT:
        return decode_heartbeat(r, &m->u.heartbeat);
    case TC_MSG_INV:
    case TC_MSG_GETDATA:
        return decode_inv(r, &m->u.inv);
    case TC_MSG_TX:
        return decode_tx(r, &m->u.tx);
    case TC_MSG_PROPOSAL:
        return decode_proposal(r, &m->u.proposal);
    case TC_MSG_VOTE:
        return decode_vote(r, &m->u.vote);
    case TC_MSG_BLOCK:
        return decode_block(r, &m->u.block);
    case TC_MSG_GETBLOCKS:
        return decode_getblocks(r, &m->u.getblocks);
    case TC_MSG_BLOCKS:
        return decode_blocks(r, &m->u.blocks);
    case TC_MSG_GETHASH:
        return tc_rd_u64(r, &m->u.gethash);
    case TC_MSG_HASH:
        return decode_hash(r, &m->u.hash);
    case TC_MSG_EVIDENCE:
        return decode_evidence(r, &m->u.evidence);
    case TC_MSG_REJECT:
        return decode_reject(r, &m->u.reject);
    case TC_MSG_MNAUTH:
        tc_rd_bytes(r, m->u.mnauth.operator_key.b, 32);
        return tc_rd_bytes(r, m->u.mnauth.sig.b, 64);
    default:
        return TC_ENET_MSG_TYPE;
    }
}

int tc_msg_decode(tc_msg *m, uint16_t type, const uint8_t *p, size_t len)
{
    tc_msg_init(m, type);
    if (len > TC_FRAME_MAX_PAYLOAD)
        return TC_EOVERSIZE;
    tc_reader r;
    tc_reader_init(&r, p, len);
    int err = decode_body(m, &r);
    if (!err)
        err = tc_rd_done(&r);
    if (err)
        tc_msg_release(m);
    return err;
}

/* ---- signatures --------------------------------------------------------- */

void tc_msg_version_sign_bytes(const tc_msg_version *v, const uint8_t exporter[32], tc_hash *out)
{
    tc_buf b;
    int err;
    tc_buf_init(&b);
    tc_buf_put(&b, exporter, 32);
    version_body(v, &b, &err);
    /* An unencodable field (never the case for a decoded message) still
     * yields a hash that no honest signer produced over it. */
    tc_hash_once(TC_H_HANDSHAKE, b.p, b.len, out);
    tc_buf_release(&b);
}

void tc_msg_version_sign(tc_msg_version *v, const uint8_t exporter[32], const tc_keypair *kp)
{
    tc_hash h;
    tc_msg_version_sign_bytes(v, exporter, &h);
    tc_sign(kp, h.b, sizeof h.b, &v->sig);
}

int tc_msg_version_verify(const tc_msg_version *v, const uint8_t exporter[32])
{
    tc_hash h;
    tc_msg_version_sign_bytes(v, exporter, &h);
    return tc_verify(&v->node_key, h.b, sizeof h.b, &v->sig);
}

void tc_msg_heartbeat_sign_bytes(const tc_msg_heartbeat *h, uint32_t chain_id, tc_hash *out)
{
    tc_buf b;
    int err;
    tc_buf_init(&b);
    tc_buf_u32(&b, chain_id);
    heartbeat_body(h, &b, &err);
    tc_hash_once(TC_H_HEARTBEAT, b.p, b.len, out);
    tc_buf_release(&b);
}

void tc_msg_heartbeat_sign(tc_msg_heartbeat *h, uint32_t chain_id, const tc_keypair *kp)
{
    tc_hash m;
    tc_msg_heartbeat_sign_bytes(h, chain_id, &m);
    tc_sign(kp, m.b, sizeof m.b, &h->sig);
}

int tc_msg_heartbeat_verify(const tc_msg_heartbeat *h, uint32_t chain_id)
{
    tc_hash m;
    tc_msg_heartbeat_sign_bytes(h, chain_id, &m);
    return tc_verify(&h->key, m.b, sizeof m.b, &h->sig);
}

void tc_msg_mnauth_sign_bytes(const tc_pubkey *operator_key, const uint8_t exporter[32], uint32_t chain_id,
                              const tc_pubkey *sender_node_key, tc_hash *out)
{
    uint8_t b[32 + 4 + 32 + 32];
    memcpy(b, exporter, 32);
    tc_le32(b + 32, chain_id);
    memcpy(b + 36, sender_node_key->b, 32);
    memcpy(b + 68, operator_key->b, 32);
    tc_hash_once(TC_H_MNAUTH, b, sizeof b, out);
}

void tc_msg_mnauth_sign(tc_msg_mnauth *a, const uint8_t exporter[32], uint32_t chain_id,
                        const tc_pubkey *sender_node_key, const tc_keypair *operator_kp)
{
    tc_hash h;
    a->operator_key = operator_kp->pk;
    tc_msg_mnauth_sign_bytes(&a->operator_key, exporter, chain_id, sender_node_key, &h);
    tc_sign(operator_kp, h.b, sizeof h.b, &a->sig);
}

int tc_msg_mnauth_verify(const tc_msg_mnauth *a, const uint8_t exporter[32], uint32_t chain_id,
                         const tc_pubkey *sender_node_key)
{
    tc_hash h;
    tc_msg_mnauth_sign_bytes(&a->operator_key, exporter, chain_id, sender_node_key, &h);
    return tc_verify(&a->operator_key, h.b, sizeof h.b, &a->sig);
}
