/* The simulator's event queue: a binary min-heap on (time, sequence), so
 * events at the same simulated millisecond run in the order they were made. */
#ifndef TC_SIM_EVQ_H
#define TC_SIM_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/vote.h"

enum sim_msg_kind { MSG_PROPOSAL = 1, MSG_VOTE, MSG_STATUS, MSG_CERT };

typedef struct {
    uint8_t kind;
    int from;
    union {
        tc_proposal p;
        tc_vote v;
        uint64_t height; /* CERT: certified height */
        struct {
            uint64_t height;
            uint32_t round;
            uint64_t have[2]; /* votes held at (height, round): prevote, precommit bitmaps */
        } status;
    } u;
} sim_msg;

enum sim_ev_kind {
    EV_DELIVER = 1,
    EV_TIMEOUT,
    EV_VALIDITY,
    EV_GOSSIP,
    EV_CRASH,
    EV_RESTART,
    EV_PART_START,
    EV_PART_END,
    EV_WHOLE /* whole-node mode (whole.c): what says which, p and a carry it */
};

typedef struct {
    uint64_t t, seq;
    uint8_t kind;
    int node;
    uint32_t epoch; /* node incarnation the event belongs to */
    union {
        sim_msg m;
        struct {
            uint64_t height;
            uint32_t round;
            uint8_t kind;
        } timeout;
        struct {
            uint64_t height;
            tc_hash value;
        } validity;
        uint64_t part_mask; /* PART_START: nodes on side 1 */
        struct {
            uint8_t what;
            int from;            /* sending node, or -1 */
            uint32_t from_epoch; /* its incarnation when sent */
            void *p;             /* owned by the event when what says so */
            uint64_t a;
        } whole;
    } u;
} sim_event;

typedef struct {
    sim_event *ev;
    size_t n, cap;
    uint64_t seq;
} sim_evq;

void sim_evq_init(sim_evq *q);
void sim_evq_release(sim_evq *q);
/* Stamps e->seq and inserts. */
void sim_evq_push(sim_evq *q, sim_event *e);
/* Removes the earliest event into *out; false when empty. */
bool sim_evq_pop(sim_evq *q, sim_event *out);

#endif
