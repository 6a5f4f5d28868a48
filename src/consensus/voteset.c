#include "consensus/voteset.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

struct tally {
    tc_hash value;
    uint64_t weight;
};

struct typeset {
    tc_vote *votes;   /* n slots: first vote of each validator */
    tc_vote *extra;   /* n slots: its first conflicting vote (SLOT_CONFLICT_SEEN) */
    uint8_t *state;   /* per slot: SLOT_* */
    struct tally *tally;
    size_t ntally;    /* distinct values; at most n */
    uint64_t any;
    size_t count;
};

enum { SLOT_EMPTY = 0, SLOT_VOTE = 1, SLOT_CONFLICT_SEEN = 2 };

struct round_entry {
    uint32_t round;
    struct typeset t[2]; /* prevote, precommit */
};

struct tc_voteset {
    const tc_valset *vs;
    uint64_t height;
    struct round_entry *r[TC_VOTESET_MAX_ROUNDS];
    size_t nr;
    uint32_t protect[TC_VOTESET_MAX_PROTECT];
    size_t nprotect;
};

tc_voteset *tc_voteset_new(const tc_valset *vs, uint64_t height)
{
    tc_voteset *s = tc_xcalloc(1, sizeof *s);
    s->vs = vs;
    s->height = height;
    return s;
}

static void entry_free(struct round_entry *e)
{
    for (int t = 0; t < 2; t++) {
        free(e->t[t].votes);
        free(e->t[t].extra);
        free(e->t[t].state);
        free(e->t[t].tally);
    }
    free(e);
}

void tc_voteset_free(tc_voteset *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nr; i++)
        entry_free(s->r[i]);
    free(s);
}

static struct round_entry *find(const tc_voteset *s, uint32_t round)
{
    for (size_t i = 0; i < s->nr; i++)
        if (s->r[i]->round == round)
            return s->r[i];
    return NULL;
}

static bool is_protected(const tc_voteset *s, uint32_t round)
{
    for (size_t i = 0; i < s->nprotect; i++)
        if (s->protect[i] == round)
            return true;
    return false;
}

/* The entry for round, created if there is room or a lower unprotected round
 * can make room; NULL otherwise. */
static struct round_entry *find_or_make(tc_voteset *s, uint32_t round)
{
    struct round_entry *e = find(s, round);
    if (e)
        return e;
    if (s->nr == TC_VOTESET_MAX_ROUNDS) {
        size_t victim = s->nr;
        for (size_t i = 0; i < s->nr; i++) {
            uint32_t r = s->r[i]->round;
            if (r < round && !is_protected(s, r) &&
                (victim == s->nr || r < s->r[victim]->round))
                victim = i;
        }
        if (victim == s->nr)
            return NULL;
        entry_free(s->r[victim]);
        s->r[victim] = s->r[--s->nr];
    }
    e = tc_xcalloc(1, sizeof *e);
    e->round = round;
    size_t n = s->vs->n ? s->vs->n : 1;
    for (int t = 0; t < 2; t++) {
        e->t[t].votes = tc_xcalloc(n, sizeof *e->t[t].votes);
        e->t[t].extra = tc_xcalloc(n, sizeof *e->t[t].extra);
        e->t[t].state = tc_xcalloc(n, 1);
        e->t[t].tally = tc_xcalloc(n, sizeof *e->t[t].tally);
    }
    s->r[s->nr++] = e;
    return e;
}

static struct typeset *typeset_of(struct round_entry *e, uint8_t type)
{
    if (e == NULL || (type != TC_VOTE_PREVOTE && type != TC_VOTE_PRECOMMIT))
        return NULL;
    return &e->t[type - 1];
}

static void tally_add(struct typeset *ts, const tc_hash *value, uint64_t w)
{
    size_t k = 0;
    while (k < ts->ntally && !tc_hash_eq(&ts->tally[k].value, value))
        k++;
    if (k == ts->ntally) {
        ts->tally[k].value = *value;
        ts->tally[k].weight = 0;
        ts->ntally++;
    }
    ts->tally[k].weight += w;
}

int tc_voteset_add(tc_voteset *s, const tc_vote *v, size_t idx, tc_vote *prev)
{
    if (idx >= s->vs->n || v->height != s->height ||
        (v->type != TC_VOTE_PREVOTE && v->type != TC_VOTE_PRECOMMIT))
        abort(); /* the caller checks membership, height and type first */
    struct round_entry *e = find_or_make(s, v->round);
    if (e == NULL)
        return TC_ELIMIT;
    struct typeset *ts = typeset_of(e, v->type);
    uint64_t w = s->vs->v[idx].weight;
    if (ts->state[idx] != SLOT_EMPTY) {
        const tc_vote *old = &ts->votes[idx];
        if (tc_hash_eq(&old->block, &v->block))
            return TC_ECONS_DUP;
        if (ts->state[idx] == SLOT_CONFLICT_SEEN)
            return TC_ECONS_DUP;
        /* An equivocator's second value counts too, as in the paper's model
         * (a quorum for v is 2f+1 senders of v, whatever else they sent);
         * further values are dropped to keep memory bounded. */
        ts->state[idx] = SLOT_CONFLICT_SEEN;
        ts->extra[idx] = *v;
        tally_add(ts, &v->block, w);
        if (prev)
            *prev = *old;
        return TC_ECONS_CONFLICT;
    }
    ts->votes[idx] = *v;
    ts->state[idx] = SLOT_VOTE;
    ts->any += w;
    ts->count++;
    tally_add(ts, &v->block, w);
    return 0;
}

const tc_vote *tc_voteset_get_for(const tc_voteset *s, uint32_t round, uint8_t type, size_t idx,
                                  const tc_hash *value)
{
    struct typeset *ts = typeset_of(find(s, round), type);
    if (ts == NULL || idx >= s->vs->n || ts->state[idx] == SLOT_EMPTY)
        return NULL;
    if (tc_hash_eq(&ts->votes[idx].block, value))
        return &ts->votes[idx];
    if (ts->state[idx] == SLOT_CONFLICT_SEEN && tc_hash_eq(&ts->extra[idx].block, value))
        return &ts->extra[idx];
    return NULL;
}

const tc_vote *tc_voteset_get(const tc_voteset *s, uint32_t round, uint8_t type, size_t idx)
{
    struct typeset *ts = typeset_of(find(s, round), type);
    if (ts == NULL || idx >= s->vs->n || ts->state[idx] == SLOT_EMPTY)
        return NULL;
    return &ts->votes[idx];
}

uint64_t tc_voteset_weight(const tc_voteset *s, uint32_t round, uint8_t type, const tc_hash *value)
{
    struct typeset *ts = typeset_of(find(s, round), type);
    if (ts == NULL)
        return 0;
    for (size_t k = 0; k < ts->ntally; k++)
        if (tc_hash_eq(&ts->tally[k].value, value))
            return ts->tally[k].weight;
    return 0;
}

uint64_t tc_voteset_weight_any(const tc_voteset *s, uint32_t round, uint8_t type)
{
    struct typeset *ts = typeset_of(find(s, round), type);
    return ts ? ts->any : 0;
}

void tc_voteset_protect(tc_voteset *s, const uint32_t *rounds, size_t n)
{
    s->nprotect = n < TC_VOTESET_MAX_PROTECT ? n : TC_VOTESET_MAX_PROTECT;
    memcpy(s->protect, rounds, s->nprotect * sizeof *rounds);
}

size_t tc_voteset_rounds(const tc_voteset *s)
{
    return s->nr;
}

size_t tc_voteset_votes(const tc_voteset *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nr; i++)
        for (int t = 0; t < 2; t++) {
            n += s->r[i]->t[t].count;
            for (size_t k = 0; k < s->vs->n; k++)
                n += s->r[i]->t[t].state[k] == SLOT_CONFLICT_SEEN;
        }
    return n;
}
