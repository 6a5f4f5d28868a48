/* One simulated network of validators, run from one seed: the cores from
 * src/consensus, a simulated clock and network with faults, Byzantine
 * validators, and the invariant checker that runs after every event. */
#ifndef TC_SIM_WORLD_H
#define TC_SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>

enum sim_profile {
    PROFILE_NONE = 0,
    PROFILE_LOSSY,
    PROFILE_PARTITION,
    PROFILE_CRASH,
    PROFILE_BYZANTINE,
    PROFILE_FORK, /* Byzantine weight over the threshold: the checker must fire */
    PROFILE_COUNT
};

#define SIM_MAX_NODES 64

typedef struct {
    uint64_t seed;
    int n;           /* validators */
    int byzantine;   /* how many of them are Byzantine */
    int heights;     /* every honest node must commit this many */
    enum sim_profile profile;
    const uint64_t *weights; /* n weights, or NULL: drawn from the seed */
    bool verbose;
    bool amnesia;    /* checker self-test: restarts forget the durable sign state */
} sim_config;

typedef struct {
    bool ok;
    char violation[320];
    uint64_t sim_ms;          /* simulated time at the end */
    uint64_t events;
    uint64_t delivered;       /* messages delivered */
    uint64_t min_height;      /* lowest height every honest node committed */
    uint32_t max_round;       /* highest decision round */
    uint64_t evidence;        /* evidence actions by honest nodes */
    uint64_t refused;         /* signatures the guards refused (restarts) */
    uint64_t stable_ms;       /* when the last fault ended */
    uint64_t liveness_ms;     /* from stable_ms until every honest node committed the next height */
    uint64_t liveness_bound_ms;
    uint64_t byz_weight, total_weight;
} sim_result;

const char *sim_profile_name(enum sim_profile p);
/* -1 for an unknown name. */
int sim_profile_parse(const char *s);
/* Runs one simulation; res->ok is false with res->violation set when an
 * invariant broke. Returns 0, or -1 for a configuration error (message in
 * res->violation). */
int sim_run(const sim_config *cfg, sim_result *res);

#endif
