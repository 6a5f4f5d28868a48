"""A validator started on an old copy of its whole data dir does not sign at
heights the network has already certified, and does not double-sign
(src/node/signhold.h; docs/operations.md, "Backup and restore").

The copy's chain and sign log agree with each other, so nothing on disk
tells the node that its key went on signing after the copy was made. Before
the gate, such a node began consensus at once at copy height + 1: as the
proposer of that height it signed a proposal there at start, before it had
even connected to a peer, at a height its peers had certified long before:
with the gate removed (tc_signhold_init never gating), the restored
validator's sign log gained a proposal and a prevote at height 12 while the
network had certified 21, and this test failed there.

The copy is taken so that the failure shows: validator 3 is stopped in the
commit wait after block X, where it proposes round 0 of X + 1 (equal
weights: the proposer of (h, r) is the validator at index (h + r) mod 4 of
the set sorted by key, checked against getconsensusinfo below). Its sign log
then ends at or below X.

Positive control first: the same validator restarted on its own current
data dir signs the next blocks at once. Then the chain runs on with it
signing; it is stopped, the copy restored, started. Every record its sign
log gains after the restore is above the height the network had certified
when it started (no signature at an already-certified height, hence no
second, different proposal or vote beside the earlier ones), it says why it
waits, syncs to the tip, signs again (later certificates carry its key),
nobody saw a double sign, and it is neither jailed nor slashed."""
import os
import shutil
import struct
import time

import pytest

from framework import scaled, wait_until

DRIFT_MS = 10000      # devnet max_block_drift_ms (src/chain/params.c)
V = 3                 # the validator under test
FRAME = 4 + 117 + 8   # sign log frame: magic, record (TC_SIGNSTATE_SIZE), check (src/store/signlog.h)


def log_text(dn, i):
    return dn.node(i).log.read_text(errors="replace")


def sign_log_heights(path, skip_bytes=0):
    """(height, round, step) of every record in a sign log after skip_bytes."""
    data = open(path, "rb").read()[skip_bytes:]
    assert len(data) % FRAME == 0, (path, len(data))
    out = []
    for off in range(0, len(data), FRAME):
        assert data[off:off + 4] == b"TCSL"
        height, rnd, step = struct.unpack_from("<QIB", data, off + 4)
        out.append((height, rnd, step))
    return out


def cert_keys(dn, i, height):
    return set(dn.rpc(i, "getblock", dn.rpc(i, "getblockhash", height))["certificate"]["keys"])


def signed_since(dn, key, lo):
    """Whether a certificate from height lo to node 0's tip carries key."""
    return any(key in cert_keys(dn, 0, h) for h in range(lo, dn.rpc(0, "getblockcount") + 1))


def proposer_of(keys_sorted, height, rnd=0):
    return keys_sorted[(height + rnd) % len(keys_sorted)]


def check_schedule(dn, keys_sorted):
    """The test's proposer formula agrees with the node's own schedule."""
    def seen():
        info = dn.rpc(0, "getconsensusinfo")
        # the commit wait counts: its height and round are still the ones the
        # proposer is named for (a height in progress lasts milliseconds on an
        # idle devnet, and a busy machine's polls may never land in one)
        return info if info["step"] in ("propose", "prevote", "precommit", "commit") else None
    info = wait_until(seen, timeout=scaled(30), message="a height in progress or in its commit wait")
    assert info["proposer"] == proposer_of(keys_sorted, info["height"], info["round"]), info


def stop_before_own_turn(dn, key, keys_sorted, at_least):
    """Stops V in the commit wait after a block X >= at_least whose next
    height V proposes in round 0; returns X."""
    deadline = time.time() + scaled(60)
    while time.time() < deadline:
        x = dn.rpc(V, "getblockcount")
        if x >= at_least and proposer_of(keys_sorted, x + 1) == key:
            dn.stop(V)
            return x
        time.sleep(0.02)
    raise AssertionError("validator 3 never reached a height before its own turn")


@pytest.mark.needs_daemon
def test_restored_datadir_does_not_double_sign(devnet, tmp_path):
    dn = devnet
    key = dn.rpc(V, "getconsensusinfo")["self"]
    keys_sorted = sorted(m["operator"] for m in dn.rpc(0, "listmasternodes"))
    assert len(keys_sorted) == 4 and key in keys_sorted
    wait_until(lambda: dn.rpc(0, "getblockcount") >= 3, timeout=scaled(60), message="height 3")
    check_schedule(dn, keys_sorted)

    # -- the copy: chain at X, sign log at or below X, V proposes X + 1 -------
    x = stop_before_own_turn(dn, key, keys_sorted, 5)
    node_dir = dn.node(V).dir
    copy_dir = tmp_path / "node3-copy"
    shutil.copytree(node_dir, copy_dir)
    copy_log = sign_log_heights(copy_dir / "consensus.log")
    assert copy_log and max(h for h, _, _ in copy_log) <= x, (x, copy_log[-3:])

    # -- control: restarted on its own current dir it signs at once -----------
    h0 = dn.rpc(0, "getblockcount")
    control_skip = len(log_text(dn, V))
    dn.start(V)
    wait_until(lambda: signed_since(dn, key, h0 + 1), timeout=scaled(15),
               message="the restarted validator's key in a certificate")
    assert dn.rpc(V, "getconsensusinfo")["signing"] == "yes"
    assert "signing=yes" in log_text(dn, V)[control_skip:]  # "at the network's height ... signing=yes"

    # -- it goes on signing up to about X + 10, then the copy is restored -----
    wait_until(lambda: dn.rpc(0, "getblockcount") >= x + 10, timeout=scaled(60), message="height X + 10")
    assert signed_since(dn, key, x + 5)
    dn.stop(V)
    later_log = sign_log_heights(node_dir / "consensus.log")
    later_top = max(h for h, _, _ in later_log)
    assert later_top > x + 5, later_top  # the copy is far behind what this key signed
    shutil.move(str(node_dir), str(tmp_path / "node3-later"))
    shutil.copytree(copy_dir, node_dir)
    log_skip = os.path.getsize(node_dir / "consensus.log")
    text_skip = len(log_text(dn, V))
    certified = dn.rpc(0, "getblockcount")  # what the network has certified at the start
    dn.start(V)
    restart_ms = int(time.time() * 1000)

    # -- it waits, and says why -----------------------------------------------
    def held_why():
        info = dn.rpc(V, "getconsensusinfo")
        return info.get("signing_held_because") if info["signing"] == "held" else None
    why = held_why()
    # foreign_signature: its earlier run's last votes, regossiped by the peers
    assert why in ("network_height_unknown", "own_key_in_synced_certificates", "foreign_signature"), why
    wait_until(lambda: dn.rpc(V, "getblockcount") >= certified, timeout=scaled(30), message="synced to the tip")
    wait_until(lambda: held_why() == "own_key_in_synced_certificates", timeout=scaled(10),
               message="held for its key in the synced certificates")
    info = dn.rpc(V, "getconsensusinfo")
    assert info["sign_hold"]["reason"] == "own_key_in_synced_certificates", info
    assert info["sign_hold"]["chain_signed_height"] > x + 5, info
    new_text = log_text(dn, V)[text_skip:]
    assert "not signing until peers show this node is at the network's height" in new_text
    assert "the blocks just synced carry this validator's precommits above its sign log" in new_text

    # -- then it signs again ----------------------------------------------------
    wait_until(lambda: dn.rpc(V, "getconsensusinfo")["signing"] == "yes",
               timeout=scaled(3 * DRIFT_MS / 1000 + 30), message="signing resumed")
    released = dn.rpc(V, "getconsensusinfo")["sign_hold"]["released_at_height"]
    assert "signing resumed" in log_text(dn, V)[text_skip:]
    wait_until(lambda: signed_since(dn, key, released + 1), timeout=scaled(30),
               message="its key in a certificate after the release")
    t_rel = dn.rpc(0, "getblock", dn.rpc(0, "getblockhash", released))["time_ms"]
    assert t_rel > restart_ms + 2 * DRIFT_MS - 2000  # 2 s: the clock read around the start
    for h in range(certified + 1, released + 1):
        assert key not in cert_keys(dn, 0, h), f"height {h} carries the held validator's precommit"

    # -- what it signed after the restore: nothing at a certified height ------
    dn.stop(V)
    new_log = sign_log_heights(node_dir / "consensus.log", log_skip)
    assert new_log, "the restored validator signed nothing"
    low = [r for r in new_log if r[0] <= certified]
    assert not low, f"signed at heights the network had certified (<= {certified}): {low[:5]}"
    assert min(h for h, _, _ in new_log) > later_top  # above everything the later run signed
    dn.start(V)

    # -- nobody saw a double sign; it is neither jailed nor slashed ------------
    for i in range(4):
        assert "double sign seen" not in log_text(dn, i)
        assert dn.rpc(i, "getconsensusinfo")["evidence"] == 0
    mine = [m for m in dn.rpc(0, "listmasternodes") if m["operator"] == key]
    assert mine and not mine[0]["jailed"] and not mine[0]["slashed"], mine
