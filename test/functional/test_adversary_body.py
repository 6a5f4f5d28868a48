"""A relayer that swaps the body under a real, correctly signed proposal
(found in the protocol audit of issue 16; the attack class of issue 11).

The header hash names the header only; the body is bound to it by the
header's merkle root and last-commit hash. Before the fix a node kept the
first body it got for a proposed block id, checking only the hash and
height. A peer that relayed a real proposal with another body faster than
the honest copy planted it: a validator prevoted nil on the real block, and
a follower that then saw the block decided failed to apply it and stopped
("cannot commit the decided block").

Setup: 4 validators; follower F (node 4) reaches the network only through a
FaultProxy to node 0 with a 250 ms one-way delay. The adversary has a link
to node 0 (it receives the proposals at once) and a link to F, so what it
relays reaches F before the honest copy.

Control: a proposal relayed unchanged is taken, no ban. Attack: the next
proposal relayed with one transaction added to its body (decodable, wrong
merkle root): F bans the relayer naming the reason, keeps following, and
ends on node 0's hashes."""
import queue
import time

import pytest

import adversary as adv
from adversary import T
from framework import scaled
from test_adversary import banned_subjects, start_devnet

DELAY_MS = 250
F = 4


def start(devnet_factory):
    dn = start_devnet(devnet_factory, slots=5)
    proxy = dn.add_proxy(dn.node(0).p2p_port, seed=3)
    adv.add_follower(dn, F)
    with open(dn.node(F).conf, "a") as f:
        # only the proxied link: no dials of gossiped addresses, and an
        # advertised address nobody can reach, so no validator dials F
        f.write(f"connect = 127.0.0.1:{proxy.port}\nmax-outbound = 0\nexternal-address = 127.0.0.1:1\n")
    dn.start(F)
    assert len(dn.rpc(F, "getpeerinfo")) <= 1
    dn.wait_until(lambda: dn.rpc(F, "getblockcount") >= 2 and
                  dn.rpc(F, "getblockcount") >= dn.rpc(0, "getblockcount") - 1,
                  timeout=60, message="the follower in step")
    proxy.set_delay(DELAY_MS)
    return dn


def next_proposal(src, dn, timeout=60):
    """The next proposal (with its block) that F would take now: for the
    height F's consensus is at or the next one (F, behind the delayed link,
    can trail node 0 by two heights; a later proposal it ignores)."""
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        t, m = src.recv(T.PROPOSAL, timeout=max(0.1, end - time.monotonic()))
        prop, block = m
        at = dn.rpc(F, "getconsensusinfo")["height"]
        if block and at <= prop.height <= at + 1:
            return prop, block
    raise AssertionError("no proposal F would take")


def relay(dst, prop, block):
    dst.send_raw(adv.frame(T.PROPOSAL, adv.encode_payload(T.PROPOSAL, (prop, block))), timeout=5)


@pytest.mark.needs_daemon
def test_swapped_body_under_a_signed_proposal(devnet_factory):
    dn = start(devnet_factory)
    genesis = adv.genesis_hash(dn)
    src = adv.Peer(dn.node(0).p2p_port, genesis, height=dn.rpc(0, "getblockcount")).connect()
    # F syncs from whoever sent it a message of a later height, the relayer
    # too: it serves getblocks honestly, from a third link to node 0
    blocks_q = queue.Queue()
    feeder = adv.Peer(dn.node(0).p2p_port, genesis, height=dn.rpc(0, "getblockcount"),
                      on_message=lambda peer, t, m: t == T.BLOCKS and (blocks_q.put(m) or True))
    feeder.connect()

    def serve(peer, t, m):
        if t != T.GETBLOCKS:
            return False
        feeder.send(T.GETBLOCKS, m)
        try:
            peer.send(T.BLOCKS, blocks_q.get(timeout=10))
        except (queue.Empty, adv.LinkClosed, TimeoutError):
            pass
        return True
    dst = adv.Peer(dn.node(F).p2p_port, genesis, height=dn.rpc(0, "getblockcount"), on_message=serve).connect()
    subject = "key:" + dst.key.pub.hex()
    try:
        # control: relayed unchanged, it is taken and nobody is banned
        prop, block = next_proposal(src, dn)
        relay(dst, prop, block)
        time.sleep(scaled(2 * DELAY_MS / 1000 + 1))
        assert dst.alive(), dst.closed_reason
        assert subject not in banned_subjects(dn, F)

        # attack: the same signed proposal, a body with one more transaction;
        # proposals queued during the pause are old news to F: skip them
        src.drain()
        prop, block = next_proposal(src, dn)
        b = adv.Block.decode(block)
        forged = adv.Block(b.header, b.txs + [b.txs[0]], b.last_commit).encode()
        assert adv.Block.decode(forged).hash() == prop.block  # still "the block it names"
        relay(dst, prop, forged)
        dn.wait_until(lambda: not dst.alive(), timeout=10, message="the relayer dropped")
        bans = banned_subjects(dn, F)
        assert subject in bans, bans
        log = dn.node(F).log.read_text(errors="replace")
        assert "proposed block's body does not match its header; banning the peer" in log
        attacked = prop.height
    finally:
        src.close()
        dst.close()
        feeder.close()

    # F goes on, on node 0's chain, and commits the attacked height
    dn.wait_until(lambda: dn.rpc(F, "getblockcount") >= attacked + 2, timeout=60,
                  message="the follower past the attacked height")
    # the planted body never stood for the real block (before the fix F
    # judged the real proposer's block "invalid": "tx 1: a second coinbase")
    assert "proposed block is invalid" not in dn.node(F).log.read_text(errors="replace")
    for h in range(attacked - 1, attacked + 3):
        assert dn.rpc(F, "getblockhash", h) == dn.rpc(0, "getblockhash", h), h
    assert dn.node(F).running()
