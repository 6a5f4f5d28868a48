"""Announced transactions are fetched from one announcer, not from each
(src/node/txreq.h). Two adversary peers announce the same transaction
hashes to node0 and record its getdata requests:

1. positive control: the first announcer of a hash is asked at once;
2. a second announcer of the same hash is not asked while the first has
   time left (before the change every announcer was asked at once);
3. the first withholds: after the 2 s request timeout the second is asked,
   so a withholding announcer delays a transaction and cannot suppress it;
4. the asked peer closing its link hands the request on at once;
5. one peer announcing 6,000 hashes gets at most 5,000 requests outstanding
   and another peer's fresh hash is still asked at once.
"""
import os
import time

import pytest

import adversary as adv
from adversary import INV_TX, T
from framework import scaled

TIMEOUT_S = 2.0  # TXREQ_TIMEOUT_MS in src/node/nodeparts.c
PER_PEER = 5000  # TXREQ_MAX_PER_PEER


def _asked(peer, hashes, wait):
    """The hashes of `hashes` node0 asked `peer` for within `wait` seconds."""
    got, deadline = set(), time.monotonic() + wait
    while time.monotonic() < deadline and not hashes <= got:
        try:
            _, (kind, hs) = peer.recv(T.GETDATA, timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            break
        if kind == INV_TX:
            got |= set(hs) & hashes
    return got


def _connect(dn, genesis):
    p = adv.Peer(dn.node(0).p2p_port, genesis, height=dn.rpc(0, "getblockcount"))
    p.connect()
    return p


@pytest.mark.needs_daemon
def test_one_announcer_asked_the_next_after_timeout(devnet_factory):
    dn = adv.start_devnet(devnet_factory)
    genesis = adv.genesis_hash(dn)
    a, b = _connect(dn, genesis), _connect(dn, genesis)
    try:
        h1 = os.urandom(32)
        a.send(T.INV, (INV_TX, [h1]))
        t0 = time.monotonic()
        assert _asked(a, {h1}, scaled(2)) == {h1}, "the first announcer was not asked"  # 1
        b.send(T.INV, (INV_TX, [h1]))
        assert _asked(b, {h1}, 0.8) == set(), "a second announcer was asked while the first had time"  # 2
        assert _asked(b, {h1}, scaled(4)) == {h1}, "the second announcer was never asked"  # 3
        waited = time.monotonic() - t0
        assert waited >= TIMEOUT_S - 0.1, f"asked after {waited:.2f} s, before the timeout"
        print(f"second announcer asked {waited:.2f} s after the first announcement")

        h2 = os.urandom(32)  # 4: the asked peer leaves
        a.send(T.INV, (INV_TX, [h2]))
        assert _asked(a, {h2}, scaled(2)) == {h2}
        b.send(T.INV, (INV_TX, [h2]))
        time.sleep(0.2)
        a.close()
        t1 = time.monotonic()
        assert _asked(b, {h2}, scaled(1.5)) == {h2}, "the request did not move on when the asked peer left"
        print(f"handed on {time.monotonic() - t1:.2f} s after the asked peer closed")

        flood = [os.urandom(32) for _ in range(6000)]  # 5: one peer's bound
        for i in range(0, len(flood), 1000):
            b.send(T.INV, (INV_TX, flood[i:i + 1000]))
        asked = _asked(b, set(flood), scaled(3))
        assert PER_PEER - 50 <= len(asked) <= PER_PEER, f"{len(asked)} of 6000 asked; bound {PER_PEER}"
        c = _connect(dn, genesis)
        try:
            h3 = os.urandom(32)
            c.send(T.INV, (INV_TX, [h3]))
            assert _asked(c, {h3}, scaled(2)) == {h3}, "another peer's hash was not asked during the flood"
        finally:
            c.close()
        for i in range(4):
            assert dn.rpc(i, "listbanned") == [], f"node{i} banned someone"
    finally:
        a.close()
        b.close()
