#include "chain/vote.h"

#include <string.h>

#define VOTE_BODY 77     /* type, height, round, block, validator */
#define PROPOSAL_BODY 80 /* height, round, pol_round, block, proposer */
_Static_assert(VOTE_BODY == 1 + 8 + 4 + sizeof(tc_hash) + sizeof(tc_pubkey), "vote body: type, height, round, block, validator");
_Static_assert(TC_VOTE_SIZE == VOTE_BODY + sizeof(tc_sig), "a vote is its body and a signature");
_Static_assert(PROPOSAL_BODY == 8 + 4 + 4 + sizeof(tc_hash) + sizeof(tc_pubkey),
               "proposal body: height, round, pol_round, block, proposer");
_Static_assert(TC_PROPOSAL_SIZE == PROPOSAL_BODY + sizeof(tc_sig), "a proposal is its body and a signature");

static void vote_body(const tc_vote *v, uint8_t out[VOTE_BODY])
{
    out[0] = v->type;
    tc_le64(out + 1, v->height);
    tc_le32(out + 9, v->round);
    memcpy(out + 13, v->block.b, 32);
    memcpy(out + 45, v->validator.b, 32);
}

static void proposal_body(const tc_proposal *p, uint8_t out[PROPOSAL_BODY])
{
    tc_le64(out, p->height);
    tc_le32(out + 8, p->round);
    tc_le32(out + 12, (uint32_t)p->pol_round);
    memcpy(out + 16, p->block.b, 32);
    memcpy(out + 48, p->proposer.b, 32);
}

/* BLAKE3(domain, le32 chain id || body): the body is the encoding minus the signature. */
static void sign_bytes(enum tc_hash_domain dom, uint32_t chain_id, const uint8_t *body,
                       size_t n, tc_hash *msg)
{
    uint8_t cid[4];
    tc_le32(cid, chain_id);
    tc_hasher h;
    tc_hasher_init(&h, dom);
    tc_hasher_update(&h, cid, sizeof cid);
    tc_hasher_update(&h, body, n);
    tc_hasher_final(&h, msg);
}

void tc_vote_sign_bytes(const tc_vote *v, uint32_t chain_id, tc_hash *msg)
{
    uint8_t body[VOTE_BODY];
    vote_body(v, body);
    sign_bytes(TC_H_VOTE, chain_id, body, sizeof body, msg);
}

void tc_vote_sign(tc_vote *v, uint32_t chain_id, const tc_keypair *kp)
{
    tc_hash msg;
    v->validator = kp->pk;
    tc_vote_sign_bytes(v, chain_id, &msg);
    tc_sign(kp, msg.b, sizeof msg.b, &v->sig);
}

int tc_vote_verify(const tc_vote *v, uint32_t chain_id)
{
    tc_hash msg;
    tc_vote_sign_bytes(v, chain_id, &msg);
    return tc_verify(&v->validator, msg.b, sizeof msg.b, &v->sig);
}

void tc_vote_encode(const tc_vote *v, tc_buf *b)
{
    vote_body(v, tc_buf_extend(b, VOTE_BODY));
    tc_buf_put(b, v->sig.b, sizeof v->sig.b);
}

int tc_vote_read(tc_reader *r, tc_vote *v)
{
    memset(v, 0, sizeof *v);
    size_t start = r->pos;
    tc_rd_u8(r, &v->type);
    tc_rd_u64(r, &v->height);
    tc_rd_u32(r, &v->round);
    tc_rd_bytes(r, v->block.b, sizeof v->block.b);
    tc_rd_bytes(r, v->validator.b, sizeof v->validator.b);
    tc_rd_bytes(r, v->sig.b, sizeof v->sig.b);
    if (r->err == 0 && v->type != TC_VOTE_PREVOTE && v->type != TC_VOTE_PRECOMMIT) {
        r->pos = start;
        tc_rd_fail(r, TC_EBADVAL);
    }
    if (r->err)
        memset(v, 0, sizeof *v);
    return r->err;
}

int tc_vote_decode(tc_vote *v, const uint8_t *p, size_t len)
{
    tc_reader r;
    tc_reader_init(&r, p, len);
    int err = tc_vote_read(&r, v);
    if (err == 0)
        err = tc_rd_done(&r);
    if (err)
        memset(v, 0, sizeof *v);
    return err;
}

bool tc_vote_conflict(const tc_vote *a, const tc_vote *b)
{
    return a->type == b->type && a->height == b->height && a->round == b->round &&
           memcmp(a->validator.b, b->validator.b, sizeof a->validator.b) == 0 &&
           !tc_hash_eq(&a->block, &b->block);
}

void tc_proposal_sign_bytes(const tc_proposal *p, uint32_t chain_id, tc_hash *msg)
{
    uint8_t body[PROPOSAL_BODY];
    proposal_body(p, body);
    sign_bytes(TC_H_PROPOSAL, chain_id, body, sizeof body, msg);
}

void tc_proposal_sign(tc_proposal *p, uint32_t chain_id, const tc_keypair *kp)
{
    tc_hash msg;
    p->proposer = kp->pk;
    tc_proposal_sign_bytes(p, chain_id, &msg);
    tc_sign(kp, msg.b, sizeof msg.b, &p->sig);
}

int tc_proposal_verify(const tc_proposal *p, uint32_t chain_id)
{
    tc_hash msg;
    tc_proposal_sign_bytes(p, chain_id, &msg);
    return tc_verify(&p->proposer, msg.b, sizeof msg.b, &p->sig);
}

void tc_proposal_encode(const tc_proposal *p, tc_buf *b)
{
    proposal_body(p, tc_buf_extend(b, PROPOSAL_BODY));
    tc_buf_put(b, p->sig.b, sizeof p->sig.b);
}

/* pol_round is -1 or a round below the proposal's own (a proof of lock is
 * always from an earlier round); anything else is an invalid field. */
int tc_proposal_decode(tc_proposal *p, const uint8_t *in, size_t len)
{
    tc_reader r;
    uint32_t pol;
    memset(p, 0, sizeof *p);
    tc_reader_init(&r, in, len);
    tc_rd_u64(&r, &p->height);
    tc_rd_u32(&r, &p->round);
    size_t pol_at = r.pos;
    tc_rd_u32(&r, &pol);
    tc_rd_bytes(&r, p->block.b, sizeof p->block.b);
    tc_rd_bytes(&r, p->proposer.b, sizeof p->proposer.b);
    tc_rd_bytes(&r, p->sig.b, sizeof p->sig.b);
    p->pol_round = (int32_t)pol;
    if (r.err == 0 && (p->pol_round < -1 || (int64_t)p->pol_round >= (int64_t)p->round)) {
        r.pos = pol_at;
        tc_rd_fail(&r, TC_EBADVAL);
    }
    int err = tc_rd_done(&r);
    if (err)
        memset(p, 0, sizeof *p);
    return err;
}
