"""The fork halt (issue 14, DESIGN.md section 6): two valid certificates for
different blocks at one height, and no branch with more than 2/3 of the
weight of the validators that did not sign both. Every node stops
committing until the operator picks a branch (time-cli forkchoose).

How the split is made (validators v1..v4 are node0..node3; the copies of
v2 and v3 are node4 and node5, same keys, other ports):
1. The four run to height >= 5 and stop (at a common height M).
2. Branch B: node4 (v2'), node5 (v3') and node3 (v4) run alone, connected
   only to each other, and certify M+1..M+3 (signers v2, v3, v4). Stopped.
3. Branch A: node0..2 (v1, v2, v3) run with node3 down and certify
   M+1..M+6 (signers v1, v2, v3). At M+1 the signers of both are v2 and v3:
   the culprits. Of the others, v1 holds A and v4 holds B: 1 against 1,
   nobody has more than 2/3.
4. node3 starts again, connected to node0..2 (the copies stay down).
Then: every node halts (no new height, /health 503 critical,
getconsensusinfo fork.halted with both blocks and exactly the culprits
v2, v3, timecoin_fork_halted 1), nobody is banned; `time-cli forkchoose
<A's block>` on node3 rolls it back onto A, on node0 (A is its own) it
resumes; node1 and node2 decide by themselves once node3 answers for A
(v1 and v4: all the weight that is not a culprit's), and the network
commits again.
"""
import json
import time

import pytest

import adversary as adv
import framework
from framework import scaled
from test_fork import _copy_validator  # a validator's data dir copied onto other ports

QUERY_TIMEOUT_S = 1  # fork-query-timeout: the halted query asks again after 1, 2, 4, 8, 12 s


def _run(dn, nodes, until, what):
    for i in nodes:
        dn.start(i, wait=False)
    for i in nodes:
        dn.wait_ready(i)
    dn.wait_until(lambda: min(dn.rpc(i, "getblockcount") for i in nodes) >= until, timeout=scaled(60), message=what)
    for i in nodes:
        dn.stop(i)


def _fork(dn, i):
    return dn.rpc(i, "getconsensusinfo")["fork"]


@pytest.mark.needs_daemon
def test_split_halts_until_operator_chooses(devnet_factory):
    t0 = time.time()
    dn = devnet_factory(nodes=6, init=False, start=False)
    adv.init_devnet(dn, validators=4)
    for i in range(4):
        dn.node(i).conf_set("fork-query-timeout", str(QUERY_TIMEOUT_S))
    _run(dn, range(4), 5, "four validators to height 5")
    keys = {}
    # branch B: the copies of v2, v3 with v4
    _copy_validator(dn, 1, 4, (3, 4, 5))
    _copy_validator(dn, 2, 5, (3, 4, 5))
    dn.node(3).conf_set("connect", [f"127.0.0.1:{dn.node(j).p2p_port}" for j in (4, 5)])
    for j in (3, 4, 5):
        dn.start(j, wait=False)
    for j in (3, 4, 5):
        dn.wait_ready(j)
    m = dn.rpc(3, "getblockcount")
    dn.wait_until(lambda: min(dn.rpc(j, "getblockcount") for j in (3, 4, 5)) >= m + 3, timeout=scaled(60),
                  message="branch B to certify 3 blocks")
    b_tip = max(dn.rpc(j, "getblockcount") for j in (3, 4, 5))
    for j in (3, 4, 5):
        dn.stop(j)
    # branch A: v1, v2, v3 (v4 down), longer than B (v4 signs nothing at a height it signed on B)
    for i in range(3):
        dn.start(i, wait=False)
    for i in range(3):
        dn.wait_ready(i)
    for i in range(3):
        keys[i] = dn.rpc(i, "getconsensusinfo")["self"]
    dn.wait_until(lambda: min(dn.rpc(i, "getblockcount") for i in range(3)) >= b_tip + 3, timeout=scaled(60),
                  message="branch A to outgrow B")

    # v4 meets A; the copies stay down
    dn.node(3).conf_set("connect", [f"127.0.0.1:{dn.node(j).p2p_port}" for j in range(3)])
    dn.start(3)
    keys[3] = dn.rpc(3, "getconsensusinfo")["self"]
    fork = min(h for h in range(1, b_tip + 1) if dn.rpc(3, "getblockhash", h) != dn.rpc(0, "getblockhash", h))
    assert fork > m - 3, "the branches share no block"
    a_block, b_block = dn.rpc(0, "getblockhash", fork), dn.rpc(3, "getblockhash", fork)
    t_met = time.time()

    def all_halted():
        return all(_fork(dn, i)["halted"] and _fork(dn, i)["state"] == "halted" for i in range(4))
    dn.wait_until(all_halted, timeout=scaled(30), message="every node to halt")
    t_halted = time.time()
    heights = [dn.rpc(i, "getblockcount") for i in range(4)]
    signed = [dn.rpc(i, "getconsensusinfo")["signed"] for i in range(4)]
    time.sleep(scaled(4))  # rounds time out meanwhile: a validator that signs would prevote in each
    assert [dn.rpc(i, "getblockcount") for i in range(4)] == heights, "a halted node committed"
    assert [dn.rpc(i, "getconsensusinfo")["signed"] for i in range(4)] == signed, "a halted node signed"
    for i in range(4):
        f = _fork(dn, i)
        assert f["height"] == fork, f
        assert set(f["certified"]) == {a_block, b_block}, f
        assert f["certified"][0] == dn.rpc(i, "getblockhash", fork)  # ours first
        assert set(f["culprit_keys"]) == {keys[1], keys[2]}, (f, keys)
        status, body = dn.health(i)
        assert status == 503 and body.get("critical") is True and body.get("fork") == "halted", body
        assert any("commits halted" in r for r in body["reasons"]), body
        assert adv.metric(dn.metrics(i), "fork_halted") == 1
        assert adv.metric(dn.metrics(i), "fork_state") == 5
        assert dn.rpc(i, "listbanned") == [], "node%d banned someone" % i
        log = dn.node(i).log.read_text()
        line = next(l for l in log.splitlines() if 'msg="fork halted' in l)
        assert "height=%d " % fork in line and a_block in line and b_block in line, line
        assert keys[1] in line and keys[2] in line and keys[0] not in line and keys[3] not in line, line

    # a block no query saw, and forkrollback, are refused with the reason
    with pytest.raises(framework.JSONRPCError) as bad:
        dn.rpc(3, "forkchoose", "ab" * 32)
    assert a_block in str(bad.value) and b_block in str(bad.value), bad.value
    with pytest.raises(framework.JSONRPCError):
        dn.rpc(3, "forkrollback", fork - 1)

    # the operator of v4 takes A: rolled back to fork - 1, synced onto A
    t_choose = time.time()
    r = dn.cli(3, "forkchoose", a_block)
    assert r.rc == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ours"] is False and out["fork_height"] == fork and out["height"] >= fork - 1, out
    a_tip = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(3, "getblockcount") >= fork and dn.rpc(3, "getblockhash", fork) == a_block,
                  timeout=scaled(20), message="node3 to roll back onto A")
    assert not _fork(dn, 3)["halted"]
    log3 = dn.node(3).log.read_text()
    assert 'msg="operator chose the other block at the fork height' in log3
    assert "height=%d " % (fork - 1) in next(l for l in log3.splitlines() if 'msg="rollback done' in l)
    # v1's operator keeps its own block: it resumes at once
    assert dn.rpc(0, "forkchoose", a_block)["ours"] is True
    assert not _fork(dn, 0)["halted"]
    assert 'msg="operator kept our block at the fork height' in dn.node(0).log.read_text()

    # node3 reaches A's tip (the heights v1 talks consensus at say where it is)
    dn.wait_until(lambda: dn.rpc(3, "getblockcount") >= a_tip, timeout=scaled(20), message="node3 to sync A")
    # v2 and v3 decide by themselves (v1 and v4 for A); the network commits again
    dn.wait_until(lambda: not any(_fork(dn, i)["halted"] for i in range(4)), timeout=scaled(30),
                  message="node1 and node2 to decide for A")
    top = max(heights) + 2
    dn.wait_until(lambda: min(dn.rpc(i, "getblockcount") for i in range(4)) >= top, timeout=scaled(30),
                  message="the network to commit again")
    t_resumed = time.time()
    for i in range(4):
        assert dn.rpc(i, "getblockhash", top) == dn.rpc(0, "getblockhash", top)
        assert dn.rpc(i, "listbanned") == [], "node%d banned someone" % i
        assert dn.health(i)[0] == 200 or "commits halted" not in str(dn.health(i)[1])
    took = time.time() - t0
    print("split at %d: halted on every node %.1f s after v4 met A; committing again %.1f s after the first "
          "forkchoose; whole test %.1f s" % (fork, t_halted - t_met, t_resumed - t_choose, took))
    assert took < scaled(90), took
