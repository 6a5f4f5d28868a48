/* BLAKE3 official vectors (BLAKE3-team/BLAKE3 test_vectors/test_vectors.json)
 * and TimeCoin's domain separation on top of derive-key mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/hash.h"
#include "util/hex.h"

#define VEC_KEY "whats the Elvish word for friend"
#define VEC_CONTEXT "BLAKE3 2019-12-27 16:29:52 test vectors context"
#define XOF_LEN 131

struct vec {
    size_t len;
    const char *hash, *keyed, *derive;
};

/* Full 131-byte extended outputs, copied verbatim from the JSON. */
static const struct vec vecs[] = {
    {0,
     "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262e00f03e7b69af26b7faaf09fcd3330"
     "50338ddfe085b8cc869ca98b206c08243a26f5487789e8f660afe6c99ef9e0c52b92e7393024a80459cf91f476f9ff"
     "dbda7001c22e159b402631f277ca96f2defdf1078282314e763699a31c5363165421cce14d",
     "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26b18171a2f22a4b94822c701f107153"
     "dba24918c4bae4d2945c20ece13387627d3b73cbf97b797d5e59948c7ef788f54372df45e45e4293c7dc18c1d41144"
     "a9758be58960856be1eabbe22c2653190de560ca3b2ac4aa692a9210694254c371e851bc8f",
     "2cc39783c223154fea8dfb7c1b1660f2ac2dcbd1c1de8277b0b0dd39b7e50d7d905630c8be290dfcf3e6842f13bddd"
     "573c098c3f17361f1f206b8cad9d088aa4a3f746752c6b0ce6a83b0da81d59649257cdf8eb3e9f7d4998e41021fac1"
     "19deefb896224ac99f860011f73609e6e0e4540f93b273e56547dfd3aa1a035ba6689d89a0"},
    {1,
     "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213c3a6cb8bf623e20cdb535f8d1a5ffb"
     "86342d9c0b64aca3bce1d31f60adfa137b358ad4d79f97b47c3d5e79f179df87a3b9776ef8325f8329886ba42f07fb"
     "138bb502f4081cbcec3195c5871e6c23e2cc97d3c69a613eba131e5f1351f3f1da786545e5",
     "6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80c95b6568c0490609413006fbd428eb3fd1"
     "4e7756d90f73a4725fad147f7bf70fd61c4e0cf7074885e92b0e3f125978b4154986d4fb202a3f331a3fb6cf349a3a"
     "70e49990f98fe4289761c8602c4e6ab1138d31d3b62218078b2f3ba9a88e1d08d0dd4cea11",
     "b3e2e340a117a499c6cf2398a19ee0d29cca2bb7404c73063382693bf66cb06c5827b91bf889b6b97c5477f535361c"
     "aefca0b5d8c4746441c57617111933158950670f9aa8a05d791daae10ac683cbef8faf897c84e6114a59d2173c3f41"
     "7023a35d6983f2c7dfa57e7fc559ad751dbfb9ffab39c2ef8c4aafebc9ae973a64f0c76551"},
    {1023,
     "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11a182d27a591b05592b15607500e1e8"
     "dd56bc6c7fc063715b7a1d737df5bad3339c56778957d870eb9717b57ea3d9fb68d1b55127bba6a906a4a24bbd5acb"
     "2d123a37b28f9e9a81bbaae360d58f85e5fc9d75f7c370a0cc09b6522d9c8d822f2f28f485",
     "c951ecdf03288d0fcc96ee3413563d8a6d3589547f2c2fb36d9786470f1b9d6e890316d2e6d8b8c25b0a5b2180f94f"
     "b1a158ef508c3cde45e2966bd796a696d3e13efd86259d756387d9becf5c8bf1ce2192b87025152907b6d8cc33d178"
     "26d8b7b9bc97e38c3c85108ef09f013e01c229c20a83d9e8efac5b37470da28575fd755a10",
     "74a16c1c3d44368a86e1ca6df64be6a2f64cce8f09220787450722d85725dea59c413264404661e9e4d955409dfe4a"
     "d3aa487871bcd454ed12abfe2c2b1eb7757588cf6cb18d2eccad49e018c0d0fec323bec82bf1644c6325717d13ea71"
     "2e6840d3e6e730d35553f59eff5377a9c350bcc1556694b924b858f329c44ee64b884ef00d"},
    {1024,
     "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af71cf8107265ecdaf8505b95d8fcec83"
     "a98a6a96ea5109d2c179c47a387ffbb404756f6eeae7883b446b70ebb144527c2075ab8ab204c0086bb22b7c93d465"
     "efc57f8d917f0b385c6df265e77003b85102967486ed57db5c5ca170ba441427ed9afa684e",
     "75c46f6f3d9eb4f55ecaaee480db732e6c2105546f1e675003687c31719c7ba4a78bc838c72852d4f49c864acb7ada"
     "fe2478e824afe51c8919d06168414c265f298a8094b1ad813a9b8614acabac321f24ce61c5a5346eb519520d38ecc4"
     "3e89b5000236df0597243e4d2493fd626730e2ba17ac4d8824d09d1a4a8f57b8227778e2de",
     "7356cd7720d5b66b6d0697eb3177d9f8d73a4a5c5e968896eb6a6896843027066c23b601d3ddfb391e90d5c8eccdef"
     "4ae2a264bce9e612ba15e2bc9d654af1481b2e75dbabe615974f1070bba84d56853265a34330b4766f8e75edd1f4a1"
     "650476c10802f22b64bd3919d246ba20a17558bc51c199efdec67e80a227251808d8ce5bad"},
    {1025,
     "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444f4c4a22b4b399155358a994e52bf25"
     "5de60035742ec71bd08ac275a1b51cc6bfe332b0ef84b409108cda080e6269ed4b3e2c3f7d722aa4cdc98d16deb554"
     "e5627be8f955c98e1d5f9565a9194cad0c4285f93700062d9595adb992ae68ff12800ab67a",
     "357dc55de0c7e382c900fd6e320acc04146be01db6a8ce7210b7189bd664ea69362396b77fdc0d2634a55297084372"
     "2066c3c15902ae5097e00ff53f1e116f1cd5352720113a837ab2452cafbde4d54085d9cf5d21ca613071551b25d52e"
     "69d6c81123872b6f19cd3bc1333edf0c52b94de23ba772cf82636cff4542540a7738d5b930",
     "effaa245f065fbf82ac186839a249707c3bddf6d3fdda22d1b95a3c970379bcb5d31013a167509e9066273ab6e2123"
     "bc835b408b067d88f96addb550d96b6852dad38e320b9d940f86db74d398c770f462118b35d2724efa13da97194491"
     "d96dd37c3c09cbef665953f2ee85ec83d88b88d11547a6f911c8217cca46defa2751e7f3ad"},
    {31744,
     "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47860cc51f2b0c28a7b77304bd55fe73"
     "af663c02d3f52ea053ba43431ca5bab7bfea2f5e9d7121770d88f70ae9649ea713087d1914f7f312147e247f87eb2d"
     "4ffef0ac978bf7b6579d57d533355aa20b8b77b13fd09748728a5cc327a8ec470f4013226f",
     "efa53b389ab67c593dba624d898d0f7353ab99e4ac9d42302ee64cbf9939a4193a7258db2d9cd32a7a3ecfce461441"
     "14b15c2fcb68a618a976bd74515d47be08b628be420b5e830fade7c080e351a076fbc38641ad80c736c8a18fe3c66c"
     "e12f95c61c2462a9770d60d0f77115bbcd3782b593016a4e728d4c06cee4505cb0c08a42ec",
     "39772aef80e0ebe60596361e45b061e8f417429d529171b6764468c22928e28e9759adeb797a3fbf771b1bcea30150"
     "a020e317982bf0d6e7d14dd9f064bc11025c25f31e81bd78a921db0174f03dd481d30e93fd8e90f8b2fee209f849f2"
     "d2a52f31719a490fb0ba7aea1e09814ee912eba111a9fde9d5c274185f7bae8ba85d300a2b"},
};

static uint8_t *vector_input(size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i % 251);
    return p;
}

static void check_output(blake3_hasher *h, const char *hex)
{
    uint8_t want[XOF_LEN], got[XOF_LEN], first[32];
    assert_int_equal(strlen(hex), 2 * XOF_LEN);
    assert_int_equal(tc_hex_decode(want, sizeof want, hex), 0);
    blake3_hasher_finalize(h, first, sizeof first);
    assert_memory_equal(first, want, sizeof first);
    blake3_hasher_finalize(h, got, sizeof got);
    assert_memory_equal(got, want, sizeof got);
}

static void test_blake3_official_vectors(void **state)
{
    (void)state;
    assert_int_equal(strlen(VEC_KEY), BLAKE3_KEY_LEN);
    for (size_t v = 0; v < sizeof vecs / sizeof vecs[0]; v++) {
        uint8_t *in = vector_input(vecs[v].len);
        blake3_hasher h;

        blake3_hasher_init(&h);
        blake3_hasher_update(&h, in, vecs[v].len);
        check_output(&h, vecs[v].hash);

        blake3_hasher_init_keyed(&h, (const uint8_t *)VEC_KEY);
        blake3_hasher_update(&h, in, vecs[v].len);
        check_output(&h, vecs[v].keyed);

        blake3_hasher_init_derive_key(&h, VEC_CONTEXT);
        blake3_hasher_update(&h, in, vecs[v].len);
        check_output(&h, vecs[v].derive);
        free(in);
    }
}

/* Our domains are derive-key mode with their context string, nothing else:
 * checked against the library mode the official vectors just pinned. */
static void test_domains_are_derive_key(void **state)
{
    (void)state;
    uint8_t *in = vector_input(1025);
    for (int d = 0; d < TC_H_DOMAIN_COUNT; d++) {
        blake3_hasher ref;
        uint8_t want[64], xof[64];
        tc_hash got;
        tc_hasher h;

        blake3_hasher_init_derive_key(&ref, tc_hash_context(d));
        blake3_hasher_update(&ref, in, 1025);
        blake3_hasher_finalize(&ref, want, sizeof want);

        tc_hash_once(d, in, 1025, &got);
        assert_memory_equal(got.b, want, 32);

        tc_hasher_init(&h, d);
        tc_hasher_update(&h, in, 1025);
        tc_hasher_final_xof(&h, xof, sizeof xof);
        assert_memory_equal(xof, want, sizeof want);
    }
    free(in);
}

/* The context strings are consensus: this list changes only with a hard fork. */
static void test_context_strings_pinned(void **state)
{
    (void)state;
    static const char *const want[TC_H_DOMAIN_COUNT] = {
        "TimeCoin v1 txid",          "TimeCoin v1 sighash",
        "TimeCoin v1 block header",  "TimeCoin v1 merkle node",
        "TimeCoin v1 address",       "TimeCoin v1 vote",
        "TimeCoin v1 proposal",      "TimeCoin v1 commit certificate",
        "TimeCoin v1 validator set", "TimeCoin v1 utxo element",
        "TimeCoin v1 utxo set",      "TimeCoin v1 heartbeat",
        "TimeCoin v1 handshake",     "TimeCoin v1 genesis",
        "TimeCoin v1 sigcache",      "TimeCoin v1 consensus wal",
        "TimeCoin v1 mnauth",
    };
    for (int d = 0; d < TC_H_DOMAIN_COUNT; d++)
        assert_string_equal(tc_hash_context(d), want[d]);
}

static void test_contexts_distinct(void **state)
{
    (void)state;
    for (int a = 0; a < TC_H_DOMAIN_COUNT; a++)
        for (int b = a + 1; b < TC_H_DOMAIN_COUNT; b++)
            assert_string_not_equal(tc_hash_context(a), tc_hash_context(b));
}

static void test_domain_separation(void **state)
{
    (void)state;
    static const char msg[] = "same bytes, different purpose";
    tc_hash h[TC_H_DOMAIN_COUNT], plain;
    blake3_hasher ref;

    blake3_hasher_init(&ref);
    blake3_hasher_update(&ref, msg, sizeof msg - 1);
    blake3_hasher_finalize(&ref, plain.b, sizeof plain.b);

    for (int d = 0; d < TC_H_DOMAIN_COUNT; d++) {
        tc_hash_once(d, msg, sizeof msg - 1, &h[d]);
        assert_false(tc_hash_eq(&h[d], &plain));
        for (int e = 0; e < d; e++)
            assert_false(tc_hash_eq(&h[d], &h[e]));
    }
}

static void test_incremental_equals_once(void **state)
{
    (void)state;
    uint8_t *in = vector_input(31744);
    static const size_t cuts[] = {0, 1, 63, 64, 65, 1023, 1024, 1025, 4096, 31743, 31744};
    tc_hash once;

    tc_hash_once(TC_H_BLOCK, in, 31744, &once);
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        tc_hasher h;
        tc_hash got;
        tc_hasher_init(&h, TC_H_BLOCK);
        tc_hasher_update(&h, in, cuts[c]);
        tc_hasher_update(&h, NULL, 0);
        tc_hasher_update(&h, in + cuts[c], 31744 - cuts[c]);
        tc_hasher_final(&h, &got);
        assert_true(tc_hash_eq(&got, &once));
    }

    /* Byte-at-a-time too, across chunk boundaries. */
    tc_hasher h;
    tc_hash got;
    tc_hasher_init(&h, TC_H_BLOCK);
    for (size_t i = 0; i < 31744; i++)
        tc_hasher_update(&h, in + i, 1);
    tc_hasher_final(&h, &got);
    assert_true(tc_hash_eq(&got, &once));

    /* One changed byte changes the hash. */
    in[5000] ^= 1;
    tc_hash_once(TC_H_BLOCK, in, 31744, &got);
    assert_false(tc_hash_eq(&got, &once));
    free(in);
}

static void test_hash_helpers(void **state)
{
    (void)state;
    tc_hash z = {{0}}, a = {{0}};
    assert_true(tc_hash_is_zero(&z));
    a.b[31] = 1;
    assert_false(tc_hash_is_zero(&a));
    assert_false(tc_hash_eq(&a, &z));
    z.b[31] = 1;
    assert_true(tc_hash_eq(&a, &z));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blake3_official_vectors),
        cmocka_unit_test(test_domains_are_derive_key),
        cmocka_unit_test(test_context_strings_pinned),
        cmocka_unit_test(test_contexts_distinct),
        cmocka_unit_test(test_domain_separation),
        cmocka_unit_test(test_incremental_equals_once),
        cmocka_unit_test(test_hash_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
