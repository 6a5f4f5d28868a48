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
"""
import os
import re
import shutil
import time
from datetime import datetime

import pytest

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
    dn = devnet_factory(nodes=9, init=False, start=False)
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
    for j in (4, 5, 6, 7):
        dn.stop(j)
    y_tip = int(re.findall(r"msg=stopped height=(\d+)", dn.node(4).log.read_text())[-1])

    # branch X: the originals go on; a follower on X syncs normally
    for i in range(4):
        dn.start(i, wait=False)
    for i in range(4):
        dn.wait_ready(i)
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= base_y + 15, timeout=scaled(90),
                  message="branch X to reach Y's height + 11")
    adv.add_follower(dn, 8, connect=(0, 1, 2, 3))
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
