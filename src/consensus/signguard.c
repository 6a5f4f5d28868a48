#include "consensus/signguard.h"

#include <string.h>

#include "util/buf.h"

void tc_signstate_init(tc_signstate *s)
{
    memset(s, 0, sizeof *s);
    s->step = TC_SIGN_NONE;
    s->lock_round = -1;
    s->prevote_round = -1;
}

/* -1, 0, 1 as (h, r, step) a is before, equal to, after b. */
static int position_cmp(uint64_t ha, uint32_t ra, uint8_t sa, uint64_t hb, uint32_t rb, uint8_t sb)
{
    if (ha != hb)
        return ha < hb ? -1 : 1;
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    return 0;
}

int tc_signguard_check(const tc_signstate *last, uint64_t height, uint32_t round, uint8_t step,
                       const tc_hash *value)
{
    if (last->step == TC_SIGN_NONE)
        return 0;
    int c = position_cmp(height, round, step, last->height, last->round, last->step);
    if (c > 0)
        return 0;
    if (c == 0 && tc_hash_eq(value, &last->value))
        return 0;
    return TC_ECONS_DOUBLE_SIGN;
}

void tc_signstate_encode(const tc_signstate *s, uint8_t out[TC_SIGNSTATE_SIZE])
{
    tc_le64(out, s->height);
    tc_le32(out + 8, s->round);
    out[12] = s->step;
    memcpy(out + 13, s->value.b, 32);
    tc_le32(out + 45, (uint32_t)s->lock_round);
    memcpy(out + 49, s->lock_value.b, 32);
    tc_le32(out + 81, (uint32_t)s->prevote_round);
    memcpy(out + 85, s->prevote_value.b, 32);
}

int tc_signstate_decode(tc_signstate *s, const uint8_t *p, size_t len)
{
    tc_reader r;
    uint32_t lock, prevote;
    tc_reader_init(&r, p, len);
    tc_rd_u64(&r, &s->height);
    tc_rd_u32(&r, &s->round);
    tc_rd_u8(&r, &s->step);
    tc_rd_bytes(&r, s->value.b, 32);
    tc_rd_u32(&r, &lock);
    tc_rd_bytes(&r, s->lock_value.b, 32);
    tc_rd_u32(&r, &prevote);
    tc_rd_bytes(&r, s->prevote_value.b, 32);
    s->lock_round = (int32_t)lock;
    s->prevote_round = (int32_t)prevote;
    int err = tc_rd_done(&r);
    if (err == 0 && (s->step > TC_SIGN_PRECOMMIT || s->lock_round < -1 || s->prevote_round < -1))
        err = TC_EBADVAL;
    if (err)
        tc_signstate_init(s);
    return err;
}
