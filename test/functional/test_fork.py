"""Forks (issue 14, DESIGN.md section 6).

test_gethash_served: a peer asks gethash at a committed height and past the
tip; the answer is our block id with its certificate (which certifies that
block at that height), and a zero hash with no certificate past the tip.
"""
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
