#include "net/tlscert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "util/hex.h"
#include "util/log.h"

static EVP_PKEY *pkey_from_keypair(const tc_keypair *kp)
{
    uint8_t seed[32];
    tc_keypair_seed(kp, seed);
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
    sodium_memzero(seed, sizeof seed);
    return k;
}

static int pkey_matches(EVP_PKEY *k, const tc_pubkey *pk)
{
    uint8_t raw[32];
    size_t n = sizeof raw;
    if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519 || EVP_PKEY_get_raw_public_key(k, raw, &n) != 1 ||
        n != 32)
        return 0;
    return memcmp(raw, pk->b, 32) == 0;
}

static X509 *make_cert(EVP_PKEY *key, const tc_pubkey *pk)
{
    X509 *x = X509_new();
    if (x == NULL)
        return NULL;
    uint8_t serial[16];
    char cn[64], hex[17];
    int ok = RAND_bytes(serial, sizeof serial) == 1;
    serial[0] &= 0x7f; /* positive */
    BIGNUM *bn = ok ? BN_bin2bn(serial, sizeof serial, NULL) : NULL;
    ok = ok && bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    ok = ok && X509_set_version(x, 2) == 1;
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL;
    ok = ok && X509_gmtime_adj(X509_getm_notAfter(x), 100L * 365 * 24 * 3600) != NULL;
    ok = ok && X509_set_pubkey(x, key) == 1;
    tc_hex_encode(hex, pk->b, 8);
    snprintf(cn, sizeof cn, "timecoin node %s", hex);
    X509_NAME *name = X509_get_subject_name(x);
    ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                          -1, 0) == 1;
    ok = ok && X509_set_issuer_name(x, name) == 1;
    ok = ok && X509_sign(x, key, NULL) > 0; /* Ed25519: no separate digest */
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Self-signed peers are the norm: identity is the key, checked after the
 * handshake. Chain errors are accepted; OpenSSL still verifies the peer's
 * CertificateVerify, i.e. possession of the certificate's private key. */
static int accept_self_signed(int preverify, X509_STORE_CTX *ctx)
{
    (void)preverify;
    (void)ctx;
    return 1;
}

static SSL_CTX *ctx_with(X509 *cert, EVP_PKEY *key, int *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    int ok = ctx != NULL;
    ok = ok && SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1;
    ok = ok && SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1;
    /* all TLS 1.3 AEADs; AES-128-GCM first (fastest with AES-NI, 128-bit security) */
    ok = ok && SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:"
                                             "TLS_AES_256_GCM_SHA384") == 1;
    ok = ok && SSL_CTX_use_certificate(ctx, cert) == 1;
    ok = ok && SSL_CTX_use_PrivateKey(ctx, key) == 1;
    ok = ok && SSL_CTX_check_private_key(ctx) == 1;
    if (!ok) {
        SSL_CTX_free(ctx);
        *err = TC_ECRYPTO;
        ERR_clear_error();
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_self_signed);
    /* no resumption: every link does a full handshake with both certificates */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    *err = 0;
    return ctx;
}

SSL_CTX *tc_tlscert_ctx_new(const tc_keypair *kp, int *err)
{
    EVP_PKEY *key = pkey_from_keypair(kp);
    X509 *cert = key ? make_cert(key, &kp->pk) : NULL;
    SSL_CTX *ctx = NULL;
    *err = TC_ECRYPTO;
    if (cert)
        ctx = ctx_with(cert, key, err);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
}

static int write_pem(const char *path, int is_key, void *obj)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return TC_EIO;
    if (fchmod(fd, 0600) != 0) {
        close(fd);
        return TC_EIO;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return TC_EIO;
    }
    int ok = is_key ? PEM_write_PrivateKey(f, obj, NULL, NULL, 0, NULL, NULL)
                    : PEM_write_X509(f, obj);
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : TC_EIO;
}

static void *read_pem(const char *path, int is_key)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    void *obj = is_key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
                       : (void *)PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return obj;
}

SSL_CTX *tc_tlscert_ctx_load(const tc_keypair *kp, const char *datadir, int *err)
{
    char cpath[4096], kpath[4096];
    snprintf(cpath, sizeof cpath, "%s/%s", datadir, TC_TLS_CERT_FILE);
    snprintf(kpath, sizeof kpath, "%s/%s", datadir, TC_TLS_KEY_FILE);

    X509 *cert = read_pem(cpath, 0);
    EVP_PKEY *key = read_pem(kpath, 1);
    ERR_clear_error();
    int reuse = cert && key && pkey_matches(key, &kp->pk) &&
                pkey_matches(X509_get0_pubkey(cert), &kp->pk);
    if (!reuse) {
        if (cert || key)
            tc_log_warn("net", "TLS certificate does not match the node key; recreating",
                        "path=%s", cpath);
        X509_free(cert);
        EVP_PKEY_free(key);
        key = pkey_from_keypair(kp);
        cert = key ? make_cert(key, &kp->pk) : NULL;
        if (cert == NULL) {
            EVP_PKEY_free(key);
            *err = TC_ECRYPTO;
            return NULL;
        }
        *err = write_pem(kpath, 1, key);
        if (*err == 0)
            *err = write_pem(cpath, 0, cert);
        if (*err) {
            tc_log_error("net", "cannot write TLS identity", "path=%s errno=%d hint=%s", kpath, errno,
                         "make the data dir writable by the node's user");
            X509_free(cert);
            EVP_PKEY_free(key);
            return NULL;
        }
    }
    SSL_CTX *ctx = ctx_with(cert, key, err);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
}

int tc_tlscert_peer_key(SSL *ssl, tc_pubkey *out)
{
    memset(out, 0, sizeof *out);
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (peer == NULL)
        return TC_ENET_TLS;
    EVP_PKEY *k = X509_get0_pubkey(peer);
    size_t n = 32;
    if (k == NULL || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(k, out->b, &n) != 1 || n != 32 || X509_verify(peer, k) != 1) {
        memset(out, 0, sizeof *out);
        ERR_clear_error();
        return TC_ENET_TLS;
    }
    return 0;
}

int tc_tlscert_exporter(SSL *ssl, uint8_t out[32])
{
    static const char label[] = TC_TLS_EXPORTER_LABEL;
    if (SSL_export_keying_material(ssl, out, 32, label, sizeof label - 1, NULL, 0, 0) != 1) {
        memset(out, 0, 32);
        ERR_clear_error();
        return TC_ENET_TLS;
    }
    return 0;
}
