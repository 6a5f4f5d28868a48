#include "chain/block.h"

#include <string.h>

#include "util/mem.h"

/* version, chain_id, height, prev, time_ms, proposer, then four roots */
_Static_assert(TC_HEADER_SIZE == 4 + 4 + 8 + sizeof(tc_hash) + 8 + sizeof(tc_pubkey) + 4 * sizeof(tc_hash),
               "TC_HEADER_SIZE is the sum of the header's fields (block.h)");

/* Smallest possible transaction: version, kind, two empty counts, lock time. */
#define TX_MIN (4 + 1 + 1 + 1 + 4)
#define MAX_BLOCK_TXS (TC_MAX_BLOCK_SIZE / TX_MIN)

void tc_header_encode(const tc_header *h, tc_buf *b)
{
    tc_buf_u32(b, h->version);
    tc_buf_u32(b, h->chain_id);
    tc_buf_u64(b, h->height);
    tc_buf_put(b, h->prev.b, 32);
    tc_buf_u64(b, h->time_ms);
    tc_buf_put(b, h->proposer.b, 32);
    tc_buf_put(b, h->tx_root.b, 32);
    tc_buf_put(b, h->valset_hash.b, 32);
    tc_buf_put(b, h->last_commit_hash.b, 32);
    tc_buf_put(b, h->utxo_commitment.b, 32);
}

int tc_header_read(tc_reader *r, tc_header *h)
{
    tc_rd_u32(r, &h->version);
    tc_rd_u32(r, &h->chain_id);
    tc_rd_u64(r, &h->height);
    tc_rd_bytes(r, h->prev.b, 32);
    tc_rd_u64(r, &h->time_ms);
    tc_rd_bytes(r, h->proposer.b, 32);
    tc_rd_bytes(r, h->tx_root.b, 32);
    tc_rd_bytes(r, h->valset_hash.b, 32);
    tc_rd_bytes(r, h->last_commit_hash.b, 32);
    tc_rd_bytes(r, h->utxo_commitment.b, 32);
    if (r->err)
        memset(h, 0, sizeof *h);
    return r->err;
}

void tc_header_hash(const tc_header *h, tc_hash *out)
{
    uint8_t raw[TC_HEADER_SIZE];
    tc_buf b = {.p = raw, .len = 0, .cap = sizeof raw};
    tc_header_encode(h, &b);
    tc_hash_once(TC_H_BLOCK, raw, b.len, out);
}

void tc_block_init(tc_block *blk)
{
    memset(&blk->hdr, 0, sizeof blk->hdr);
    blk->n_tx = 0;
    blk->txs = NULL;
    tc_cert_init(&blk->last_commit);
}

void tc_block_release(tc_block *blk)
{
    for (size_t i = 0; i < blk->n_tx; i++)
        tc_tx_release(&blk->txs[i]);
    free(blk->txs);
    tc_cert_release(&blk->last_commit);
    tc_block_init(blk);
}

/* Makes room for one more transaction. The array's capacity is implied by
 * n_tx: 0, then 16, doubling, so a block the size of the largest grows in a
 * few steps instead of one reallocation (and copy) per transaction. */
static void tx_room(tc_block *blk)
{
    size_t n = blk->n_tx;
    if (n == 0 || (n >= 16 && (n & (n - 1)) == 0))
        blk->txs = tc_xrealloc(blk->txs, (n ? n * 2 : 16) * sizeof *blk->txs);
}

void tc_block_add_tx(tc_block *blk, const tc_tx *tx)
{
    tx_room(blk);
    tc_tx_copy(&blk->txs[blk->n_tx++], tx);
}

void tc_block_encode(const tc_block *blk, tc_buf *b)
{
    tc_header_encode(&blk->hdr, b);
    tc_buf_cs(b, blk->n_tx);
    for (size_t i = 0; i < blk->n_tx; i++)
        tc_tx_encode(&blk->txs[i], b);
    tc_cert_encode(&blk->last_commit, b);
}

size_t tc_block_size(const tc_block *blk)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_cert_encode(&blk->last_commit, &b);
    size_t n = TC_HEADER_SIZE + tc_cs_size(blk->n_tx) + b.len;
    tc_buf_release(&b);
    for (size_t i = 0; i < blk->n_tx; i++)
        n += tc_tx_size(&blk->txs[i]);
    return n;
}

int tc_block_decode(tc_block *blk, const uint8_t *p, size_t len)
{
    tc_reader r;
    tc_reader_init(&r, p, len);
    tc_block_init(blk);
    if (len > TC_MAX_BLOCK_SIZE) {
        tc_rd_fail(&r, TC_EBLK_SIZE);
        goto out;
    }
    size_t n = 0;
    if (tc_header_read(&r, &blk->hdr) || tc_rd_count(&r, MAX_BLOCK_TXS, TX_MIN, &n))
        goto out;
    /* Grown as transactions are read: a count alone never sizes an allocation. */
    for (size_t i = 0; i < n; i++) {
        tx_room(blk);
        if (tc_tx_read(&r, &blk->txs[i]))
            goto out;
        blk->n_tx = i + 1;
    }
    if (tc_cert_read(&r, &blk->last_commit))
        goto out;
    (void)tc_rd_done(&r);
out:
    if (r.err)
        tc_block_release(blk);
    return r.err;
}

void tc_merkle_root(const tc_hash *leaves, size_t n, tc_hash *root)
{
    if (n == 0) {
        memset(root, 0, sizeof *root);
        return;
    }
    tc_hash *level = tc_xmalloc(n * sizeof *level);
    memcpy(level, leaves, n * sizeof *level);
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i + 1 < n; i += 2) {
            tc_hasher h;
            tc_hasher_init(&h, TC_H_MERKLE);
            tc_hasher_update(&h, level[i].b, 32);
            tc_hasher_update(&h, level[i + 1].b, 32);
            tc_hasher_final(&h, &level[m++]);
        }
        if (n % 2)
            level[m++] = level[n - 1];
        n = m;
    }
    *root = level[0];
    free(level);
}

void tc_block_tx_root(const tc_block *blk, tc_hash *txids, tc_hash *root)
{
    tc_hash *ids = txids ? txids : tc_xcalloc(blk->n_tx, sizeof *ids);
    for (size_t i = 0; i < blk->n_tx; i++)
        tc_tx_txid(&blk->txs[i], &ids[i]);
    tc_merkle_root(ids, blk->n_tx, root);
    if (ids != txids)
        free(ids);
}

int tc_block_check_body(const tc_block *blk)
{
    tc_hash h;
    tc_block_tx_root(blk, NULL, &h);
    if (!tc_hash_eq(&h, &blk->hdr.tx_root))
        return TC_EBLK_MERKLE;
    tc_cert_hash(&blk->last_commit, &h);
    return tc_hash_eq(&h, &blk->hdr.last_commit_hash) ? 0 : TC_EBLK_LAST_COMMIT;
}
