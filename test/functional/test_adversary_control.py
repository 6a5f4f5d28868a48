"""Positive control for adversary.py: the adversary speaks the protocol well
enough that an honest node accepts it, so a failed attack test means the
node, not the test peer.

1. Its handshake is accepted (node0 lists its node key in getpeerinfo).
2. It receives the proposals and votes node0 relays and decodes them: the
   signatures verify in Python, the proposer is the one scheduled, and a
   proposal's block hashes to the value it names.
3. A follower (node4) whose only peer is the adversary syncs from blocks the
   adversary serves (fetched from node0 with getblocks and re-encoded), then
   follows the chain on the proposals and votes the adversary relays from
   node0: node4 counts them as accepted (votes_received_total), commits, and
   bans no one.
"""
import queue
import time

import pytest

import adversary as adv
from adversary import T
from framework import scaled


def _follower_proxy(a0, a4, blocks_q):
    """a0: link to node0; a4: link to node4. node0's consensus messages are
    relayed to node4; node4's getblocks are answered from node0."""
    relayed = {"votes": 0, "proposals": 0, "blocks": 0}

    def from_node0(peer, t, m):
        if t == T.BLOCKS:
            blocks_q.put(m)
            return True
        if t in (T.VOTE, T.PROPOSAL) and a4.alive() and a4.peer_version is not None:
            try:
                a4.send(t, m)
                relayed["votes" if t == T.VOTE else "proposals"] += 1
            except (adv.LinkClosed, TimeoutError):
                pass
        return False

    def from_node4(peer, t, m):
        if t == T.GETBLOCKS:
            a0.send(T.GETBLOCKS, m)
            try:
                got = blocks_q.get(timeout=10)
            except queue.Empty:
                return True
            out = []
            for raw_block, raw_cert in got:  # through our codec both ways
                out.append((adv.Block.decode(raw_block).encode(), adv.Cert.decode(raw_cert).encode()))
            assert [o[0] for o in out] == [g[0] for g in got]
            peer.send(T.BLOCKS, out)
            relayed["blocks"] += len(out)
            return True
        return False

    a0.on_message = from_node0
    a4.on_message = from_node4
    return relayed


@pytest.mark.needs_daemon
def test_adversary_positive_control(devnet_factory):
    dn = devnet_factory(nodes=5, init=False, start=False)
    adv.init_devnet(dn, validators=4)
    for i in range(4):
        dn.start(i, wait=False)
    for i in range(4):
        dn.wait_ready(i)
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 2, timeout=60)
    genesis = adv.genesis_hash(dn)
    ops = adv.operator_keys(dn.dir)
    assert len(ops) == 4

    # 1. handshake accepted
    a0 = adv.Peer(dn.node(0).p2p_port, genesis, height=dn.rpc(0, "getblockcount"))
    a0.connect()
    assert a0.peer_version.height >= 1
    peers = dn.rpc(0, "getpeerinfo")
    mine = [p for p in peers if p["key"] == a0.key.pub.hex()]
    assert mine and mine[0]["established"] and mine[0]["user_agent"] == a0.user_agent, peers

    # 2. relayed proposals and votes decode and verify
    props, votes = [], []
    deadline = time.monotonic() + scaled(20)
    while (len(props) < 2 or len(votes) < 8) and time.monotonic() < deadline:
        t, m = a0.recv((T.PROPOSAL, T.VOTE), timeout=scaled(20))
        (props if t == T.PROPOSAL else votes).append(m)
    assert len(props) >= 2 and len(votes) >= 8, (len(props), len(votes))
    for p, block in props:
        assert p.verify(), p
        assert p.proposer == adv.proposer_of(ops, p.height, p.round)
        if block:
            assert adv.Block.decode(block).hash() == p.block
    for v in votes:
        assert v.verify(), v
        assert v.validator in ops
    assert not adv.Vote(votes[0].type, votes[0].height, votes[0].round, votes[0].block, votes[0].validator,
                        bytes(64)).verify(), "a zero signature must not verify"
    # getblocks answered; the certificate's precommits verify and hash to the header
    got = adv.fetch_blocks(a0, 1, 2)
    assert [b.header.height for b, _, _ in got] == [1, 2]
    for blk, raw, cert in got:
        c = adv.Cert.decode(cert)
        assert c.block == blk.hash() == bytes.fromhex(dn.rpc(0, "getblockhash", blk.header.height))
        assert all(v.verify() for v in c.votes()) and len(c.sigs) >= 3
        assert blk.encode() == raw
        assert adv.merkle_root([adv.txid(tx) for tx in blk.txs]) == blk.header.tx_root

    # 3. a follower fed only by the adversary accepts what it relays
    adv.add_follower(dn, 4, connect=())
    dn.start(4)
    blocks_q = queue.Queue()
    a4 = adv.Peer(dn.node(4).p2p_port, genesis, height=dn.rpc(0, "getblockcount"))
    relayed = _follower_proxy(a0, a4, blocks_q)
    a4.connect()
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= dn.rpc(0, "getblockcount") - 1, timeout=60,
                  message="node4 to sync from the adversary")
    a4.height = dn.rpc(0, "getblockcount")
    h4 = dn.rpc(4, "getblockcount")
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= h4 + 3, timeout=60,
                  message="node4 to follow the chain on relayed consensus messages")
    text = dn.metrics(4)
    accepted = adv.metric(text, "votes_received_total", outcome="accepted")
    invalid = adv.metric(text, "votes_received_total", outcome="invalid")
    print(f"relayed to node4: {relayed}; node4 votes accepted={accepted:.0f} invalid={invalid:.0f}")
    assert accepted >= 3, text
    assert invalid == 0
    assert [p for p in dn.rpc(4, "getpeerinfo") if p["key"] == a4.key.pub.hex()], "node4 dropped the adversary"
    assert [p["addr"] for p in dn.rpc(4, "getpeerinfo")] and len(dn.rpc(4, "getpeerinfo")) == 1
    for i in range(5):
        assert dn.rpc(i, "listbanned") == [], f"node{i} banned someone"
    h = dn.rpc(4, "getblockcount")
    assert dn.rpc(4, "getblockhash", h) == dn.rpc(0, "getblockhash", h)
    a4.close()
    a0.close()
