/* Proposer of (height, round): weighted round-robin over a validator set.
 *
 * The sequence is Tendermint's proposer-priority algorithm (smooth weighted
 * round-robin) run from all-zero priorities: each step every validator gains
 * its weight, the highest priority (lowest index on ties) proposes and loses
 * the total. After W steps (W = total weight) every validator has proposed
 * exactly its weight's share and the priorities are back at zero, so the
 * sequence has period W and slot (height + round) mod W is a pure function of
 * the set. Heavy validators are interleaved, not consecutive, so a silent one
 * never stalls many rounds in a row. Sets with W above 65536 use weights
 * scaled to fit that period (each at least 1). */
#ifndef TC_CONSENSUS_PROPOSER_H
#define TC_CONSENSUS_PROPOSER_H

#include <stddef.h>
#include <stdint.h>

#include "chain/valset.h"

typedef struct tc_proposer tc_proposer;

/* Builds the schedule for vs (n ≥ 1); O(period × n) once. Free with tc_proposer_free. */
tc_proposer *tc_proposer_new(const tc_valset *vs);
void tc_proposer_free(tc_proposer *p); /* NULL is a no-op */
/* Index into vs of the proposer of (height, round). */
size_t tc_proposer_index(const tc_proposer *p, uint64_t height, uint32_t round);

#endif
