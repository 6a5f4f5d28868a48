#include "net/addrgossip.h"

#include <sodium.h>
#include <string.h>

#include "util/clock.h"
#include "util/mem.h"

static uint64_t since(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

void tc_addrgossip_init(tc_addrgossip *g, tc_addrbook *book, tc_p2p_stats *stats, uint32_t ban_score,
                        uint32_t interval_ms, uint64_t now)
{
    *g = (tc_addrgossip){.book = book,
                         .stats = stats,
                         .ban_score = ban_score,
                         .interval_ms = interval_ms,
                         .last_ask = now ? now : 1};
}

void tc_addrgossip_ask(tc_addrgossip *g, tc_peer *c, uint64_t now)
{
    (void)g;
    tc_msg m;
    tc_msg_init(&m, TC_MSG_GETPEERS);
    if (tc_peer_send(c, &m) == 0)
        c->getpeers_sent_mono = now ? now : 1;
    tc_msg_release(&m);
}

void tc_addrgossip_answer(tc_addrgossip *g, tc_peer *c, uint64_t now)
{
    if (c->getpeers_answered_mono && since(now, c->getpeers_answered_mono) < TC_P2P_GETPEERS_ANSWER_MS) {
        g->stats->getpeers_ignored++;
        c->st.getpeers_ignored++;
        return; /* the request rate limit bounds these already: no punishment */
    }
    c->getpeers_answered_mono = now ? now : 1;
    tc_msg m;
    tc_msg_init(&m, TC_MSG_PEERS);
    m.u.peers.v = tc_xcalloc(TC_P2P_PEERS_MAX, sizeof *m.u.peers.v);
    m.u.peers.n = tc_addrbook_sample(g->book, m.u.peers.v, TC_P2P_PEERS_MAX);
    int rc = tc_peer_send(c, &m);
    (void)rc; /* a failed write shows up as a connection event */
    tc_msg_release(&m);
}

int tc_addrgossip_take(tc_addrgossip *g, tc_peer *c, const tc_msg *m, uint64_t now)
{
    bool asked = c->getpeers_sent_mono && since(now, c->getpeers_sent_mono) <= TC_P2P_GETPEERS_TIMEOUT_MS;
    if (!asked) {
        /* our peers never send one unasked: nothing of it is looked at */
        g->stats->peers_unsolicited++;
        c->st.peers_unsolicited++;
        return tc_banscore_add(&c->score, TC_P2P_UNSOLICITED_POINTS, now) >= g->ban_score ? TC_ENET_PROTOCOL : 0;
    }
    c->getpeers_sent_mono = 0;
    uint64_t wall = tc_clock_wall_ms();
    size_t n = m->u.peers.n < TC_P2P_PEERS_MAX ? m->u.peers.n : TC_P2P_PEERS_MAX, learned = 0;
    for (size_t i = 0; i < n; i++)
        learned += tc_addrbook_learn(g->book, m->u.peers.v[i].addr.s, c->ip, wall) == 0;
    g->stats->addrs_learned += learned;
    c->st.addrs_learned += learned;
    return 0;
}

static bool askable(const tc_peer *c)
{
    return c->established && !c->inbound && !c->closing;
}

void tc_addrgossip_tick(tc_addrgossip *g, tc_peer *live, uint64_t now)
{
    size_t n_new, n_tried, n = 0;
    tc_addrbook_counts(g->book, &n_new, &n_tried, NULL);
    if (g->interval_ms == 0 || n_new + n_tried >= TC_P2P_BOOK_SMALL || since(now, g->last_ask) < g->interval_ms)
        return;
    for (const tc_peer *c = live; c; c = c->next)
        n += askable(c);
    if (n == 0)
        return;
    g->last_ask = now ? now : 1;
    size_t k = randombytes_uniform((uint32_t)n);
    for (tc_peer *c = live; c; c = c->next)
        if (askable(c) && k-- == 0) {
            if (!c->getpeers_sent_mono || since(now, c->getpeers_sent_mono) > TC_P2P_GETPEERS_TIMEOUT_MS)
                tc_addrgossip_ask(g, c, now);
            break;
        }
}

/* A link the book chose from gossip (not config, chain or the mesh). */
static bool automatic(const tc_addrgossip *g, const tc_netaddr *mesh, size_t n_mesh, const char *addr)
{
    const tc_addr_rec *r = tc_addrbook_get(g->book, addr);
    if (r == NULL || r->source != TC_ADDR_GOSSIP)
        return false;
    for (size_t i = 0; i < n_mesh; i++)
        if (strcmp(mesh[i].s, addr) == 0)
            return false;
    return true;
}

bool tc_addrgossip_group_taken(const tc_addrgossip *g, const tc_peer *live, const tc_netaddr *mesh,
                               size_t n_mesh, const char *addr)
{
    if (!automatic(g, mesh, n_mesh, addr))
        return false; /* exempt */
    uint64_t group = tc_addrbook_group(addr);
    for (const tc_peer *c = live; c; c = c->next)
        if (!c->inbound && tc_addrbook_group(c->addr) == group && automatic(g, mesh, n_mesh, c->addr))
            return true;
    return false;
}
