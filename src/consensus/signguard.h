/* The double-sign guard: what this validator signed last, and the rule that
 * it never signs anything conflicting with it (DESIGN.md §5).
 *
 * The state is small and fixed-size so the node can make it durable (the sign
 * log in src/store/signlog.h) before a signed message leaves. It also carries
 * the lock (lockedRound / lockedValue of the Tendermint algorithm), because a
 * validator that forgets its lock across a restart could help a conflicting
 * value to a quorum even without signing twice. Pure: no I/O. */
#ifndef TC_CONSENSUS_SIGNGUARD_H
#define TC_CONSENSUS_SIGNGUARD_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "util/err.h"

/* Steps in signing order within one (height, round). */
enum tc_sign_step {
    TC_SIGN_NONE = 0, /* nothing signed yet */
    TC_SIGN_PROPOSAL = 1,
    TC_SIGN_PREVOTE = 2,
    TC_SIGN_PRECOMMIT = 3
};

typedef struct {
    uint64_t height;
    uint32_t round;
    uint8_t step;       /* enum tc_sign_step */
    tc_hash value;      /* what was signed (zero: nil) */
    int32_t lock_round; /* -1: not locked at this height */
    tc_hash lock_value;
    /* The prevote signed at this height in prevote_round (-1: none), so a
     * validator restarted after its precommit can send that prevote again:
     * the same message, never a new one. */
    int32_t prevote_round;
    tc_hash prevote_value;
} tc_signstate;

/* Encoding: u64 height | u32 round | u8 step | value32 | i32 lock_round | lock_value32
 *           | i32 prevote_round | prevote_value32. */
#define TC_SIGNSTATE_SIZE 117

/* Nothing signed, not locked, no prevote. */
void tc_signstate_init(tc_signstate *s);

/* Returns 0 if signing `value` at (height, round, step) is safe after *last,
 * TC_ECONS_DOUBLE_SIGN otherwise. Safe means (height, round, step) is later
 * than the last signed one, or the same with the same value (re-signing the
 * same message yields the same deterministic Ed25519 signature). */
int tc_signguard_check(const tc_signstate *last, uint64_t height, uint32_t round, uint8_t step,
                       const tc_hash *value) TC_MUST_CHECK;

void tc_signstate_encode(const tc_signstate *s, uint8_t out[TC_SIGNSTATE_SIZE]);
/* TC_ETRUNC / TC_ETRAILING for a wrong length, TC_EBADVAL for an unknown step
 * or a lock or prevote round below -1; *s is reset to the initial state on failure. */
int tc_signstate_decode(tc_signstate *s, const uint8_t *p, size_t len) TC_MUST_CHECK;

#endif
