/* Blocks: header, body (transactions and the previous block's commit
 * certificate), canonical encoding, block hash and merkle root.
 *
 * Header encoding (216 bytes): u32 version | u32 chain_id | u64 height
 *   | prev32 | u64 time_ms | proposer32 | tx_root32 | valset_hash32
 *   | last_commit_hash32 | utxo_commitment32
 * Block: header | cs n_tx | txs | certificate (empty, n = 0, at height 1). */
#ifndef TC_CHAIN_BLOCK_H
#define TC_CHAIN_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "chain/cert.h"
#include "chain/tx.h"
#include "util/buf.h"
#include "util/err.h"

#define TC_HEADER_SIZE 216

typedef struct {
    uint32_t version;
    uint32_t chain_id;
    uint64_t height;
    tc_hash prev;
    uint64_t time_ms;
    tc_pubkey proposer;
    tc_hash tx_root;
    tc_hash valset_hash;      /* validator set of this height */
    tc_hash last_commit_hash; /* tc_cert_hash of last_commit */
    tc_hash utxo_commitment;  /* UTXO set after this block */
} tc_header;

typedef struct {
    tc_header hdr;
    size_t n_tx;
    tc_tx *txs;
    tc_cert last_commit;
} tc_block;

/* Appends the TC_HEADER_SIZE-byte encoding of h (layout above) to b. */
void tc_header_encode(const tc_header *h, tc_buf *b);
/* Reads one header from r (which may hold more after it). Returns r's error
 * (TC_ETRUNC if too short), which the reader keeps with its offset. */
int tc_header_read(tc_reader *r, tc_header *h) TC_MUST_CHECK;
/* BLAKE3 (TC_H_BLOCK) of the header encoding: the block's id. */
void tc_header_hash(const tc_header *h, tc_hash *out);

/* An empty block (zero header, no transactions, empty certificate) in caller
 * storage; pair with tc_block_release. */
void tc_block_init(tc_block *blk);
/* Frees the transactions and the certificate blk owns and re-initializes it. */
void tc_block_release(tc_block *blk);
/* Appends a copy of tx. */
void tc_block_add_tx(tc_block *blk, const tc_tx *tx);
/* Appends the canonical encoding (header | cs n_tx | txs | certificate) to b. */
void tc_block_encode(const tc_block *blk, tc_buf *b);
/* Decodes exactly one block from (p, len) into blk (initialized here; the
 * caller releases it on success). TC_EBLK_SIZE over TC_MAX_BLOCK_SIZE, a
 * decoder error of a part, or TC_ETRAILING; on failure blk is released. */
int tc_block_decode(tc_block *blk, const uint8_t *p, size_t len) TC_MUST_CHECK;
/* Bytes tc_block_encode appends for blk. */
size_t tc_block_size(const tc_block *blk);

/* Merkle root over txids: interior node = BLAKE3 (TC_H_MERKLE) of left||right;
 * an odd last node is carried up unchanged; zero hash for no leaves. */
void tc_merkle_root(const tc_hash *leaves, size_t n, tc_hash *root);
/* Computes the txids and the merkle root of blk's transactions into
 * txids (n_tx entries, may be NULL) and root. */
void tc_block_tx_root(const tc_block *blk, tc_hash *txids, tc_hash *root);
/* Whether blk's body is the one its header commits to (the header hash
 * names the header only): the merkle root of its transactions and the hash
 * of the last commit it carries. Says nothing of their validity; a block
 * relayed or served under a certified or signed hash must pass this before
 * it is kept. 0, TC_EBLK_MERKLE or TC_EBLK_LAST_COMMIT. */
int tc_block_check_body(const tc_block *blk) TC_MUST_CHECK;

#endif
