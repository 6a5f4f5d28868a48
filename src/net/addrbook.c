#include "net/addrbook.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/hmap.h"
#include "util/log.h"
#include "util/mem.h"

/* An entry's key: its IPv6 (IPv4-mapped for IPv4) and big-endian port, so
 * two spellings of one address are one entry. */
#define KEY_LEN 18
_Static_assert(crypto_shorthash_KEYBYTES <= TC_NETSTORE_KEY_LEN, "bucketing key");

/* Refreshing last_seen by less than this does not make a record dirty: a
 * persisted last_seen an hour behind is harmless, a write per `peers`
 * repetition is not. */
#define SEEN_SLACK_MS (3600ull * 1000)

enum table { T_NONE = 0, T_NEW, T_TRIED };

typedef struct {
    tc_addr_rec r;
    uint64_t group;
    uint8_t table; /* enum table: T_NONE for anchored entries */
    uint8_t slot;
    uint16_t bucket;
    bool used, dirty, stored;
} entry;

typedef struct {
    uint32_t n[3]; /* by enum table */
} group_count;

struct tc_addrbook {
    tc_netstore store;
    bool has_store;
    uint8_t key[TC_NETSTORE_KEY_LEN];
    entry *e;
    size_t n_e, cap_e;  /* slots used in e (live or free) */
    uint32_t *freel;    /* free indices of e */
    size_t n_free;
    tc_hmap *by_addr;   /* address key -> index + 1 */
    tc_hmap *groups;    /* group (u64) -> group_count */
    int32_t newt[TC_ADDRBOOK_NEW_BUCKETS][TC_ADDRBOOK_BUCKET_SIZE];
    int32_t tried[TC_ADDRBOOK_TRIED_BUCKETS][TC_ADDRBOOK_BUCKET_SIZE];
    size_t n_live, n_table[3];
    tc_netaddr *removed; /* stored records removed since the last flush */
    size_t n_removed, cap_removed;
    bool pick_tried;     /* the next gossip pick starts with tried */
};

/* ---- address groups ---------------------------------------------------- */

/* Parses "a.b.c.d", "a.b.c.d:port", "[v6]:port" or a bare IPv6 into a 16-byte
 * IPv6 (IPv4-mapped for IPv4). 0 or TC_ENET_ADDR; *port 0 if none. */
static int parse_ip(const char *s, uint8_t ip[16], uint16_t *port)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hl = strlen(s);
    *port = 0;
    bool bracket = s[0] == '[';
    if (bracket || (colon && strchr(s, ':') == colon)) { /* a port follows */
        if (colon == NULL || colon[1] == 0 || strlen(colon + 1) > 5)
            return TC_ENET_ADDR;
        unsigned long v = 0;
        for (const char *q = colon + 1; *q; q++) {
            if (*q < '0' || *q > '9')
                return TC_ENET_ADDR;
            v = v * 10 + (unsigned long)(*q - '0');
        }
        if (v > 65535)
            return TC_ENET_ADDR;
        *port = (uint16_t)v;
        hl = (size_t)(colon - s);
        if (bracket) {
            if (hl < 2 || s[hl - 1] != ']')
                return TC_ENET_ADDR;
            h = s + 1;
            hl -= 2;
        }
    }
    if (hl == 0 || hl >= sizeof host)
        return TC_ENET_ADDR;
    memcpy(host, h, hl);
    host[hl] = 0;
    struct in_addr a4;
    if (!bracket && inet_pton(AF_INET, host, &a4) == 1) {
        memset(ip, 0, 10);
        ip[10] = ip[11] = 0xff;
        memcpy(ip + 12, &a4, 4);
        return 0;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) != 1)
        return TC_ENET_ADDR;
    memcpy(ip, &a6, 16);
    return 0;
}

enum { G_IPV4 = 1, G_IPV6 = 2, G_LOOP4 = 3, G_LOOP6 = 4 };

static uint64_t group_of_ip(const uint8_t ip[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t loop6[16] = {[15] = 1};
    if (memcmp(ip, mapped, 12) == 0) {
        const uint8_t *v = ip + 12;
        if (v[0] == 127)
            return (uint64_t)G_LOOP4 << 32 | (uint32_t)v[1] << 8 | v[2]; /* 127.a.b.x: /24 */
        return (uint64_t)G_IPV4 << 32 | (uint32_t)v[0] << 8 | v[1];
    }
    if (memcmp(ip, loop6, 16) == 0)
        return (uint64_t)G_LOOP6 << 32;
    return (uint64_t)G_IPV6 << 32 | (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
}

uint64_t tc_addrbook_group(const char *s)
{
    uint8_t ip[16];
    uint16_t port;
    if (s == NULL || parse_ip(s, ip, &port) != 0)
        return 0;
    return group_of_ip(ip);
}

/* ---- keyed hashes -------------------------------------------------------- */

static uint64_t khash(const tc_addrbook *ab, uint64_t tag, uint64_t a, uint64_t b)
{
    uint8_t in[24], out[crypto_shorthash_BYTES];
    uint64_t w[3] = {tag, a, b};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 8; j++)
            in[i * 8 + j] = (uint8_t)(w[i] >> (8 * j));
    crypto_shorthash(out, in, sizeof in, ab->key);
    uint64_t h = 0;
    for (int j = 0; j < 8; j++)
        h |= (uint64_t)out[j] << (8 * j);
    return h;
}

static uint64_t addr_hash(const tc_addrbook *ab, const char *addr)
{
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const uint8_t *)addr, strlen(addr), ab->key);
    uint64_t h = 0;
    for (int j = 0; j < 8; j++)
        h |= (uint64_t)out[j] << (8 * j);
    return h;
}

static size_t new_bucket(const tc_addrbook *ab, uint64_t src_group, uint64_t group)
{
    uint64_t h1 = khash(ab, 1, src_group, group) % TC_ADDRBOOK_NEW_PER_SOURCE;
    return (size_t)(khash(ab, 2, src_group, h1) % TC_ADDRBOOK_NEW_BUCKETS);
}

static size_t tried_bucket(const tc_addrbook *ab, const entry *x)
{
    uint64_t h1 = khash(ab, 3, addr_hash(ab, x->r.addr.s), 0) % TC_ADDRBOOK_TRIED_PER_GROUP;
    return (size_t)(khash(ab, 4, x->group, h1) % TC_ADDRBOOK_TRIED_BUCKETS);
}

/* ---- entries ------------------------------------------------------------- */

static bool addr_key(const char *addr, uint8_t key[KEY_LEN])
{
    uint16_t port;
    if (strnlen(addr, TC_MAX_NETADDR + 1) > TC_MAX_NETADDR || parse_ip(addr, key, &port) != 0 || port == 0)
        return false;
    key[16] = (uint8_t)(port >> 8);
    key[17] = (uint8_t)port;
    return true;
}

static long find(const tc_addrbook *ab, const char *addr)
{
    uint8_t key[KEY_LEN];
    if (!addr_key(addr, key))
        return -1;
    void *v = tc_hmap_get(ab->by_addr, key);
    return v ? (long)((uintptr_t)v - 1) : -1;
}

static group_count *gcount(tc_addrbook *ab, uint64_t group)
{
    group_count *g = tc_hmap_get(ab->groups, &group);
    if (g == NULL) {
        g = tc_xcalloc(1, sizeof *g);
        tc_hmap_put(ab->groups, &group, g);
    }
    return g;
}

static uint32_t group_in(const tc_addrbook *ab, uint64_t group, enum table t)
{
    const group_count *g = tc_hmap_get(ab->groups, &group);
    return g ? g->n[t] : 0;
}

static void group_dec(tc_addrbook *ab, uint64_t group, enum table t)
{
    group_count *g = tc_hmap_get(ab->groups, &group);
    if (g == NULL || g->n[t] == 0)
        abort(); /* counts follow the tables */
    g->n[t]--;
    if (g->n[0] + g->n[1] + g->n[2] == 0)
        free(tc_hmap_del(ab->groups, &group));
}

static int32_t *slot_of(tc_addrbook *ab, enum table t, size_t bucket, size_t slot)
{
    return t == T_NEW ? &ab->newt[bucket][slot] : &ab->tried[bucket][slot];
}

/* Puts entry i into a known free slot. */
static void link_at(tc_addrbook *ab, long i, enum table t, size_t bucket, size_t slot)
{
    entry *x = &ab->e[i];
    *slot_of(ab, t, bucket, slot) = (int32_t)i;
    x->table = (uint8_t)t;
    x->bucket = (uint16_t)bucket;
    x->slot = (uint8_t)slot;
    x->r.tried = t == T_TRIED;
    gcount(ab, x->group)->n[t]++;
    group_dec(ab, x->group, T_NONE);
    ab->n_table[t]++;
    ab->n_table[T_NONE]--;
    x->dirty = true;
}

/* Takes entry i out of its table (it becomes unplaced: T_NONE). */
static void unlink_entry(tc_addrbook *ab, long i)
{
    entry *x = &ab->e[i];
    enum table t = (enum table)x->table;
    if (t == T_NONE)
        return;
    *slot_of(ab, t, x->bucket, x->slot) = -1;
    gcount(ab, x->group)->n[T_NONE]++;
    group_dec(ab, x->group, t);
    ab->n_table[T_NONE]++;
    ab->n_table[t]--;
    x->table = T_NONE;
    x->r.tried = 0;
    x->dirty = true;
}

static long alloc_entry(tc_addrbook *ab, const tc_netaddr *a, uint64_t group)
{
    long i;
    if (ab->n_free) {
        i = ab->freel[--ab->n_free];
    } else {
        if (ab->n_e == ab->cap_e) {
            ab->cap_e = ab->cap_e ? ab->cap_e * 2 : 64;
            ab->e = tc_xrealloc(ab->e, ab->cap_e * sizeof *ab->e);
            ab->freel = tc_xrealloc(ab->freel, ab->cap_e * sizeof *ab->freel);
        }
        i = (long)ab->n_e++;
    }
    entry *x = &ab->e[i];
    memset(x, 0, sizeof *x);
    x->r.addr = *a;
    x->group = group;
    x->used = true;
    x->dirty = true;
    uint8_t key[KEY_LEN];
    if (!addr_key(a->s, key))
        abort(); /* callers parse first */
    tc_hmap_put(ab->by_addr, key, (void *)(uintptr_t)(i + 1));
    gcount(ab, group)->n[T_NONE]++; /* every entry counts somewhere */
    ab->n_table[T_NONE]++;
    ab->n_live++;
    return i;
}

static void free_entry(tc_addrbook *ab, long i)
{
    entry *x = &ab->e[i];
    unlink_entry(ab, i);
    group_dec(ab, x->group, T_NONE);
    ab->n_table[T_NONE]--;
    if (x->stored) {
        if (ab->n_removed == ab->cap_removed) {
            ab->cap_removed = ab->cap_removed ? ab->cap_removed * 2 : 64;
            ab->removed = tc_xrealloc(ab->removed, ab->cap_removed * sizeof *ab->removed);
        }
        ab->removed[ab->n_removed++] = x->r.addr;
    }
    uint8_t key[KEY_LEN];
    if (!addr_key(x->r.addr.s, key))
        abort(); /* it was parsed when added */
    tc_hmap_del(ab->by_addr, key);
    x->used = false;
    ab->freel[ab->n_free++] = (uint32_t)i;
    ab->n_live--;
}

/* ---- placement ------------------------------------------------------------- */

static bool anchored_source(uint8_t source)
{
    return source == TC_ADDR_CONNECT || source == TC_ADDR_SEED || source == TC_ADDR_CHAIN;
}

/* Lower is stronger. */
static int rank(uint8_t source)
{
    switch (source) {
    case TC_ADDR_CONNECT:
        return 0;
    case TC_ADDR_SEED:
        return 1;
    case TC_ADDR_CHAIN:
        return 2;
    default:
        return 3;
    }
}

/* Not worth its place: failing without ever having connected, or stale. */
static bool terrible(const tc_addr_rec *r, uint64_t now)
{
    if (r->last_success == 0 && r->failures >= TC_ADDR_TERRIBLE_FAILURES)
        return true;
    return now > r->last_seen && now - r->last_seen > TC_ADDR_MAX_AGE_MS;
}

/* Where a gossip entry of (src_group, group) last seen at seen would go in
 * the new table: a free slot of its bucket (*victim -1), else the slot of a
 * terrible entry or of one learnt from the same source group that never
 * connected and was seen SEEN_SLACK_MS before it (*victim its index). False
 * if there is no room: its group is at its cap, or the bucket is full of
 * other sources' entries. */
static bool new_room(const tc_addrbook *ab, uint64_t src_group, uint64_t group, uint64_t seen, uint64_t now,
                     size_t *bucket, size_t *slot, long *victim)
{
    if (group_in(ab, group, T_NEW) >= TC_ADDRBOOK_GROUP_MAX_NEW)
        return false;
    size_t b = new_bucket(ab, src_group, group);
    bool vbad = false;
    *bucket = b;
    *victim = -1;
    for (size_t s = 0; s < TC_ADDRBOOK_BUCKET_SIZE; s++) {
        int32_t o = ab->newt[b][s];
        if (o < 0) {
            *slot = s;
            *victim = -1;
            return true;
        }
        const tc_addr_rec *y = &ab->e[o].r;
        bool bad = terrible(y, now);
        bool own = y->src_group == src_group && y->last_success == 0 && seen >= y->last_seen + SEEN_SLACK_MS;
        if (!bad && !own)
            continue; /* another source's entry: never ours to evict */
        if (*victim < 0 || (bad && !vbad) || (bad == vbad && y->last_seen < ab->e[*victim].r.last_seen)) {
            *victim = o;
            *slot = s;
            vbad = bad;
        }
    }
    return *victim >= 0;
}

/* Places unplaced gossip entry i in the new table (see new_room). 0, or
 * TC_ELIMIT (i stays unplaced). */
static int place_new(tc_addrbook *ab, long i, uint64_t now)
{
    size_t b, slot;
    long victim;
    const tc_addr_rec *r = &ab->e[i].r;
    if (!new_room(ab, r->src_group, ab->e[i].group, r->last_seen, now, &b, &slot, &victim))
        return TC_ELIMIT;
    if (victim >= 0)
        free_entry(ab, victim);
    link_at(ab, i, T_NEW, b, slot);
    return 0;
}

/* Places unplaced entry i in the tried table; a full bucket sends the entry
 * of the same group (else any) connected to longest ago back to new. 0, or
 * TC_ELIMIT when i's group has its share of tried already. */
static int place_tried(tc_addrbook *ab, long i, uint64_t now)
{
    const entry *x = &ab->e[i];
    if (group_in(ab, x->group, T_TRIED) >= TC_ADDRBOOK_GROUP_MAX_TRIED)
        return TC_ELIMIT;
    size_t b = tried_bucket(ab, x);
    long victim = -1;
    size_t vslot = 0;
    bool vsame = false;
    for (size_t s = 0; s < TC_ADDRBOOK_BUCKET_SIZE; s++) {
        int32_t o = ab->tried[b][s];
        if (o < 0) {
            link_at(ab, i, T_TRIED, b, s);
            return 0;
        }
        const entry *y = &ab->e[o];
        bool same = y->group == x->group;
        if (victim < 0 || (same && !vsame) ||
            (same == vsame && y->r.last_success < ab->e[victim].r.last_success)) {
            victim = o;
            vslot = s;
            vsame = same;
        }
    }
    unlink_entry(ab, victim);
    link_at(ab, i, T_TRIED, b, vslot);
    if (place_new(ab, victim, now) != 0)
        free_entry(ab, victim);
    return 0;
}

/* ---- adding ---------------------------------------------------------------- */

static int refresh(tc_addrbook *ab, long i, uint8_t source, uint64_t now)
{
    entry *x = &ab->e[i];
    if (rank(source) < rank(x->r.source)) {
        if (anchored_source(source) && x->table != T_NONE) {
            if (ab->n_table[T_NONE] >= TC_ADDRBOOK_ANCHORED_MAX)
                return TC_ELIMIT;
            unlink_entry(ab, i);
        }
        x->r.source = source;
        x->r.src_group = 0;
        x->dirty = true;
    }
    if (now > x->r.last_seen) {
        x->dirty |= now - x->r.last_seen >= SEEN_SLACK_MS;
        x->r.last_seen = now;
    }
    return 0;
}

static bool unspecified(const uint8_t ip[16])
{
    static const uint8_t zero[16], mapped_zero[16] = {[10] = 0xff, [11] = 0xff};
    return memcmp(ip, zero, 16) == 0 || memcmp(ip, mapped_zero, 16) == 0;
}

static int insert(tc_addrbook *ab, const char *addr, uint8_t source, uint64_t src_group, uint64_t now)
{
    tc_netaddr a;
    uint8_t ip[16];
    uint16_t port;
    if (addr == NULL || tc_netaddr_set(&a, addr) != 0 || a.s[0] == 0 || parse_ip(a.s, ip, &port) != 0 ||
        port == 0 || unspecified(ip))
        return TC_ENET_ADDR;
    long i = find(ab, a.s);
    if (i >= 0)
        return refresh(ab, i, source, now);
    uint64_t group = group_of_ip(ip);
    if (anchored_source(source) && ab->n_table[T_NONE] >= TC_ADDRBOOK_ANCHORED_MAX)
        return TC_ELIMIT;
    size_t b, slot;
    long victim;
    if (!anchored_source(source) && !new_room(ab, src_group, group, now, now, &b, &slot, &victim))
        return TC_ELIMIT; /* the common case in a flood: nothing allocated */
    i = alloc_entry(ab, &a, group);
    entry *x = &ab->e[i];
    x->r.source = source;
    x->r.src_group = anchored_source(source) ? 0 : src_group;
    x->r.last_seen = now;
    if (!anchored_source(source) && place_new(ab, i, now) != 0) {
        free_entry(ab, i);
        return TC_ELIMIT;
    }
    return 0;
}

int tc_addrbook_add(tc_addrbook *ab, const char *addr, uint8_t source, uint64_t now_ms)
{
    if (source != TC_ADDR_GOSSIP && !anchored_source(source))
        return TC_EINVAL;
    return insert(ab, addr, source, 0, now_ms);
}

int tc_addrbook_learn(tc_addrbook *ab, const char *addr, const char *from, uint64_t now_ms)
{
    return insert(ab, addr, TC_ADDR_GOSSIP, tc_addrbook_group(from), now_ms);
}

/* ---- life cycle -------------------------------------------------------------- */

static int load_one(void *arg, const tc_addr_rec *r)
{
    tc_addrbook *ab = arg;
    size_t n = strnlen(r->addr.s, sizeof r->addr.s);
    uint8_t ip[16];
    uint16_t port;
    if (n == sizeof r->addr.s || !tc_netaddr_valid(r->addr.s, n, 0))
        return TC_ECORRUPT;
    if (parse_ip(r->addr.s, ip, &port) != 0 || port == 0 || find(ab, r->addr.s) >= 0 ||
        (anchored_source(r->source) && ab->n_table[T_NONE] >= TC_ADDRBOOK_ANCHORED_MAX))
        return 0; /* a hint we do without */
    tc_netaddr a;
    if (tc_netaddr_set(&a, r->addr.s) != 0)
        return 0;
    long i = alloc_entry(ab, &a, group_of_ip(ip));
    entry *x = &ab->e[i];
    x->r = *r;
    x->r.addr = a;
    x->r.tried = 0;
    x->stored = true;
    if (anchored_source(r->source)) {
        x->r.src_group = 0;
    } else {
        uint64_t now = r->last_seen; /* nothing it meets is terrible for being old */
        if (!(r->tried && place_tried(ab, i, now) == 0) && place_new(ab, i, now) != 0) {
            free_entry(ab, i); /* no room under this node's key: forget it */
            return 0;
        }
    }
    ab->e[i].dirty = ab->e[i].r.tried != r->tried;
    return 0;
}

tc_addrbook *tc_addrbook_new(const tc_netstore *store, int *err)
{
    tc_addrbook *ab = tc_xcalloc(1, sizeof *ab);
    memset(ab->newt, 0xff, sizeof ab->newt); /* -1: empty */
    memset(ab->tried, 0xff, sizeof ab->tried);
    ab->by_addr = tc_hmap_new(KEY_LEN);
    ab->groups = tc_hmap_new(sizeof(uint64_t));
    *err = 0;
    if (store == NULL) {
        randombytes_buf(ab->key, sizeof ab->key);
        return ab;
    }
    ab->store = *store;
    ab->has_store = true;
    if ((*err = store->book_key(store->ctx, ab->key)) != 0 ||
        (*err = store->addr_load(store->ctx, load_one, ab)) != 0) {
        tc_addrbook_free(ab);
        return NULL;
    }
    return ab;
}

static void free_count(void *ctx, const void *key, void *value)
{
    (void)ctx;
    (void)key;
    free(value);
}

void tc_addrbook_free(tc_addrbook *ab)
{
    if (ab == NULL)
        return;
    if (ab->groups)
        tc_hmap_each(ab->groups, free_count, NULL);
    tc_hmap_free(ab->groups);
    tc_hmap_free(ab->by_addr);
    free(ab->e);
    free(ab->freel);
    free(ab->removed);
    sodium_memzero(ab->key, sizeof ab->key);
    free(ab);
}

int tc_addrbook_flush(tc_addrbook *ab)
{
    if (!ab->has_store) {
        ab->n_removed = 0;
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < ab->n_e; i++)
        n += ab->e[i].used && ab->e[i].dirty;
    if (n == 0 && ab->n_removed == 0)
        return 0;
    tc_addr_rec *recs = tc_xmalloc((n ? n : 1) * sizeof *recs);
    size_t k = 0;
    for (size_t i = 0; i < ab->n_e; i++)
        if (ab->e[i].used && ab->e[i].dirty)
            recs[k++] = ab->e[i].r;
    int err = ab->store.addr_save_batch(ab->store.ctx, recs, n, ab->removed, ab->n_removed);
    free(recs);
    if (err) {
        tc_log_debug("net", "address book changes kept for the next flush", "records=%zu removed=%zu err=%s",
                     n, ab->n_removed, tc_errname(err));
        return err;
    }
    for (size_t i = 0; i < ab->n_e; i++)
        if (ab->e[i].used && ab->e[i].dirty) {
            ab->e[i].dirty = false;
            ab->e[i].stored = true;
        }
    int done = (int)(n + ab->n_removed);
    ab->n_removed = 0;
    return done;
}

/* ---- dialing ---------------------------------------------------------------- */

static uint64_t backoff_ms(uint32_t failures)
{
    uint64_t d = TC_ADDR_BACKOFF_BASE_MS;
    for (uint32_t i = 0; i < failures && d < TC_ADDR_BACKOFF_MAX_MS; i++)
        d *= 2;
    return d < TC_ADDR_BACKOFF_MAX_MS ? d : TC_ADDR_BACKOFF_MAX_MS;
}

static bool due(const tc_addr_rec *r, uint64_t now_ms)
{
    return r->last_try == 0 || now_ms >= r->last_try + backoff_ms(r->failures);
}

bool tc_addrbook_due(const tc_addrbook *ab, const char *addr, uint64_t now_ms)
{
    long i = find(ab, addr);
    return i < 0 || due(&ab->e[i].r, now_ms);
}

static bool pick_anchored(tc_addrbook *ab, uint64_t now_ms, bool (*skip)(void *, const char *), void *arg,
                          tc_netaddr *out)
{
    long best = -1;
    for (size_t i = 0; i < ab->n_e; i++) {
        const entry *x = &ab->e[i];
        if (!x->used || x->table != T_NONE || !due(&x->r, now_ms) || (skip && skip(arg, x->r.addr.s)))
            continue;
        const tc_addr_rec *b = best >= 0 ? &ab->e[best].r : NULL;
        if (b == NULL || rank(x->r.source) < rank(b->source) ||
            (rank(x->r.source) == rank(b->source) && x->r.last_try < b->last_try))
            best = (long)i;
    }
    if (best < 0)
        return false;
    *out = ab->e[best].r.addr;
    return true;
}

/* The first due, not skipped entry of table t from a random slot on. */
static bool pick_table(tc_addrbook *ab, enum table t, uint64_t now_ms, bool (*skip)(void *, const char *),
                       void *arg, tc_netaddr *out)
{
    size_t buckets = t == T_NEW ? TC_ADDRBOOK_NEW_BUCKETS : TC_ADDRBOOK_TRIED_BUCKETS;
    size_t slots = buckets * TC_ADDRBOOK_BUCKET_SIZE;
    if (ab->n_table[t] == 0)
        return false;
    size_t start = randombytes_uniform((uint32_t)slots);
    for (size_t j = 0; j < slots; j++) {
        size_t pos = (start + j) % slots;
        int32_t o = *slot_of(ab, t, pos / TC_ADDRBOOK_BUCKET_SIZE, pos % TC_ADDRBOOK_BUCKET_SIZE);
        if (o < 0)
            continue;
        const tc_addr_rec *r = &ab->e[o].r;
        if (!due(r, now_ms) || (skip && skip(arg, r->addr.s)))
            continue;
        *out = r->addr;
        return true;
    }
    return false;
}

bool tc_addrbook_next(tc_addrbook *ab, uint64_t now_ms, bool (*skip)(void *arg, const char *addr),
                      void *arg, tc_netaddr *out)
{
    if (pick_anchored(ab, now_ms, skip, arg, out))
        return true;
    enum table first = ab->pick_tried ? T_TRIED : T_NEW, second = ab->pick_tried ? T_NEW : T_TRIED;
    if (pick_table(ab, first, now_ms, skip, arg, out)) {
        ab->pick_tried = first != T_TRIED;
        return true;
    }
    if (pick_table(ab, second, now_ms, skip, arg, out)) {
        ab->pick_tried = second != T_TRIED;
        return true;
    }
    return false;
}

void tc_addrbook_attempt(tc_addrbook *ab, const char *addr, uint64_t now_ms)
{
    long i = find(ab, addr);
    if (i >= 0) {
        ab->e[i].r.last_try = now_ms;
        ab->e[i].dirty = true;
    }
}

void tc_addrbook_success(tc_addrbook *ab, const char *addr, uint64_t now_ms)
{
    long i = find(ab, addr);
    if (i < 0)
        return;
    entry *x = &ab->e[i];
    x->r.last_success = now_ms;
    x->r.last_seen = now_ms;
    x->r.failures = 0;
    x->dirty = true;
    if (x->table != T_NEW)
        return;
    unlink_entry(ab, i);
    /* its new slot was just freed, so the way back cannot fail */
    if (place_tried(ab, i, now_ms) != 0 && place_new(ab, i, now_ms) != 0)
        free_entry(ab, i);
}

void tc_addrbook_failure(tc_addrbook *ab, const char *addr, uint64_t now_ms)
{
    long i = find(ab, addr);
    if (i < 0)
        return;
    tc_addr_rec *r = &ab->e[i].r;
    if (r->failures < UINT32_MAX)
        r->failures++;
    if (r->last_try == 0)
        r->last_try = now_ms;
    ab->e[i].dirty = true;
    if ((r->source == TC_ADDR_GOSSIP || r->source == TC_ADDR_SEED) && r->failures >= TC_ADDR_MAX_FAILURES)
        free_entry(ab, i);
}

size_t tc_addrbook_age(tc_addrbook *ab, uint64_t now_ms)
{
    size_t dropped = 0;
    for (size_t i = 0; i < ab->n_e; i++) {
        const tc_addr_rec *r = &ab->e[i].r;
        if (ab->e[i].used && r->source != TC_ADDR_CONNECT && now_ms > r->last_seen &&
            now_ms - r->last_seen > TC_ADDR_MAX_AGE_MS) {
            free_entry(ab, (long)i);
            dropped++;
        }
    }
    return dropped;
}

size_t tc_addrbook_sample(const tc_addrbook *ab, tc_msg_peer *out, size_t max)
{
    size_t k = 0;
    if (ab->n_e == 0)
        return 0;
    size_t start = randombytes_uniform((uint32_t)ab->n_e);
    for (size_t j = 0; j < ab->n_e && k < max; j++) {
        const entry *x = &ab->e[(start + j) % ab->n_e];
        if (!x->used || x->r.failures > 0)
            continue;
        out[k].addr = x->r.addr;
        out[k].last_seen = x->r.last_seen / 1000;
        k++;
    }
    return k;
}

size_t tc_addrbook_size(const tc_addrbook *ab)
{
    return ab->n_live;
}

void tc_addrbook_counts(const tc_addrbook *ab, size_t *n_new, size_t *n_tried, size_t *n_anchored)
{
    if (n_new)
        *n_new = ab->n_table[T_NEW];
    if (n_tried)
        *n_tried = ab->n_table[T_TRIED];
    if (n_anchored)
        *n_anchored = ab->n_table[T_NONE];
}

const tc_addr_rec *tc_addrbook_get(const tc_addrbook *ab, const char *addr)
{
    long i = find(ab, addr);
    return i >= 0 ? &ab->e[i].r : NULL;
}
