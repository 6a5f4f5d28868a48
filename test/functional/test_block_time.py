"""Block time rules against a Byzantine clock (issue 11, attack 3;
docs/chain.md "Block time").

Validator 3 of a 4-validator devnet runs with the TC_TEST_WALL_OFFSET_MS
test hook (docs/operations.md, "Test hooks"):

* at 18446744073709551615 its wall clock reads UINT64_MAX, so every block it
  proposes is dated UINT64_MAX. Before the drift rule the honest validators
  accepted such a block and the chain ended there (no child can be dated
  after it). Now they prevote nil on it, the round fails over to the next
  proposer, and the chain goes on;
* at +5000 (within the devnet's 10 s drift) its blocks are accepted.

Bound on liveness: no gap between two consecutive commits (as node 0 sees
them) over 3 x (propose + prevote + precommit timeouts + block interval) of
the devnet's genesis, scaled by TC_TIMEOUT_FACTOR. Run with `pytest -s` to
see the measured gaps."""
import contextlib
import json
import os
import re
import time

import pytest

from framework import scaled

HOOK = "TC_TEST_WALL_OFFSET_MS"
UINT64_MAX = 2**64 - 1
DRIFT_MS = 10000  # devnet max_block_drift_ms (src/chain/params.c)
SKEWED = 3
HONEST = (0, 1, 2)


@contextlib.contextmanager
def hook_env(value):
    """os.environ with the hook set to value (None: unset) while a node is
    started; timed inherits it and reads it once."""
    saved = os.environ.get(HOOK)
    if value is None:
        os.environ.pop(HOOK, None)
    else:
        os.environ[HOOK] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(HOOK, None)
        else:
            os.environ[HOOK] = saved


def start_with_skew(dn, offset):
    for i in range(dn.n_nodes):
        with hook_env(offset if i == SKEWED else None):
            dn.start(i, wait=False)
    for i in range(dn.n_nodes):
        dn.wait_ready(i)


def gap_bound_s(dn):
    c = json.loads((dn.dir / "genesis.json").read_text())["consensus"]
    round_ms = c["propose_timeout_ms"] + c["prevote_timeout_ms"] + c["precommit_timeout_ms"] + c["block_interval_ms"]
    return scaled(3 * round_ms / 1000.0)


def watch_commits(dn, target, bound_s):
    """Polls node 0 until it reaches height `target`; returns the largest gap
    (s) between two consecutive new heights. Fails as soon as a gap exceeds
    bound_s (the chain has stalled) with the gap measured so far."""
    h = dn.rpc(0, "getblockcount")
    last = time.monotonic()
    worst = 0.0
    while h < target:
        dn.check_alive(*HONEST)
        time.sleep(0.05)
        now = time.monotonic()
        nh = dn.rpc(0, "getblockcount")
        if nh > h:
            worst = max(worst, now - last)
            h, last = nh, now
        elif now - last > bound_s:
            pytest.fail("chain stalled at height %d: no commit for %.1f s (bound %.1f s)" % (h, now - last, bound_s))
    return worst


def validator_key(dn, i):
    m = re.search(r'msg=started .*?validator_key=([0-9a-f]{64})', dn.node(i).log.read_text())
    assert m, "node%d logged no validator key" % i
    return m.group(1)


def committed_blocks(dn, top):
    """Blocks 1..top as node 0 serves them (getblock), after checking that
    every node holds the same hash at each height it has."""
    blocks = []
    heights = [dn.rpc(i, "getblockcount") for i in range(dn.n_nodes)]
    for h in range(1, top + 1):
        hashes = {dn.rpc(i, "getblockhash", h) for i in range(dn.n_nodes) if heights[i] >= h}
        assert len(hashes) == 1, "nodes disagree at height %d: %s" % (h, hashes)
        blocks.append(dn.rpc(0, "getblock", hashes.pop()))
    return blocks


def assert_times_sane(blocks):
    """Each block after its parent, and no later than the honest clock (the
    test's, which the honest nodes share) + the drift. time_ms comes over
    JSON as a signed 64-bit number: UINT64_MAX would read -1."""
    now_ms = int(time.time() * 1000)
    prev = None
    for b in blocks:
        t = b["time_ms"] % 2**64
        assert t <= now_ms + DRIFT_MS, "block %d dated %d, %d ms ahead of the clock" % (b["height"], t, t - now_ms)
        assert prev is None or t > prev, "block %d not after its parent" % b["height"]
        prev = t


def assert_no_bans(dn):
    for i in HONEST:
        assert dn.rpc(i, "listbanned") == [], "node%d banned a peer" % i


@pytest.mark.needs_daemon
def test_proposer_dating_blocks_uint64_max_cannot_halt_the_chain(devnet_factory):
    dn = devnet_factory(nodes=4)
    start_with_skew(dn, str(UINT64_MAX))
    assert "test hook %s is set" % HOOK in dn.node(SKEWED).log.read_text()
    bound = gap_bound_s(dn)
    # Validator 3 leads round 0 of one height in four: 16 heights give it
    # four chances to end the chain.
    worst = watch_commits(dn, 16, bound)
    print("UINT64_MAX clock on validator %d: worst gap between commits %.2f s (bound %.1f s)"
          % (SKEWED, worst, bound))
    blocks = committed_blocks(dn, 16)
    assert_times_sane(blocks)
    key3 = validator_key(dn, SKEWED)
    assert all(b["proposer"] != key3 for b in blocks), "a block dated UINT64_MAX was committed"
    # Its rounds were tried and failed over: some heights were decided in a
    # later round, and the honest nodes said why they prevoted nil.
    assert any(b["certificate"]["round"] > 0 for b in blocks), "validator 3 never led a round"
    refused = sum(dn.node(i).log.read_text().count("ahead of this node's clock") for i in HONEST)
    assert refused > 0, "no honest node refused a block for its time"
    assert_no_bans(dn)


@pytest.mark.needs_daemon
def test_proposer_clock_within_drift_is_accepted(devnet_factory):
    dn = devnet_factory(nodes=4)
    start_with_skew(dn, "+5000")
    bound = gap_bound_s(dn)
    worst = watch_commits(dn, 12, bound)
    print("+5 s clock on validator %d: worst gap between commits %.2f s (bound %.1f s)" % (SKEWED, worst, bound))
    blocks = committed_blocks(dn, 12)
    assert_times_sane(blocks)
    key3 = validator_key(dn, SKEWED)
    mine = [b for b in blocks if b["proposer"] == key3]
    assert mine, "no block of the skewed validator was committed"
    # Dated by its own clock, about 5 s ahead of the block before it.
    assert any(b["time_ms"] - blocks[b["height"] - 2]["time_ms"] > 4000 for b in mine if b["height"] >= 2)
    for i in HONEST:
        assert "ahead of this node's clock" not in dn.node(i).log.read_text()
    assert_no_bans(dn)
