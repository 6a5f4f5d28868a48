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
    return tc_rd_done(&r) ? TC_ECORRUPT : 0;
}

bool tc_mn_is_validator(const tc_mn *m, uint64_t height)
{
    uint64_t weight = 0;
    if (tc_tier_info(m->tier, NULL, &weight) || weight == 0)
        return false;
    return !m->jailed && m->active_height <= height;
}
