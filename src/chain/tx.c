#include "chain/tx.h"

#include <stdio.h>
#include <string.h>

#include "util/mem.h"

/* Field sizes of the encoding: the put_* writers below and tc_tx_size both
 * use these, so the size cannot drift from what is written (test_tx checks
 * tc_tx_size against the encoder for every kind). */
#define HASH_SIZE ((size_t)sizeof(tc_hash))  /* txid, owner, pubkey, address hash */
#define SIG_SIZE ((size_t)sizeof(tc_sig))
#define OUTPOINT_SIZE (HASH_SIZE + 4)       /* txid, vout */
#define ADDRESS_SIZE (1 + HASH_SIZE)        /* version, hash */
#define TXIN_UNSIGNED (OUTPOINT_SIZE + HASH_SIZE) /* prev, pubkey */
#define TXOUT_SIZE (8 + ADDRESS_SIZE)       /* value, address */
#define HEAD_SIZE (4 + 1)                   /* version, kind */
#define LOCK_SIZE 4
_Static_assert(sizeof(tc_hash) == 32 && sizeof(tc_pubkey) == 32 && sizeof(tc_sig) == 64,
               "the encoding writes hashes and keys as 32 bytes, signatures as 64");
_Static_assert(sizeof(((tc_address *)0)->hash) == HASH_SIZE, "an address hash is a tc_hash");

/* Smallest encodings, used to bound counts before allocating. */
#define TXIN_MIN (TXIN_UNSIGNED + SIG_SIZE)
#define TXOUT_MIN TXOUT_SIZE
#define MAX_INPUTS (TC_MAX_TX_SIZE / TXIN_MIN)
#define MAX_OUTPUTS (TC_MAX_TX_SIZE / TXOUT_MIN)

void tc_tx_init(tc_tx *tx)
{
    memset(tx, 0, sizeof *tx);
    tx->version = TC_TX_VERSION;
    tx->kind = TC_TX_TRANSFER;
}

void tc_tx_release(tc_tx *tx)
{
    free(tx->in);
    free(tx->out);
    tc_tx_init(tx);
}

void tc_tx_alloc(tc_tx *tx, size_t n_in, size_t n_out)
{
    free(tx->in);
    free(tx->out);
    tx->n_in = n_in;
    tx->n_out = n_out;
    tx->in = tc_xcalloc(n_in, sizeof *tx->in);
    tx->out = tc_xcalloc(n_out, sizeof *tx->out);
}

void tc_tx_copy(tc_tx *dst, const tc_tx *src)
{
    *dst = *src;
    dst->in = tc_xcalloc(src->n_in, sizeof *dst->in);
    dst->out = tc_xcalloc(src->n_out, sizeof *dst->out);
    if (src->n_in)
        memcpy(dst->in, src->in, src->n_in * sizeof *src->in);
    if (src->n_out)
        memcpy(dst->out, src->out, src->n_out * sizeof *src->out);
}

size_t tc_tx_xsig_count(uint8_t kind)
{
    switch (kind) {
    case TC_TX_MN_REGISTER:
        return 2;
    case TC_TX_MN_UPDATE:
    case TC_TX_MN_DEREGISTER:
    case TC_TX_MN_UNJAIL:
        return 1;
    default:
        return 0;
    }
}

const char *tc_tx_kind_name(uint8_t kind)
{
    static const char *const names[TC_TX_KIND_COUNT] = {
        "transfer", "coinbase", "mn_register", "mn_update", "mn_deregister", "evidence", "mn_unjail",
    };
    return kind < TC_TX_KIND_COUNT ? names[kind] : "unknown";
}

static void put_outpoint(tc_buf *b, const tc_outpoint *o)
{
    tc_buf_put(b, o->txid.b, HASH_SIZE);
    tc_buf_u32(b, o->vout);
}

static void put_address(tc_buf *b, const tc_address *a)
{
    tc_buf_u8(b, a->version);
    tc_buf_put(b, a->hash.b, HASH_SIZE);
}

static void put_netaddr(tc_buf *b, const char *s)
{
    tc_buf_var(b, s, strlen(s));
}

static size_t netaddr_size(const char *s)
{
    size_t n = strlen(s);
    return tc_cs_size(n) + n;
}

/* Bytes encode_payload writes for tx: one case per case there. */
static size_t payload_size(const tc_tx *tx)
{
    switch (tx->kind) {
    case TC_TX_COINBASE:
        return 8;
    case TC_TX_MN_REGISTER: /* tier, collateral, owner, operator, reward, netaddr */
        return 1 + OUTPOINT_SIZE + HASH_SIZE + HASH_SIZE + ADDRESS_SIZE + netaddr_size(tx->u.reg.netaddr);
    case TC_TX_MN_UPDATE: /* collateral, owner, reward, netaddr */
        return OUTPOINT_SIZE + HASH_SIZE + ADDRESS_SIZE + netaddr_size(tx->u.update.netaddr);
    case TC_TX_MN_DEREGISTER:
    case TC_TX_MN_UNJAIL: /* collateral, owner */
        return OUTPOINT_SIZE + HASH_SIZE;
    case TC_TX_EVIDENCE:
        return 2 * TC_VOTE_SIZE;
    default:
        return 0;
    }
}

static void encode_payload(const tc_tx *tx, tc_buf *b)
{
    switch (tx->kind) {
    case TC_TX_COINBASE:
        tc_buf_u64(b, tx->u.coinbase_height);
        break;
    case TC_TX_MN_REGISTER:
        tc_buf_u8(b, tx->u.reg.tier);
        put_outpoint(b, &tx->u.reg.collateral);
        tc_buf_put(b, tx->u.reg.owner.b, HASH_SIZE);
        tc_buf_put(b, tx->u.reg.operator_key.b, HASH_SIZE);
        put_address(b, &tx->u.reg.reward);
        put_netaddr(b, tx->u.reg.netaddr);
        break;
    case TC_TX_MN_UPDATE:
        put_outpoint(b, &tx->u.update.collateral);
        tc_buf_put(b, tx->u.update.owner.b, HASH_SIZE);
        put_address(b, &tx->u.update.reward);
        put_netaddr(b, tx->u.update.netaddr);
        break;
    case TC_TX_MN_DEREGISTER:
    case TC_TX_MN_UNJAIL:
        put_outpoint(b, &tx->u.dereg.collateral);
        tc_buf_put(b, tx->u.dereg.owner.b, HASH_SIZE);
        break;
    case TC_TX_EVIDENCE:
        tc_vote_encode(&tx->u.evidence.a, b);
        tc_vote_encode(&tx->u.evidence.b, b);
        break;
    default:
        break;
    }
}

void tc_tx_encode_unsigned(const tc_tx *tx, tc_buf *b)
{
    tc_buf_u32(b, tx->version);
    tc_buf_u8(b, tx->kind);
    tc_buf_cs(b, tx->n_in);
    for (size_t i = 0; i < tx->n_in; i++) {
        put_outpoint(b, &tx->in[i].prev);
        tc_buf_put(b, tx->in[i].pubkey.b, HASH_SIZE);
    }
    tc_buf_cs(b, tx->n_out);
    for (size_t i = 0; i < tx->n_out; i++) {
        tc_buf_u64(b, tx->out[i].value);
        put_address(b, &tx->out[i].addr);
    }
    tc_buf_u32(b, tx->lock_time);
    encode_payload(tx, b);
}

void tc_tx_encode(const tc_tx *tx, tc_buf *b)
{
    tc_tx_encode_unsigned(tx, b);
    for (size_t i = 0; i < tx->n_in; i++)
        tc_buf_put(b, tx->in[i].sig.b, SIG_SIZE);
    for (size_t k = 0; k < tc_tx_xsig_count(tx->kind); k++)
        tc_buf_put(b, tx->xsig[k].b, SIG_SIZE);
}

size_t tc_tx_size(const tc_tx *tx)
{
    /* the fields of tc_tx_encode_unsigned, then the signatures tc_tx_encode appends */
    return HEAD_SIZE + tc_cs_size(tx->n_in) + tx->n_in * TXIN_UNSIGNED + tc_cs_size(tx->n_out) +
           tx->n_out * TXOUT_SIZE + LOCK_SIZE + payload_size(tx) + tx->n_in * SIG_SIZE +
           tc_tx_xsig_count(tx->kind) * SIG_SIZE;
}

static void read_outpoint(tc_reader *r, tc_outpoint *o)
{
    tc_rd_bytes(r, o->txid.b, 32);
    tc_rd_u32(r, &o->vout);
}

static void read_address(tc_reader *r, tc_address *a)
{
    tc_rd_u8(r, &a->version);
    tc_rd_bytes(r, a->hash.b, 32);
}

void tc_netaddr_read(tc_reader *r, char out[TC_MAX_NETADDR + 1])
{
    size_t n;
    const uint8_t *p = tc_rd_var(r, TC_MAX_NETADDR, &n);
    out[0] = '\0';
    if (p == NULL)
        return;
    if (n == 0) {
        tc_rd_fail(r, TC_EBADVAL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e) {
            tc_rd_fail(r, TC_EBADVAL);
            return;
        }
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static void read_payload(tc_reader *r, tc_tx *tx)
{
    switch (tx->kind) {
    case TC_TX_TRANSFER:
        break;
    case TC_TX_COINBASE:
        tc_rd_u64(r, &tx->u.coinbase_height);
        break;
    case TC_TX_MN_REGISTER:
        tc_rd_u8(r, &tx->u.reg.tier);
        read_outpoint(r, &tx->u.reg.collateral);
        tc_rd_bytes(r, tx->u.reg.owner.b, 32);
        tc_rd_bytes(r, tx->u.reg.operator_key.b, 32);
        read_address(r, &tx->u.reg.reward);
        tc_netaddr_read(r, tx->u.reg.netaddr);
        break;
    case TC_TX_MN_UPDATE:
        read_outpoint(r, &tx->u.update.collateral);
        tc_rd_bytes(r, tx->u.update.owner.b, 32);
        read_address(r, &tx->u.update.reward);
        tc_netaddr_read(r, tx->u.update.netaddr);
        break;
    case TC_TX_MN_DEREGISTER:
    case TC_TX_MN_UNJAIL:
        read_outpoint(r, &tx->u.dereg.collateral);
        tc_rd_bytes(r, tx->u.dereg.owner.b, 32);
        break;
    case TC_TX_EVIDENCE:
    {
        /* the reader keeps the first error; nothing more to do with it here */
        int err = tc_vote_read(r, &tx->u.evidence.a);
        if (err == 0)
            err = tc_vote_read(r, &tx->u.evidence.b);
        break;
    }
    default:
        tc_rd_fail(r, TC_EBADVAL);
        break;
    }
}

int tc_tx_read(tc_reader *r, tc_tx *tx)
{
    size_t start = r->pos;
    tc_tx_init(tx);
    tc_rd_u32(r, &tx->version);
    tc_rd_u8(r, &tx->kind);
    if (r->err == 0 && tx->kind >= TC_TX_KIND_COUNT) {
        r->pos--;
        tc_rd_fail(r, TC_EBADVAL);
    }
    size_t n_in = 0, n_out = 0;
    if (tc_rd_count(r, MAX_INPUTS, TXIN_MIN, &n_in))
        goto out;
    tx->in = tc_xcalloc(n_in, sizeof *tx->in);
    tx->n_in = n_in;
    for (size_t i = 0; i < n_in; i++) {
        read_outpoint(r, &tx->in[i].prev);
        tc_rd_bytes(r, tx->in[i].pubkey.b, 32);
    }
    if (tc_rd_count(r, MAX_OUTPUTS, TXOUT_MIN, &n_out))
        goto out;
    tx->out = tc_xcalloc(n_out, sizeof *tx->out);
    tx->n_out = n_out;
    for (size_t i = 0; i < n_out; i++) {
        tc_rd_u64(r, &tx->out[i].value);
        read_address(r, &tx->out[i].addr);
    }
    tc_rd_u32(r, &tx->lock_time);
    read_payload(r, tx);
    for (size_t i = 0; i < n_in; i++)
        tc_rd_bytes(r, tx->in[i].sig.b, 64);
    for (size_t k = 0; k < tc_tx_xsig_count(tx->kind); k++)
        tc_rd_bytes(r, tx->xsig[k].b, 64);
    if (r->err == 0 && r->pos - start > TC_MAX_TX_SIZE)
        tc_rd_fail(r, TC_ETX_SIZE);
out:
    if (r->err)
        tc_tx_release(tx);
    return r->err;
}

int tc_tx_decode(tc_tx *tx, const uint8_t *p, size_t len)
{
    tc_reader r;
    tc_reader_init(&r, p, len);
    if (tc_tx_read(&r, tx))
        return r.err;
    int err = tc_rd_done(&r);
    if (err)
        tc_tx_release(tx);
    return err;
}

void tc_tx_txid(const tc_tx *tx, tc_hash *txid)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_tx_encode_unsigned(tx, &b);
    tc_hash_once(TC_H_TXID, b.p, b.len, txid);
    tc_buf_release(&b);
}

void tc_tx_sighash(const tc_hash *txid, uint32_t chain_id, tc_hash *sighash)
{
    uint8_t msg[4 + 32];
    tc_le32(msg, chain_id);
    memcpy(msg + 4, txid->b, 32);
    tc_hash_once(TC_H_SIGHASH, msg, sizeof msg, sighash);
}

static void sighash_of(const tc_tx *tx, uint32_t chain_id, tc_hash *sh)
{
    tc_hash txid;
    tc_tx_txid(tx, &txid);
    tc_tx_sighash(&txid, chain_id, sh);
}

/* A caller bug (STYLE.md 6): say which and stop. */
static void misuse(const char *fn, const char *what, size_t idx)
{
    fprintf(stderr, "fatal: %s: %s %zu\n", fn, what, idx);
    abort();
}

void tc_tx_sign_input(tc_tx *tx, size_t i, uint32_t chain_id, const tc_keypair *kp)
{
    tc_hash sh;
    if (i >= tx->n_in)
        misuse("tc_tx_sign_input", "no such input:", i);
    if (memcmp(tx->in[i].pubkey.b, kp->pk.b, 32) != 0)
        misuse("tc_tx_sign_input", "names another public key: input", i);
    sighash_of(tx, chain_id, &sh);
    tc_sign(kp, sh.b, 32, &tx->in[i].sig);
}

void tc_tx_sign_extra(tc_tx *tx, size_t k, uint32_t chain_id, const tc_keypair *kp)
{
    tc_hash sh;
    if (k >= tc_tx_xsig_count(tx->kind))
        misuse("tc_tx_sign_extra", "no such extra signature for the kind:", k);
    sighash_of(tx, chain_id, &sh);
    tc_sign(kp, sh.b, 32, &tx->xsig[k]);
}
