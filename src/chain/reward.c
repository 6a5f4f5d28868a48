#include "chain/reward.h"

#include "util/mem.h"

int tc_reward_coinbase(const tc_valset *signers_vs, const tc_cert *last_commit, uint64_t fees, uint64_t height,
                       tc_tx *out)
{
    size_t n = last_commit->n ? last_commit->n : signers_vs->n;
    if (n == 0)
        return TC_ECERT_QUORUM;
    const tc_validator **who = tc_xcalloc(n, sizeof *who);
    uint64_t weight = 0;
    int err = 0;
    for (size_t i = 0; i < n; i++) {
        if (last_commit->n) {
            long at = tc_valset_find(signers_vs, &last_commit->sigs[i].key);
            if (at < 0) {
                err = TC_ECERT_SIGNER;
                goto out;
            }
            who[i] = &signers_vs->v[at];
        } else {
            who[i] = &signers_vs->v[i];
        }
        weight += who[i]->weight;
    }
    uint64_t total = TC_BLOCK_REWARD + fees;
    uint64_t *share = tc_xcalloc(n, sizeof *share);
    uint64_t paid = 0;
    size_t n_out = 0;
    for (size_t i = 0; i < n; i++) {
        share[i] = (uint64_t)((unsigned __int128)total * who[i]->weight / weight);
        if (i > 0 && share[i] < TC_DUST_LIMIT)
            share[i] = 0;
        paid += share[i];
    }
    share[0] += total - paid;
    tc_tx_release(out);
    out->kind = TC_TX_COINBASE;
    out->u.coinbase_height = height;
    for (size_t i = 0; i < n; i++)
        n_out += share[i] != 0;
    tc_tx_alloc(out, 0, n_out);
    for (size_t i = 0, k = 0; i < n; i++) {
        if (share[i] == 0)
            continue;
        out->out[k].value = share[i];
        out->out[k].addr = who[i]->reward;
        k++;
    }
    free(share);
out:
    free(who);
    return err;
}
