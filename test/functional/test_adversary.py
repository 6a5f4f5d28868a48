"""Attacks on a 4-validator devnet of real `timed`, one test each, by the
hostile peer of adversary.py (its positive control: test_adversary_control.py).

After every attack the test asserts that
* the honest validators keep committing: no gap between consecutive commits
  (first sighting of a new getblockcount, polled every 0.1 s) over
  3 x the round time, i.e. 3 x (propose + prevote + precommit timeout +
  block interval) of the devnet's genesis (9 s with `time-cli devnet init`'s
  defaults), times TC_TIMEOUT_FACTOR;
* every node agrees on every block hash;
* no honest peer is banned (listbanned on every node names no honest node
  key and not 127.0.0.1).
The measured worst gap (and RPC latency where it matters) is printed:
run with -s to see it.

Issue 11 attacks 1-3 fail on the code before its fixes and pass after them;
nothing here is marked xfail. Every address the tests gossip is in
127.0.0.0/8 (never 127.0.0.1) on a port of this devnet's reserved slot
where nothing listens, except the few ports the test itself listens on to
count dials.
"""
import json
import os
import queue
import re
import socket
import threading
import time
from dataclasses import replace

import pytest
from OpenSSL import SSL

import adversary as adv
from adversary import PRECOMMIT, PREVOTE, T
from framework import scaled

pytestmark = pytest.mark.needs_daemon


# ---- shared setup and checks --------------------------------------------------

def round_time_s(dn):
    """propose + prevote + precommit timeout + block interval (s) from genesis."""
    c = json.loads((dn.dir / "genesis.json").read_text())["consensus"]
    return (c["propose_timeout_ms"] + c["prevote_timeout_ms"] + c["precommit_timeout_ms"]
            + c["block_interval_ms"]) / 1000.0


def gap_bound(dn):
    return scaled(3 * round_time_s(dn))


start_devnet = adv.start_devnet


def honest_subjects(dn, nodes):
    keys = set()
    for i in nodes:
        p = dn.node(i).dir / "node.key"
        if p.exists():
            keys.add("key:" + adv.Key.load(p).pub.hex())
    return keys | {"127.0.0.1"}


def assert_no_honest_ban(dn, nodes, honest):
    bad = honest_subjects(dn, honest)
    for i in nodes:
        for b in dn.rpc(i, "listbanned"):
            assert b["subject"] not in bad, f"node{i} banned an honest peer: {b}"


def assert_agree(dn, nodes):
    top = min(dn.rpc(i, "getblockcount") for i in nodes)
    for height in range(1, top + 1):
        hashes = {dn.rpc(i, "getblockhash", height) for i in nodes}
        assert len(hashes) == 1, f"nodes disagree at height {height}: {hashes}"
    return top


def assert_live(dn, watch, nodes, label, honest=None, after=5):
    """The checks every attack ends with; prints the measured worst gap."""
    bound = gap_bound(dn)
    worst = max(watch.worst_gap(i) for i in nodes)
    if worst > bound:  # fail fast, but say whether the chain came back once the attacker left
        h0 = watch.seen[nodes[0]][-1][1] if watch.seen[nodes[0]] else 0
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline and (watch.seen[nodes[0]] or [(0, 0)])[-1][1] <= h0:
            time.sleep(0.1)
    watch.stop()
    report = watch.report(label)
    worst = max(watch.worst_gap(i) for i in nodes)
    print(f"{label}: worst commit gap {worst:.2f} s (bound {bound:.1f} s)")
    assert worst <= bound, f"{label}: commits stalled {worst:.1f} s (bound {bound:.1f} s)\n{report}"
    h0 = dn.rpc(nodes[0], "getblockcount", timeout=5)
    dn.wait_until(lambda: min(dn.rpc(i, "getblockcount", timeout=5) for i in nodes) >= h0 + after,
                  timeout=bound * (after + 1), message=f"{label}: {after} more blocks after the attack")
    top = assert_agree(dn, nodes)
    assert_no_honest_ban(dn, nodes, honest if honest is not None else nodes)
    return worst, top


def banned_subjects(dn, i):
    return {b["subject"]: b.get("reason", "") for b in dn.rpc(i, "listbanned")}


class ConsensusPoll:
    """getconsensusinfo of one node every 30 ms: (height, round, proposer)."""

    def __init__(self, dn, node):
        self.dn, self.node = dn, node
        self.state = None
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                c = self.dn.rpc(self.node, "getconsensusinfo", timeout=5)
                self.state = (c["height"], c["round"], bytes.fromhex(c.get("proposer", "00" * 32)))
            except Exception:  # noqa: BLE001 - polled again
                pass
            self._stop.wait(0.03)

    def stop(self):
        self._stop.set()
        self._t.join(10)


def connect_all(dn, nodes, genesis, **kw):
    """One adversary link per node (same key); returns {node: Peer}."""
    key = kw.pop("key", None) or adv.Key.generate()
    out = {}
    for i in nodes:
        out[i] = adv.Peer(dn.node(i).p2p_port, genesis, key=key, **kw).connect()
    return out


def template_block(peer, height=1):
    return adv.fetch_blocks(peer, height, 1)[0][0]


# ---- 1. junk proposals ------------------------------------------------------------

def test_junk_proposals_from_a_non_validator(devnet_factory):
    """Correctly signed (by its own key) proposals for H and H+1 with
    decodable blocks whose hash matches, sent to every validator for 20 s;
    each time the sender is banned it comes back with a fresh key from a
    fresh /24 of 127.0.0.0/8 (a new group: the per-group inbound limit does
    not stop it). Fixed: every sender is banned with a reason, no junk block
    is kept, and the chain never stalls."""
    dn = start_devnet(devnet_factory)
    nodes = [0, 1, 2, 3]
    genesis = adv.genesis_hash(dn)
    links = connect_all(dn, nodes, genesis, height=dn.rpc(0, "getblockcount"))
    tmpl = template_block(links[0])
    keys = [links[0].key]
    attacked = {}  # key hex -> nodes that took at least one of its proposals
    watch = adv.CommitWatch(dn, nodes).start()
    poll = ConsensusPoll(dn, 0).start()
    sent = 0
    end = time.monotonic() + 20
    salt = 0
    while time.monotonic() < end:
        if not any(p.alive() for p in links.values()):
            for p in links.values():
                p.close()
            keys.append(adv.Key.generate())
            links, height = {}, dn.rpc(0, "getblockcount")
            for i in nodes:  # the new-inbound limits may refuse some: attack those that let it in
                try:
                    links[i] = adv.Peer(dn.node(i).p2p_port, genesis, key=keys[-1], height=height,
                                        bind=f"127.9.{len(keys) % 250}.1").connect()
                except (OSError, SSL.Error, adv.LinkClosed, TimeoutError):
                    pass
            if not links:
                time.sleep(0.2)
                continue
        st = poll.state
        if st is None:
            time.sleep(0.01)
            continue
        height, rnd, _ = st
        key = keys[-1]
        for hh, rr in ((height, rnd), (height, rnd + 1), (height + 1, 0), (height + 1, 1)):
            salt += 1
            raw, bh = adv.junk_block(tmpl, hh, salt, proposer=key.pub)
            msg = adv.frame(T.PROPOSAL, adv.encode_payload(T.PROPOSAL, (adv.make_proposal(key, hh, rr, bh), raw)))
            for i, p in links.items():
                if p.alive():
                    try:
                        p.send_raw(msg, timeout=5)
                        sent += 1
                        attacked.setdefault(key.pub.hex(), set()).add(i)
                    except (adv.LinkClosed, TimeoutError):
                        pass
    poll.stop()
    for p in links.values():
        p.close()
    print(f"junk proposals: sent {sent} in 20 s from {len(keys)} keys")
    assert_live(dn, watch, nodes, "junk proposals")
    assert len(keys) > 3, "the sender was not banned, so the attack never came back with new keys"
    banned = {i: banned_subjects(dn, i) for i in nodes}
    unbanned = [(i, k.pub.hex()[:16]) for k in keys[:-1] for i in attacked.get(k.pub.hex(), ())
                if not banned[i].get("key:" + k.pub.hex())]
    print(f"junk proposals: {len(keys)} keys, not banned (node, key): {unbanned}")
    assert not unbanned, f"junk proposers not banned (with a reason): {unbanned}"
    refused = {i: adv.metric(dn.metrics(i), "proposals_received_total", outcome="wrong_proposer") for i in nodes}
    print(f"junk proposals: refused as wrong proposer per node: {refused}")
    assert all(v >= 1 for v in refused.values()), f"the junk was not seen and refused: {refused}"


# ---- 2. unsolicited peers flood -------------------------------------------------

def test_unsolicited_peers_flood(devnet_factory):
    """1,200 `peers` of 1,000 addresses each over ~30 s, never asked for.
    Fixed: ignored (or the sender throttled/banned), blocks go on, RPC
    answers within 1 s throughout, the address book grows by at most a few
    hundred, and the node dials a bounded number of the injected addresses."""
    dn = start_devnet(devnet_factory, flags={0: ("--log-level", "debug")})
    nodes = [0, 1, 2, 3]
    genesis = adv.genesis_hash(dn)
    dead_base = dn.base_port + 100          # this devnet's reserved slot: nothing listens there
    # listen on a few of the injected addresses to count dials ourselves
    listeners = []
    for k in range(0, 1_200_000, 60_000):
        addr, _ = adv.peers_flood_payload(1, k, dead_base)[0]
        host, port = addr.rsplit(":", 1)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        s.listen(64)
        s.setblocking(False)
        listeners.append(s)
    injected = set()
    p = adv.Peer(dn.node(0).p2p_port, genesis, height=dn.rpc(0, "getblockcount")).connect()
    watch = adv.CommitWatch(dn, nodes).start()
    t0 = time.monotonic()
    sent = 0
    stuck = None
    for m in range(1200):
        batch = adv.peers_flood_payload(1000, m, dead_base)
        injected.update(a for a, _ in batch)
        if time.monotonic() - t0 > 45:
            stuck = "flood cut at 45 s"
            break
        try:
            p.send(T.PEERS, batch, timeout=5)
        except TimeoutError:
            stuck = f"node0 stopped reading after {m} messages"
            break
        except adv.LinkClosed:
            break
        sent += 1
        # ~40 messages per second
        delay = t0 + (m + 1) / 40.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    took = time.monotonic() - t0
    time.sleep(2)
    dials_seen = 0
    for s in listeners:
        while True:
            try:
                c, _ = s.accept()
                c.close()
                dials_seen += 1
            except BlockingIOError:
                break
        s.close()
    log = dn.node(0).log.read_text(errors="replace")
    dialled = {m.group(1) for m in re.finditer(r'msg=connecting peer=\d+ addr=(\S+)', log)} & injected
    # the book as node0 shares it: a getpeers sample (up to 1000) of it
    in_book = None
    try:
        q = adv.Peer(dn.node(0).p2p_port, genesis, height=dn.rpc(0, "getblockcount")).connect()
        q.send(T.GETPEERS, None)
        _, got = q.recv(T.PEERS, timeout=5)
        in_book = len({a for a, _ in got} & injected)
        q.close()
    except (adv.LinkClosed, TimeoutError, OSError) as e:
        print(f"peers flood: getpeers after the flood failed: {e!r}")
    print(f"peers flood: sent {sent} messages ({sent * 1000} addresses) in {took:.1f} s ({stuck or 'all sent'});"
          f" link alive: {p.alive()}; slowest getblockcount so far {watch.max_rpc[0]:.2f} s;"
          f" node0 dialled {len(dialled)} injected addresses (log), {dials_seen} dials reached our"
          f" {len(listeners)} listeners; injected addresses in its getpeers answer: {in_book}")
    slowest = watch.max_rpc[0]
    p.close()
    print(f"peers flood: slowest getblockcount on node0 {slowest:.3f} s")
    assert slowest < 1.0, f"RPC took {slowest:.2f} s during the flood ({watch.errors[0]} polls failed)"
    assert_live(dn, watch, nodes, "peers flood")
    assert in_book is not None and in_book <= 300, f"{in_book} injected addresses in the book"
    assert len(dialled) <= 50, f"node0 dialled {len(dialled)} injected addresses"


# ---- 3. inbound flood from one source ------------------------------------------

def test_inbound_flood_from_one_source(devnet_factory):
    """TCP connections as fast as possible from 127.0.1.1 to node0's P2P port
    for 20 s; meanwhile a peer from 127.0.0.1 must get in (full handshake)
    within a few seconds."""
    dn = start_devnet(devnet_factory)
    nodes = [0, 1, 2, 3]
    genesis = adv.genesis_hash(dn)
    port = dn.node(0).p2p_port
    stop = threading.Event()
    opened = [0]

    def flood():
        held = []
        while not stop.is_set():
            s = socket.socket()
            try:
                s.bind(("127.0.1.1", 0))
                s.settimeout(1)
                s.connect(("127.0.0.1", port))
                opened[0] += 1
                held.append(s)
            except OSError:
                s.close()
                time.sleep(0.001)
            if len(held) > 200:
                held.pop(0).close()
        for s in held:
            s.close()

    watch = adv.CommitWatch(dn, nodes).start()
    th = threading.Thread(target=flood, daemon=True)
    th.start()
    time.sleep(5)
    t0 = time.monotonic()
    got_in, attempts, last = None, 0, None
    while time.monotonic() - t0 < scaled(5):
        attempts += 1
        try:
            p = adv.Peer(port, genesis, height=dn.rpc(0, "getblockcount")).connect(timeout=2)
            if any(x["key"] == p.key.pub.hex() for x in dn.rpc(0, "getpeerinfo")):
                got_in = time.monotonic() - t0
                p.close()
                break
            p.close()
        except Exception as e:  # noqa: BLE001 - refused at accept or TLS: try again
            last = e
        time.sleep(0.25)
    time.sleep(max(0, 15 - (time.monotonic() - t0)))
    stop.set()
    th.join(10)
    print(f"inbound flood: {opened[0]} connections from 127.0.1.1 in 20 s; honest peer from 127.0.0.1"
          f" {'accepted after %.2f s' % got_in if got_in is not None else 'refused'} ({attempts} attempts,"
          f" last error {last!r})")
    assert_live(dn, watch, nodes, "inbound flood")
    assert got_in is not None, "an honest peer from another address could not get in during the flood"


# ---- 4-6. a Byzantine validator 3 ------------------------------------------------

def byzantine_v3(devnet_factory, behave, seconds=20, label=""):
    """Nodes 0-2 run timed; the adversary holds validator 3's operator key
    and, every round it leads (seen through node0's getconsensusinfo), calls
    behave(links, key, parent, height, round) with the parent block of
    that height (so junk blocks name the right previous hash)."""
    dn = start_devnet(devnet_factory, run=(0, 1, 2))
    nodes = [0, 1, 2]
    genesis = adv.genesis_hash(dn)
    v3 = adv.Validator(dn.node(3).dir)
    links = connect_all(dn, nodes, genesis, height=dn.rpc(0, "getblockcount"))
    parent = None
    watch = adv.CommitWatch(dn, nodes).start()
    poll = ConsensusPoll(dn, 0).start()
    led = set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        st = poll.state
        if st and st[2] == v3.operator.pub and (st[0], st[1]) not in led:
            led.add((st[0], st[1]))
            if parent is None or parent.header.height != st[0] - 1:
                parent = template_block(links[0], st[0] - 1)
            behave(links, v3.operator, parent, st[0], st[1])
        time.sleep(0.01)
    poll.stop()
    for p in links.values():
        p.close()
    print(f"{label}: validator 3 led {len(led)} rounds: {sorted(led)}")
    assert len(led) >= 2, "validator 3 never led a round"
    worst, top = assert_live(dn, watch, nodes, label)
    return dn, nodes, led


def test_equivocating_proposer(devnet_factory):
    """Two different signed proposals (different blocks) for the same
    (height, round): one to node0, the other to nodes 1 and 2."""
    def behave(links, key, tmpl, height, rnd):
        for salt, targets in ((1, [0]), (2, [1, 2])):
            raw, bh = adv.junk_block(tmpl, height, salt + 1000 * rnd, proposer=key.pub, prev=tmpl.hash())
            prop = adv.make_proposal(key, height, rnd, bh)
            for i in targets:
                links[i].send(T.PROPOSAL, (prop, raw))
    dn, nodes, _ = byzantine_v3(devnet_factory, behave, label="equivocating proposer")
    msgs = [m.group(1) for i in nodes for m in re.finditer(r'^ts=\S+ level=\w+ mod=\w+ msg="([^"]*)"',
                                                           dn.node(i).log.read_text(errors="replace"), re.M)]
    noticed = [m for m in msgs if re.search(r"double|conflict|equivocat|evidence", m, re.I)
               and re.search(r"propos|evidence", m, re.I)]
    print(f"equivocating proposer: {len(noticed)} log lines report it; first: {noticed[:1]}")
    assert noticed, "no node logged the double proposal"


def test_invalid_blocks_every_round_it_leads(devnet_factory):
    """A decodable but invalid block (wrong UTXO commitment, time, ...) to
    every node, each round validator 3 leads: prevote nil, next round."""
    def behave(links, key, tmpl, height, rnd):
        raw, bh = adv.junk_block(tmpl, height, 7 + rnd, proposer=key.pub, prev=tmpl.hash())
        prop = adv.make_proposal(key, height, rnd, bh)
        for p in links.values():
            p.send(T.PROPOSAL, (prop, raw))
    byzantine_v3(devnet_factory, behave, label="invalid blocks")


def test_proposer_withholds_its_block(devnet_factory):
    """Validator 3 proposes a hash, never sends the block, and prevotes and
    precommits it."""
    def behave(links, key, tmpl, height, rnd):
        _, bh = adv.junk_block(tmpl, height, 99 + rnd, proposer=key.pub, prev=tmpl.hash())
        msgs = [(T.PROPOSAL, (adv.make_proposal(key, height, rnd, bh), b"")),
                (T.VOTE, adv.make_vote(key, PREVOTE, height, rnd, bh)),
                (T.VOTE, adv.make_vote(key, PRECOMMIT, height, rnd, bh))]
        for p in links.values():
            for t, m in msgs:
                p.send(t, m)
    byzantine_v3(devnet_factory, behave, label="withheld block")


# ---- 7. a peer that lies about its height ----------------------------------------

def test_peer_lies_about_its_height(devnet_factory):
    """Version and pong height 10^9, getblocks answered with nothing: the
    validators must not leave consensus for a sync that never comes."""
    dn = start_devnet(devnet_factory)
    nodes = [0, 1, 2, 3]
    genesis = adv.genesis_hash(dn)
    asked = [0]

    def nothing(peer, t, m):
        if t == T.GETBLOCKS:
            asked[0] += 1
            peer.send(T.BLOCKS, [])
            return True
        return False

    links = connect_all(dn, nodes, genesis, height=10 ** 9, on_message=nothing)
    for p in links.values():
        p.ping_height = 10 ** 9
    watch = adv.CommitWatch(dn, nodes).start()
    unhealthy = []
    end = time.monotonic() + 20
    while time.monotonic() < end:
        for i in nodes:
            status, body = dn.health(i)
            if status != 200:
                unhealthy.append((i, status, body))
        for p in links.values():
            if p.alive():
                try:
                    p.send(T.PING, (1, 10 ** 9))
                except (adv.LinkClosed, TimeoutError):
                    pass
        time.sleep(0.5)
    for p in links.values():
        p.close()
    print(f"height liar: {asked[0]} getblocks asked of it; /health not 200 {len(unhealthy)} times;"
          f" first: {unhealthy[:1]}")
    assert_live(dn, watch, nodes, "height liar")
    stuck = [u for u in unhealthy if u[1] != 200]
    assert len(stuck) <= 2 * len(nodes), f"/health of honest nodes stuck: {stuck[:4]}"


# ---- 8. a peer that serves invalid blocks during sync ----------------------------

def test_peer_serves_invalid_blocks_during_sync(devnet_factory):
    """A follower (node4) started late syncs while the adversary claims the
    tip and answers its getblocks with real blocks whose certificates have a
    flipped signature byte: the follower bans the adversary and catches up
    from the honest validators."""
    sync_from_tampering_peer(devnet_factory, lambda got: [(b, adv.tamper_cert(c)) for b, c in got])


def forge_middle_block(got):
    """The run with its middle block's last commit forged (a signature byte
    flipped), its header resealed and its certificate retargeted: every
    certificate still decodes and names its block; the next block's link to
    it is what breaks."""
    out = list(got)
    if len(out) < 3:
        return [(b, adv.tamper_cert(c)) for b, c in out]
    k = len(out) // 2
    blk = adv.Block.decode(out[k][0])
    key, sig = blk.last_commit.sigs[0]
    blk.last_commit.sigs[0] = (key, bytes([sig[0] ^ 1]) + sig[1:])
    blk.header = replace(blk.header, last_commit_hash=blk.last_commit.hash())
    cert = adv.Cert.decode(out[k][1])
    cert.block = blk.hash()
    out[k] = (blk.encode(), cert.encode())
    return out


def test_peer_forges_a_block_inside_its_run(devnet_factory):
    """Issue 17: between checkpoints only the last block of a peer's range
    has its certificate's signatures verified. A run whose middle block
    carries a forged last commit (resealed, its certificate retargeted) is
    still caught by the hash link of the block after it: the peer is banned,
    nothing of the run is applied, the honest peers then serve the chain."""
    sync_from_tampering_peer(devnet_factory, forge_middle_block)


def sync_from_tampering_peer(devnet_factory, tamper):
    """The follower syncs from the adversary alone, which relays node0's runs
    through tamper(run): banned, nothing applied; then from honest peers."""
    dn = start_devnet(devnet_factory, slots=5)
    nodes = [0, 1, 2, 3]
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 15, timeout=60)
    genesis = adv.genesis_hash(dn)
    src = adv.Peer(dn.node(0).p2p_port, genesis, height=dn.rpc(0, "getblockcount"))
    blocks_q = queue.Queue()

    def route(peer, t, m):
        if t == T.BLOCKS:
            blocks_q.put(m)
            return True
        return False
    src.on_message = route
    src.connect()
    served = [0]

    def tampered(peer, t, m):
        if t != T.GETBLOCKS:
            return False
        src.send(T.GETBLOCKS, m)
        try:
            got = blocks_q.get(timeout=10)
        except queue.Empty:
            return True
        out = tamper(got)
        try:
            peer.send(T.BLOCKS, out)
            served[0] += len(out)
        except (adv.LinkClosed, TimeoutError):
            pass
        return True

    adv.add_follower(dn, 4, connect=())  # the adversary is its first and only peer
    watch = adv.CommitWatch(dn, nodes).start()
    bad = adv.Peer(dn.node(4).p2p_port, genesis, height=dn.rpc(0, "getblockcount"), on_message=tampered)
    dn.start(4)
    bad.connect()
    key = "key:" + bad.key.pub.hex()
    try:
        dn.wait_until(lambda: key in banned_subjects(dn, 4), timeout=15,
                      message="the follower to ban the peer that served bad certificates")
    finally:
        print(f"bad sync peer: served {served[0]} tampered blocks; follower at {dn.rpc(4, 'getblockcount')};"
              f" bans on the follower: {banned_subjects(dn, 4)}; link alive: {bad.alive()}")
    assert dn.rpc(4, "getblockcount") == 0, "the follower applied blocks of a tampered run"
    for i in nodes:  # now the honest peers
        dn.rpc(4, "addnode", f"127.0.0.1:{dn.node(i).p2p_port}", "add")
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= dn.rpc(0, "getblockcount") - 1, timeout=60,
                  message="the follower to catch up from honest peers")
    bad.close()
    src.close()
    assert_live(dn, watch, nodes, "bad sync peer", honest=nodes + [4])
    assert_agree(dn, nodes + [4])
    assert_no_honest_ban(dn, nodes + [4], nodes + [4])
