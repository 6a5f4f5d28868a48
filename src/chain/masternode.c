#include "chain/masternode.h"

#include <string.h>

void tc_mn_encode(const tc_mn *m, tc_buf *b)
{
    tc_buf_u8(b, m->tier);
    tc_buf_put(b, m->owner.b, 32);
    tc_buf_put(b, m->operator_key.b, 32);
    tc_buf_u8(b, m->reward.version);
    tc_buf_put(b, m->reward.hash.b, 32);
    tc_buf_var(b, m->netaddr, strlen(m->netaddr));
    tc_buf_u64(b, m->registered_height);
    tc_buf_u64(b, m->active_height);
    tc_buf_u8(b, m->jailed);
    tc_buf_u32(b, m->missed);
    tc_buf_u64(b, m->unbond_height);
    tc_buf_u8(b, m->slashed);
}

int tc_mn_decode(tc_mn *m, const uint8_t *p, size_t len)
{
    tc_reader r;
    tc_outpoint keep = m->collateral;
    memset(m, 0, sizeof *m);
    m->collateral = keep;
    tc_reader_init(&r, p, len);
    tc_rd_u8(&r, &m->tier);
    tc_rd_bytes(&r, m->owner.b, 32);
    tc_rd_bytes(&r, m->operator_key.b, 32);
    tc_rd_u8(&r, &m->reward.version);
    tc_rd_bytes(&r, m->reward.hash.b, 32);
    tc_netaddr_read(&r, m->netaddr);
    tc_rd_u64(&r, &m->registered_height);
    tc_rd_u64(&r, &m->active_height);
    tc_rd_u8(&r, &m->jailed);
    tc_rd_u32(&r, &m->missed);
    tc_rd_u64(&r, &m->unbond_height);
    tc_rd_u8(&r, &m->slashed);
    if (m->slashed > 1)
        return TC_ECORRUPT;
    return tc_rd_done(&r) ? TC_ECORRUPT : 0;
}

bool tc_mn_is_validator(const tc_mn *m, uint64_t height)
{
    uint64_t weight = 0;
    if (tc_tier_info(m->tier, NULL, &weight) || weight == 0)
        return false;
    return !m->jailed && m->unbond_height == 0 && m->active_height <= height;
}

typedef struct {
    uint64_t height;
    tc_valset *vs;
} derive_walk;

static int derive_one(void *arg, const tc_mn *m)
{
    derive_walk *w = arg;
    uint64_t weight = 0;
    if (!tc_mn_is_validator(m, w->height) || tc_tier_info(m->tier, NULL, &weight))
        return 0;
    return tc_valset_add(w->vs, &m->operator_key, weight, &m->reward) ? TC_ECORRUPT : 0;
}

int tc_valset_derive(tc_valset *out, uint64_t height, tc_mn_each_fn each, void *ctx)
{
    derive_walk w = {height, out};
    tc_valset_init(out);
    int err = each(ctx, derive_one, &w);
    if (err)
        tc_valset_release(out);
    return err;
}

typedef struct {
    uint64_t height;
    size_t n;
} count_walk;

static int count_one(void *arg, const tc_mn *m)
{
    count_walk *w = arg;
    w->n += tc_mn_is_validator(m, w->height);
    return 0;
}

int tc_mn_count_validators(size_t *n, uint64_t height, tc_mn_each_fn each, void *ctx)
{
    count_walk w = {height, 0};
    int err = each(ctx, count_one, &w);
    *n = w.n;
    return err;
}
