#include "consensus/proposer.h"

#include <stdlib.h>

#include "util/mem.h"

#define MAX_PERIOD 65536u

struct tc_proposer {
    size_t period;
    uint16_t *slot; /* validator index per slot (TC_MAX_VALIDATORS < 65536) */
};

tc_proposer *tc_proposer_new(const tc_valset *vs)
{
    if (vs->n == 0)
        abort(); /* a height without validators is a caller bug */
    uint64_t div = vs->total > MAX_PERIOD ? vs->total / MAX_PERIOD + 1 : 1;
    int64_t *w = tc_xcalloc(vs->n, sizeof *w);
    int64_t *prio = tc_xcalloc(vs->n, sizeof *prio);
    int64_t period = 0;
    for (size_t i = 0; i < vs->n; i++) {
        uint64_t x = vs->v[i].weight / div;
        w[i] = x ? (int64_t)x : 1;
        period += w[i];
    }
    tc_proposer *p = tc_xmalloc(sizeof *p);
    p->period = (size_t)period;
    p->slot = tc_xcalloc(p->period, sizeof *p->slot);
    for (size_t s = 0; s < p->period; s++) {
        size_t best = 0;
        for (size_t i = 0; i < vs->n; i++) {
            prio[i] += w[i];
            if (prio[i] > prio[best])
                best = i;
        }
        prio[best] -= period;
        p->slot[s] = (uint16_t)best;
    }
    free(w);
    free(prio);
    return p;
}

void tc_proposer_free(tc_proposer *p)
{
    if (p == NULL)
        return;
    free(p->slot);
    free(p);
}

size_t tc_proposer_index(const tc_proposer *p, uint64_t height, uint32_t round)
{
    uint64_t s = (height % p->period + round % p->period) % p->period;
    return p->slot[s];
}
