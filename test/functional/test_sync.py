"""A fifth node that is not a validator syncs 1,000 certified blocks from
scratch, then follows the chain."""
import os
import time

import pytest

from framework import run, scaled

BLOCKS = 1000


@pytest.mark.needs_daemon
def test_follower_syncs_1000_blocks_from_scratch(devnet_factory):
    dn = devnet_factory(nodes=5, init=False, start=False)
    res = run([dn.time_cli, "devnet", "init", "--nodes", "4", "--dir", dn.dir, "--base-port", dn.base_port])
    assert res.rc == 0, res.stderr
    for i in range(4):  # blocks as fast as consensus goes
        dn.start(i, "--block-interval-ms", "0", "--empty-block-interval-ms", "1")
    t0 = time.monotonic()
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= BLOCKS, timeout=scaled(240),
                  message="validators to reach height %d" % BLOCKS)
    made = dn.rpc(0, "getblockcount")
    print("4 validators made %d blocks in %.1f s" % (made, time.monotonic() - t0))

    # node4: node3's config with its own dir and ports, no operator key
    src, dst = dn.node(3), dn.node(4)
    os.makedirs(dst.dir, exist_ok=True)
    text = open(src.conf).read().replace(str(src.dir), str(dst.dir))
    lines = [l for l in text.splitlines() if not l.startswith("operator-key")]
    text = "\n".join(lines) + "\n"
    for off in (0, 1, 2):
        text = text.replace("127.0.0.1:%d\n" % (dn.base_port + 30 + off), "127.0.0.1:%d\n" % (dn.base_port + 40 + off))
    text = text.replace("connect = 127.0.0.1:%d\n" % (dn.base_port + 40), "connect = 127.0.0.1:%d\n" % (dn.base_port + 30))
    open(dst.conf, "w").write(text)

    t0 = time.monotonic()
    dn.start(4)
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= made, timeout=scaled(120),
                  message="the follower to sync %d blocks" % made)
    took = time.monotonic() - t0
    print("follower synced %d blocks in %.1f s (%.0f blocks/s)" % (made, took, made / took))
    for h in (1, made // 2, made):
        assert dn.rpc(4, "getblockhash", h) == dn.rpc(0, "getblockhash", h)
    assert dn.rpc(4, "getblockchaininfo")["validators"] == 4
    assert "sync" in dn.node(4).log_tail(200)
    # and keeps following the live chain
    tip = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= tip + 5, timeout=scaled(30))
