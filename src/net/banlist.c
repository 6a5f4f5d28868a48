#include "net/banlist.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/sockaddr.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

struct tc_banlist {
    tc_netstore store;
    int has_store;
    tc_ban *v;
    size_t n, cap;
};

void tc_ban_subject_key(char *out, const tc_pubkey *key)
{
    memcpy(out, "key:", 4);
    tc_hex_encode(out + 4, key->b, 32);
}

int tc_ban_subject_parse(char *out, const char *s)
{
    tc_pubkey k;
    out[0] = 0;
    if (strncmp(s, "key:", 4) == 0) {
        if (tc_hex_decode(k.b, sizeof k.b, s + 4) != 0)
            return TC_EINVAL;
        tc_ban_subject_key(out, &k);
        return 0;
    }
    _Static_assert(INET6_ADDRSTRLEN <= TC_BAN_SUBJECT_MAX, "an IP subject fits");
    return tc_sockaddr_ip_canon(out, TC_BAN_SUBJECT_MAX, s) == 0 ? 0 : TC_EINVAL;
}

static long find(const tc_banlist *bl, const char *subject)
{
    for (size_t i = 0; i < bl->n; i++)
        if (strcmp(bl->v[i].subject, subject) == 0)
            return (long)i;
    return -1;
}

static void drop_at(tc_banlist *bl, size_t i)
{
    if (bl->has_store) {
        int err = bl->store.ban_remove(bl->store.ctx, bl->v[i].subject);
        if (err)
            tc_log_warn("net", "ban removal not persisted", "subject=%s err=%s", bl->v[i].subject,
                        tc_errname(err));
    }
    bl->v[i] = bl->v[--bl->n];
}

static void push(tc_banlist *bl, const tc_ban *b)
{
    if (bl->n == bl->cap) {
        bl->cap = bl->cap ? bl->cap * 2 : 16;
        bl->v = tc_xrealloc(bl->v, bl->cap * sizeof *bl->v);
    }
    bl->v[bl->n++] = *b;
}

static int subject_ok(const char *s)
{
    size_t n = strnlen(s, TC_BAN_SUBJECT_MAX);
    return n > 0 && n < TC_BAN_SUBJECT_MAX;
}

typedef struct {
    tc_banlist *bl;
    uint64_t now_ms;
    char (*expired)[TC_BAN_SUBJECT_MAX]; /* deleted after the walk */
    size_t n_expired, cap_expired;
} load_ctx;

static int load_one(void *arg, const tc_ban *b)
{
    load_ctx *lc = arg;
    if (!subject_ok(b->subject) || memchr(b->reason, 0, sizeof b->reason) == NULL)
        return TC_ECORRUPT;
    if (b->until_ms <= lc->now_ms) {
        if (lc->n_expired == lc->cap_expired) {
            lc->cap_expired = lc->cap_expired ? lc->cap_expired * 2 : 16;
            lc->expired = tc_xrealloc(lc->expired, lc->cap_expired * sizeof *lc->expired);
        }
        memcpy(lc->expired[lc->n_expired++], b->subject, TC_BAN_SUBJECT_MAX);
        return 0;
    }
    if (lc->bl->n >= TC_BANLIST_MAX || find(lc->bl, b->subject) >= 0)
        return 0;
    push(lc->bl, b);
    return 0;
}

/* Deletes from the store the bans the walk collected as expired at
 * lc->now_ms (UINT64_MAX: all), unless the walk failed (err). Returns err or
 * the store's error. */
static int delete_expired(const tc_netstore *store, load_ctx *lc, int err)
{
    for (size_t i = 0; i < lc->n_expired && !err; i++)
        err = store->ban_remove(store->ctx, lc->expired[i]);
    free(lc->expired);
    return err;
}

tc_banlist *tc_banlist_new(const tc_netstore *store, uint64_t now_ms, int *err)
{
    tc_banlist *bl = tc_xcalloc(1, sizeof *bl);
    *err = 0;
    if (store == NULL)
        return bl;
    bl->store = *store;
    load_ctx lc = {.bl = bl, .now_ms = now_ms};
    *err = delete_expired(store, &lc, store->ban_load(store->ctx, load_one, &lc));
    if (*err) {
        tc_banlist_free(bl);
        return NULL;
    }
    bl->has_store = 1;
    return bl;
}

void tc_banlist_free(tc_banlist *bl)
{
    if (bl == NULL)
        return;
    free(bl->v);
    free(bl);
}

int tc_banlist_add(tc_banlist *bl, const char *subject, uint64_t now_ms, uint64_t until_ms,
                   const char *reason)
{
    if (!subject_ok(subject))
        return TC_EINVAL;
    tc_ban b;
    memset(&b, 0, sizeof b);
    strcpy(b.subject, subject);
    b.created_ms = now_ms;
    b.until_ms = until_ms;
    if (reason)
        snprintf(b.reason, sizeof b.reason, "%s", reason);
    long i = find(bl, subject);
    if (i >= 0) {
        if (bl->v[i].until_ms >= until_ms)
            return 0;
        bl->v[i] = b;
    } else {
        if (bl->n >= TC_BANLIST_MAX)
            return TC_ELIMIT;
        push(bl, &b);
    }
    return bl->has_store ? bl->store.ban_save(bl->store.ctx, &b) : 0;
}

int tc_banlist_remove(tc_banlist *bl, const char *subject)
{
    long i = find(bl, subject);
    if (i < 0)
        return TC_ENOTFOUND;
    drop_at(bl, (size_t)i);
    return 0;
}

bool tc_banlist_is_banned(tc_banlist *bl, const char *subject, uint64_t now_ms)
{
    long i = find(bl, subject);
    if (i < 0)
        return false;
    if (bl->v[i].until_ms <= now_ms) {
        drop_at(bl, (size_t)i);
        return false;
    }
    return true;
}

size_t tc_banlist_sweep(tc_banlist *bl, uint64_t now_ms)
{
    size_t dropped = 0;
    for (size_t i = 0; i < bl->n;) {
        if (bl->v[i].until_ms <= now_ms) {
            drop_at(bl, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

size_t tc_banlist_list(tc_banlist *bl, uint64_t now_ms, tc_ban **out)
{
    tc_banlist_sweep(bl, now_ms);
    *out = NULL;
    if (bl->n == 0)
        return 0;
    *out = tc_xmalloc(bl->n * sizeof **out);
    memcpy(*out, bl->v, bl->n * sizeof **out);
    return bl->n;
}

int tc_banlist_clear(tc_banlist *bl)
{
    bl->n = 0;
    if (!bl->has_store)
        return 0;
    /* every stored ban counts as expired at the end of time */
    load_ctx lc = {.bl = bl, .now_ms = UINT64_MAX};
    return delete_expired(&bl->store, &lc, bl->store.ban_load(bl->store.ctx, load_one, &lc));
}
