#include "crypto/ed25519.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = TC_ECRYPTO;

static void init_sodium(void)
{
    init_result = sodium_init() < 0 ? TC_ECRYPTO : 0;
}

int tc_crypto_init(void)
{
    pthread_once(&init_once, init_sodium);
    return init_result;
}

/* Every entry point makes sure libsodium is ready, so a caller that forgot
 * tc_crypto_init still gets correct results; a library that cannot start is
 * not something to limp along with. */
static void require_init(void)
{
    if (tc_crypto_init() != 0) {
        fprintf(stderr, "fatal: libsodium failed to initialize\n");
        abort();
    }
}

/* libsodium wants a valid pointer even for an empty message. */
static const unsigned char *msg_ptr(const void *msg, size_t n)
{
    static const unsigned char empty[1];
    return n > 0 ? msg : empty;
}

void tc_keypair_from_seed(tc_keypair *kp, const uint8_t seed[32])
{
    require_init();
    crypto_sign_seed_keypair(kp->pk.b, kp->sk, seed);
}

void tc_keypair_generate(tc_keypair *kp)
{
    uint8_t seed[32];
    require_init();
    randombytes_buf(seed, sizeof seed);
    tc_keypair_from_seed(kp, seed);
    sodium_memzero(seed, sizeof seed);
}

void tc_keypair_seed(const tc_keypair *kp, uint8_t seed[32])
{
    crypto_sign_ed25519_sk_to_seed(seed, kp->sk);
}

void tc_keypair_wipe(tc_keypair *kp)
{
    sodium_memzero(kp, sizeof *kp);
}

void tc_sign(const tc_keypair *kp, const void *msg, size_t n, tc_sig *sig)
{
    require_init();
    crypto_sign_detached(sig->b, NULL, msg_ptr(msg, n), n, kp->sk);
}

int tc_verify(const tc_pubkey *pk, const void *msg, size_t n, const tc_sig *sig)
{
    require_init();
    if (crypto_sign_verify_detached(sig->b, msg_ptr(msg, n), n, pk->b) != 0)
        return TC_ESIG;
    return 0;
}
