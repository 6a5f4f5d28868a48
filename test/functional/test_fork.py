"""Forks (issue 14, DESIGN.md section 6).

test_gethash_served: a peer asks gethash at a committed height and past the
tip; the answer is our block id with its certificate (which certifies that
block at that height), and a zero hash with no certificate past the tip.

test_node_on_another_branch_rolls_back: how the other branch is made.
1. Four validators (node0..3) run to height >= 5 and are stopped (at a
   common height M: no block is certified without 3 of the 4).
2. Their data dirs are copied for node0..2 into node5..7 (same keys, same
   chain, other ports, `connect` only to each other). The originals stay
   down meanwhile, so the copies' mesh dials to the registered addresses
   find nobody. The copies hold 3 of 4 of the weight: they certify their
   own blocks M+1..M+4 (branch Y; those keys sign both branches, so at M+1
   there are two valid certificates and the signers of both are culprits).
   A fresh non-validator, node4, syncs Y from them. All of them stop.
3. The originals start again and certify other blocks M+1.. (branch X) to
   M+15. Positive control: a fresh follower node8 connected to them syncs X
   and bans nobody.
4. node4 restarts with `connect` to node0..3 only. It must log the other
   branch (no ban), find the fork height M+1, ask every peer, roll back to
   M and end on X's hash at X's height; listbanned is empty on every node.
   The times from detection to rollback done and to resynced are printed.
   The two certificates at M+1 are of one round: node4 makes evidence of
   each culprit's two precommits, and X slashes exactly those validators.
5. Six peers without weight claim Y to node8 (on X): nothing changes.
6. node9, a copy of node4's Y dir made in step 2, starts with
   fork-max-rollback 1: it waits for the operator; `forkrollback F-1`
   rolls it back and it follows X.
"""
import os
import re
import shutil
import time
from datetime import datetime

import pytest

import framework

import adversary as adv
from adversary import T
from framework import scaled


@pytest.mark.needs_daemon
def test_gethash_served(devnet_factory):
    dn = devnet_factory(nodes=4, init=False, start=False)
    adv.init_devnet(dn, validators=4)
    for i in range(4):
        dn.start(i, wait=False)
    for i in range(4):
        dn.wait_ready(i)
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 3, timeout=scaled(60))
    a = adv.Peer(dn.node(0).p2p_port, adv.genesis_hash(dn))
    a.connect()
    try:
        for height in (1, 3):
            a.send(T.GETHASH, height)
            _, (got_h, got_hash, got_cert) = a.recv(T.HASH, timeout=10)
            assert got_h == height
            assert got_hash.hex() == dn.rpc(0, "getblockhash", height)
            cert = adv.Cert.decode(got_cert)
            assert cert.height == height and cert.block == got_hash and len(cert.sigs) >= 3
        a.send(T.GETHASH, 10 ** 9)
        _, (got_h, got_hash, got_cert) = a.recv(T.HASH, timeout=10)
        assert (got_h, got_hash, got_cert) == (10 ** 9, adv.ZERO32, b"")
        assert a.alive()
    finally:
        a.close()
    assert dn.rpc(0, "listbanned") == []


def _ts(line):
    m = re.search(r"ts=(\S+)Z", line)
    return datetime.fromisoformat(m.group(1)).timestamp() if m else None


def _first(log, text):
    for line in open(log, errors="replace"):
        if text in line:
            return line
    return None


def _copy_validator(dn, src, dst, peers):
    """node<dst>: a copy of node<src>'s data dir (keys, chain, sign log) on
    node<dst>'s ports, connected only to node<peers>."""
    s, d = dn.node(src), dn.node(dst)
    shutil.copytree(s.dir, d.dir, ignore=shutil.ignore_patterns("timed.log", ".lock", "time.conf"))
    base = dn.base_port + 10 * dst
    text = s.conf.read_text().replace(str(s.dir), str(d.dir))
    d.conf.write_text(text)
    d.conf_set("listen", f"127.0.0.1:{base}")
    d.conf_set("rpc-listen", f"127.0.0.1:{base + 1}")
    d.conf_set("metrics-listen", f"127.0.0.1:{base + 2}")
    d.conf_set("connect", [f"127.0.0.1:{dn.base_port + 10 * j}" for j in peers if j != dst])


@pytest.mark.needs_daemon
def test_node_on_another_branch_rolls_back(devnet_factory):
    dn = devnet_factory(nodes=10, init=False, start=False)
    adv.init_devnet(dn, validators=4)
    for i in range(4):
        dn.start(i, wait=False)
    for i in range(4):
        dn.wait_ready(i)
    dn.wait_until(lambda: min(dn.rpc(i, "getblockcount") for i in range(4)) >= 5, timeout=scaled(60))
    for i in range(4):
        dn.stop(i)

    # branch Y: copies of node0..2 on node5..7, and node4 following them
    for j in (5, 6, 7):
        _copy_validator(dn, j - 5, j, (5, 6, 7))
    adv.add_follower(dn, 4, connect=(5, 6, 7))
    for j in (5, 6, 7):
        dn.start(j, wait=False)
    for j in (5, 6, 7):
        dn.wait_ready(j)
    base_y = dn.rpc(5, "getblockcount")
    dn.start(4)
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= base_y + 4, timeout=scaled(60),
                  message="branch Y to grow and node4 to follow it")
    y_tip = dn.rpc(4, "getblockcount")
    y_hashes = {h: dn.rpc(4, "getblockhash", h) for h in range(1, y_tip + 1)}
    y_chain = _hash_answers(dn, 4, y_tip)
    for j in (4, 5, 6, 7):
        dn.stop(j)
    y_tip = int(re.findall(r"msg=stopped height=(\d+)", dn.node(4).log.read_text())[-1])
    # node9: a second copy of node4's Y data dir, with a P2P identity of its own
    shutil.copytree(dn.node(4).dir, dn.node(9).dir, ignore=shutil.ignore_patterns(
        "timed.log", ".lock", "time.conf", "node.key", "p2p_cert.pem", "p2p_key.pem"))

    # branch X: the originals go on; a follower on X syncs normally
    for i in range(4):
        dn.start(i, wait=False)
    for i in range(4):
        dn.wait_ready(i)
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= base_y + 15, timeout=scaled(90),
                  message="branch X to reach Y's height + 11")
    adv.add_follower(dn, 8, connect=(0, 1, 2, 3))
    dn.node(8).conf_set("inbound-per-minute-per-group", "0")  # room for the liars below, all from 127.0.0.1
    dn.start(8)
    tip = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(8, "getblockcount") >= tip, timeout=scaled(30), message="the control follower")
    assert dn.rpc(8, "getblockhash", tip) == dn.rpc(0, "getblockhash", tip)

    # node4, on Y, now meets X
    adv.add_follower(dn, 4, connect=(0, 1, 2, 3))
    mark = os.path.getsize(dn.node(4).log)
    dn.start(4)
    x_hashes = {h: dn.rpc(0, "getblockhash", h) for h in range(1, y_tip + 1)}
    fork = min(h for h in y_hashes if y_hashes[h] != x_hashes[h])
    assert fork > 1, "the branches share no block"

    def on_x():
        t = dn.rpc(0, "getblockcount")
        return dn.rpc(4, "getblockcount") >= t and dn.rpc(4, "getblockhash", t) == dn.rpc(0, "getblockhash", t)
    dn.wait_until(on_x, timeout=scaled(60), message="node4 to roll back and follow branch X")
    t_on_x = time.time()

    def log_tail():
        with open(dn.node(4).log, errors="replace") as f:
            f.seek(mark)
            return f.read().splitlines()
    dn.wait_until(lambda: any('msg="fork resolved' in l for l in log_tail()), timeout=scaled(10),
                  message="node4's fork query to see the fork resolved")
    tail = log_tail()
    done_at = None
    for line in tail:
        if 'msg="rollback done' in line:
            done_at = line
            break
    detect = next(l for l in tail if "peer holds another certified branch" in l)
    assert done_at, "no rollback in node4's log"
    assert re.search(r" height=%d " % (fork - 1), done_at), done_at
    rolled = [l for l in tail if 'msg="rolled back block"' in l]
    assert len(rolled) == y_tip - fork + 1, rolled
    assert any('height=%d ' % fork in l for l in tail if "fork height found" in l)
    t_detect, t_done = _ts(detect), _ts(done_at)
    after = tail[tail.index(done_at):]
    resolved_line = next(l for l in after if 'msg="fork resolved' in l)
    print("fork at %d: Y tip %d, rolled back %d blocks; detection to rollback done %.3f s, to resynced at X's "
          "tip %.3f s (seen by the test's polling), to 'fork resolved' %.3f s" % (
              fork, y_tip, len(rolled), t_done - t_detect, t_on_x - t_detect, _ts(resolved_line) - t_detect))
    for i in (0, 1, 2, 3, 4, 8):
        assert dn.rpc(i, "listbanned") == [], "node%d banned someone" % i
    tips = dn.rpc(4, "getchaintips")
    assert tips[0]["status"] == "active" and tips[0]["hash"] == dn.rpc(4, "getbestblockhash")
    info = dn.rpc(4, "getconsensusinfo")["fork"]
    assert info["state"] == "idle" and info["height"] == fork and info["rollbacks"] == 1, info
    assert info["culprits"] >= 2  # the copies' keys signed both branches at the fork height
    assert adv.metric(dn.metrics(4), "fork_rollbacks_total") == 1
    assert adv.metric(dn.metrics(4), "fork_suspected_total") >= 1
    _culprits_slashed(dn, fork, info["culprits"], y_chain)

    _liars_change_nothing(dn, fork, y_chain)
    _too_deep_waits_for_operator(dn, fork, y_tip)


def _culprits_slashed(dn, fork, n_culprits, y_chain):
    """When both certificates at the fork height are of one round, node4
    turns each culprit's two precommits into double-sign evidence; X
    includes it and jails and slashes exactly those validators. Of
    different rounds (X may need a second round at the fork height right
    after its restart) two precommits prove nothing: no evidence."""
    y_round = adv.Cert.decode(y_chain[fork][1]).round
    x_round = adv.Cert.decode(_hash_answers(dn, 0, fork)[fork][1]).round
    if x_round != y_round:
        time.sleep(scaled(3))
        assert 'msg="double sign seen"' not in dn.node(4).log.read_text()
        assert not [m for m in dn.rpc(0, "listmasternodes") if m["slashed"]]
        print("evidence: the certificates at %d are of rounds %d and %d: culprits named, no evidence" % (
            fork, x_round, y_round))
        return

    def named_in_log():
        return set(re.findall(r'msg="double sign seen" validator=([0-9a-f]{64}) height=%d ' % fork,
                              dn.node(4).log.read_text()))
    dn.wait_until(lambda: len(named_in_log()) == n_culprits, timeout=scaled(20),
                  message="node4 to record evidence against each culprit")
    named = named_in_log()
    log4 = dn.node(4).log.read_text()

    def slashed():
        mns = {m["operator"]: m for m in dn.rpc(0, "listmasternodes")}
        return {k for k, m in mns.items() if m["slashed"]}
    dn.wait_until(lambda: slashed() == named, timeout=scaled(30), message="X to slash exactly the culprits")
    t_seen = min(_ts(l) for l in log4.splitlines() if 'msg="double sign seen"' in l)
    t_slash = max(_ts(l) for l in dn.node(0).log.read_text().splitlines() if 'msg="masternode slashed"' in l)
    print("evidence from the two certificates: %d culprits named, slashed on X %.3f s after node4 saw them" % (
        len(named), t_slash - t_seen))


def _too_deep_waits_for_operator(dn, fork, y_tip):
    """node9 (a copy of node4 on Y) with fork-max-rollback 1: it rolls
    nothing back and waits for the operator (/health 503 critical,
    fork_state 4); forkrollback with another height than fork - 1 is
    refused; with fork - 1 it rolls back and follows X."""
    adv.add_follower(dn, 9, connect=(0, 1, 2, 3))
    dn.start(9, "--fork-max-rollback", "1")
    dn.wait_until(lambda: dn.rpc(9, "getconsensusinfo")["fork"]["state"] == "waiting_operator", timeout=scaled(30),
                  message="node9 to wait for the operator")
    status, body = dn.health(9)
    assert status == 503 and body.get("critical") is True and body.get("fork") == "waiting_operator", body
    assert any("critical" in r for r in body.get("reasons", [])), body
    assert dn.rpc(9, "getblockcount") == y_tip
    assert adv.metric(dn.metrics(9), "fork_state") == 4
    log = dn.node(9).log.read_text()
    assert "deeper than fork-max-rollback" in log and "forkrollback" in log and "rolled back block" not in log
    with pytest.raises(framework.JSONRPCError) as bad:
        dn.rpc(9, "forkrollback", fork)
    assert "goes to %d" % (fork - 1) in str(bad.value)
    assert dn.rpc(9, "forkrollback", fork - 1) == {"height": fork - 1}

    def on_x():
        t = dn.rpc(0, "getblockcount")
        return dn.rpc(9, "getblockcount") >= t and dn.rpc(9, "getblockhash", t) == dn.rpc(0, "getblockhash", t)
    dn.wait_until(on_x, timeout=scaled(30), message="node9 to follow X after forkrollback")
    dn.wait_until(lambda: dn.rpc(9, "getconsensusinfo")["fork"]["state"] == "idle", timeout=scaled(10))
    assert dn.health(9)[0] == 200 or "critical" not in str(dn.health(9)[1])
    assert dn.rpc(9, "listbanned") == []
    assert len(re.findall('msg="rolled back block"', dn.node(9).log.read_text())) == y_tip - fork + 1


def _hash_answers(dn, i, tip):
    """(hash, cert bytes) of node i at 1..tip, asked with gethash."""
    a = adv.Peer(dn.node(i).p2p_port, adv.genesis_hash(dn, i))
    a.connect()
    try:
        out = {}
        for h in range(1, tip + 1):
            a.send(T.GETHASH, h)
            _, (got_h, got_hash, got_cert) = a.recv(T.HASH, timeout=10)
            assert got_h == h and got_hash != adv.ZERO32
            out[h] = (got_hash, got_cert)
        return out
    finally:
        a.close()


def _liars_change_nothing(dn, fork, y_chain):
    """Six peers without masternode weight (inbound links to node8, on X)
    claim branch Y, with Y's real certificates: they report Y's height and
    answer every gethash from Y. node8 finds the fork,
    asks everyone and counts the four validators' weight, not the six
    links: it keeps X, rolls nothing back and bans none of them (their
    certificates are valid)."""
    mark = os.path.getsize(dn.node(8).log)
    tip = dn.rpc(8, "getblockcount")

    def answer(peer, t, m):
        if t != T.GETHASH:
            return False
        hash_, cert = y_chain.get(m, (adv.ZERO32, b""))
        try:
            peer.send(T.HASH, (m, hash_, cert))
        except (adv.LinkClosed, TimeoutError):
            pass
        return True
    # they claim Y's height, below node8's: nobody syncs from anybody; node8's
    # probe (gethash at min(its tip, the peer's height) every 10 s) finds them
    y_top = max(y_chain)
    liars = [adv.Peer(dn.node(8).p2p_port, adv.genesis_hash(dn, 8), height=y_top, on_message=answer)
             for _ in range(6)]
    try:
        for liar in liars:
            liar.connect()

        def log_tail():
            with open(dn.node(8).log, errors="replace") as f:
                f.seek(mark)
                return f.read()
        dn.wait_until(lambda: "nothing to undo" in log_tail() or "rolled back block" in log_tail(),
                      timeout=scaled(30), message="node8's fork query to decide")
        tail = log_tail()
        assert "rolled back block" not in tail
        assert re.search(r'msg="asking every peer for its block at the fork height" height=%d peers=1\d' % fork, tail), tail
        info = dn.rpc(8, "getconsensusinfo")["fork"]
        print("liars: node8 kept X at the fork height %d: weight for X %d of %d (culprits %d), answers %d" % (
            fork, info["weight_against"], info["weight_total"], info["culprits"], info["answers"]))
        assert info["state"] == "idle" and info["rollbacks"] == 0 and info["weight_for"] == 0
        tips = dn.rpc(8, "getchaintips")
        other = [t for t in tips if t["status"] == "fork"]
        assert other and other[0]["hash"] == y_chain[fork][0].hex() and other[0]["weight"] == 0
        assert other[0]["valid_cert"] is True and other[0]["answers"] == 6
        assert all(liar.alive() for liar in liars)
        assert dn.rpc(8, "listbanned") == []
        t = dn.rpc(0, "getblockcount")
        dn.wait_until(lambda: dn.rpc(8, "getblockcount") >= t, timeout=scaled(20))
        assert dn.rpc(8, "getblockhash", fork) == dn.rpc(0, "getblockhash", fork)
    finally:
        for liar in liars:
            liar.close()


def _follower_and_template(devnet_factory):
    """4 validators and follower node4 (linked to node0 only) at height 3;
    a peer link to node0, and block 2 with its certificate as a template."""
    dn = devnet_factory(nodes=5, init=False, start=False)
    adv.init_devnet(dn, validators=4)
    for i in range(4):
        dn.start(i, wait=False)
    for i in range(4):
        dn.wait_ready(i)
    adv.add_follower(dn, 4, connect=(0,))
    dn.start(4)
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= 3, timeout=scaled(60))
    genesis = adv.genesis_hash(dn)
    src = adv.Peer(dn.node(0).p2p_port, genesis)
    src.connect()
    template_raw = adv.fetch_blocks(src, 2, 1)[0]
    return dn, genesis, src, template_raw[0], adv.Cert.decode(template_raw[2])


@pytest.mark.needs_daemon
def test_forged_certificate_banned_no_rollback(devnet_factory):
    """Two hostile peers of a follower: one claims a slightly higher chain and serves,
    for the follower's next height, a block naming another parent with a
    forged certificate (a real one re-aimed at that block: its signatures
    fail); one answers with a hash message for a committed height: another
    hash, a forged certificate. Both are banned; nothing is rolled back
    and the follower stays on the chain."""
    dn, genesis, src, template, real_cert = _follower_and_template(devnet_factory)

    def serve(peer, t, m):
        if t != T.GETBLOCKS:
            return False
        height = m[0]
        raw, h = adv.junk_block(template, height, 7, prev=adv.h("block header", b"other branch"))
        forged = adv.Cert(height, 0, h, list(real_cert.sigs)).encode()
        try:
            peer.send(T.BLOCKS, [(raw, forged)])
        except (adv.LinkClosed, TimeoutError):
            pass
        return True
    # a claim just above the follower's tip: only this peer can serve the next height
    server = adv.Peer(dn.node(4).p2p_port, genesis, height=dn.rpc(4, "getblockcount") + 3, on_message=serve)
    server.connect()
    dn.wait_until(lambda: not server.alive(), timeout=scaled(20), message="the forged branch server dropped")
    answerer = adv.Peer(dn.node(4).p2p_port, genesis)
    answerer.connect()
    forged = adv.Cert(2, 0, adv.h("block header", b"forged"), list(real_cert.sigs)).encode()
    answerer.send(T.HASH, (2, adv.h("block header", b"forged"), forged))
    dn.wait_until(lambda: not answerer.alive(), timeout=scaled(20), message="the forged hash answerer dropped")
    bans = {b["subject"]: b.get("reason", "") for b in dn.rpc(4, "listbanned")}
    print("bans:", bans)
    assert "key:" + server.key.pub.hex() in bans
    assert "key:" + answerer.key.pub.hex() in bans
    log = dn.node(4).log.read_text()
    assert "peer served a block of another branch with an invalid certificate; banning it" in log
    assert "peer answered gethash with an invalid certificate; banning it" in log
    assert "rolled back block" not in log
    assert dn.rpc(4, "getconsensusinfo")["fork"]["state"] == "idle"
    t = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= t, timeout=scaled(20))
    assert dn.rpc(4, "getblockhash", t) == dn.rpc(0, "getblockhash", t)
    src.close()


@pytest.mark.needs_daemon
def test_other_set_certificate_not_banned(devnet_factory):
    """A peer serves, for the follower's next height, a block naming another
    parent whose certificate's signatures all verify, by keys that are not
    the follower's validators there. Another branch may have registered
    other validators above the fork, so that is not provably invalid: the
    peer is not banned, the follower looks for the fork height (asking the
    peer by gethash), and nothing is rolled back. The positive control is
    test_forged_certificate_banned_no_rollback: a signature that does not
    verify under its own key is banned at once. Before this rule, the peer
    here was banned as for a forged certificate."""
    dn, genesis, src, template, _ = _follower_and_template(devnet_factory)
    others = sorted((adv.Key.generate() for _ in range(3)), key=lambda k: k.pub)
    served = []

    def serve(peer, t, m):
        if t != T.GETBLOCKS:
            return False
        height = m[0]
        raw, h = adv.junk_block(template, height, 7, prev=adv.h("block header", b"other branch"))
        sigs = [(k.pub, adv.make_vote(k, adv.PRECOMMIT, height, 0, h).sig) for k in others]
        try:
            peer.send(T.BLOCKS, [(raw, adv.Cert(height, 0, h, sigs).encode())])
            served.append(height)
        except (adv.LinkClosed, TimeoutError):
            pass
        return True
    server = adv.Peer(dn.node(4).p2p_port, genesis, height=dn.rpc(4, "getblockcount") + 3, on_message=serve)
    server.connect()
    dn.wait_until(lambda: "certified under another validator set; not banned" in dn.node(4).log.read_text(),
                  timeout=scaled(20), message="the follower judging the other set's certificate")
    time.sleep(2)
    assert served, "the follower never asked the server for blocks"
    assert server.alive(), f"the server was dropped: {server.closed_reason}"
    bans = {b["subject"] for b in dn.rpc(4, "listbanned")}
    assert "key:" + server.key.pub.hex() not in bans, bans
    log = dn.node(4).log.read_text()
    assert "rolled back block" not in log
    t = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= t, timeout=scaled(20))
    assert dn.rpc(4, "getblockhash", t) == dn.rpc(0, "getblockhash", t)
    server.close()
    src.close()
