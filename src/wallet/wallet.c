#include "wallet/wallet.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/amount.h"
#include "chain/utxo.h"
#include "chain/validate.h"
#include "util/hex.h"
#include "util/mem.h"
#include "util/file.h"

#define WALLET_FORMAT "timecoin-wallet"
#define WALLET_VERSION 1
#define WALLET_KDF_NAME "argon2id13"
#define WALLET_CIPHER_NAME "xchacha20poly1305-ietf"
#define WALLET_MAX_FILE (8u << 20)
#define SEED 32
#define AEAD_KEY crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define AEAD_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define AEAD_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SALT crypto_pwhash_argon2id_SALTBYTES
#define CHECK 16

const tc_wallet_kdf tc_wallet_kdf_default = {crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
                                             crypto_pwhash_argon2id_MEMLIMIT_MODERATE};

struct tc_wallet {
    char *path;
    const tc_netparams *net;
    bool encrypted;
    tc_wallet_kdf kdf;
    uint8_t salt[SALT];
    uint8_t *key;   /* sodium_malloc(AEAD_KEY); NULL when unencrypted */
    uint8_t *seeds; /* sodium_malloc(cap × SEED) */
    size_t n, cap;
    tc_address *addr; /* n public addresses and keys, derived from the seeds */
    tc_pubkey *pk;
};

/* ---- keys in memory --------------------------------------------------- */

static tc_wallet *wallet_new(const char *path, const tc_netparams *net)
{
    tc_wallet *w = tc_xcalloc(1, sizeof *w);
    w->path = tc_xstrdup(path);
    w->net = net;
    return w;
}

void tc_wallet_free(tc_wallet *w)
{
    if (w == NULL)
        return;
    sodium_free(w->key); /* sodium_free wipes; NULL is a no-op */
    sodium_free(w->seeds);
    free(w->addr);
    free(w->pk);
    free(w->path);
    sodium_memzero(w, sizeof *w);
    free(w);
}

/* Room for `want` keys; 0 or TC_ECRYPTO if secure memory is exhausted. */
static int reserve(tc_wallet *w, size_t want)
{
    if (want <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 4;
    while (cap < want)
        cap *= 2;
    uint8_t *seeds = sodium_malloc(cap * SEED);
    if (seeds == NULL)
        return TC_ECRYPTO;
    if (w->n)
        memcpy(seeds, w->seeds, w->n * SEED);
    sodium_free(w->seeds);
    w->seeds = seeds;
    w->addr = tc_xrealloc(w->addr, cap * sizeof *w->addr);
    w->pk = tc_xrealloc(w->pk, cap * sizeof *w->pk);
    w->cap = cap;
    return 0;
}

/* Derives the public key and address of seed slot i. */
static void derive(tc_wallet *w, size_t i)
{
    tc_keypair kp;
    tc_keypair_from_seed(&kp, w->seeds + i * SEED);
    w->pk[i] = kp.pk;
    tc_address_from_pubkey(&w->addr[i], &kp.pk);
    tc_keypair_wipe(&kp);
}

static long find_key(const tc_wallet *w, const tc_address *a)
{
    for (size_t i = 0; i < w->n; i++)
        if (tc_address_eq(&w->addr[i], a))
            return (long)i;
    return -1;
}

const tc_netparams *tc_wallet_network(const tc_wallet *w)
{
    return w->net;
}

bool tc_wallet_is_encrypted(const tc_wallet *w)
{
    return w->encrypted;
}

size_t tc_wallet_count(const tc_wallet *w)
{
    return w->n;
}

const tc_address *tc_wallet_address(const tc_wallet *w, size_t i)
{
    if (i >= w->n)
        abort(); /* caller bug */
    return &w->addr[i];
}

void tc_wallet_address_str(const tc_wallet *w, size_t i, char *out)
{
    if (tc_address_encode(out, tc_wallet_address(w, i), w->net->hrp) != 0)
        abort(); /* network prefixes are static and valid */
}

int tc_wallet_keypair(const tc_wallet *w, const tc_address *addr, tc_keypair *kp)
{
    long i = find_key(w, addr);
    if (i < 0) {
        memset(kp, 0, sizeof *kp);
        return TC_ENOTFOUND;
    }
    tc_keypair_from_seed(kp, w->seeds + (size_t)i * SEED);
    return 0;
}

/* ---- the file ---------------------------------------------------------- */

/* The header the AEAD binds the ciphertext to: format, version, network. */
static size_t header_ad(const tc_wallet *w, char *ad, size_t cap)
{
    return (size_t)snprintf(ad, cap, "%s/%d/%s", WALLET_FORMAT, WALLET_VERSION, w->net->name);
}

/* A short keyed hash of the derived key, stored beside the ciphertext, so a
 * wrong passphrase (TC_EPASSPHRASE) is told apart from altered data
 * (TC_ECORRUPT). It reveals no more than the AEAD tag already does. */
static void key_check(const uint8_t *key, uint8_t out[CHECK])
{
    static const char label[] = "timecoin-wallet key check";
    crypto_generichash(out, CHECK, (const uint8_t *)label, sizeof label - 1, key, AEAD_KEY);
}

static int derive_key(tc_wallet *w, const char *passphrase, tc_errmsg *e)
{
    if (w->key == NULL && (w->key = sodium_malloc(AEAD_KEY)) == NULL)
        return tc_fail(e, TC_ECRYPTO, "%s: cannot allocate secure memory", w->path);
    if (crypto_pwhash(w->key, AEAD_KEY, passphrase, strlen(passphrase), w->salt, w->kdf.opslimit, w->kdf.memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return tc_fail(e, TC_ECRYPTO, "%s: Argon2id failed (needs %zu MiB of memory)", w->path,
                       w->kdf.memlimit >> 20);
    return 0;
}

static json_t *hex_string(const uint8_t *p, size_t n)
{
    char *s = tc_xmalloc(2 * n + 1);
    json_t *j = json_string(tc_hex_encode(s, p, n));
    free(s);
    return j;
}

/* Wipes the characters of a JSON string that held secret material. */
static void wipe_json_string(json_t *s)
{
    if (json_is_string(s))
        sodium_memzero((char *)json_string_value(s), json_string_length(s));
}

static void add_encrypted(const tc_wallet *w, json_t *root)
{
    uint8_t nonce[AEAD_NONCE], check[CHECK];
    char ad[96];
    size_t ad_len = header_ad(w, ad, sizeof ad);
    size_t plain = w->n * SEED;
    uint8_t *ct = tc_xmalloc(plain + AEAD_TAG);
    unsigned long long ct_len = 0;
    randombytes_buf(nonce, sizeof nonce);
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, w->seeds, plain, (const uint8_t *)ad, ad_len, NULL,
                                               nonce, w->key);
    key_check(w->key, check);
    json_t *kdf = json_object(), *cipher = json_object();
    json_object_set_new(kdf, "algorithm", json_string(WALLET_KDF_NAME));
    json_object_set_new(kdf, "opslimit", json_integer((json_int_t)w->kdf.opslimit));
    json_object_set_new(kdf, "memlimit", json_integer((json_int_t)w->kdf.memlimit));
    json_object_set_new(kdf, "salt", hex_string(w->salt, SALT));
    json_object_set_new(cipher, "algorithm", json_string(WALLET_CIPHER_NAME));
    json_object_set_new(cipher, "nonce", hex_string(nonce, AEAD_NONCE));
    json_object_set_new(cipher, "key_check", hex_string(check, CHECK));
    json_object_set_new(cipher, "data", hex_string(ct, (size_t)ct_len));
    json_object_set_new(root, "kdf", kdf);
    json_object_set_new(root, "cipher", cipher);
    free(ct);
}

/* Writes the wallet to its path (replace: over an existing file). */
static int save(const tc_wallet *w, bool replace, tc_errmsg *e)
{
    json_t *root = json_object(), *keys = NULL, *addrs = json_array();
    json_object_set_new(root, "format", json_string(WALLET_FORMAT));
    json_object_set_new(root, "version", json_integer(WALLET_VERSION));
    json_object_set_new(root, "network", json_string(w->net->name));
    json_object_set_new(root, "encrypted", json_boolean(w->encrypted));
    if (w->encrypted) {
        add_encrypted(w, root);
    } else {
        keys = json_array();
        for (size_t i = 0; i < w->n; i++)
            json_array_append_new(keys, hex_string(w->seeds + i * SEED, SEED));
        json_object_set(root, "keys", keys);
    }
    for (size_t i = 0; i < w->n; i++) {
        char a[TC_ADDR_STRLEN];
        tc_wallet_address_str(w, i, a);
        json_array_append_new(addrs, json_string(a));
    }
    json_object_set_new(root, "addresses", addrs);

    const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
    size_t len = json_dumpb(root, NULL, 0, flags);
    char *text = sodium_malloc(len + 1);
    int err;
    if (text == NULL) {
        err = tc_fail(e, TC_ECRYPTO, "%s: cannot allocate secure memory", w->path);
    } else {
        json_dumpb(root, text, len, flags);
        text[len] = '\n';
        err = tc_file_write(w->path, text, len + 1, 0600, replace, e);
    }
    sodium_free(text);
    for (size_t i = 0; keys && i < json_array_size(keys); i++)
        wipe_json_string(json_array_get(keys, i));
    json_decref(keys);
    json_decref(root);
    return err;
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct {
    const char *path;
    tc_errmsg *e;
} pctx;

static int corrupt(const pctx *c, const char *what, const char *detail)
{
    return tc_fail(c->e, TC_ECORRUPT, "%s: not a valid wallet file: %s%s", c->path, what, detail);
}

static int only_keys(const pctx *c, json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (allowed[i] == NULL)
            return corrupt(c, "unknown key ", k);
    }
    return 0;
}

static int get_obj(const pctx *c, json_t *obj, const char *key, json_type type, json_t **out)
{
    *out = json_object_get(obj, key);
    if (*out == NULL)
        return corrupt(c, "missing ", key);
    if (json_typeof(*out) != type && !(type == JSON_TRUE && json_is_boolean(*out)))
        return corrupt(c, "wrong type for ", key);
    return 0;
}

static int get_hex(const pctx *c, json_t *obj, const char *key, uint8_t *out, size_t n)
{
    json_t *v;
    int err = get_obj(c, obj, key, JSON_STRING, &v);
    if (err == 0 && (json_string_length(v) != 2 * n || tc_hex_decode(out, n, json_string_value(v)) != 0))
        err = corrupt(c, "bad hex in ", key);
    return err;
}

static int get_name(const pctx *c, json_t *obj, const char *key, const char *expect)
{
    json_t *v;
    int err = get_obj(c, obj, key, JSON_STRING, &v);
    if (err == 0 && strcmp(json_string_value(v), expect) != 0)
        err = corrupt(c, "unsupported ", key);
    return err;
}

/* Format, version, network, encrypted; refuses unencrypted outside devnet. */
static int parse_header(const pctx *c, json_t *root, const tc_netparams **net, bool *encrypted)
{
    static const char *const keys[] = {"format", "version", "network", "encrypted", "kdf",
                                       "cipher", "keys",    "addresses", NULL};
    json_t *v, *enc;
    int err;
    if (!json_is_object(root))
        return corrupt(c, "expected a JSON object", "");
    if ((err = only_keys(c, root, keys)) || (err = get_name(c, root, "format", WALLET_FORMAT)) ||
        (err = get_obj(c, root, "version", JSON_INTEGER, &v)))
        return err;
    if (json_integer_value(v) != WALLET_VERSION)
        return tc_fail(c->e, TC_ECORRUPT, "%s: wallet version %lld is not supported (this build reads %d)", c->path,
                       (long long)json_integer_value(v), WALLET_VERSION);
    if ((err = get_obj(c, root, "network", JSON_STRING, &v)) || (err = get_obj(c, root, "encrypted", JSON_TRUE, &enc)))
        return err;
    if ((*net = tc_params_by_name(json_string_value(v))) == NULL)
        return corrupt(c, "unknown network ", json_string_value(v));
    *encrypted = json_is_true(enc);
    if (*encrypted ? json_object_get(root, "keys") != NULL
                   : json_object_get(root, "kdf") != NULL || json_object_get(root, "cipher") != NULL)
        return corrupt(c, *encrypted ? "plain keys in an encrypted wallet" : "kdf or cipher in a plain wallet", "");
    if (!*encrypted && (*net)->net != TC_NET_DEVNET)
        return tc_fail(c->e, TC_EINVAL, "%s: unencrypted wallet for %s refused (allowed on devnet only)", c->path,
                       (*net)->name);
    return 0;
}

static int parse_kdf(const pctx *c, json_t *root, tc_wallet *w)
{
    static const char *const keys[] = {"algorithm", "opslimit", "memlimit", "salt", NULL};
    json_t *kdf, *ops, *mem;
    int err;
    if ((err = get_obj(c, root, "kdf", JSON_OBJECT, &kdf)) || (err = only_keys(c, kdf, keys)) ||
        (err = get_name(c, kdf, "algorithm", WALLET_KDF_NAME)) ||
        (err = get_obj(c, kdf, "opslimit", JSON_INTEGER, &ops)) ||
        (err = get_obj(c, kdf, "memlimit", JSON_INTEGER, &mem)) || (err = get_hex(c, kdf, "salt", w->salt, SALT)))
        return err;
    /* Bounded so a crafted file cannot make us spend unbounded time or memory. */
    json_int_t o = json_integer_value(ops), m = json_integer_value(mem);
    if (o < crypto_pwhash_argon2id_OPSLIMIT_MIN || o > crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE ||
        m < crypto_pwhash_argon2id_MEMLIMIT_MIN || m > crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE)
        return corrupt(c, "kdf limits out of range", "");
    w->kdf.opslimit = (unsigned long long)o;
    w->kdf.memlimit = (size_t)m;
    return 0;
}

/* Decrypts the seeds into w (passphrase checked first). */
static int parse_encrypted(const pctx *c, json_t *root, tc_wallet *w, const char *passphrase)
{
    static const char *const keys[] = {"algorithm", "nonce", "key_check", "data", NULL};
    json_t *cipher, *data;
    uint8_t nonce[AEAD_NONCE], check[CHECK], want[CHECK];
    uint8_t *ct = NULL;
    int err;
    if ((err = parse_kdf(c, root, w)) || (err = get_obj(c, root, "cipher", JSON_OBJECT, &cipher)) ||
        (err = only_keys(c, cipher, keys)) || (err = get_name(c, cipher, "algorithm", WALLET_CIPHER_NAME)) ||
        (err = get_hex(c, cipher, "nonce", nonce, AEAD_NONCE)) ||
        (err = get_hex(c, cipher, "key_check", want, CHECK)) || (err = get_obj(c, cipher, "data", JSON_STRING, &data)))
        return err;
    size_t hex_len = json_string_length(data);
    size_t ct_len = hex_len / 2;
    if (hex_len % 2 || ct_len < AEAD_TAG + SEED || (ct_len - AEAD_TAG) % SEED ||
        (ct_len - AEAD_TAG) / SEED > TC_WALLET_MAX_KEYS)
        return corrupt(c, "encrypted data has a bad length", "");
    ct = tc_xmalloc(ct_len);
    if (tc_hex_decode(ct, ct_len, json_string_value(data)) != 0) {
        err = corrupt(c, "bad hex in ", "data");
        goto out;
    }
    if (passphrase == NULL) {
        err = tc_fail(c->e, TC_EPASSPHRASE, "%s: the wallet is encrypted: a passphrase is needed", c->path);
        goto out;
    }
    if ((err = derive_key(w, passphrase, c->e)))
        goto out;
    key_check(w->key, check);
    if (sodium_memcmp(check, want, CHECK) != 0) {
        err = tc_fail(c->e, TC_EPASSPHRASE, "%s: wrong passphrase", c->path);
        goto out;
    }
    size_t n = (ct_len - AEAD_TAG) / SEED;
    if ((err = reserve(w, n))) {
        tc_fail(c->e, err, "%s: cannot allocate secure memory", c->path);
        goto out;
    }
    char ad[96];
    size_t ad_len = header_ad(w, ad, sizeof ad);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(w->seeds, NULL, NULL, ct, ct_len, (const uint8_t *)ad, ad_len,
                                                   nonce, w->key) != 0) {
        err = corrupt(c, "encrypted data fails authentication (altered or damaged)", "");
        goto out;
    }
    w->n = n;
out:
    free(ct);
    return err;
}

static int parse_plain(const pctx *c, json_t *root, tc_wallet *w)
{
    json_t *keys;
    int err;
    if ((err = get_obj(c, root, "keys", JSON_ARRAY, &keys)))
        return err;
    size_t n = json_array_size(keys);
    if (n < 1 || n > TC_WALLET_MAX_KEYS)
        return corrupt(c, "keys: expected 1 to 10000 entries", "");
    if ((err = reserve(w, n)))
        return tc_fail(c->e, err, "%s: cannot allocate secure memory", c->path);
    for (size_t i = 0; i < n; i++) {
        json_t *k = json_array_get(keys, i);
        int bad = !json_is_string(k) || json_string_length(k) != 2 * SEED ||
                  tc_hex_decode(w->seeds + i * SEED, SEED, json_string_value(k)) != 0;
        if (bad)
            return corrupt(c, "keys: expected 64 hex digits per key", "");
    }
    w->n = n;
    return 0;
}

/* Every listed address must be the one its key derives. */
static int check_addresses(const pctx *c, json_t *root, tc_wallet *w)
{
    json_t *addrs;
    int err;
    if ((err = get_obj(c, root, "addresses", JSON_ARRAY, &addrs)))
        return err;
    if (json_array_size(addrs) != w->n)
        return corrupt(c, "addresses do not match the keys", "");
    for (size_t i = 0; i < w->n; i++) {
        tc_address a;
        json_t *s = json_array_get(addrs, i);
        derive(w, i);
        if (!json_is_string(s) || tc_address_decode(&a, w->net->hrp, json_string_value(s)) != 0 ||
            !tc_address_eq(&a, &w->addr[i]))
            return corrupt(c, "addresses do not match the keys", "");
    }
    return 0;
}

/* Reads path; with want_keys false stops after the header. */
static int load(const char *path, const char *passphrase, bool want_keys, tc_wallet **out, bool *encrypted,
                const tc_netparams **net, tc_errmsg *e)
{
    char *text = NULL;
    size_t len = 0;
    json_t *root = NULL;
    tc_wallet *w = NULL;
    pctx c = {path, e};
    int err = tc_file_read(path, WALLET_MAX_FILE, true, &text, &len, e);
    if (err)
        return err == TC_ELIMIT ? tc_fail(e, TC_ECORRUPT, "%s: too large for a wallet file", path) : err;
    json_error_t jerr;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        err = tc_fail(e, TC_ECORRUPT, "%s: not a valid wallet file: line %d column %d: %s", path, jerr.line,
                      jerr.column, jerr.text);
        goto out;
    }
    if ((err = parse_header(&c, root, net, encrypted)) || !want_keys)
        goto out;
    w = wallet_new(path, *net);
    w->encrypted = *encrypted;
    err = w->encrypted ? parse_encrypted(&c, root, w, passphrase) : parse_plain(&c, root, w);
    if (err == 0)
        err = check_addresses(&c, root, w);
out:
    if (root) {
        json_t *keys = json_object_get(root, "keys");
        for (size_t i = 0; i < json_array_size(keys); i++)
            wipe_json_string(json_array_get(keys, i));
        json_decref(root);
    }
    tc_file_free(text, true);
    if (err) {
        tc_wallet_free(w);
        w = NULL;
    }
    if (out)
        *out = w;
    return err;
}

int tc_wallet_open(tc_wallet **out, const char *path, const char *passphrase, tc_errmsg *e)
{
    bool encrypted;
    const tc_netparams *net;
    *out = NULL;
    return load(path, passphrase, true, out, &encrypted, &net, e);
}

int tc_wallet_probe(const char *path, bool *encrypted, const tc_netparams **net, tc_errmsg *e)
{
    bool enc = false;
    const tc_netparams *n = NULL;
    int err = load(path, NULL, false, NULL, &enc, &n, e);
    if (encrypted)
        *encrypted = enc;
    if (net)
        *net = n;
    return err;
}

/* ---- creating and adding keys ----------------------------------------- */

/* Appends a fresh key in memory (not saved). */
static int add_key(tc_wallet *w, tc_errmsg *e)
{
    if (w->n >= TC_WALLET_MAX_KEYS)
        return tc_fail(e, TC_ELIMIT, "%s: the wallet already holds %d keys", w->path, TC_WALLET_MAX_KEYS);
    if (reserve(w, w->n + 1))
        return tc_fail(e, TC_ECRYPTO, "%s: cannot allocate secure memory", w->path);
    randombytes_buf(w->seeds + w->n * SEED, SEED);
    derive(w, w->n);
    w->n++;
    return 0;
}

static void drop_last_key(tc_wallet *w)
{
    w->n--;
    sodium_memzero(w->seeds + w->n * SEED, SEED);
}

int tc_wallet_create(tc_wallet **out, const char *path, const tc_netparams *net, const char *passphrase,
                     const tc_wallet_kdf *kdf, tc_errmsg *e)
{
    *out = NULL;
    if (tc_crypto_init() != 0)
        return tc_fail(e, TC_ECRYPTO, "libsodium failed to initialize");
    if (net == NULL)
        return tc_fail(e, TC_EINVAL, "%s: no network given", path);
    if (passphrase == NULL && net->net != TC_NET_DEVNET)
        return tc_fail(e, TC_EINVAL, "%s: an unencrypted wallet is allowed on devnet only, not on %s", path,
                       net->name);
    if (passphrase && passphrase[0] == '\0')
        return tc_fail(e, TC_EINVAL, "%s: the passphrase is empty", path);
    if (access(path, F_OK) == 0) /* before Argon2 runs; the final write checks again */
        return tc_fail(e, TC_EEXIST, "%s: already exists; refusing to overwrite a wallet", path);
    if (kdf == NULL)
        kdf = &tc_wallet_kdf_default;
    if (kdf->opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN || kdf->opslimit > crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE ||
        kdf->memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN || kdf->memlimit > crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE)
        return tc_fail(e, TC_EINVAL, "%s: Argon2id limits out of range", path);
    tc_wallet *w = wallet_new(path, net);
    int err = 0;
    w->encrypted = passphrase != NULL;
    w->kdf = *kdf;
    if (w->encrypted) {
        randombytes_buf(w->salt, SALT);
        if ((err = derive_key(w, passphrase, e)))
            goto out;
    }
    if ((err = add_key(w, e)) || (err = save(w, false, e)))
        goto out;
out:
    if (err) {
        tc_wallet_free(w);
        w = NULL;
    }
    *out = w;
    return err;
}

int tc_wallet_new_address(tc_wallet *w, tc_address *addr, tc_errmsg *e)
{
    int err = add_key(w, e);
    if (err)
        return err;
    if ((err = save(w, true, e))) {
        drop_last_key(w);
        return err;
    }
    if (addr)
        *addr = w->addr[w->n - 1];
    return 0;
}

/* ---- transfers --------------------------------------------------------- */

typedef struct {
    const tc_wallet_coin *coin;
    size_t key; /* index into the wallet */
} cand;

static int cmp_outpoint(const tc_outpoint *a, const tc_outpoint *b)
{
    int c = memcmp(a->txid.b, b->txid.b, 32);
    return c ? c : (a->vout > b->vout) - (a->vout < b->vout);
}

static int by_outpoint(const void *pa, const void *pb)
{
    return cmp_outpoint(&((const cand *)pa)->coin->outpoint, &((const cand *)pb)->coin->outpoint);
}

/* Largest value first; ties by outpoint, so the choice is deterministic. */
static int by_value_desc(const void *pa, const void *pb)
{
    const tc_wallet_coin *a = ((const cand *)pa)->coin, *b = ((const cand *)pb)->coin;
    if (a->value != b->value)
        return a->value < b->value ? 1 : -1;
    return cmp_outpoint(&a->outpoint, &b->outpoint);
}

/* Checks every coin and returns the unlocked ones (caller frees *out),
 * sorted largest-first; *available is their sum, *n_locked / *locked_value
 * describe the ones left out. */
static int spendable(const tc_wallet *w, const tc_wallet_coin *coins, size_t n_coins, cand **out, size_t *n_out,
                     uint64_t *available, size_t *n_locked, uint64_t *locked_value, tc_errmsg *e)
{
    cand *c = tc_xcalloc(n_coins ? n_coins : 1, sizeof *c);
    char op[80], a[TC_ADDR_STRLEN];
    int err = 0;
    size_t n = 0;
    *available = *locked_value = 0;
    *n_locked = 0;
    for (size_t i = 0; i < n_coins; i++) {
        long k = find_key(w, &coins[i].addr);
        if (k < 0) {
            if (tc_address_encode(a, &coins[i].addr, w->net->hrp) != 0)
                snprintf(a, sizeof a, "(invalid address)");
            err = tc_fail(e, TC_EINVAL, "coin %s pays to %s, which is not in this wallet",
                          tc_outpoint_str(op, &coins[i].outpoint), a);
            goto out;
        }
        if (coins[i].value == 0 || coins[i].value > TC_MAX_MONEY) {
            err = tc_fail(e, TC_EINVAL, "coin %s has an invalid value of %llu sat",
                          tc_outpoint_str(op, &coins[i].outpoint), (unsigned long long)coins[i].value);
            goto out;
        }
        c[i] = (cand){&coins[i], (size_t)k};
    }
    qsort(c, n_coins, sizeof *c, by_outpoint);
    for (size_t i = 1; i < n_coins; i++) {
        if (cmp_outpoint(&c[i - 1].coin->outpoint, &c[i].coin->outpoint) == 0) {
            err = tc_fail(e, TC_EINVAL, "coin %s is listed twice", tc_outpoint_str(op, &c[i].coin->outpoint));
            goto out;
        }
    }
    for (size_t i = 0; i < n_coins; i++) {
        if (c[i].coin->locked) {
            (*n_locked)++;
            *locked_value += c[i].coin->value;
        } else {
            c[n++] = c[i];
            *available += c[i].coin->value;
        }
        if (*available > TC_MAX_MONEY || *locked_value > TC_MAX_MONEY) {
            err = tc_fail(e, TC_EINVAL, "coins add up to more than the money supply");
            goto out;
        }
    }
    qsort(c, n, sizeof *c, by_value_desc);
out:
    if (err) {
        free(c);
        c = NULL;
        n = 0;
    }
    *out = c;
    *n_out = n;
    return err;
}

/* The required fee if the first n candidates are the inputs: the amount counts
 * as sent unless `to` is the address of one of them. */
static uint64_t required_fee(const cand *c, size_t n, const tc_address *to, uint64_t amount)
{
    for (size_t i = 0; i < n; i++)
        if (tc_address_eq(&c[i].coin->addr, to))
            return tc_required_fee(0);
    return tc_required_fee(amount);
}

static int insufficient(uint64_t available, size_t n_spendable, size_t n_locked, uint64_t locked_value,
                        uint64_t amount, uint64_t fee, tc_errmsg *e)
{
    char have[TC_AMOUNT_STRLEN], need[TC_AMOUNT_STRLEN], amt[TC_AMOUNT_STRLEN], f[TC_AMOUNT_STRLEN];
    char lk[TC_AMOUNT_STRLEN], locked[96] = "";
    if (n_locked)
        snprintf(locked, sizeof locked, "; %zu locked coin%s of %s TIME not counted", n_locked,
                 n_locked == 1 ? "" : "s", tc_amount_format(lk, locked_value));
    return tc_fail(e, TC_ETX_INSUFFICIENT,
                   "insufficient funds: %s TIME available in %zu spendable coin%s%s; %s TIME needed (%s + fee %s)",
                   tc_amount_format(have, available), n_spendable, n_spendable == 1 ? "" : "s", locked,
                   tc_amount_format(need, amount + fee), tc_amount_format(amt, amount), tc_amount_format(f, fee));
}

static void sign_all(const tc_wallet *w, const cand *c, tc_tx *tx)
{
    for (size_t i = 0; i < tx->n_in; i++) {
        tc_keypair kp;
        tc_keypair_from_seed(&kp, w->seeds + c[i].key * SEED);
        tc_tx_sign_input(tx, i, w->net->chain_id, &kp);
        tc_keypair_wipe(&kp);
    }
}

int tc_wallet_build_transfer(const tc_wallet *w, const tc_wallet_coin *coins, size_t n_coins, const tc_address *to,
                             uint64_t amount, uint64_t fee, tc_tx *tx, uint64_t *fee_paid, tc_errmsg *e)
{
    char s1[TC_AMOUNT_STRLEN], s2[TC_AMOUNT_STRLEN];
    cand *c = NULL;
    size_t n = 0, n_locked = 0, used = 0;
    uint64_t available = 0, locked_value = 0, total = 0, f = 0;
    int err;
    tc_tx_init(tx);
    if (fee_paid)
        *fee_paid = 0;
    if (amount < TC_DUST_LIMIT)
        return tc_fail(e, TC_ETX_DUST, "amount %llu sat is below the dust limit of %llu sat",
                       (unsigned long long)amount, TC_DUST_LIMIT);
    if (amount > TC_MAX_MONEY || fee > TC_MAX_MONEY)
        return tc_fail(e, TC_EINVAL, "%s above the money supply", amount > TC_MAX_MONEY ? "amount" : "fee");
    if (fee && fee < TC_MIN_FEE)
        return tc_fail(e, TC_ETX_FEE, "fee %s TIME is below the minimum of %s TIME", tc_amount_format(s1, fee),
                       tc_amount_format(s2, TC_MIN_FEE));
    if ((err = spendable(w, coins, n_coins, &c, &n, &available, &n_locked, &locked_value, e)))
        return err;
    /* Largest-first: few inputs, small transactions; adding an input can only
     * lower the required fee (it may make `to` an input address). */
    while (used < n) {
        total += c[used++].coin->value;
        f = fee ? fee : required_fee(c, used, to, amount);
        if (total >= amount + f)
            break;
    }
    if (used == 0 || total < amount + f) {
        f = fee ? fee : required_fee(c, n, to, amount);
        err = insufficient(available, n, n_locked, locked_value, amount, f, e);
        goto out;
    }
    if (used > TC_WALLET_MAX_INPUTS) {
        err = tc_fail(e, TC_ELIMIT, "paying %s TIME needs %zu coins, more than %d in one transaction; send less or "
                      "consolidate first", tc_amount_format(s1, amount), used, TC_WALLET_MAX_INPUTS);
        goto out;
    }
    uint64_t need = required_fee(c, used, to, amount);
    if (f < need) {
        err = tc_fail(e, TC_ETX_FEE, "fee %llu sat is below the required %llu sat", (unsigned long long)f,
                      (unsigned long long)need);
        goto out;
    }
    uint64_t change = total - amount - f;
    if (change < TC_DUST_LIMIT) {
        f += change; /* an output that small could never be spent */
        change = 0;
    }
    tc_tx_alloc(tx, used, change ? 2 : 1);
    for (size_t i = 0; i < used; i++) {
        tx->in[i].prev = c[i].coin->outpoint;
        tx->in[i].pubkey = w->pk[c[i].key]; /* all keys before any signature: they are in the txid */
    }
    tx->out[0] = (tc_txout){amount, *to};
    if (change)
        tx->out[1] = (tc_txout){change, c[0].coin->addr};
    sign_all(w, c, tx);
    if (f < tc_required_fee(tc_tx_sent_amount(tx)))
        abort(); /* required_fee() disagrees with the consensus rule: a bug */
    if ((err = tc_tx_check_basic(tx, e)))
        goto out;
    if (fee_paid)
        *fee_paid = f;
out:
    free(c);
    if (err) {
        tc_tx_release(tx);
    }
    return err;
}
