/* tc-sim: the deterministic consensus simulator (DESIGN.md §9).
 *
 *   tc-sim --seed S --validators N --byzantine K --heights H --profile P
 *   tc-sim --seeds A..B [--validators N|LO..HI] [--byzantine K|max] ...
 *
 * One seed prints one summary line; a range runs in-process and prints a line
 * per failing seed and one summary. Exit 0 when every invariant held, 1 on a
 * violation (the line carries the command that replays it), 2 on usage errors.
 * Signatures are real Ed25519 throughout (a shared verification cache keeps
 * the cost at one verify per distinct message); certificates are checked by
 * the checker with its own cache.
 *
 *   tc-sim --whole --nodes N|LO..HI --seed S|--seeds A..B --heights H --profile P
 *
 * runs whole nodes instead (whole.h): the same exit codes, and a range ends
 * with the simulated node-hours per wall-second. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/ed25519.h"
#include "rng.h"
#include "util/log.h"
#include "whole.h"
#include "world.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: tc-sim [--seed S | --seeds A..B | --count C] [--validators N|LO..HI]\n"
            "              [--byzantine K|max] [--heights H] [--weights W1,W2,...]\n"
            "              [--profile none|lossy|partition|crash-restart|byzantine|fork]\n"
            "              [--amnesia]\n"
            "  fork: Byzantine weight over 1/3 split the honest nodes; the checker must\n"
            "        report an agreement violation (exit 1).\n"
            "  --amnesia: restarted nodes lose their durable sign state (a checker\n"
            "        self-test: honest double-signs must then be caught).\n");
}

static int parse_range(const char *s, uint64_t *lo, uint64_t *hi)
{
    char *end;
    *lo = strtoull(s, &end, 10);
    if (end == s)
        return -1;
    if (*end == 0) {
        *hi = *lo;
        return 0;
    }
    if (strncmp(end, "..", 2) != 0)
        return -1;
    const char *t = end + 2;
    *hi = strtoull(t, &end, 10);
    return (end == t || *end || *hi < *lo) ? -1 : 0;
}

/* --seed S, --seeds A..B or --count C (from the current low seed): 1 when a
 * is one of them, 0 when not, -1 for a bad value. */
static int parse_seeds(const char *a, const char *v, uint64_t *lo, uint64_t *hi, bool *range)
{
    if (strcmp(a, "--seed") == 0)
        return parse_range(v, lo, hi) || *lo != *hi ? -1 : 1;
    if (strcmp(a, "--seeds") == 0) {
        *range = true;
        return parse_range(v, lo, hi) ? -1 : 1;
    }
    if (strcmp(a, "--count") != 0)
        return 0;
    uint64_t c = strtoull(v, NULL, 10);
    *hi = *lo + c - 1;
    *range = true;
    return c == 0 ? -1 : 1;
}

static void usage_whole(void)
{
    fprintf(stderr,
            "usage: tc-sim --whole [--seed S | --seeds A..B | --count C] [--nodes N|LO..HI]\n"
            "              [--heights H] [--profile honest|lossy|crash-restart|partition|disk-full]\n"
            "              [--no-txs] [--break K] [--amnesia [--amnesia-nodes K] [--resume-now]]\n"
            "              [--byz KIND [--byz-nodes K]] [--verbose]\n"
            "  --byz KIND: K nodes (default under 1/3; fork: over 1/3) are Byzantine: equivocate,\n"
            "        double-vote, invalid-block, bad-time, withhold, junk-proposals,\n"
            "        lying-heights, bad-sync, fork or fork-halt (docs/simulator.md)\n"
            "  --break K: node K applies a forged block at height 2 (a checker self-test:\n"
            "        the agreement violation must be reported, exit 1).\n"
            "  --amnesia: (crash-restart) a restarted node has lost its sign log; the sign\n"
            "        hold must keep it from signing twice. With --resume-now (no hold) the\n"
            "        checker must report honest double-signs on some seeds. Crashes hit\n"
            "        nodes 0..K-1 only (default: under 1/3 of the nodes).\n");
}

static void print_whole(const whole_config *c, const whole_result *r)
{
    printf("%s seed=%" PRIu64 " profile=%s nodes=%d heights=%" PRIu64 " sim_ms=%" PRIu64 " events=%" PRIu64
           " msgs=%" PRIu64 " dropped=%" PRIu64 " txs=%" PRIu64 "/%" PRIu64 " restarts=%" PRIu64
           " worst_gap=%" PRIu64 "ms worst_sync=%" PRIu64 "ms bound=%" PRIu64 "ms",
           r->ok ? "ok" : "FAIL", c->seed, whole_profile_name(c->profile), c->n, r->min_height, r->sim_ms,
           r->events, r->delivered, r->dropped, r->txs_committed, r->txs_acked, r->restarts, r->worst_gap_ms,
           r->worst_sync_ms, r->bound_ms);
    if (c->byz != WB_NONE)
        printf(" byz=%s/%d attacks=%" PRIu64 " invalid=%" PRIu64 " bans=%" PRIu64, whole_byz_name(c->byz),
               c->byz_nodes, r->byz_attacks, r->byz_bad, r->byz_bans);
    printf(" digest=%s%s%s\n", r->digest, r->ok ? "" : " violation: ", r->ok ? "" : r->violation);
    if (!r->ok) {
        printf("replay: tc-sim --whole --seed %" PRIu64 " --nodes %d --heights %d --profile %s%s", c->seed, c->n,
               c->heights, whole_profile_name(c->profile), c->txs ? "" : " --no-txs");
        if (c->broken >= 0)
            printf(" --break %d", c->broken);
        printf("%s%s", c->amnesia ? " --amnesia" : "", c->resume_now ? " --resume-now" : "");
        if (c->amnesia_nodes)
            printf(" --amnesia-nodes %d", c->amnesia_nodes);
        if (c->byz != WB_NONE)
            printf(" --byz %s --byz-nodes %d", whole_byz_name(c->byz), c->byz_nodes);
        printf("\n");
    }
}

/* One option of the run's configuration with its value: 0, or -1 for an
 * unknown option or a bad value. */
static int whole_option(whole_config *c, const char *a, const char *v)
{
    if (strcmp(a, "--heights") == 0) {
        c->heights = atoi(v);
    } else if (strcmp(a, "--profile") == 0) {
        int p = whole_profile_parse(v);
        if (p < 0)
            return -1;
        c->profile = (enum whole_profile)p;
    } else if (strcmp(a, "--break") == 0) {
        c->broken = atoi(v);
    } else if (strcmp(a, "--amnesia-nodes") == 0) {
        c->amnesia_nodes = atoi(v);
    } else if (strcmp(a, "--byz") == 0) {
        int k = whole_byz_parse(v);
        if (k < 0)
            return -1;
        c->byz = (enum whole_byz)k;
    } else if (strcmp(a, "--byz-nodes") == 0) {
        c->byz_nodes = atoi(v);
    } else {
        return -1;
    }
    return 0;
}

static int run_whole(int argc, char **argv)
{
    uint64_t seed_lo = 1, seed_hi = 1, n_lo = 4, n_hi = 4;
    whole_config base = {.heights = 10, .profile = WP_HONEST, .broken = -1, .txs = true};
    bool range = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool *flag = strcmp(a, "--verbose") == 0      ? &base.verbose
                     : strcmp(a, "--amnesia") == 0    ? &base.amnesia
                     : strcmp(a, "--resume-now") == 0 ? &base.resume_now
                                                      : NULL;
        if (flag || strcmp(a, "--whole") == 0 || strcmp(a, "--no-txs") == 0) {
            if (flag)
                *flag = true;
            base.txs &= strcmp(a, "--no-txs") != 0;
            continue;
        }
        if (v == NULL)
            return usage_whole(), 2;
        i++;
        int seeds = parse_seeds(a, v, &seed_lo, &seed_hi, &range);
        if (seeds < 0)
            return usage_whole(), 2;
        if (seeds > 0) {
            continue;
        } else if (strcmp(a, "--nodes") == 0) {
            if (parse_range(v, &n_lo, &n_hi) || n_lo < 1 || n_hi > WHOLE_MAX_NODES)
                return usage_whole(), 2;
        } else if (whole_option(&base, a, v) != 0) {
            return usage_whole(), 2;
        }
    }
    whole_install_random(); /* before libsodium starts */
    if (tc_crypto_init() != 0)
        return 2;
    tc_log_setup(base.verbose ? TC_LOG_INFO : TC_LOG_OFF, TC_LOG_LOGFMT, 2);
    uint64_t passed = 0, failed = 0, worst_gap = 0;
    double node_hours = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t seed = seed_lo; seed <= seed_hi; seed++) {
        whole_config c = base;
        c.seed = seed;
        uint64_t pick = seed * 0x9e3779b97f4a7c15ull;
        c.n = (int)(n_lo + sim_splitmix64(&pick) % (n_hi - n_lo + 1));
        if (c.byz != WB_NONE && c.byz_nodes == 0)
            c.byz_nodes = whole_byz_default_nodes(c.byz, c.n);
        whole_result r;
        if (whole_run(&c, &r) != 0) {
            fprintf(stderr, "tc-sim: %s\n", r.violation);
            return 2;
        }
        r.ok ? passed++ : failed++;
        worst_gap = r.worst_gap_ms > worst_gap ? r.worst_gap_ms : worst_gap;
        node_hours += (double)c.n * (double)r.sim_ms / 3.6e6;
        if (!range || !r.ok)
            print_whole(&c, &r);
        fflush(stdout);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (range)
        printf("tc-sim: whole profile=%s seeds=%" PRIu64 "..%" PRIu64 " passed=%" PRIu64 " failed=%" PRIu64
               " worst_gap=%" PRIu64 "ms node_hours=%.2f wall=%.1fs node_hours_per_wall_s=%.3f\n",
               base.byz != WB_NONE ? whole_byz_name(base.byz) : whole_profile_name(base.profile), seed_lo, seed_hi, passed, failed, worst_gap, node_hours, wall,
               wall > 0 ? node_hours / wall : 0);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--whole") == 0)
            return run_whole(argc, argv);
    uint64_t seed_lo = 1, seed_hi = 1, n_lo = 4, n_hi = 4, heights = 10;
    int byz = 0, profile = PROFILE_NONE;
    bool byz_max = false, range = false, amnesia = false;
    uint64_t weights[SIM_MAX_NODES];
    int nweights = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--amnesia") == 0) {
            amnesia = true;
            continue;
        }
        if (v == NULL) {
            usage();
            return 2;
        }
        i++;
        int seeds = parse_seeds(a, v, &seed_lo, &seed_hi, &range);
        if (seeds < 0)
            return usage(), 2;
        if (seeds > 0) {
            continue;
        } else if (strcmp(a, "--validators") == 0) {
            if (parse_range(v, &n_lo, &n_hi) || n_lo < 1 || n_hi > SIM_MAX_NODES)
                return usage(), 2;
        } else if (strcmp(a, "--byzantine") == 0) {
            byz_max = strcmp(v, "max") == 0;
            byz = byz_max ? 0 : atoi(v);
        } else if (strcmp(a, "--heights") == 0) {
            heights = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--profile") == 0) {
            if ((profile = sim_profile_parse(v)) < 0)
                return usage(), 2;
        } else if (strcmp(a, "--weights") == 0) {
            for (char *p = (char *)v; *p && nweights < SIM_MAX_NODES;) {
                weights[nweights++] = strtoull(p, &p, 10);
                if (*p == ',')
                    p++;
            }
        } else {
            usage();
            return 2;
        }
    }
    if (tc_crypto_init() != 0)
        return 2;
    tc_log_setup(TC_LOG_OFF, TC_LOG_LOGFMT, 2);
    uint64_t passed = 0, failed = 0, worst_live = 0, evidence = 0, bound = 0;
    uint32_t worst_round = 0;
    clock_t t0 = clock();
    for (uint64_t seed = seed_lo; seed <= seed_hi; seed++) {
        sim_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.seed = seed;
        uint64_t pick = seed * 0x9e3779b97f4a7c15ull;
        cfg.n = (int)(n_lo + sim_splitmix64(&pick) % (n_hi - n_lo + 1));
        cfg.byzantine = byz_max ? (cfg.n - 1) / 3 : byz;
        if (profile == PROFILE_FORK && byz_max)
            cfg.byzantine = cfg.n / 2; /* over the threshold */
        cfg.heights = (int)heights;
        cfg.amnesia = amnesia;
        cfg.profile = (enum sim_profile)profile;
        if (nweights) {
            if (nweights != cfg.n) {
                fprintf(stderr, "tc-sim: --weights needs %d values\n", cfg.n);
                return 2;
            }
            cfg.weights = weights;
        }
        sim_result r;
        if (sim_run(&cfg, &r) != 0) {
            fprintf(stderr, "tc-sim: %s\n", r.violation);
            return 2;
        }
        if (profile != PROFILE_FORK && 3 * r.byz_weight >= r.total_weight && r.byz_weight) {
            fprintf(stderr, "tc-sim: Byzantine weight %" PRIu64 " of %" PRIu64
                            " is not below 1/3 (use --profile fork for that)\n",
                    r.byz_weight, r.total_weight);
            return 2;
        }
        if (r.ok)
            passed++;
        else
            failed++;
        worst_live = r.liveness_ms > worst_live ? r.liveness_ms : worst_live;
        worst_round = r.max_round > worst_round ? r.max_round : worst_round;
        evidence += r.evidence;
        bound = r.liveness_bound_ms;
        if (!range || !r.ok)
            printf("%s seed=%" PRIu64 " profile=%s validators=%d byzantine=%d weight=%" PRIu64
                   "/%" PRIu64 " heights=%" PRIu64 " sim_ms=%" PRIu64 " max_round=%u events=%" PRIu64
                   " msgs=%" PRIu64 " evidence=%" PRIu64 " refused=%" PRIu64 " healed_at=%" PRIu64
                   "ms liveness=%" PRIu64 "ms bound=%" PRIu64 "ms%s%s\n",
                   r.ok ? "ok" : "FAIL", seed, sim_profile_name(cfg.profile), cfg.n, cfg.byzantine,
                   r.byz_weight, r.total_weight, r.min_height, r.sim_ms, r.max_round, r.events,
                   r.delivered, r.evidence, r.refused, r.stable_ms, r.liveness_ms,
                   r.liveness_bound_ms, r.ok ? "" : " violation: ", r.ok ? "" : r.violation);
        if (!r.ok)
            printf("replay: tc-sim --seed %" PRIu64 " --validators %d --byzantine %d --heights %d"
                   " --profile %s\n",
                   seed, cfg.n, cfg.byzantine, cfg.heights, sim_profile_name(cfg.profile));
    }
    if (range)
        printf("tc-sim: profile=%s seeds=%" PRIu64 "..%" PRIu64 " passed=%" PRIu64
               " failed=%" PRIu64 " worst_liveness=%" PRIu64 "ms (bound %" PRIu64 "ms) max_round=%u"
               " evidence=%" PRIu64 " cpu=%.1fs\n",
               sim_profile_name((enum sim_profile)profile), seed_lo, seed_hi, passed, failed,
               worst_live, bound, worst_round, evidence, (double)(clock() - t0) / CLOCKS_PER_SEC);
    return failed ? 1 : 0;
}
