#include "node/sync.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/frame.h"
#include "net/tokenbucket.h"
#include "util/log.h"
#include "util/mem.h"

#define RANGE_BLOCKS TC_MSG_MAX_BLOCKS /* blocks asked per getblocks */
#define MAX_RANGES 32                  /* ranges asked or waiting to be applied: the window */
#define MAX_BUFFERED (64u << 20)       /* bytes of blocks waiting to be applied */
#define PER_PEER 2                     /* getblocks in flight per peer */
#define MAX_PEERS 8                    /* peers with requests in flight at once */
#define PEER_RATE 9                    /* getblocks per second and peer, and burst: */
#define PEER_BURST 18                  /* under a server's default limit (10/s, burst 20) */
#define STALL_MS 4000                  /* a request unanswered this long is asked elsewhere */
#define STRIKES 3                      /* stalls after which a peer's height is not believed */
#define APPLY_MAX 512                  /* blocks per ledger transaction */
#define TICK_MS 100                    /* timer while syncing */
#define LOG_MS 1000                    /* progress lines at most this often */
#define QUIET_GAP 16                   /* a sync this short logs at debug level: following the tip */
#define HINT_MS 5000                   /* a peer-0 note no peer serves is dropped after this */
#define BANNED_KEPT 16                 /* punished peers remembered until their link is gone */
#define OFF_BRANCH_KEPT 64             /* peers on another branch, not asked for blocks */
#define VERIFY_SLICE 16                /* blocks a verifier thread takes at a time */
#define VERIFIERS 8                    /* at most this many verifier threads (one per core) */
#define DISTRUST_MS 30000              /* a refuted peer's claims are ignored this long, doubling ... */
#define DISTRUST_MAX_MS (10 * 60000)   /* ... up to this, until it serves a block again */

enum range_state { R_WANT, R_ASKED, R_READY };

/* Blocks decoded from one blocks message. Shared by its range and the
 * verifier thread (which only reads them); freed by whoever drops the last
 * reference. */
typedef struct run {
    tc_block *blks;
    tc_cert *certs;
    size_t n;
    atomic_int refs;
    size_t taken;          /* blocks handed to a verifier (under the verifier lock) */
    atomic_size_t checked; /* blocks verified */
    atomic_bool verified;  /* all of them: its signatures are in the cache (or fail there) */
    atomic_bool dropped;  /* no range holds it any more: not worth verifying */
    struct run *next;     /* the verifiers' queue */
} run;

/* Heights [from, from + count) of the window. READY: the first n of them
 * are held in data (n == count once ready), as served by `peer`. */
typedef struct {
    uint64_t from;
    uint32_t count;
    enum range_state state;
    uint64_t peer;  /* asked (ASKED) or served by (READY) */
    uint64_t avoid; /* peer that failed this range last */
    size_t n, bytes;
    run *data;
} range;

/* Threads, one per core, that verify the signatures of runs in the order
 * they arrive. A run is applied once verified, so the ledger's checks are
 * cache hits and the event loop only receives, decodes and writes while
 * every core does the Ed25519 work. */
typedef struct {
    pthread_t threads[VERIFIERS];
    size_t started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    run *head, *tail;
    bool stop;
    const tc_sync_iface *io;
} verifier;

typedef struct {
    uint64_t from, asked_ms;
} request;

typedef struct {
    uint64_t id;
    uint64_t height; /* certified height it holds, as far as we know */
    request req[PER_PEER];
    size_t n_req;
    tc_tokenbucket tb;
    uint32_t strikes;
    uint64_t refuted; /* a height it claimed but did not serve: claims up to it are not believed again */
    uint32_t refutations;    /* claims refuted since it last served a block */
    uint64_t distrust_until; /* mono ms: its claims are ignored until then */
    uint64_t served; /* blocks it delivered in this sync */
} speer;

struct tc_sync {
    tc_sync_iface io;
    speer *peers;
    size_t n_peers;
    range r[2 * MAX_RANGES]; /* sorted by from, disjoint; splits may exceed MAX_RANGES briefly */
    size_t n_ranges;
    uint64_t next;     /* first height no range covers yet */
    uint64_t hint;     /* certified per a peer-0 note, believed until hint_ms + HINT_MS */
    uint64_t hint_ms;
    size_t buffered;   /* bytes held by READY ranges */
    bool active, loud;
    uint64_t applied; /* blocks this sync applied (consensus may commit some too) */
    uint64_t start_ms, start_height, last_log_ms, store_err_ms;
    uint64_t first_apply_ms, last_apply_ms; /* start of its first apply, end of its last one that applied */
    verifier v;
    uint64_t banned[BANNED_KEPT]; /* peers punished lately (ids are never reused) */
    size_t n_banned;
    uint64_t off_branch[OFF_BRANCH_KEPT]; /* peers that served another branch (tc_sync_set_branch) */
    size_t n_off_branch;
};

/* ---- runs and the verifier ------------------------------------------------------ */

static void run_unref(run *r)
{
    if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    for (size_t i = 0; i < r->n; i++) {
        tc_block_release(&r->blks[i]);
        tc_cert_release(&r->certs[i]);
    }
    free(r->blks);
    free(r->certs);
    free(r);
}

static void *verifier_main(void *arg)
{
    verifier *v = arg;
    pthread_mutex_lock(&v->mu);
    for (;;) {
        while (!v->stop && v->head == NULL)
            pthread_cond_wait(&v->cv, &v->mu);
        if (v->stop)
            break;
        /* A slice of the oldest run: every thread works on the run the
         * apply waits for first. */
        run *r = v->head;
        size_t from = r->taken, to = from + VERIFY_SLICE < r->n ? from + VERIFY_SLICE : r->n;
        r->taken = to;
        atomic_fetch_add(&r->refs, 1);
        if (to == r->n) {
            v->head = r->next;
            if (v->head == NULL)
                v->tail = NULL;
            run_unref(r); /* the queue's reference (ours keeps it) */
        }
        pthread_mutex_unlock(&v->mu);
        for (size_t i = from; i < to && !atomic_load(&r->dropped) && !v->stop; i++) /* the run's last ends its range */
            v->io->verify(v->io->ctx, &r->blks[i], i + 1 == r->n ? &r->certs[i] : NULL);
        if (atomic_fetch_add(&r->checked, to - from) + (to - from) == r->n) {
            atomic_store(&r->verified, true);
            if (v->io->verified && !atomic_load(&r->dropped))
                v->io->verified(v->io->ctx);
        }
        run_unref(r);
        pthread_mutex_lock(&v->mu);
    }
    pthread_mutex_unlock(&v->mu);
    return NULL;
}

/* Queues r for the verifiers; without them it counts as verified now (the
 * ledger checks its signatures when applying it). */
static void verify_ahead(verifier *v, run *r)
{
    if (!v->started) {
        atomic_store(&r->verified, true);
        return;
    }
    atomic_fetch_add(&r->refs, 1);
    pthread_mutex_lock(&v->mu);
    r->next = NULL;
    if (v->tail)
        v->tail->next = r;
    else
        v->head = r;
    v->tail = r;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->mu);
}

static void verifier_start(verifier *v, const tc_sync_iface *io)
{
    pthread_mutex_init(&v->mu, NULL);
    pthread_cond_init(&v->cv, NULL);
    v->io = io;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = io->verify == NULL ? 0 : cpus < 1 ? 1 : cpus > VERIFIERS ? VERIFIERS : (size_t)cpus;
    while (v->started < want && pthread_create(&v->threads[v->started], NULL, verifier_main, v) == 0)
        v->started++;
    if (v->started < want)
        tc_log_warn("sync", "fewer verifier threads than cores", "threads=%zu cores=%zu", v->started, want);
}

static void verifier_stop(verifier *v)
{
    if (v->started) {
        pthread_mutex_lock(&v->mu);
        v->stop = true;
        pthread_cond_broadcast(&v->cv);
        pthread_mutex_unlock(&v->mu);
        for (size_t i = 0; i < v->started; i++)
            pthread_join(v->threads[i], NULL);
        while (v->head) {
            run *r = v->head;
            v->head = r->next;
            run_unref(r);
        }
    }
    pthread_mutex_destroy(&v->mu);
    pthread_cond_destroy(&v->cv);
}

/* ---- bookkeeping ------------------------------------------------------------ */

static speer *find_peer(tc_sync *s, uint64_t id)
{
    for (size_t i = 0; i < s->n_peers; i++)
        if (s->peers[i].id == id)
            return &s->peers[i];
    return NULL;
}

static bool is_banned(const tc_sync *s, uint64_t id)
{
    for (size_t i = 0; i < BANNED_KEPT; i++)
        if (s->banned[i] == id)
            return true;
    for (size_t i = 0; i < OFF_BRANCH_KEPT; i++)
        if (s->off_branch[i] == id)
            return true;
    return false;
}

/* The peer's entry, made on first sight; NULL for a peer banned for bad
 * data (it may still be listed until the ban takes it down) or on another
 * branch. */
static speer *add_peer(tc_sync *s, uint64_t id)
{
    speer *p = find_peer(s, id);
    if (p || is_banned(s, id))
        return p;
    s->peers = tc_xrealloc(s->peers, (s->n_peers + 1) * sizeof *s->peers);
    p = &s->peers[s->n_peers++];
    memset(p, 0, sizeof *p);
    p->id = id;
    tc_tokenbucket_init(&p->tb, PEER_RATE, PEER_BURST, s->io.now_ms(s->io.ctx));
    return p;
}

/* Keeps the first `keep` blocks of r (their memory goes with the run). */
static void drop_blocks(range *r, size_t keep)
{
    if (keep == 0 && r->data) {
        atomic_store(&r->data->dropped, true);
        run_unref(r->data);
        r->data = NULL;
    }
    r->n = keep;
}

static void remove_range(tc_sync *s, size_t i)
{
    s->buffered -= s->r[i].bytes;
    drop_blocks(&s->r[i], 0);
    memmove(&s->r[i], &s->r[i + 1], (s->n_ranges - i - 1) * sizeof s->r[0]);
    s->n_ranges--;
}

/* Whether a range can be split in two (partial answers, a bad block inside):
 * the window is bounded however a peer cuts its answers. */
static bool can_split(const tc_sync *s)
{
    return s->n_ranges < sizeof s->r / sizeof s->r[0];
}

/* Inserts [from, from + count) as wanted, after index i - 1. */
static void insert_want(tc_sync *s, size_t i, uint64_t from, uint32_t count, uint64_t avoid)
{
    if (!can_split(s))
        abort(); /* callers check */
    memmove(&s->r[i + 1], &s->r[i], (s->n_ranges - i) * sizeof s->r[0]);
    s->n_ranges++;
    s->r[i] = (range){.from = from, .count = count, .state = R_WANT, .avoid = avoid};
}

static range *range_at(tc_sync *s, uint64_t from)
{
    for (size_t i = 0; i < s->n_ranges; i++)
        if (s->r[i].from == from)
            return &s->r[i];
    return NULL;
}

/* Forgets peer p's request for `from` (if any). */
static void drop_request(speer *p, uint64_t from)
{
    for (size_t i = 0; i < p->n_req; i++)
        if (p->req[i].from == from) {
            p->req[i] = p->req[--p->n_req];
            return;
        }
}

/* A range asked from peer goes back to wanted (the peer is gone, stalled or
 * had nothing). */
static void unask(tc_sync *s, uint64_t peer, uint64_t from)
{
    range *r = range_at(s, from);
    if (r && r->state == R_ASKED && r->peer == peer) {
        r->state = R_WANT;
        r->avoid = peer;
    }
}

/* The peer is gone (or not to be asked again): its ranges are wanted again. */
static void forget_peer(tc_sync *s, uint64_t peer)
{
    speer *p = find_peer(s, peer);
    if (p == NULL)
        return;
    for (size_t k = 0; k < p->n_req; k++)
        unask(s, peer, p->req[k].from);
    *p = s->peers[--s->n_peers];
}

static uint64_t target_of(const tc_sync *s)
{
    uint64_t t = s->hint;
    for (size_t i = 0; i < s->n_peers; i++)
        if (s->peers[i].height > t)
            t = s->peers[i].height;
    return t;
}

static uint64_t now(tc_sync *s)
{
    return s->io.now_ms(s->io.ctx);
}

/* p claimed a height it does not serve: that claim and anything it says
 * for a while are not believed (a peer lying about its height would
 * otherwise keep the node syncing by claiming one block more each time). */
static void refute(tc_sync *s, speer *p, uint64_t from)
{
    p->refuted = p->height;
    p->height = from - 1;
    uint32_t k = p->refutations < 16 ? p->refutations : 16;
    uint64_t d = (uint64_t)DISTRUST_MS << k;
    p->distrust_until = now(s) + (d < DISTRUST_MAX_MS ? d : DISTRUST_MAX_MS);
    p->refutations++;
}

/* ---- progress --------------------------------------------------------------- */

static size_t peers_used(const tc_sync *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_peers; i++)
        k += s->peers[i].served > 0;
    return k;
}

/* A sync is told at info level once it spans QUIET_GAP blocks: the target
 * can grow while it runs (a validator resumed after a stop hears the latest
 * heights last). */
static void log_progress(tc_sync *s, uint64_t tip)
{
    uint64_t t = now(s);
    if (!s->loud && target_of(s) >= s->start_height + QUIET_GAP) {
        s->loud = true;
        s->last_log_ms = t;
        tc_log_info("sync", "behind peers; syncing", "height=%llu target=%llu", (unsigned long long)tip,
                    (unsigned long long)target_of(s));
    }
    if (!s->loud || t - s->last_log_ms < LOG_MS)
        return;
    s->last_log_ms = t;
    uint64_t target = target_of(s);
    double secs = (double)(t - s->start_ms) / 1000.0;
    double rate = secs > 0 ? (double)(tip - s->start_height) / secs : 0;
    tc_log_info("sync", "progress", "height=%llu target=%llu blocks_per_s=%.0f eta_s=%.0f peers=%zu",
                (unsigned long long)tip, (unsigned long long)target, rate,
                rate > 0 && target > tip ? (double)(target - tip) / rate : 0.0, peers_used(s));
}

static void begin(tc_sync *s, uint64_t tip)
{
    s->active = true;
    s->start_ms = s->last_log_ms = now(s);
    s->start_height = tip;
    s->next = tip + 1;
    s->applied = 0;
    s->first_apply_ms = s->last_apply_ms = 0;
    for (size_t i = 0; i < s->n_peers; i++)
        s->peers[i].served = 0;
    s->loud = false;
    tc_log_debug("sync", "behind peers", "height=%llu target=%llu", (unsigned long long)tip,
                 (unsigned long long)target_of(s));
}

static void finish(tc_sync *s, uint64_t tip)
{
    uint64_t ms = now(s) - s->start_ms, apply_ms = s->applied ? s->last_apply_ms - s->first_apply_ms : 0;
    bool loud = s->loud || tip >= s->start_height + QUIET_GAP;
    /* apply_*: from the first block arrived and checked to the last one
     * written, the sync's own rate without connecting and the first request */
    tc_log(loud ? TC_LOG_INFO : TC_LOG_DEBUG, "sync", "caught up; joining consensus",
           "height=%llu blocks=%llu ms=%llu blocks_per_s=%.0f peers=%zu applied=%llu apply_ms=%llu "
           "apply_blocks_per_s=%.0f",
           (unsigned long long)tip, (unsigned long long)(tip - s->start_height), (unsigned long long)ms,
           ms ? (double)(tip - s->start_height) * 1000.0 / (double)ms : 0.0, peers_used(s),
           (unsigned long long)s->applied, (unsigned long long)apply_ms,
           apply_ms ? (double)s->applied * 1000.0 / (double)apply_ms : 0.0);
    while (s->n_ranges)
        remove_range(s, s->n_ranges - 1);
    for (size_t i = 0; i < s->n_peers; i++)
        s->peers[i].n_req = 0;
    s->active = false;
    if (s->applied)
        s->io.rejoin(s->io.ctx); /* otherwise consensus never left its height */
}

/* ---- requests ----------------------------------------------------------------- */

static bool can_serve(const speer *p, uint64_t from, uint64_t hint)
{
    return p->height >= from || (from <= hint && p->strikes < STRIKES);
}

/* Whether p is a better pick than best for a range that `avoid` failed last:
 * not the peer that failed it, then the fewest requests in flight, then the
 * fewest stalls. */
static bool better(const speer *p, const speer *best, uint64_t avoid)
{
    if (best == NULL)
        return true;
    if ((p->id == avoid) != (best->id == avoid))
        return best->id == avoid;
    if (p->n_req != best->n_req)
        return p->n_req < best->n_req;
    return p->strikes < best->strikes;
}

/* The peer to ask for r: one that holds its start and has room and a token. */
static speer *choose(tc_sync *s, const range *r, uint64_t t)
{
    size_t busy = 0;
    for (size_t i = 0; i < s->n_peers; i++)
        busy += s->peers[i].n_req > 0;
    speer *best = NULL;
    for (size_t i = 0; i < s->n_peers; i++) {
        speer *p = &s->peers[i];
        if (p->n_req >= PER_PEER || !can_serve(p, r->from, s->hint) || (p->n_req == 0 && busy >= MAX_PEERS) ||
            tc_tokenbucket_available(&p->tb, t) == 0)
            continue;
        if (better(p, best, r->avoid))
            best = p;
    }
    return best;
}

/* The lowest wanted range, making a new one at the end of the window when
 * none is wanted and the window has room. */
static range *wanted(tc_sync *s, uint64_t target)
{
    for (size_t i = 0; i < s->n_ranges; i++)
        if (s->r[i].state == R_WANT)
            return &s->r[i];
    if (s->n_ranges >= MAX_RANGES || s->buffered >= MAX_BUFFERED || s->next > target)
        return NULL;
    uint64_t left = target - s->next + 1;
    uint32_t count = left < RANGE_BLOCKS ? (uint32_t)left : RANGE_BLOCKS;
    insert_want(s, s->n_ranges, s->next, count, 0);
    s->next += count;
    return &s->r[s->n_ranges - 1];
}

/* Drops what the tip has passed: consensus may have committed some of it. */
static void trim(tc_sync *s, uint64_t tip)
{
    while (s->n_ranges && s->r[0].from + s->r[0].count <= tip + 1)
        remove_range(s, 0);
    if (s->n_ranges && s->r[0].state == R_WANT && s->r[0].from <= tip) {
        s->r[0].count -= (uint32_t)(tip + 1 - s->r[0].from);
        s->r[0].from = tip + 1;
    }
    if (s->next <= tip)
        s->next = tip + 1;
}

/* Asks for wanted ranges while the window, peers and tokens allow. */
static void fill(tc_sync *s)
{
    uint64_t t = now(s), target = target_of(s);
    range *r;
    while ((r = wanted(s, target)) != NULL) {
        speer *p = choose(s, r, t);
        if (p == NULL)
            break;
        uint64_t from = r->from;
        uint32_t count = r->count;
        if (!tc_tokenbucket_take(&p->tb, t))
            break;
        if (s->io.send_getblocks(s->io.ctx, p->id, from, count) != 0) {
            forget_peer(s, p->id);
            continue;
        }
        r = range_at(s, from);
        r->state = R_ASKED;
        r->peer = p->id;
        p->req[p->n_req++] = (request){from, t};
    }
}

/* ---- applying ----------------------------------------------------------------- */

/* Local failures (store, disk, a fork halt) are not the peer's fault. */
static bool ours(int err)
{
    return (err <= TC_ESTORE && err >= -109) || err == TC_ECONS_HALTED;
}

/* The invalid block at `height` came from range r: it and the rest of r are
 * dropped and wanted again, from another peer. */
static void reject(tc_sync *s, size_t i, uint64_t height)
{
    range *r = &s->r[i];
    uint64_t end = r->from + r->count, peer = r->peer;
    size_t keep = (size_t)(height - r->from);
    if (keep > 0 && !can_split(s)) { /* no room to split: fetch it all again */
        height = r->from;
        keep = 0;
    }
    if (keep == 0) {
        remove_range(s, i);
    } else {
        drop_blocks(r, keep);
        r->count = (uint32_t)keep;
        i++;
    }
    insert_want(s, i, height, (uint32_t)(end - height), peer);
}

/* A peer that served an invalid block: never asked again; the caller's
 * peer gets the violation returned, another one is banned through io. */
static int punish(tc_sync *s, uint64_t peer, uint64_t current, int err, const char *why)
{
    forget_peer(s, peer);
    s->banned[s->n_banned++ % BANNED_KEPT] = peer;
    if (peer == current)
        return err;
    s->io.ban(s->io.ctx, peer, err, why);
    return 0;
}

/* Applies the held blocks that follow the tip, up to APPLY_MAX in one
 * transaction, the last block of each range a checkpoint (sync.h). Returns
 * whether there was anything to apply; *violation is set if `current`
 * served an invalid block. */
static bool apply_some(tc_sync *s, uint64_t current, int *violation)
{
    const tc_block *blks[APPLY_MAX];
    const tc_cert *certs[APPLY_MAX];
    bool ends[APPLY_MAX];
    {
        uint64_t tip = s->io.tip(s->io.ctx);
        trim(s, tip);
        size_t n = 0;
        for (size_t i = 0; i < s->n_ranges && n < APPLY_MAX; i++) {
            range *r = &s->r[i];
            if (r->state != R_READY || r->from > tip + 1 + n || !atomic_load(&r->data->verified))
                break; /* a gap, or signatures still being verified (the verifiers call back) */
            size_t first = n;
            for (size_t k = 0; k < r->n && n < APPLY_MAX; k++) {
                if (r->from + k != tip + 1 + n)
                    continue; /* at or below the tip */
                ends[n] = false;
                blks[n] = &r->data->blks[k];
                certs[n++] = &r->data->certs[k];
            }
            if (n > first)
                ends[n - 1] = true; /* where the serving peer changes: blame stays with one range */
        }
        if (n == 0)
            return false;
        size_t applied = 0, at = 0;
        tc_errmsg e;
        if (s->applied == 0)
            s->first_apply_ms = now(s);
        int err = s->io.apply(s->io.ctx, blks, certs, ends, n, &applied, &at, &e);
        if (err == TC_EBLK_PREV && at > applied && ends[at - 1]) /* the ranges before it first (proven already): */
            err = s->io.apply(s->io.ctx, blks, certs, ends, at, &applied, &at, &e); /* it is judged at the tip */
        s->applied += applied;
        if (applied)
            s->last_apply_ms = now(s);
        if (err == 0)
            return true;
        uint64_t bad = tip + 1 + at;
        if (ours(err)) {
            uint64_t t = now(s);
            if (t - s->store_err_ms >= LOG_MS && err != TC_ECONS_HALTED) { /* the fork query logs a halt */
                s->store_err_ms = t;
                tc_log_error("sync", "cannot apply synced blocks; retrying", "height=%llu err=%s hint=%s",
                             (unsigned long long)bad, e.msg, "a store error (disk full, permissions) is named before this line; fix it, sync resumes by itself");
            }
            return false;
        }
        size_t i = 0;
        while (i < s->n_ranges && !(s->r[i].from <= bad && bad < s->r[i].from + s->r[i].count))
            i++;
        if (i == s->n_ranges || s->r[i].state != R_READY)
            abort(); /* the failing block came from a held range */
        uint64_t peer = s->r[i].peer;
        if (err == TC_EBLK_PREV && at == applied && s->io.branch &&
            (err = s->io.branch(s->io.ctx, peer, blks[at], certs[at], &e)) == 0) {
            /* another certified branch, not misbehaviour: the fork query decides */
            reject(s, i, bad);
            tc_sync_set_branch(s, peer, false);
            return true;
        }
        tip = s->io.tip(s->io.ctx);
        trim(s, tip);
        i = 0;
        while (i < s->n_ranges && !(s->r[i].from <= bad && bad < s->r[i].from + s->r[i].count))
            i++;
        tc_log_warn("sync", "peer served an invalid block; banning it", "height=%llu peer=%llu reason=%s",
                    (unsigned long long)bad, (unsigned long long)peer, e.msg);
        reject(s, i, s->r[i].from); /* the whole range again, from another peer: none of it was proven */
        int v = punish(s, peer, current, err, e.msg);
        if (v)
            *violation = v;
        return true;
    }
}

/* After any event: ask, apply, log, or finish. Requests go out before each
 * transaction, so peers serve while this thread writes. */
static int step(tc_sync *s, uint64_t current)
{
    int violation = 0;
    do
        fill(s);
    while (apply_some(s, current, &violation));
    uint64_t tip = s->io.tip(s->io.ctx);
    if (s->hint && (s->hint <= tip || now(s) - s->hint_ms > HINT_MS))
        s->hint = 0; /* reached, or no peer had it: peers' own heights say more */
    if (target_of(s) <= tip) {
        finish(s, tip);
        return violation;
    }
    fill(s);
    log_progress(s, tip);
    s->io.wake(s->io.ctx, TICK_MS);
    return violation;
}

/* ---- events ------------------------------------------------------------------ */

tc_sync *tc_sync_new(const tc_sync_iface *io)
{
    tc_sync *s = tc_xcalloc(1, sizeof *s);
    s->io = *io;
    verifier_start(&s->v, &s->io);
    return s;
}

void tc_sync_free(tc_sync *s)
{
    if (s == NULL)
        return;
    verifier_stop(&s->v);
    while (s->n_ranges)
        remove_range(s, s->n_ranges - 1);
    free(s->peers);
    free(s);
}

void tc_sync_on_height(tc_sync *s, uint64_t peer, uint64_t height)
{
    if (peer == 0) {
        if (height > s->hint) {
            s->hint = height;
            s->hint_ms = now(s);
        }
    } else {
        speer *p = add_peer(s, peer);
        if (p == NULL)
            return;
        if (height > p->height && height > p->refuted && now(s) >= p->distrust_until)
            p->height = height; /* strikes stay: only serving clears them (a climbing liar must reach STRIKES) */
    }
    uint64_t tip = s->io.tip(s->io.ctx);
    if (height <= tip || target_of(s) <= tip)
        return;
    if (!s->active)
        begin(s, tip);
    (void)step(s, 0);
}

void tc_sync_on_peer_down(tc_sync *s, uint64_t peer)
{
    forget_peer(s, peer);
    if (s->active)
        (void)step(s, 0);
}

/* Decodes a served run: consecutive heights, each with its own certificate.
 * Anything else is no honest server's answer. */
static int decode_run(const tc_msg_blocks *m, tc_block *blks, tc_cert *certs, size_t *bytes)
{
    int err = 0;
    size_t i;
    *bytes = 0;
    for (i = 0; i < m->n && err == 0; i++) {
        if (tc_block_decode(&blks[i], m->v[i].block.p, m->v[i].block.len) != 0) {
            err = TC_EBADVAL;
            break;
        }
        if (tc_cert_decode(&certs[i], m->v[i].cert.p, m->v[i].cert.len) != 0) {
            tc_block_release(&blks[i]);
            err = TC_EBADVAL;
            break;
        }
        tc_hash h;
        tc_header_hash(&blks[i].hdr, &h);
        if ((i > 0 && blks[i].hdr.height != blks[0].hdr.height + i) || certs[i].height != blks[i].hdr.height ||
            !tc_hash_eq(&certs[i].block, &h))
            err = TC_ECERT_TARGET;
        *bytes += m->v[i].block.len + m->v[i].cert.len;
    }
    if (err)
        for (size_t k = 0; k < i; k++) {
            tc_block_release(&blks[k]);
            tc_cert_release(&certs[k]);
        }
    return err;
}

int tc_sync_on_blocks(tc_sync *s, uint64_t peer, const tc_msg_blocks *m)
{
    speer *p = find_peer(s, peer);
    if (m->n == 0) { /* it has nothing from the oldest height we asked it for */
        if (p && p->n_req) {
            size_t oldest = 0;
            for (size_t k = 1; k < p->n_req; k++)
                if (p->req[k].asked_ms < p->req[oldest].asked_ms)
                    oldest = k;
            uint64_t from = p->req[oldest].from;
            drop_request(p, from);
            unask(s, peer, from);
            if (p->height >= from)
                refute(s, p, from);
            if (from <= s->hint)
                p->strikes = STRIKES; /* not a holder of what the hint names */
        }
        return s->active ? step(s, peer) : 0;
    }
    tc_block *blks = tc_xcalloc(m->n, sizeof *blks);
    tc_cert *certs = tc_xcalloc(m->n, sizeof *certs);
    size_t bytes;
    int err = decode_run(m, blks, certs, &bytes);
    if (err) {
        free(blks);
        free(certs);
        tc_log_warn("sync", "peer served a malformed block run; banning it", "peer=%llu err=%s",
                    (unsigned long long)peer, tc_strerror(err));
        return err;
    }
    uint64_t from = blks[0].hdr.height;
    if (p) {
        drop_request(p, from);
        if (from + m->n - 1 > p->height)
            p->height = from + m->n - 1;
        p->strikes = 0;
        p->refutations = 0;
        p->distrust_until = 0;
    }
    run *data = tc_xcalloc(1, sizeof *data);
    data->blks = blks;
    data->certs = certs;
    data->n = m->n;
    atomic_init(&data->refs, 1);
    atomic_init(&data->checked, 0);
    atomic_init(&data->verified, false);
    atomic_init(&data->dropped, false);
    range *r = range_at(s, from);
    if (r == NULL || r->state == R_READY || !s->active) { /* late, or answered by another peer */
        run_unref(data);
        return s->active ? step(s, peer) : 0;
    }
    size_t n = m->n < r->count ? m->n : r->count;
    if (n < r->count && !can_split(s)) { /* no room for the rest: ask it whole elsewhere */
        run_unref(data);
        unask(s, peer, from);
        r->avoid = peer;
        return step(s, peer);
    }
    if (n < r->count) { /* the rest from a peer that has it */
        uint32_t rest = r->count - (uint32_t)n;
        r->count = (uint32_t)n;
        insert_want(s, (size_t)(r - s->r) + 1, from + n, rest, peer);
        r = range_at(s, from);
    }
    r->state = R_READY;
    r->peer = peer;
    r->n = n;
    r->data = data;
    r->bytes = bytes;
    verify_ahead(&s->v, data);
    s->buffered += bytes;
    if (p)
        p->served += n;
    return step(s, peer);
}

void tc_sync_tick(tc_sync *s)
{
    if (!s->active)
        return;
    uint64_t t = now(s);
    for (size_t i = 0; i < s->n_peers; i++) {
        speer *p = &s->peers[i];
        for (size_t k = 0; k < p->n_req;) {
            if (t - p->req[k].asked_ms < STALL_MS) {
                k++;
                continue;
            }
            uint64_t from = p->req[k].from;
            tc_log_info("sync", "request stalled; asking another peer", "peer=%llu from=%llu",
                        (unsigned long long)p->id, (unsigned long long)from);
            drop_request(p, from);
            unask(s, p->id, from);
            if (++p->strikes >= STRIKES && p->height >= from)
                refute(s, p, from);
        }
    }
    (void)step(s, 0);
}

void tc_sync_set_branch(tc_sync *s, uint64_t peer, bool ours)
{
    for (size_t i = 0; i < OFF_BRANCH_KEPT; i++)
        if (s->off_branch[i] == peer)
            s->off_branch[i] = 0;
    if (ours)
        return;
    forget_peer(s, peer);
    s->off_branch[s->n_off_branch++ % OFF_BRANCH_KEPT] = peer;
}

void tc_sync_restart(tc_sync *s)
{
    while (s->n_ranges)
        remove_range(s, s->n_ranges - 1);
    for (size_t i = 0; i < s->n_peers; i++)
        s->peers[i].n_req = 0;
    s->next = s->io.tip(s->io.ctx) + 1;
    if (s->active)
        (void)step(s, 0);
}

uint64_t tc_sync_target(const tc_sync *s)
{
    return target_of(s);
}

bool tc_sync_active(const tc_sync *s)
{
    return s->active;
}

/* ---- serving ------------------------------------------------------------------ */

void tc_sync_serve(tc_ledger *L, const tc_msg_getblocks *g, tc_sync_reply *r)
{
    size_t want = g->count > TC_MSG_MAX_BLOCKS ? TC_MSG_MAX_BLOCKS : g->count;
    size_t *cut = tc_xcalloc(2 * want + 1, sizeof *cut); /* end offsets of each encoding in raw */
    uint64_t tip = tc_ledger_height(L);
    size_t n = 0;
    tc_msg_init(&r->msg, TC_MSG_BLOCKS);
    tc_buf_init(&r->raw);
    tc_buf cert;
    tc_buf_init(&cert);
    for (; n < want && g->from + n <= tip && g->from + n > 0; n++) {
        tc_buf_reset(&cert);
        if (tc_ledger_get_raw(L, g->from + n, &r->raw, &cert) != 0)
            break;
        cut[2 * n] = r->raw.len; /* the block is appended to raw, its certificate next */
        tc_buf_put(&r->raw, cert.p, cert.len);
        cut[2 * n + 1] = r->raw.len;
        if (r->raw.len > TC_FRAME_MAX_PAYLOAD / 2) {
            n++;
            break;
        }
    }
    tc_buf_release(&cert);
    r->msg.u.blocks.v = tc_xcalloc(n ? n : 1, sizeof *r->msg.u.blocks.v);
    r->msg.u.blocks.n = n;
    for (size_t i = 0, at = 0; i < n; i++) {
        r->msg.u.blocks.v[i].block = (tc_bytes){r->raw.p + at, cut[2 * i] - at};
        r->msg.u.blocks.v[i].cert = (tc_bytes){r->raw.p + cut[2 * i], cut[2 * i + 1] - cut[2 * i]};
        at = cut[2 * i + 1];
    }
    free(cut);
}

void tc_sync_reply_release(tc_sync_reply *r)
{
    free(r->msg.u.blocks.v);
    r->msg.u.blocks.v = NULL;
    r->msg.u.blocks.n = 0;
    tc_buf_release(&r->raw);
}
