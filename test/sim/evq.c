#include "evq.h"

#include <stdlib.h>

#include "util/mem.h"

void sim_evq_init(sim_evq *q)
{
    q->ev = NULL;
    q->n = q->cap = 0;
    q->seq = 0;
}

void sim_evq_release(sim_evq *q)
{
    free(q->ev);
    sim_evq_init(q);
}

static bool before(const sim_event *a, const sim_event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void sim_evq_push(sim_evq *q, sim_event *e)
{
    e->seq = q->seq++;
    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 1024;
        q->ev = tc_xrealloc(q->ev, q->cap * sizeof *q->ev);
    }
    size_t i = q->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(e, &q->ev[parent]))
            break;
        q->ev[i] = q->ev[parent];
        i = parent;
    }
    q->ev[i] = *e;
}

bool sim_evq_pop(sim_evq *q, sim_event *out)
{
    if (q->n == 0)
        return false;
    *out = q->ev[0];
    sim_event last = q->ev[--q->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const sim_event *best = &last;
        if (l < q->n && before(&q->ev[l], best)) {
            m = l;
            best = &q->ev[l];
        }
        if (r < q->n && before(&q->ev[r], best))
            m = r;
        if (m == i)
            break;
        q->ev[i] = q->ev[m];
        i = m;
    }
    if (q->n)
        q->ev[i] = last;
    return true;
}
