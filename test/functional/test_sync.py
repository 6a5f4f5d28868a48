"""A fifth node that is not a validator syncs 1,000 certified blocks from
scratch from several peers at once, then follows the chain; a validator
stopped long enough to fall behind syncs and rejoins consensus by itself.

TC_SYNC_BLOCKS=10000 measures a longer sync (the validators take a few
minutes to make the chain); the rate is printed either way (pytest -s)."""
import os
import re
import time

import pytest

from framework import run, scaled

BLOCKS = int(os.environ.get("TC_SYNC_BLOCKS", "1000"))


@pytest.mark.needs_daemon
def test_follower_syncs_1000_blocks_from_scratch(devnet_factory):
    dn = devnet_factory(nodes=5, init=False, start=False)
    res = run([dn.time_cli, "devnet", "init", "--nodes", "4", "--dir", dn.dir, "--base-port", dn.base_port])
    assert res.rc == 0, res.stderr
    for i in range(4):  # blocks as fast as consensus goes
        dn.start(i, "--block-interval-ms", "0", "--empty-block-interval-ms", "1")
    t0 = time.monotonic()
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= BLOCKS, timeout=scaled(240 * max(1, BLOCKS // 1000)),
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
    if "connect = 127.0.0.1:%d\n" % (dn.base_port + 30) not in text:
        text += "connect = 127.0.0.1:%d\n" % (dn.base_port + 30)
    open(dst.conf, "w").write(text)
    assert text.count("connect = ") == 4  # every validator: blocks come from all of them

    t0 = time.monotonic()
    dn.start(4)
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= made, timeout=scaled(120),
                  message="the follower to sync %d blocks" % made)
    took = time.monotonic() - t0
    print("follower synced %d blocks in %.1f s (%.0f blocks/s, start-up included)" % (made, took, made / took))
    for h in (1, made // 2, made):
        assert dn.rpc(4, "getblockhash", h) == dn.rpc(0, "getblockhash", h)
    assert dn.rpc(4, "getblockchaininfo")["validators"] == 4
    # the first sync line: from scratch, served by more than one peer
    log = open(dst.log).read()
    done = re.search(r'msg="caught up; joining consensus" height=(\d+) blocks=(\d+) ms=(\d+) '
                     r'blocks_per_s=(\d+) peers=(\d+)', log)
    assert done, "no sync summary in the follower's log"
    height, blocks, ms, rate, peers = map(int, done.groups())
    print("follower's own figure: %d blocks in %d ms (%d blocks/s) from %d peers" % (blocks, ms, rate, peers))
    assert blocks >= made - 5 and height >= made - 5
    assert peers >= 2, "sync used one peer only"
    assert "progress" in log or ms < 1000  # progress lines at least every second
    # and keeps following the live chain
    tip = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(4, "getblockcount") >= tip + 5, timeout=scaled(30))

    # A validator stopped while the others go on falls behind; let go, it
    # syncs and then commits by consensus again, without a restart. Fewer
    # than jail-after-missed (30) blocks, so it is still a validator.
    v = 1
    mark = os.path.getsize(dn.node(v).log)
    dn.sigstop(v)
    h0 = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= h0 + 20, timeout=scaled(60),
                  message="the chain to go on without validator %d" % v)
    dn.sigcont(v)

    def rejoined():
        with open(dn.node(v).log) as f:
            f.seek(mark)
            tail = f.read()
        at = tail.find('msg="caught up; joining consensus"')
        return at >= 0 and 'msg="block committed"' in tail[at:]
    dn.wait_until(rejoined, timeout=scaled(60), message="validator %d to sync and rejoin consensus" % v)
    assert dn.rpc(v, "getblockhash", h0 + 10) == dn.rpc(0, "getblockhash", h0 + 10)
