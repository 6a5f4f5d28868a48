/* chain/tx: canonical encoding of every kind, txid, sighash, signing, and
 * the decoder's rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain/params.h"
#include "chain/tx.h"
#include "chain/vote.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "util/buf.h"

#define CHAIN 3u

/* ---- helpers -------------------------------------------------------------- */

static void fill(void *p, size_t n, uint8_t seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + 31 * i + (i >> 3));
}

static void make_kp(tc_keypair *kp, uint8_t s)
{
    uint8_t seed[32];
    fill(seed, sizeof seed, s);
    tc_keypair_from_seed(kp, seed);
}

static void fill_outpoint(tc_outpoint *o, uint8_t s)
{
    fill(o->txid.b, 32, s);
    o->vout = 0x01000000u * s + 7;
}

static void fill_address(tc_address *a, uint8_t s)
{
    a->version = TC_ADDR_VERSION;
    fill(a->hash.b, 32, s);
}

static void fill_ins_outs(tc_tx *tx, size_t n_in, size_t n_out, uint8_t s)
{
    tc_tx_alloc(tx, n_in, n_out);
    for (size_t i = 0; i < n_in; i++) {
        fill_outpoint(&tx->in[i].prev, (uint8_t)(s + i));
        fill(tx->in[i].pubkey.b, 32, (uint8_t)(s + 40 + i));
        fill(tx->in[i].sig.b, 64, (uint8_t)(s + 80 + i));
    }
    for (size_t i = 0; i < n_out; i++) {
        tx->out[i].value = 1000000000ull * (i + 1) + s;
        fill_address(&tx->out[i].addr, (uint8_t)(s + 120 + i));
    }
}

static void make_vote(tc_vote *v, uint8_t block_seed, const tc_keypair *kp)
{
    memset(v, 0, sizeof *v);
    v->type = TC_VOTE_PRECOMMIT;
    v->height = 1234;
    v->round = 2;
    fill(v->block.b, 32, block_seed);
    v->validator = kp->pk;
    tc_vote_sign(v, CHAIN, kp);
}

/* A representative transaction of each kind, fields all distinct and nonzero. */
static void build_tx(tc_tx *tx, uint8_t kind)
{
    tc_tx_init(tx);
    tx->kind = kind;
    tx->lock_time = 0x0a0b0c0du;
    switch (kind) {
    case TC_TX_TRANSFER:
        fill_ins_outs(tx, 3, 2, 10);
        break;
    case TC_TX_COINBASE:
        fill_ins_outs(tx, 0, 2, 20);
        tx->u.coinbase_height = 0x1122334455667788ull;
        break;
    case TC_TX_MN_REGISTER:
        fill_ins_outs(tx, 1, 1, 30);
        tx->u.reg.tier = TC_TIER_SILVER;
        fill_outpoint(&tx->u.reg.collateral, 31);
        fill(tx->u.reg.owner.b, 32, 32);
        fill(tx->u.reg.operator_key.b, 32, 33);
        fill_address(&tx->u.reg.reward, 34);
        strcpy(tx->u.reg.netaddr, "203.0.113.5:24000");
        fill(tx->xsig[0].b, 64, 35);
        fill(tx->xsig[1].b, 64, 36);
        break;
    case TC_TX_MN_UPDATE:
        fill_ins_outs(tx, 1, 1, 40);
        fill_outpoint(&tx->u.update.collateral, 41);
        fill(tx->u.update.owner.b, 32, 42);
        fill_address(&tx->u.update.reward, 43);
        strcpy(tx->u.update.netaddr, "[2001:db8::1]:24000");
        fill(tx->xsig[0].b, 64, 44);
        break;
    case TC_TX_MN_DEREGISTER:
        fill_ins_outs(tx, 1, 1, 50);
        fill_outpoint(&tx->u.dereg.collateral, 51);
        fill(tx->u.dereg.owner.b, 32, 52);
        fill(tx->xsig[0].b, 64, 53);
        break;
    case TC_TX_MN_UNJAIL:
        fill_ins_outs(tx, 1, 1, 60);
        fill_outpoint(&tx->u.unjail.collateral, 61);
        fill(tx->u.unjail.owner.b, 32, 62);
        fill(tx->xsig[0].b, 64, 63);
        break;
    case TC_TX_EVIDENCE: {
        tc_keypair kp;
        make_kp(&kp, 70);
        fill_ins_outs(tx, 1, 1, 70);
        make_vote(&tx->u.evidence.a, 71, &kp);
        make_vote(&tx->u.evidence.b, 72, &kp);
        tc_keypair_wipe(&kp);
        break;
    }
    default:
        fail_msg("no builder for kind %u", kind);
    }
}

static const uint8_t all_kinds[] = {TC_TX_TRANSFER,      TC_TX_COINBASE,  TC_TX_MN_REGISTER,
                                    TC_TX_MN_UPDATE,     TC_TX_MN_DEREGISTER, TC_TX_MN_UNJAIL,
                                    TC_TX_EVIDENCE};
#define N_KINDS (sizeof all_kinds / sizeof all_kinds[0])

static void encode(const tc_tx *tx, tc_buf *b)
{
    tc_buf_init(b);
    tc_tx_encode(tx, b);
}

static void assert_released(const tc_tx *tx)
{
    assert_null(tx->in);
    assert_null(tx->out);
    assert_int_equal(tx->n_in, 0);
    assert_int_equal(tx->n_out, 0);
}

/* Decodes (p, len) with a reader and returns the error; *err_pos gets its offset. */
static int decode_at(const uint8_t *p, size_t len, size_t *err_pos)
{
    tc_tx tx;
    int err = tc_tx_decode(&tx, p, len);
    tc_reader r;
    tc_reader_init(&r, p, len);
    tc_tx tx2;
    int err2 = tc_tx_read(&r, &tx2);
    if (err2 == 0) {
        tc_tx_release(&tx2); /* tc_tx_read allows more input after the tx */
        err2 = tc_rd_done(&r);
    } else {
        assert_released(&tx2);
    }
    if (err == 0)
        tc_tx_release(&tx);
    else
        assert_released(&tx);
    assert_int_equal(err, err2);
    *err_pos = r.err_pos;
    return err;
}

/* bytes[0..at) || ins || bytes[at + skip ..) */
static void splice(tc_buf *out, const tc_buf *in, size_t at, size_t skip, const uint8_t *ins,
                   size_t n)
{
    tc_buf_init(out);
    tc_buf_put(out, in->p, at);
    tc_buf_put(out, ins, n);
    tc_buf_put(out, in->p + at + skip, in->len - at - skip);
}

/* ---- encoding ------------------------------------------------------------- */

static void test_transfer_exact_bytes(void **state)
{
    (void)state;
    tc_tx tx;
    tc_tx_init(&tx);
    tc_tx_alloc(&tx, 1, 1);
    tx.version = 0x04030201u;
    fill(tx.in[0].prev.txid.b, 32, 1);
    tx.in[0].prev.vout = 0x0d0c0b0au;
    fill(tx.in[0].pubkey.b, 32, 2);
    fill(tx.in[0].sig.b, 64, 3);
    tx.out[0].value = 0x8877665544332211ull;
    tx.out[0].addr.version = 0x5a;
    fill(tx.out[0].addr.hash.b, 32, 4);
    tx.lock_time = 0xa4a3a2a1u;

    uint8_t want[4 + 1 + 1 + 32 + 4 + 32 + 1 + 8 + 1 + 32 + 4 + 64];
    uint8_t *w = want;
    memcpy(w, "\x01\x02\x03\x04", 4), w += 4;
    *w++ = 0x00;
    *w++ = 0x01;
    fill(w, 32, 1), w += 32;
    memcpy(w, "\x0a\x0b\x0c\x0d", 4), w += 4;
    fill(w, 32, 2), w += 32;
    *w++ = 0x01;
    memcpy(w, "\x11\x22\x33\x44\x55\x66\x77\x88", 8), w += 8;
    *w++ = 0x5a;
    fill(w, 32, 4), w += 32;
    memcpy(w, "\xa1\xa2\xa3\xa4", 4), w += 4;
    fill(w, 64, 3), w += 64;
    assert_int_equal(w - want, sizeof want);

    tc_buf b;
    encode(&tx, &b);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    assert_int_equal(tc_tx_size(&tx), sizeof want);

    /* the unsigned encoding is the same without the signature */
    tc_buf u;
    tc_buf_init(&u);
    tc_tx_encode_unsigned(&tx, &u);
    assert_int_equal(u.len, sizeof want - 64);
    assert_memory_equal(u.p, want, u.len);
    tc_buf_release(&u);
    tc_buf_release(&b);
    tc_tx_release(&tx);
}

static void assert_same_tx(const tc_tx *a, const tc_tx *b)
{
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->n_in, b->n_in);
    assert_int_equal(a->n_out, b->n_out);
    for (size_t i = 0; i < a->n_in; i++) {
        assert_memory_equal(a->in[i].prev.txid.b, b->in[i].prev.txid.b, 32);
        assert_int_equal(a->in[i].prev.vout, b->in[i].prev.vout);
        assert_memory_equal(a->in[i].pubkey.b, b->in[i].pubkey.b, 32);
        assert_memory_equal(a->in[i].sig.b, b->in[i].sig.b, 64);
    }
    for (size_t i = 0; i < a->n_out; i++) {
        assert_true(a->out[i].value == b->out[i].value);
        assert_int_equal(a->out[i].addr.version, b->out[i].addr.version);
        assert_memory_equal(a->out[i].addr.hash.b, b->out[i].addr.hash.b, 32);
    }
    assert_int_equal(a->lock_time, b->lock_time);
    for (size_t k = 0; k < tc_tx_xsig_count(a->kind); k++)
        assert_memory_equal(a->xsig[k].b, b->xsig[k].b, 64);
    switch (a->kind) {
    case TC_TX_COINBASE:
        assert_true(a->u.coinbase_height == b->u.coinbase_height);
        break;
    case TC_TX_MN_REGISTER:
        assert_int_equal(a->u.reg.tier, b->u.reg.tier);
        assert_memory_equal(a->u.reg.collateral.txid.b, b->u.reg.collateral.txid.b, 32);
        assert_int_equal(a->u.reg.collateral.vout, b->u.reg.collateral.vout);
        assert_memory_equal(a->u.reg.owner.b, b->u.reg.owner.b, 32);
        assert_memory_equal(a->u.reg.operator_key.b, b->u.reg.operator_key.b, 32);
        assert_int_equal(a->u.reg.reward.version, b->u.reg.reward.version);
        assert_memory_equal(a->u.reg.reward.hash.b, b->u.reg.reward.hash.b, 32);
        assert_string_equal(a->u.reg.netaddr, b->u.reg.netaddr);
        break;
    case TC_TX_MN_UPDATE:
        assert_memory_equal(a->u.update.collateral.txid.b, b->u.update.collateral.txid.b, 32);
        assert_int_equal(a->u.update.collateral.vout, b->u.update.collateral.vout);
        assert_memory_equal(a->u.update.owner.b, b->u.update.owner.b, 32);
        assert_memory_equal(a->u.update.reward.hash.b, b->u.update.reward.hash.b, 32);
        assert_string_equal(a->u.update.netaddr, b->u.update.netaddr);
        break;
    case TC_TX_MN_DEREGISTER:
    case TC_TX_MN_UNJAIL:
        assert_memory_equal(a->u.dereg.collateral.txid.b, b->u.dereg.collateral.txid.b, 32);
        assert_int_equal(a->u.dereg.collateral.vout, b->u.dereg.collateral.vout);
        assert_memory_equal(a->u.dereg.owner.b, b->u.dereg.owner.b, 32);
        break;
    case TC_TX_EVIDENCE: {
        const tc_vote *v[2][2] = {{&a->u.evidence.a, &b->u.evidence.a},
                                  {&a->u.evidence.b, &b->u.evidence.b}};
        for (int i = 0; i < 2; i++) {
            assert_int_equal(v[i][0]->type, v[i][1]->type);
            assert_true(v[i][0]->height == v[i][1]->height);
            assert_int_equal(v[i][0]->round, v[i][1]->round);
            assert_memory_equal(v[i][0]->block.b, v[i][1]->block.b, 32);
            assert_memory_equal(v[i][0]->validator.b, v[i][1]->validator.b, 32);
            assert_memory_equal(v[i][0]->sig.b, v[i][1]->sig.b, 64);
        }
        break;
    }
    default:
        break;
    }
}

static void test_round_trip_every_kind(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        tc_tx tx, back;
        build_tx(&tx, all_kinds[k]);
        tc_buf b1, b2;
        encode(&tx, &b1);
        assert_int_equal(tc_tx_size(&tx), b1.len);

        int err = tc_tx_decode(&back, b1.p, b1.len);
        if (err)
            fail_msg("kind %s: decode %s", tc_tx_kind_name(all_kinds[k]), tc_errname(err));
        assert_same_tx(&tx, &back);
        encode(&back, &b2);
        assert_int_equal(b1.len, b2.len);
        assert_memory_equal(b1.p, b2.p, b1.len);
        assert_int_equal(tc_tx_size(&back), b2.len);

        /* a deep copy encodes the same and owns its arrays */
        tc_tx copy;
        tc_tx_copy(&copy, &back);
        tc_tx_release(&back);
        tc_buf_reset(&b2);
        tc_tx_encode(&copy, &b2);
        assert_memory_equal(b1.p, b2.p, b1.len);
        tc_tx_release(&copy);

        tc_buf_release(&b1);
        tc_buf_release(&b2);
        tc_tx_release(&tx);
    }
}

static void test_empty_transfer(void **state)
{
    (void)state;
    tc_tx tx, back;
    tc_tx_init(&tx);
    assert_int_equal(tx.version, TC_TX_VERSION);
    assert_int_equal(tx.kind, TC_TX_TRANSFER);
    tc_buf b;
    encode(&tx, &b);
    static const uint8_t want[] = {0x01, 0, 0, 0, 0x00, 0x00, 0x00, 0, 0, 0, 0};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    assert_int_equal(tc_tx_size(&tx), sizeof want);
    assert_int_equal(tc_tx_decode(&back, b.p, b.len), 0);
    assert_int_equal(back.n_in, 0);
    assert_int_equal(back.n_out, 0);
    tc_tx_release(&back);
    tc_buf_release(&b);
}

static void test_sizes_per_kind(void **state)
{
    (void)state;
    /* fixed layout sizes from tx.h: head 4+1, in 32+4+32, out 8+1+32, lock 4, sig 64 */
    assert_int_equal(tc_tx_xsig_count(TC_TX_TRANSFER), 0);
    assert_int_equal(tc_tx_xsig_count(TC_TX_COINBASE), 0);
    assert_int_equal(tc_tx_xsig_count(TC_TX_MN_REGISTER), 2);
    assert_int_equal(tc_tx_xsig_count(TC_TX_MN_UPDATE), 1);
    assert_int_equal(tc_tx_xsig_count(TC_TX_MN_DEREGISTER), 1);
    assert_int_equal(tc_tx_xsig_count(TC_TX_MN_UNJAIL), 1);
    assert_int_equal(tc_tx_xsig_count(TC_TX_EVIDENCE), 0);
    assert_int_equal(tc_tx_xsig_count(200), 0);

    tc_tx tx;
    build_tx(&tx, TC_TX_TRANSFER); /* 3 in, 2 out */
    assert_int_equal(tc_tx_size(&tx), 5 + 1 + 3 * 132 + 1 + 2 * 41 + 4);
    tc_tx_release(&tx);
    build_tx(&tx, TC_TX_COINBASE); /* 0 in, 2 out */
    assert_int_equal(tc_tx_size(&tx), 5 + 1 + 1 + 2 * 41 + 4 + 8);
    tc_tx_release(&tx);
    build_tx(&tx, TC_TX_MN_REGISTER); /* 1 in, 1 out, netaddr 17 chars */
    assert_int_equal(tc_tx_size(&tx), 5 + 1 + 132 + 1 + 41 + 4 + 1 + 36 + 32 + 32 + 33 + 1 + 17 + 128);
    tc_tx_release(&tx);
    build_tx(&tx, TC_TX_MN_UPDATE); /* netaddr 19 chars */
    assert_int_equal(tc_tx_size(&tx), 5 + 1 + 132 + 1 + 41 + 4 + 36 + 32 + 33 + 1 + 19 + 64);
    tc_tx_release(&tx);
    build_tx(&tx, TC_TX_MN_DEREGISTER);
    assert_int_equal(tc_tx_size(&tx), 5 + 1 + 132 + 1 + 41 + 4 + 36 + 32 + 64);
    tc_tx_release(&tx);
    build_tx(&tx, TC_TX_EVIDENCE);
    assert_int_equal(tc_tx_size(&tx), 5 + 1 + 132 + 1 + 41 + 4 + 2 * TC_VOTE_SIZE);
    tc_tx_release(&tx);
}

static void assert_size_is_encoded_len(const tc_tx *tx)
{
    tc_buf b;
    encode(tx, &b);
    assert_int_equal(tc_tx_size(tx), b.len);
    tc_buf_release(&b);
}

/* tc_tx_size is the encoder's length for every kind, at the compact-size
 * boundaries of the counts (252 | 253) and the netaddr's length limits. */
static void test_size_is_encoded_length(void **state)
{
    (void)state;
    static const size_t counts[] = {0, 1, 252, 253, 300};
    for (size_t k = 0; k < N_KINDS; k++) {
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
            tc_tx tx;
            build_tx(&tx, all_kinds[k]);
            fill_ins_outs(&tx, counts[ci], counts[(ci + 2) % 5], (uint8_t)k);
            assert_size_is_encoded_len(&tx);
            tc_tx_release(&tx);
        }
    }
    static const size_t alen[] = {1, 2, TC_MAX_NETADDR - 1, TC_MAX_NETADDR};
    for (size_t a = 0; a < sizeof alen / sizeof alen[0]; a++) {
        tc_tx tx;
        build_tx(&tx, TC_TX_MN_REGISTER);
        memset(tx.u.reg.netaddr, 'a', alen[a]);
        tx.u.reg.netaddr[alen[a]] = '\0';
        assert_size_is_encoded_len(&tx);
        tc_tx_release(&tx);
        build_tx(&tx, TC_TX_MN_UPDATE);
        memset(tx.u.update.netaddr, 'b', alen[a]);
        tx.u.update.netaddr[alen[a]] = '\0';
        assert_size_is_encoded_len(&tx);
        tc_tx_release(&tx);
    }
    tc_tx tx;
    build_tx(&tx, TC_TX_TRANSFER);
    tx.kind = 200; /* unknown: no payload, no extra signatures */
    assert_size_is_encoded_len(&tx);
    tc_tx_release(&tx);
}

/* Runs fn in a child and asserts that it dies of SIGABRT (a misuse abort). */
static void assert_aborts(void (*fn)(void))
{
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (freopen("/dev/null", "w", stderr) == NULL)
            _exit(2);
        fn();
        _exit(0); /* returned: not aborted */
    }
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
}

static void sign_input_past_end(void)
{
    tc_tx tx;
    tc_keypair kp;
    build_tx(&tx, TC_TX_TRANSFER); /* 3 inputs */
    make_kp(&kp, 1);
    tx.in[2].pubkey = kp.pk;
    tc_tx_sign_input(&tx, 2, CHAIN, &kp); /* the last one: fine */
    tc_tx_sign_input(&tx, 3, CHAIN, &kp);
}

static void sign_extra_past_kind(void)
{
    tc_tx tx;
    tc_keypair kp;
    build_tx(&tx, TC_TX_MN_UPDATE); /* 1 extra signature */
    make_kp(&kp, 2);
    tc_tx_sign_extra(&tx, 0, CHAIN, &kp); /* fine */
    tc_tx_sign_extra(&tx, 1, CHAIN, &kp);
}

static void sign_extra_on_transfer(void)
{
    tc_tx tx;
    tc_keypair kp;
    build_tx(&tx, TC_TX_TRANSFER);
    make_kp(&kp, 3);
    tc_tx_sign_extra(&tx, 0, CHAIN, &kp);
}

static void sign_input_on_coinbase(void)
{
    tc_tx tx;
    tc_keypair kp;
    build_tx(&tx, TC_TX_COINBASE); /* no inputs */
    make_kp(&kp, 4);
    tc_tx_sign_input(&tx, 0, CHAIN, &kp);
}

/* An index out of range is a caller bug: abort, never write past the arrays. */
static void test_sign_index_out_of_range_aborts(void **state)
{
    (void)state;
    assert_aborts(sign_input_past_end);
    assert_aborts(sign_extra_past_kind);
    assert_aborts(sign_extra_on_transfer);
    assert_aborts(sign_input_on_coinbase);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(tc_tx_kind_name(TC_TX_TRANSFER), "transfer");
    assert_string_equal(tc_tx_kind_name(TC_TX_COINBASE), "coinbase");
    assert_string_equal(tc_tx_kind_name(TC_TX_MN_REGISTER), "mn_register");
    assert_string_equal(tc_tx_kind_name(TC_TX_MN_UPDATE), "mn_update");
    assert_string_equal(tc_tx_kind_name(TC_TX_MN_DEREGISTER), "mn_deregister");
    assert_string_equal(tc_tx_kind_name(TC_TX_EVIDENCE), "evidence");
    assert_string_equal(tc_tx_kind_name(TC_TX_MN_UNJAIL), "mn_unjail");
    assert_string_equal(tc_tx_kind_name(TC_TX_KIND_COUNT), "unknown");
    assert_string_equal(tc_tx_kind_name(255), "unknown");
}

/* ---- txid and sighash ----------------------------------------------------- */

static void test_txid_is_hash_of_unsigned(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        tc_tx tx;
        build_tx(&tx, all_kinds[k]);
        tc_buf full, u;
        encode(&tx, &full);
        tc_buf_init(&u);
        tc_tx_encode_unsigned(&tx, &u);
        /* unsigned = full minus the trailing signatures */
        size_t nsig = tx.n_in + tc_tx_xsig_count(tx.kind);
        assert_int_equal(u.len + 64 * nsig, full.len);
        assert_memory_equal(u.p, full.p, u.len);

        tc_hash want, got;
        tc_hash_once(TC_H_TXID, u.p, u.len, &want);
        tc_tx_txid(&tx, &got);
        assert_memory_equal(want.b, got.b, 32);
        tc_buf_release(&full);
        tc_buf_release(&u);
        tc_tx_release(&tx);
    }
}

static void test_txid_excludes_signatures(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        tc_tx tx;
        build_tx(&tx, all_kinds[k]);
        tc_hash before, after;
        tc_tx_txid(&tx, &before);
        for (size_t i = 0; i < tx.n_in; i++)
            fill(tx.in[i].sig.b, 64, (uint8_t)(200 + i));
        for (size_t x = 0; x < TC_TX_MAX_XSIGS; x++)
            fill(tx.xsig[x].b, 64, (uint8_t)(220 + x));
        tc_tx_txid(&tx, &after);
        assert_memory_equal(before.b, after.b, 32);
        tc_tx_release(&tx);
    }
}

typedef void (*mutator)(tc_tx *tx);

static void m_version(tc_tx *tx) { tx->version ^= 1; }
static void m_prev_txid(tc_tx *tx) { tx->in[0].prev.txid.b[5] ^= 1; }
static void m_prev_vout(tc_tx *tx) { tx->in[1].prev.vout ^= 0x80000000u; }
static void m_pubkey(tc_tx *tx) { tx->in[2].pubkey.b[31] ^= 1; }
static void m_value(tc_tx *tx) { tx->out[0].value += 1; }
static void m_addr_version(tc_tx *tx) { tx->out[1].addr.version ^= 1; }
static void m_addr_hash(tc_tx *tx) { tx->out[1].addr.hash.b[0] ^= 1; }
static void m_lock_time(tc_tx *tx) { tx->lock_time ^= 0x01000000u; }
static void m_kind(tc_tx *tx) { tx->kind = TC_TX_COINBASE; }
static void m_drop_output(tc_tx *tx) { tx->n_out--; }

static void m_reg_tier(tc_tx *tx) { tx->u.reg.tier = TC_TIER_GOLD; }
static void m_reg_coll_txid(tc_tx *tx) { tx->u.reg.collateral.txid.b[31] ^= 1; }
static void m_reg_coll_vout(tc_tx *tx) { tx->u.reg.collateral.vout ^= 1; }
static void m_reg_owner(tc_tx *tx) { tx->u.reg.owner.b[0] ^= 1; }
static void m_reg_operator(tc_tx *tx) { tx->u.reg.operator_key.b[17] ^= 1; }
static void m_reg_reward_v(tc_tx *tx) { tx->u.reg.reward.version ^= 1; }
static void m_reg_reward_h(tc_tx *tx) { tx->u.reg.reward.hash.b[9] ^= 1; }
static void m_reg_netaddr(tc_tx *tx) { tx->u.reg.netaddr[0] = '1'; }
static void m_reg_netaddr_len(tc_tx *tx) { strcat(tx->u.reg.netaddr, "0"); }

static void test_txid_commits_to_every_field(void **state)
{
    (void)state;
    static const mutator transfer_m[] = {m_version,     m_prev_txid, m_prev_vout,
                                         m_pubkey,      m_value,     m_addr_version,
                                         m_addr_hash,   m_lock_time, m_kind,
                                         m_drop_output};
    static const mutator reg_m[] = {m_reg_tier,     m_reg_coll_txid, m_reg_coll_vout,
                                    m_reg_owner,    m_reg_operator,  m_reg_reward_v,
                                    m_reg_reward_h, m_reg_netaddr,   m_reg_netaddr_len};
    tc_tx tx;
    tc_hash base, h;

    build_tx(&tx, TC_TX_TRANSFER);
    tc_tx_txid(&tx, &base);
    tc_tx_release(&tx);
    for (size_t i = 0; i < sizeof transfer_m / sizeof transfer_m[0]; i++) {
        build_tx(&tx, TC_TX_TRANSFER);
        transfer_m[i](&tx);
        tc_tx_txid(&tx, &h);
        if (tc_hash_eq(&base, &h))
            fail_msg("transfer mutation %zu kept the txid", i);
        tx.n_out = 2; /* m_drop_output: restore for release */
        tc_tx_release(&tx);
    }

    build_tx(&tx, TC_TX_MN_REGISTER);
    tc_tx_txid(&tx, &base);
    tc_tx_release(&tx);
    for (size_t i = 0; i < sizeof reg_m / sizeof reg_m[0]; i++) {
        build_tx(&tx, TC_TX_MN_REGISTER);
        reg_m[i](&tx);
        tc_tx_txid(&tx, &h);
        if (tc_hash_eq(&base, &h))
            fail_msg("register mutation %zu kept the txid", i);
        tc_tx_release(&tx);
    }

    /* the payload of each other kind */
    for (size_t k = 0; k < N_KINDS; k++) {
        uint8_t kind = all_kinds[k];
        build_tx(&tx, kind);
        tc_tx_txid(&tx, &base);
        switch (kind) {
        case TC_TX_COINBASE:
            tx.u.coinbase_height++;
            break;
        case TC_TX_MN_UPDATE:
            tx.u.update.netaddr[3] = 'x';
            break;
        case TC_TX_MN_DEREGISTER:
            tx.u.dereg.collateral.vout++;
            break;
        case TC_TX_MN_UNJAIL:
            tx.u.unjail.owner.b[4] ^= 1;
            break;
        case TC_TX_EVIDENCE:
            tx.u.evidence.b.block.b[0] ^= 1;
            break;
        default:
            tc_tx_release(&tx);
            continue;
        }
        tc_tx_txid(&tx, &h);
        if (tc_hash_eq(&base, &h))
            fail_msg("payload mutation of %s kept the txid", tc_tx_kind_name(kind));
        tc_tx_release(&tx);
    }

    /* update: every payload field */
    build_tx(&tx, TC_TX_MN_UPDATE);
    tc_tx_txid(&tx, &base);
    for (int f = 0; f < 4; f++) {
        tc_tx t2;
        tc_tx_copy(&t2, &tx);
        if (f == 0)
            t2.u.update.collateral.txid.b[0] ^= 1;
        else if (f == 1)
            t2.u.update.owner.b[0] ^= 1;
        else if (f == 2)
            t2.u.update.reward.hash.b[0] ^= 1;
        else
            t2.u.update.reward.version ^= 1;
        tc_tx_txid(&t2, &h);
        assert_false(tc_hash_eq(&base, &h));
        tc_tx_release(&t2);
    }
    tc_tx_release(&tx);
}

static void test_sighash_commits_to_chain_id(void **state)
{
    (void)state;
    tc_tx tx;
    build_tx(&tx, TC_TX_TRANSFER);
    tc_hash txid, sh[4];
    tc_tx_txid(&tx, &txid);
    for (uint32_t c = 1; c <= 3; c++) {
        tc_tx_sighash(&txid, c, &sh[c]);
        uint8_t msg[36];
        tc_le32(msg, c);
        memcpy(msg + 4, txid.b, 32);
        tc_hash want;
        tc_hash_once(TC_H_SIGHASH, msg, sizeof msg, &want);
        assert_memory_equal(want.b, sh[c].b, 32);
        assert_false(tc_hash_eq(&sh[c], &txid));
    }
    assert_false(tc_hash_eq(&sh[1], &sh[2]));
    assert_false(tc_hash_eq(&sh[1], &sh[3]));
    assert_false(tc_hash_eq(&sh[2], &sh[3]));
    tc_hash other;
    tc_tx_sighash(&txid, 0x01000000u, &other); /* chain id is little-endian u32 */
    assert_false(tc_hash_eq(&other, &sh[1]));
    tc_tx_release(&tx);
}

static void test_sign_and_verify(void **state)
{
    (void)state;
    tc_keypair k0, k1, owner, op;
    make_kp(&k0, 100);
    make_kp(&k1, 101);
    make_kp(&owner, 102);
    make_kp(&op, 103);

    /* transfer, two inputs: keys set first, as a wallet does */
    tc_tx tx;
    build_tx(&tx, TC_TX_TRANSFER);
    tx.in[0].pubkey = k0.pk;
    tx.in[1].pubkey = k1.pk;
    tx.in[2].pubkey = k0.pk;
    tc_hash txid_before, txid_after, sh, wrong;
    tc_tx_txid(&tx, &txid_before);
    tc_tx_sign_input(&tx, 0, CHAIN, &k0);
    tc_tx_sign_input(&tx, 1, CHAIN, &k1);
    tc_tx_sign_input(&tx, 2, CHAIN, &k0);
    tc_tx_txid(&tx, &txid_after);
    assert_memory_equal(txid_before.b, txid_after.b, 32);
    assert_memory_equal(tx.in[1].pubkey.b, k1.pk.b, 32);
    tc_tx_sighash(&txid_after, CHAIN, &sh);
    tc_tx_sighash(&txid_after, 1, &wrong);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(tc_verify(&tx.in[i].pubkey, sh.b, 32, &tx.in[i].sig), 0);
        assert_int_equal(tc_verify(&tx.in[i].pubkey, wrong.b, 32, &tx.in[i].sig), TC_ESIG);
    }
    /* a signature is bound to its key */
    assert_int_equal(tc_verify(&k1.pk, sh.b, 32, &tx.in[0].sig), TC_ESIG);
    /* signatures survive the round trip */
    tc_buf b;
    encode(&tx, &b);
    tc_tx back;
    assert_int_equal(tc_tx_decode(&back, b.p, b.len), 0);
    assert_int_equal(tc_verify(&back.in[1].pubkey, sh.b, 32, &back.in[1].sig), 0);
    tc_tx_release(&back);
    tc_buf_release(&b);
    tc_tx_release(&tx);

    /* register: input, owner and operator signatures over one sighash */
    build_tx(&tx, TC_TX_MN_REGISTER);
    tx.in[0].pubkey = k0.pk;
    tx.u.reg.owner = owner.pk;
    tx.u.reg.operator_key = op.pk;
    tc_tx_sign_input(&tx, 0, CHAIN, &k0);
    tc_tx_sign_extra(&tx, 0, CHAIN, &owner);
    tc_tx_sign_extra(&tx, 1, CHAIN, &op);
    tc_hash txid;
    tc_tx_txid(&tx, &txid);
    tc_tx_sighash(&txid, CHAIN, &sh);
    assert_int_equal(tc_verify(&k0.pk, sh.b, 32, &tx.in[0].sig), 0);
    assert_int_equal(tc_verify(&owner.pk, sh.b, 32, &tx.xsig[0]), 0);
    assert_int_equal(tc_verify(&op.pk, sh.b, 32, &tx.xsig[1]), 0);
    assert_int_equal(tc_verify(&op.pk, sh.b, 32, &tx.xsig[0]), TC_ESIG);
    /* changing any signed field breaks every signature */
    tx.u.reg.tier = TC_TIER_GOLD;
    tc_tx_txid(&tx, &txid);
    tc_tx_sighash(&txid, CHAIN, &sh);
    assert_int_equal(tc_verify(&k0.pk, sh.b, 32, &tx.in[0].sig), TC_ESIG);
    assert_int_equal(tc_verify(&owner.pk, sh.b, 32, &tx.xsig[0]), TC_ESIG);
    tc_tx_release(&tx);

    tc_keypair_wipe(&k0);
    tc_keypair_wipe(&k1);
    tc_keypair_wipe(&owner);
    tc_keypair_wipe(&op);
}

/* ---- decoder rejections --------------------------------------------------- */

static void test_truncated_every_prefix(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        tc_tx tx;
        build_tx(&tx, all_kinds[k]);
        tc_buf b;
        encode(&tx, &b);
        for (size_t len = 0; len < b.len; len++) {
            /* a fresh heap copy of exactly len bytes, so ASan sees any overread */
            uint8_t *p = malloc(len ? len : 1);
            assert_non_null(p);
            memcpy(p, b.p, len);
            size_t pos;
            int err = decode_at(p, len, &pos);
            if (err != TC_ETRUNC)
                fail_msg("%s prefix %zu/%zu: %s", tc_tx_kind_name(all_kinds[k]), len, b.len,
                         tc_errname(err));
            assert_true(pos <= len);
            free(p);
        }
        tc_buf_release(&b);
        tc_tx_release(&tx);
    }
}

static void test_trailing_byte(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        tc_tx tx;
        build_tx(&tx, all_kinds[k]);
        tc_buf b;
        encode(&tx, &b);
        size_t len = b.len;
        tc_buf_u8(&b, 0x00);
        size_t pos;
        assert_int_equal(decode_at(b.p, b.len, &pos), TC_ETRAILING);
        assert_int_equal(pos, len);

        /* tc_tx_read stops after one tx and leaves the rest */
        tc_reader r;
        tc_reader_init(&r, b.p, b.len);
        tc_tx back;
        assert_int_equal(tc_tx_read(&r, &back), 0);
        assert_int_equal(r.pos, len);
        tc_tx_release(&back);
        tc_buf_release(&b);
        tc_tx_release(&tx);
    }
}

static void test_unknown_kind(void **state)
{
    (void)state;
    tc_tx tx;
    build_tx(&tx, TC_TX_TRANSFER);
    tc_buf b;
    encode(&tx, &b);
    static const uint8_t bad[] = {TC_TX_KIND_COUNT, 0x7f, 0x80, 0xff};
    for (size_t i = 0; i < sizeof bad; i++) {
        b.p[4] = bad[i];
        size_t pos;
        assert_int_equal(decode_at(b.p, b.len, &pos), TC_EBADVAL);
        assert_int_equal(pos, 4);
    }
    tc_buf_release(&b);
    tc_tx_release(&tx);
}

static void test_count_exceeds_bytes(void **state)
{
    (void)state;
    tc_tx tx;
    build_tx(&tx, TC_TX_TRANSFER); /* 3 inputs */
    tc_buf b;
    encode(&tx, &b);
    assert_int_equal(b.p[5], 3);
    size_t pos;

    /* one more input than present: rejected at the count, before any input */
    b.p[5] = 4;
    assert_int_equal(decode_at(b.p, b.len, &pos), TC_ETRUNC);
    assert_int_equal(pos, 6);

    /* the largest count below the limit against ~600 bytes: same, nothing allocated */
    tc_buf m;
    static const uint8_t big[] = {0xfd, 0x97, 0x1d}; /* 7575 */
    splice(&m, &b, 5, 1, big, sizeof big);
    assert_int_equal(decode_at(m.p, m.len, &pos), TC_ETRUNC);
    assert_int_equal(pos, 8);
    tc_buf_release(&m);

    /* outputs: 2 present, 3 claimed. The count bound is the minimum size of an
     * output, so the third is read from lock time and signatures and the
     * input ends short later on. */
    b.p[5] = 3;
    size_t out_at = 5 + 1 + 3 * 68;
    assert_int_equal(b.p[out_at], 2);
    b.p[out_at] = 3;
    assert_int_equal(decode_at(b.p, b.len, &pos), TC_ETRUNC);
    assert_true(pos > out_at + 1);
    /* 8 × 41 bytes exceed the 278 left: rejected at the count */
    b.p[out_at] = 8;
    assert_int_equal(decode_at(b.p, b.len, &pos), TC_ETRUNC);
    assert_int_equal(pos, out_at + 1);
    tc_buf_release(&b);
    tc_tx_release(&tx);
}

static void test_count_above_maximum(void **state)
{
    (void)state;
    tc_tx tx;
    build_tx(&tx, TC_TX_TRANSFER);
    tc_buf b, m;
    encode(&tx, &b);
    size_t pos;
    /* no tx of at most 1 MB holds a million inputs or outputs */
    static const uint8_t million[] = {0xfe, 0x40, 0x42, 0x0f, 0x00};
    splice(&m, &b, 5, 1, million, sizeof million);
    assert_int_equal(decode_at(m.p, m.len, &pos), TC_EOVERSIZE);
    assert_int_equal(pos, 5);
    tc_buf_release(&m);

    size_t out_at = 5 + 1 + 3 * 68;
    splice(&m, &b, out_at, 1, million, sizeof million);
    assert_int_equal(decode_at(m.p, m.len, &pos), TC_EOVERSIZE);
    assert_int_equal(pos, out_at);
    tc_buf_release(&m);

    static const uint8_t maxu64[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    splice(&m, &b, 5, 1, maxu64, sizeof maxu64);
    assert_int_equal(decode_at(m.p, m.len, &pos), TC_EOVERSIZE);
    tc_buf_release(&m);
    tc_buf_release(&b);
    tc_tx_release(&tx);
}

static void test_noncanonical_count(void **state)
{
    (void)state;
    tc_tx tx;
    build_tx(&tx, TC_TX_TRANSFER);
    tc_buf b, m;
    encode(&tx, &b);
    size_t pos;
    static const uint8_t three16[] = {0xfd, 0x03, 0x00};
    static const uint8_t three32[] = {0xfe, 0x03, 0x00, 0x00, 0x00};
    static const uint8_t two64[] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0};
    splice(&m, &b, 5, 1, three16, sizeof three16);
    assert_int_equal(decode_at(m.p, m.len, &pos), TC_ENONCANON);
    assert_int_equal(pos, 5);
    tc_buf_release(&m);
    splice(&m, &b, 5, 1, three32, sizeof three32);
    assert_int_equal(decode_at(m.p, m.len, &pos), TC_ENONCANON);
    assert_int_equal(pos, 5);
    tc_buf_release(&m);
    size_t out_at = 5 + 1 + 3 * 68;
    splice(&m, &b, out_at, 1, two64, sizeof two64);
    assert_int_equal(decode_at(m.p, m.len, &pos), TC_ENONCANON);
    assert_int_equal(pos, out_at);
    tc_buf_release(&m);
    tc_buf_release(&b);
    tc_tx_release(&tx);
}

/* A register tx whose netaddr field carries the raw bytes (na, n). */
static void register_with_netaddr(tc_buf *out, const uint8_t *na, size_t n)
{
    tc_tx tx;
    build_tx(&tx, TC_TX_MN_REGISTER);
    tx.u.reg.netaddr[0] = '\0';
    tc_buf_init(out);
    tc_tx_encode_unsigned(&tx, out);
    assert_int_equal(out->p[out->len - 1], 0x00); /* the empty netaddr, last */
    out->len--;
    tc_buf_var(out, na, n);
    tc_buf_put(out, tx.in[0].sig.b, 64);
    tc_buf_put(out, tx.xsig[0].b, 64);
    tc_buf_put(out, tx.xsig[1].b, 64);
    tc_tx_release(&tx);
}

static void test_netaddr_rejections(void **state)
{
    (void)state;
    tc_buf b;
    size_t pos;
    tc_tx back;

    /* the helper builds valid encodings */
    register_with_netaddr(&b, (const uint8_t *)"10.0.0.1:24000", 14);
    assert_int_equal(tc_tx_decode(&back, b.p, b.len), 0);
    assert_string_equal(back.u.reg.netaddr, "10.0.0.1:24000");
    tc_tx_release(&back);
    tc_buf_release(&b);

    static const char *const bad[] = {"10.0.0.1 :24000", " 10.0.0.1:24000", "host\t:1",
                                      "host\n:1",         "host\x01:1",      "host\x7f:1",
                                      "h\xc3\xa9:1",      "host\0:1"};
    static const size_t bad_len[] = {15, 15, 7, 7, 7, 7, 5, 7};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        register_with_netaddr(&b, (const uint8_t *)bad[i], bad_len[i]);
        int err = decode_at(b.p, b.len, &pos);
        if (err != TC_EBADVAL)
            fail_msg("netaddr %zu: %s", i, tc_errname(err));
        tc_buf_release(&b);
    }

    /* TC_MAX_NETADDR characters are fine, one more is oversize */
    uint8_t longest[TC_MAX_NETADDR + 1];
    memset(longest, 'a', sizeof longest);
    register_with_netaddr(&b, longest, TC_MAX_NETADDR);
    assert_int_equal(tc_tx_decode(&back, b.p, b.len), 0);
    assert_int_equal(strlen(back.u.reg.netaddr), TC_MAX_NETADDR);
    tc_buf b2;
    encode(&back, &b2);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.p, b.p, b.len);
    tc_buf_release(&b2);
    tc_tx_release(&back);
    tc_buf_release(&b);

    register_with_netaddr(&b, longest, TC_MAX_NETADDR + 1);
    assert_int_equal(decode_at(b.p, b.len, &pos), TC_EOVERSIZE);
    tc_buf_release(&b);

    /* same rule in mn_update */
    tc_tx tx;
    build_tx(&tx, TC_TX_MN_UPDATE);
    strcpy(tx.u.update.netaddr, "bad host:1");
    encode(&tx, &b);
    assert_int_equal(decode_at(b.p, b.len, &pos), TC_EBADVAL);
    tc_buf_release(&b);
    tc_tx_release(&tx);
}

static void test_evidence_bad_vote_type(void **state)
{
    (void)state;
    tc_tx tx;
    build_tx(&tx, TC_TX_EVIDENCE);
    tc_buf b;
    encode(&tx, &b);
    /* evidence payload follows lock time; vote a's type is its first byte */
    size_t a_at = 5 + 1 + 68 + 1 + 41 + 4;
    size_t b_at = a_at + TC_VOTE_SIZE;
    assert_int_equal(b.p[a_at], TC_VOTE_PRECOMMIT);
    assert_int_equal(b.p[b_at], TC_VOTE_PRECOMMIT);
    size_t pos;
    static const uint8_t bad[] = {0, 3, 0xff};
    for (size_t i = 0; i < sizeof bad; i++) {
        b.p[a_at] = bad[i];
        assert_int_equal(decode_at(b.p, b.len, &pos), TC_EBADVAL);
        assert_int_equal(pos, a_at);
        b.p[a_at] = TC_VOTE_PRECOMMIT;
        b.p[b_at] = bad[i];
        assert_int_equal(decode_at(b.p, b.len, &pos), TC_EBADVAL);
        assert_int_equal(pos, b_at);
        b.p[b_at] = TC_VOTE_PRECOMMIT;
    }
    b.p[a_at] = TC_VOTE_PREVOTE; /* both types are valid encodings */
    assert_int_equal(decode_at(b.p, b.len, &pos), 0);
    tc_buf_release(&b);
    tc_tx_release(&tx);
}

static void test_oversize_tx(void **state)
{
    (void)state;
    /* 7575 inputs (the count limit) and 3 outputs encode to 1,000,036 bytes */
    tc_tx tx;
    tc_tx_init(&tx);
    tc_tx_alloc(&tx, 7575, 3);
    tc_buf b;
    encode(&tx, &b);
    assert_int_equal(b.len, 1000036);
    assert_int_equal(tc_tx_size(&tx), b.len);
    size_t pos;
    assert_int_equal(decode_at(b.p, b.len, &pos), TC_ETX_SIZE);
    tc_buf_release(&b);

    /* with 2 outputs it is 999,995 bytes and decodes */
    tx.n_out = 2;
    encode(&tx, &b);
    assert_int_equal(b.len, 999995);
    tc_tx back;
    assert_int_equal(tc_tx_decode(&back, b.p, b.len), 0);
    assert_int_equal(back.n_in, 7575);
    tc_tx_release(&back);
    tc_buf_release(&b);
    tx.n_out = 3;
    tc_tx_release(&tx);
}

static int group_setup(void **state)
{
    (void)state;
    return tc_crypto_init() == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_exact_bytes),
        cmocka_unit_test(test_round_trip_every_kind),
        cmocka_unit_test(test_empty_transfer),
        cmocka_unit_test(test_sizes_per_kind),
        cmocka_unit_test(test_size_is_encoded_length),
        cmocka_unit_test(test_sign_index_out_of_range_aborts),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_txid_is_hash_of_unsigned),
        cmocka_unit_test(test_txid_excludes_signatures),
        cmocka_unit_test(test_txid_commits_to_every_field),
        cmocka_unit_test(test_sighash_commits_to_chain_id),
        cmocka_unit_test(test_sign_and_verify),
        cmocka_unit_test(test_truncated_every_prefix),
        cmocka_unit_test(test_trailing_byte),
        cmocka_unit_test(test_unknown_kind),
        cmocka_unit_test(test_count_exceeds_bytes),
        cmocka_unit_test(test_count_above_maximum),
        cmocka_unit_test(test_noncanonical_count),
        cmocka_unit_test(test_netaddr_rejections),
        cmocka_unit_test(test_evidence_bad_vote_type),
        cmocka_unit_test(test_oversize_tx),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
