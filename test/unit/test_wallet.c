/* wallet: file round trips (encrypted and devnet-plain), wrong passphrase and
 * corrupt files refused and left byte-identical, mode 0600, unencrypted
 * refused off devnet; transfers: exact fee, change, dust to fee, insufficient
 * funds, locked coins, multi-input signatures, explicit fees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/validate.h"
#include "testdir.h"
#include "util/hex.h"
#include "wallet/wallet.h"
#include "util/file.h"

/* Fast Argon2id for tests only; production uses tc_wallet_kdf_default. */
static const tc_wallet_kdf fast = {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};

static char dir[64];
static char file[128];

static int setup(void **state)
{
    (void)state;
    if (testdir_make(dir, sizeof dir, "wallet"))
        return -1;
    snprintf(file, sizeof file, "%s/test.wallet", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return testdir_remove(dir);
}

static const tc_netparams *devnet(void)
{
    return tc_params_by_name("devnet");
}

static char *slurp(const char *path, size_t *n)
{
    char *p = NULL;
    tc_errmsg e;
    assert_int_equal(tc_file_read(path, 1 << 24, false, &p, n, &e), 0);
    char *copy = malloc(*n + 1);
    memcpy(copy, p, *n + 1);
    free(p);
    return copy;
}

static void spit(const char *path, const char *text)
{
    tc_errmsg e;
    unlink(path);
    assert_int_equal(tc_file_write(path, text, strlen(text), 0600, false, &e), 0);
}

/* Replaces the first occurrence of from with to in text (same length or not). */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t pre = (size_t)(at - text), n = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    memcpy(out, text, pre);
    strcpy(out + pre, to);
    strcat(out, at + strlen(from));
    return out;
}

static void assert_mode_0600(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

/* The key of address i can sign for it, and the file does not show its seed
 * unless it is a plain wallet. */
static void check_key(const tc_wallet *w, size_t i, const char *text, int plain)
{
    tc_keypair kp;
    tc_address a;
    uint8_t seed[32];
    char hex[65];
    assert_int_equal(tc_wallet_keypair(w, tc_wallet_address(w, i), &kp), 0);
    tc_address_from_pubkey(&a, &kp.pk);
    assert_true(tc_address_eq(&a, tc_wallet_address(w, i)));
    tc_keypair_seed(&kp, seed);
    tc_hex_encode(hex, seed, 32);
    assert_int_equal(strstr(text, hex) != NULL, plain);
    tc_keypair_wipe(&kp);
}

static void test_kdf_default_is_moderate(void **state)
{
    (void)state;
    assert_int_equal(tc_wallet_kdf_default.opslimit, crypto_pwhash_OPSLIMIT_MODERATE);
    assert_int_equal(tc_wallet_kdf_default.memlimit, crypto_pwhash_MEMLIMIT_MODERATE);
}

static void test_encrypted_round_trip(void **state)
{
    (void)state;
    tc_wallet *w, *r;
    tc_errmsg e;
    tc_address added;
    assert_int_equal(tc_wallet_create(&w, file, tc_params_by_name("testnet"), "correct horse", &fast, &e), 0);
    assert_true(tc_wallet_is_encrypted(w));
    assert_int_equal(tc_wallet_count(w), 1);
    assert_int_equal(tc_wallet_new_address(w, &added, &e), 0);
    assert_int_equal(tc_wallet_count(w), 2);
    assert_true(tc_address_eq(&added, tc_wallet_address(w, 1)));
    assert_false(tc_address_eq(tc_wallet_address(w, 0), tc_wallet_address(w, 1)));
    assert_mode_0600(file);

    assert_int_equal(tc_wallet_open(&r, file, "correct horse", &e), 0);
    assert_int_equal(tc_wallet_count(r), 2);
    assert_ptr_equal(tc_wallet_network(r), tc_params_by_name("testnet"));
    size_t n;
    char *text = slurp(file, &n);
    assert_non_null(strstr(text, "\"encrypted\": true"));
    for (size_t i = 0; i < 2; i++) {
        char a[TC_ADDR_STRLEN];
        assert_true(tc_address_eq(tc_wallet_address(w, i), tc_wallet_address(r, i)));
        tc_wallet_address_str(r, i, a);
        assert_memory_equal(a, "ttime1", 6);
        check_key(r, i, text, 0);
    }
    /* a key added to the reopened wallet survives another reopen */
    assert_int_equal(tc_wallet_new_address(r, NULL, &e), 0);
    tc_wallet_free(r);
    assert_int_equal(tc_wallet_open(&r, file, "correct horse", &e), 0);
    assert_int_equal(tc_wallet_count(r), 3);
    bool enc = false;
    const tc_netparams *net = NULL;
    assert_int_equal(tc_wallet_probe(file, &enc, &net, &e), 0);
    assert_true(enc);
    assert_ptr_equal(net, tc_params_by_name("testnet"));
    free(text);
    tc_wallet_free(r);
    tc_wallet_free(w);
    tc_keypair kp;
    tc_address nobody = {0};
    assert_int_equal(tc_wallet_create(&w, file, devnet(), "x", &fast, &e), TC_EEXIST);
    assert_null(w);
    assert_int_equal(tc_wallet_open(&w, file, "correct horse", &e), 0);
    assert_int_equal(tc_wallet_keypair(w, &nobody, &kp), TC_ENOTFOUND);
    tc_wallet_free(w);
    unlink(file);
}

static void test_plain_round_trip(void **state)
{
    (void)state;
    tc_wallet *w, *r;
    tc_errmsg e;
    assert_int_equal(tc_wallet_create(&w, file, devnet(), NULL, NULL, &e), 0);
    assert_false(tc_wallet_is_encrypted(w));
    assert_int_equal(tc_wallet_new_address(w, NULL, &e), 0);
    assert_mode_0600(file);
    assert_int_equal(tc_wallet_open(&r, file, NULL, &e), 0);
    size_t n;
    char *text = slurp(file, &n);
    assert_non_null(strstr(text, "\"encrypted\": false"));
    assert_int_equal(tc_wallet_count(r), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(tc_address_eq(tc_wallet_address(w, i), tc_wallet_address(r, i)));
        check_key(r, i, text, 1);
    }
    free(text);
    tc_wallet_free(r);
    tc_wallet_free(w);
    unlink(file);
}

static void test_wrong_passphrase_leaves_file(void **state)
{
    (void)state;
    tc_wallet *w;
    tc_errmsg e;
    assert_int_equal(tc_wallet_create(&w, file, devnet(), "right", &fast, &e), 0);
    tc_wallet_free(w);
    size_t n0, n1;
    char *before = slurp(file, &n0);
    assert_int_equal(tc_wallet_open(&w, file, "wrong", &e), TC_EPASSPHRASE);
    assert_null(w);
    assert_non_null(strstr(e.msg, "wrong passphrase"));
    assert_non_null(strstr(e.msg, file));
    assert_int_equal(tc_wallet_open(&w, file, NULL, &e), TC_EPASSPHRASE);
    assert_non_null(strstr(e.msg, "passphrase is needed"));
    char *after = slurp(file, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    assert_mode_0600(file);
    free(before);
    free(after);
    unlink(file);
}

/* Each damaged variant is refused as corrupt and left as it was. */
static void expect_corrupt(const char *text, const char *pass, int want)
{
    tc_wallet *w;
    tc_errmsg e;
    spit(file, text);
    assert_int_equal(tc_wallet_open(&w, file, pass, &e), want);
    assert_null(w);
    assert_non_null(strstr(e.msg, file));
    assert_int_equal(tc_wallet_create(&w, file, devnet(), pass, &fast, &e), TC_EEXIST);
    size_t n;
    char *after = slurp(file, &n);
    assert_int_equal(n, strlen(text));
    assert_memory_equal(after, text, n);
    free(after);
}

static void test_corrupt_refused_untouched(void **state)
{
    (void)state;
    tc_wallet *w;
    tc_errmsg e;
    assert_int_equal(tc_wallet_create(&w, file, devnet(), "pw", &fast, &e), 0);
    tc_wallet_free(w);
    size_t n;
    char *good = slurp(file, &n);
    unlink(file);

    expect_corrupt("", "pw", TC_ECORRUPT);
    expect_corrupt("{\"format\": \"timecoin-wallet\"", "pw", TC_ECORRUPT);
    expect_corrupt("[]", "pw", TC_ECORRUPT);
    char *trunc = strndup(good, n / 2);
    expect_corrupt(trunc, "pw", TC_ECORRUPT);
    free(trunc);

    /* one hex digit of the ciphertext flipped: authenticated, so corrupt
     * (the key check tells it apart from a wrong passphrase) */
    const char *data = strstr(good, "\"data\": \"") + 9;
    char *flip = strdup(good);
    flip[data - good] = data[0] == '0' ? '1' : '0';
    expect_corrupt(flip, "pw", TC_ECORRUPT);
    free(flip);

    /* edits of the text: the network (associated data), version, unknown or
     * duplicate keys, Argon2 limits beyond the sensitive ones */
    static const char *const edits[][2] = {
        {"\"devnet\"", "\"testnet\""},
        {"\"version\": 1", "\"version\": 2"},
        {"\"version\": 1", "\"version\": 1, \"comment\": 5"},
        {"\"version\": 1", "\"version\": 1, \"version\": 1"},
        {"\"memlimit\": 8192", "\"memlimit\": 99999999999"},
        {"\"encrypted\": true", "\"encrypted\": false"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *edited = replace(good, edits[i][0], edits[i][1]);
        expect_corrupt(edited, "pw", TC_ECORRUPT);
        free(edited);
    }

    /* an address that is not the key's */
    const char *addr = strstr(good, "\"dtime1");
    assert_non_null(addr);
    char *badaddr = strdup(good);
    badaddr[addr - good + 10] = badaddr[addr - good + 10] == 'q' ? 'p' : 'q';
    expect_corrupt(badaddr, "pw", TC_ECORRUPT);
    free(badaddr);
    free(good);

    /* a plain wallet with a short key */
    unlink(file);
    assert_int_equal(tc_wallet_create(&w, file, devnet(), NULL, NULL, &e), 0);
    tc_wallet_free(w);
    good = slurp(file, &n);
    unlink(file);
    const char *key = strstr(good, "\"keys\": [\n    \"") + 15;
    char *shortkey = strdup(good);
    memmove(shortkey + (key - good), shortkey + (key - good) + 2, strlen(shortkey + (key - good) + 2) + 1);
    expect_corrupt(shortkey, NULL, TC_ECORRUPT);
    free(shortkey);
    free(good);
    unlink(file);
}

static void test_unencrypted_devnet_only(void **state)
{
    (void)state;
    tc_wallet *w;
    tc_errmsg e;
    assert_int_equal(tc_wallet_create(&w, file, tc_params_by_name("mainnet"), NULL, NULL, &e), TC_EINVAL);
    assert_non_null(strstr(e.msg, "devnet only"));
    assert_int_equal(access(file, F_OK), -1);
    assert_int_equal(tc_wallet_create(&w, file, tc_params_by_name("testnet"), NULL, NULL, &e), TC_EINVAL);
    assert_int_equal(tc_wallet_create(&w, file, devnet(), "", &fast, &e), TC_EINVAL);
    assert_int_equal(access(file, F_OK), -1);

    /* a plain devnet file relabelled as mainnet is refused on open */
    assert_int_equal(tc_wallet_create(&w, file, devnet(), NULL, NULL, &e), 0);
    tc_wallet_free(w);
    size_t n;
    char *good = slurp(file, &n);
    char *relabel = replace(good, "\"devnet\"", "\"mainnet\"");
    spit(file, relabel);
    assert_int_equal(tc_wallet_open(&w, file, NULL, &e), TC_EINVAL);
    assert_non_null(strstr(e.msg, "unencrypted wallet for mainnet refused"));
    free(relabel);
    free(good);
    unlink(file);
}

/* ---- transfers --------------------------------------------------------- */

static tc_wallet *tw; /* devnet, three keys */
static tc_address stranger;

static int tx_setup(void **state)
{
    tc_errmsg e;
    if (setup(state) || tc_wallet_create(&tw, file, devnet(), NULL, NULL, &e) ||
        tc_wallet_new_address(tw, NULL, &e) || tc_wallet_new_address(tw, NULL, &e))
        return -1;
    tc_keypair kp;
    tc_keypair_generate(&kp);
    tc_address_from_pubkey(&stranger, &kp.pk);
    tc_keypair_wipe(&kp);
    return 0;
}

static int tx_teardown(void **state)
{
    tc_wallet_free(tw);
    return teardown(state);
}

static tc_wallet_coin coin(uint8_t tag, uint64_t value, size_t key, bool locked)
{
    tc_wallet_coin c = {.value = value, .locked = locked};
    memset(c.outpoint.txid.b, tag, 32);
    c.outpoint.vout = tag;
    c.addr = *tc_wallet_address(tw, key);
    return c;
}

/* Structure and every signature valid; returns the fee the tx pays. */
static uint64_t check_tx(const tc_tx *tx, const tc_wallet_coin *coins, size_t n)
{
    tc_errmsg e;
    tc_hash txid;
    assert_int_equal(tc_tx_check_basic(tx, &e), 0);
    tc_tx_txid(tx, &txid);
    assert_int_equal(tc_tx_check_sigs(tx, &txid, devnet()->chain_id, NULL, &e), 0);
    uint64_t in = 0, out = 0;
    for (size_t i = 0; i < tx->n_in; i++) {
        size_t k = 0;
        while (k < n && memcmp(&coins[k].outpoint, &tx->in[i].prev, sizeof coins[k].outpoint) != 0)
            k++;
        assert_true(k < n);
        assert_false(coins[k].locked);
        tc_address owner;
        tc_address_from_pubkey(&owner, &tx->in[i].pubkey);
        assert_true(tc_address_eq(&owner, &coins[k].addr));
        in += coins[k].value;
    }
    for (size_t o = 0; o < tx->n_out; o++) {
        assert_true(tx->out[o].value >= TC_DUST_LIMIT);
        out += tx->out[o].value;
    }
    assert_true(in >= out);
    assert_true(in - out >= tc_required_fee(tc_tx_sent_amount(tx)));
    return in - out;
}

static void test_fee_and_change(void **state)
{
    (void)state;
    tc_wallet_coin c[] = {coin(1, 1000 * TC_COIN, 1, false)};
    tc_tx tx;
    tc_errmsg e;
    uint64_t fee;
    assert_int_equal(tc_wallet_build_transfer(tw, c, 1, &stranger, 10 * TC_COIN, 0, &tx, &fee, &e), 0);
    assert_int_equal(fee, TC_COIN / 10); /* 1% of 10 TIME */
    assert_int_equal(check_tx(&tx, c, 1), fee);
    assert_int_equal(tx.n_in, 1);
    assert_int_equal(tx.n_out, 2);
    assert_int_equal(tx.out[0].value, 10 * TC_COIN);
    assert_true(tc_address_eq(&tx.out[0].addr, &stranger));
    assert_int_equal(tx.out[1].value, 1000 * TC_COIN - 10 * TC_COIN - TC_COIN / 10);
    assert_true(tc_address_eq(&tx.out[1].addr, &c[0].addr)); /* change to the input's address */
    assert_int_equal(tc_tx_sent_amount(&tx), 10 * TC_COIN);
    tc_tx_release(&tx);

    /* paying an input's own address sends nothing: the minimum fee */
    assert_int_equal(tc_wallet_build_transfer(tw, c, 1, &c[0].addr, 500 * TC_COIN, 0, &tx, &fee, &e), 0);
    assert_int_equal(fee, TC_MIN_FEE);
    assert_int_equal(check_tx(&tx, c, 1), TC_MIN_FEE);
    tc_tx_release(&tx);

    /* exactly amount + fee: no change */
    uint64_t amount = 2000 * TC_COIN, need = tc_required_fee(amount);
    tc_wallet_coin x[] = {coin(2, amount + need, 0, false)};
    assert_int_equal(tc_wallet_build_transfer(tw, x, 1, &stranger, amount, 0, &tx, &fee, &e), 0);
    assert_int_equal(fee, need);
    assert_int_equal(tx.n_out, 1);
    assert_int_equal(check_tx(&tx, x, 1), need);
    tc_tx_release(&tx);
}

static void test_dust_change_goes_to_fee(void **state)
{
    (void)state;
    uint64_t amount = 3 * TC_COIN, need = tc_required_fee(amount);
    tc_wallet_coin c[] = {coin(3, amount + need + TC_DUST_LIMIT - 1, 0, false)};
    tc_tx tx;
    tc_errmsg e;
    uint64_t fee;
    assert_int_equal(tc_wallet_build_transfer(tw, c, 1, &stranger, amount, 0, &tx, &fee, &e), 0);
    assert_int_equal(tx.n_out, 1);
    assert_int_equal(fee, need + TC_DUST_LIMIT - 1);
    assert_int_equal(check_tx(&tx, c, 1), fee);
    tc_tx_release(&tx);
    /* one sat more and the change is kept */
    c[0].value++;
    assert_int_equal(tc_wallet_build_transfer(tw, c, 1, &stranger, amount, 0, &tx, &fee, &e), 0);
    assert_int_equal(tx.n_out, 2);
    assert_int_equal(tx.out[1].value, TC_DUST_LIMIT);
    assert_int_equal(fee, need);
    tc_tx_release(&tx);
    /* an amount below the dust limit is refused */
    assert_int_equal(tc_wallet_build_transfer(tw, c, 1, &stranger, TC_DUST_LIMIT - 1, 0, &tx, &fee, &e),
                     TC_ETX_DUST);
    assert_non_null(strstr(e.msg, "dust"));
    assert_int_equal(tx.n_in, 0);
    tc_tx_release(&tx);
}

static void test_insufficient_funds(void **state)
{
    (void)state;
    tc_wallet_coin c[] = {coin(4, 2 * TC_COIN, 0, false), coin(5, 3 * TC_COIN, 1, false),
                          coin(6, 500 * TC_COIN, 2, true)};
    tc_tx tx;
    tc_errmsg e;
    assert_int_equal(tc_wallet_build_transfer(tw, c, 3, &stranger, 10 * TC_COIN, 0, &tx, NULL, &e),
                     TC_ETX_INSUFFICIENT);
    assert_non_null(strstr(e.msg, "5.00000000 TIME available in 2 spendable coins"));
    assert_non_null(strstr(e.msg, "1 locked coin of 500.00000000 TIME not counted"));
    assert_non_null(strstr(e.msg, "10.10000000 TIME needed (10.00000000 + fee 0.10000000)"));
    tc_tx_release(&tx);
    /* covering the amount but not the fee is not enough either */
    assert_int_equal(tc_wallet_build_transfer(tw, c, 2, &stranger, 5 * TC_COIN, 0, &tx, NULL, &e),
                     TC_ETX_INSUFFICIENT);
    assert_int_equal(tc_wallet_build_transfer(tw, c, 0, &stranger, 5 * TC_COIN, 0, &tx, NULL, &e),
                     TC_ETX_INSUFFICIENT);
    assert_non_null(strstr(e.msg, "0.00000000 TIME available in 0 spendable coins"));
    tc_tx_release(&tx);
}

static void test_locked_coins_skipped(void **state)
{
    (void)state;
    tc_wallet_coin c[] = {coin(7, 1000 * TC_COIN, 0, true), coin(8, 50 * TC_COIN, 1, false)};
    tc_tx tx;
    tc_errmsg e;
    uint64_t fee;
    assert_int_equal(tc_wallet_build_transfer(tw, c, 2, &stranger, 10 * TC_COIN, 0, &tx, &fee, &e), 0);
    assert_int_equal(tx.n_in, 1);
    assert_memory_equal(&tx.in[0].prev, &c[1].outpoint, sizeof c[1].outpoint);
    check_tx(&tx, c, 2); /* asserts no input is locked */
    tc_tx_release(&tx);
    assert_int_equal(tc_wallet_build_transfer(tw, c, 2, &stranger, 100 * TC_COIN, 0, &tx, &fee, &e),
                     TC_ETX_INSUFFICIENT);
    tc_tx_release(&tx);
}

static void test_multi_input_largest_first(void **state)
{
    (void)state;
    tc_wallet_coin c[] = {coin(9, 4 * TC_COIN, 0, false), coin(10, 1 * TC_COIN, 1, false),
                          coin(11, 6 * TC_COIN, 2, false), coin(12, 5 * TC_COIN, 1, false)};
    tc_tx tx;
    tc_errmsg e;
    uint64_t fee;
    /* 6 + 5 = 11 < 14.14; + 4 = 15 covers it; the 1 TIME coin is not touched */
    assert_int_equal(tc_wallet_build_transfer(tw, c, 4, &stranger, 14 * TC_COIN, 0, &tx, &fee, &e), 0);
    assert_int_equal(tx.n_in, 3);
    assert_memory_equal(&tx.in[0].prev, &c[2].outpoint, sizeof c[2].outpoint);
    assert_memory_equal(&tx.in[1].prev, &c[3].outpoint, sizeof c[3].outpoint);
    assert_memory_equal(&tx.in[2].prev, &c[0].outpoint, sizeof c[0].outpoint);
    assert_int_equal(fee, tc_required_fee(14 * TC_COIN));
    assert_int_equal(check_tx(&tx, c, 4), fee);
    /* three different keys signed, and a tampered signature is caught */
    assert_memory_not_equal(tx.in[0].pubkey.b, tx.in[1].pubkey.b, 32);
    assert_memory_not_equal(tx.in[0].pubkey.b, tx.in[2].pubkey.b, 32);
    tc_hash txid;
    tc_errmsg e2;
    tx.in[2].sig.b[0] ^= 1;
    tc_tx_txid(&tx, &txid);
    assert_int_not_equal(tc_tx_check_sigs(&tx, &txid, devnet()->chain_id, NULL, &e2), 0);
    tc_tx_release(&tx);
    /* a small payment takes only the largest coin */
    assert_int_equal(tc_wallet_build_transfer(tw, c, 4, &stranger, 2 * TC_COIN, 0, &tx, &fee, &e), 0);
    assert_int_equal(tx.n_in, 1);
    assert_memory_equal(&tx.in[0].prev, &c[2].outpoint, sizeof c[2].outpoint);
    tc_tx_release(&tx);
}

static void test_explicit_fee(void **state)
{
    (void)state;
    tc_wallet_coin c[] = {coin(13, 100 * TC_COIN, 0, false)};
    tc_tx tx;
    tc_errmsg e;
    uint64_t fee, need = tc_required_fee(20 * TC_COIN);
    assert_int_equal(tc_wallet_build_transfer(tw, c, 1, &stranger, 20 * TC_COIN, need - 1, &tx, &fee, &e),
                     TC_ETX_FEE);
    assert_non_null(strstr(e.msg, "below the required"));
    tc_tx_release(&tx);
    assert_int_equal(tc_wallet_build_transfer(tw, c, 1, &stranger, 20 * TC_COIN, 1, &tx, &fee, &e), TC_ETX_FEE);
    tc_tx_release(&tx);
    assert_int_equal(tc_wallet_build_transfer(tw, c, 1, &stranger, 20 * TC_COIN, need + 12345, &tx, &fee, &e), 0);
    assert_int_equal(fee, need + 12345);
    assert_int_equal(check_tx(&tx, c, 1), fee);
    tc_tx_release(&tx);
    /* an explicit fee counts toward what the coins must cover */
    assert_int_equal(tc_wallet_build_transfer(tw, c, 1, &stranger, 20 * TC_COIN, 81 * TC_COIN, &tx, &fee, &e),
                     TC_ETX_INSUFFICIENT);
    tc_tx_release(&tx);
}

static void test_bad_coins(void **state)
{
    (void)state;
    tc_wallet_coin c[] = {coin(14, 100 * TC_COIN, 0, false), coin(14, 100 * TC_COIN, 1, false)};
    tc_tx tx;
    tc_errmsg e;
    assert_int_equal(tc_wallet_build_transfer(tw, c, 2, &stranger, TC_COIN, 0, &tx, NULL, &e), TC_EINVAL);
    assert_non_null(strstr(e.msg, "listed twice"));
    tc_tx_release(&tx);
    c[1].outpoint.vout = 99;
    c[1].addr = stranger;
    assert_int_equal(tc_wallet_build_transfer(tw, c, 2, &stranger, TC_COIN, 0, &tx, NULL, &e), TC_EINVAL);
    assert_non_null(strstr(e.msg, "not in this wallet"));
    tc_tx_release(&tx);
}

/* A transfer from a reopened encrypted wallet signs with the decrypted keys. */
static void test_encrypted_wallet_signs(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof path, "%s/enc.wallet", dir);
    tc_wallet *w;
    tc_errmsg e;
    assert_int_equal(tc_wallet_create(&w, path, devnet(), "pw", &fast, &e), 0);
    tc_wallet_free(w);
    assert_int_equal(tc_wallet_open(&w, path, "pw", &e), 0);
    tc_wallet_coin c = {.value = 10 * TC_COIN, .addr = *tc_wallet_address(w, 0)};
    tc_tx tx;
    uint64_t fee;
    assert_int_equal(tc_wallet_build_transfer(w, &c, 1, &stranger, TC_COIN, 0, &tx, &fee, &e), 0);
    assert_int_equal(check_tx(&tx, &c, 1), fee);
    tc_tx_release(&tx);
    tc_wallet_free(w);
}

int main(void)
{
    const struct CMUnitTest files[] = {
        cmocka_unit_test(test_kdf_default_is_moderate),
        cmocka_unit_test(test_encrypted_round_trip),
        cmocka_unit_test(test_plain_round_trip),
        cmocka_unit_test(test_wrong_passphrase_leaves_file),
        cmocka_unit_test(test_corrupt_refused_untouched),
        cmocka_unit_test(test_unencrypted_devnet_only),
    };
    const struct CMUnitTest transfers[] = {
        cmocka_unit_test(test_fee_and_change),
        cmocka_unit_test(test_dust_change_goes_to_fee),
        cmocka_unit_test(test_insufficient_funds),
        cmocka_unit_test(test_locked_coins_skipped),
        cmocka_unit_test(test_multi_input_largest_first),
        cmocka_unit_test(test_explicit_fee),
        cmocka_unit_test(test_bad_coins),
        cmocka_unit_test(test_encrypted_wallet_signs),
    };
    int failed = cmocka_run_group_tests_name("wallet files", files, setup, teardown);
    failed += cmocka_run_group_tests_name("wallet transfers", transfers, tx_setup, tx_teardown);
    return failed;
}
