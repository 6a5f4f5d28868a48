"""The daemon on a real 4-masternode devnet: agreement, finality of a payment,
a killed validator, catch-up after restart, graceful shutdown, the data-dir
lock, RPC authentication and errors."""
import os
import subprocess
import time

import pytest

from framework import JSONRPCError, RPCHTTPError, run, scaled, timed_path


def heights(dn, nodes):
    return [dn.rpc(i, "getblockcount") for i in nodes]


def wait_height(dn, nodes, h, timeout=60):
    dn.wait_until(lambda: min(heights(dn, nodes)) >= h, timeout=scaled(timeout),
                  message="nodes %s to reach height %d" % (list(nodes), h))


def fresh_address(dn, name):
    wallet = os.path.join(dn.dir, name)
    res = run([dn.time_cli, "wallet", "create", "--wallet", wallet, "--unencrypted"])
    assert res.rc == 0, res.stderr
    return wallet, res.stdout.strip()


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_four_nodes_agree_on_every_block(devnet):
    dn = devnet
    wait_height(dn, range(4), 20)
    for h in range(0, 21):
        hashes = {dn.rpc(i, "getblockhash", h) for i in range(4)}
        assert len(hashes) == 1, "height %d: nodes disagree: %s" % (h, hashes)
    block = dn.rpc(0, "getblock", dn.rpc(0, "getblockhash", 20))
    assert block["height"] == 20
    assert block["certificate"]["signers"] >= 3  # quorum of 4 equal weights


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_payment_is_final_on_every_node_within_2s(devnet):
    dn = devnet
    wait_height(dn, range(4), 2)
    _, addr = fresh_address(dn, "alice.wallet")
    faucet = os.path.join(dn.dir, "faucet.wallet")
    rc, before, err = dn.cli(0, "--wallet", faucet, "wallet", "balance")
    assert rc == 0, err
    start = time.monotonic()
    rc, out, err = dn.cli(0, "--wallet", faucet, "wallet", "send", addr, "12.5")
    assert rc == 0, err
    dn.wait_until(lambda: all(dn.rpc(i, "getbalance", addr) == "12.50000000" for i in range(4)),
                  timeout=scaled(10), message="payment visible on all nodes")
    elapsed = time.monotonic() - start
    print("payment final on all 4 nodes after %.2f s" % elapsed)
    assert elapsed <= scaled(2.0), "final after %.2f s" % elapsed
    # the fee followed the schedule: 1% of 12.5 TIME; the sender paid both
    assert "fee 0.12500000 TIME" in err
    rc, after, _ = dn.cli(0, "--wallet", faucet, "wallet", "balance")
    spent = float(before.split()[0]) - float(after.split()[0])
    assert abs(spent - 12.625) < 1e-9, "faucet balance moved by %.8f" % spent


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_killed_validator_then_catch_up(devnet):
    dn = devnet
    wait_height(dn, range(4), 3)
    dn.kill(3)
    h = dn.rpc(0, "getblockcount")
    t0 = time.monotonic()
    wait_height(dn, range(3), h + 8)  # 3 of 4 weight is a quorum: no pause
    rate = 8 / (time.monotonic() - t0)
    print("with one of four killed: %.2f blocks/s" % rate)
    dn.start(3)
    target = dn.rpc(0, "getblockcount")
    wait_height(dn, [3], target, timeout=30)
    for x in (h, target):
        assert dn.rpc(3, "getblockhash", x) == dn.rpc(0, "getblockhash", x)
    wait_height(dn, range(4), target + 3)  # and it takes part again


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_all_restart_and_continue(devnet):
    dn = devnet
    wait_height(dn, range(4), 3)
    last = dn.rpc(0, "getblockcount")
    for i in range(4):
        dn.stop(i)
    for i in range(4):
        dn.start(i)
    before = heights(dn, range(4))
    assert min(before) >= last - 1  # nothing committed was lost
    wait_height(dn, range(4), max(before) + 3, timeout=30)


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_graceful_shutdown_within_10s(devnet):
    dn = devnet
    wait_height(dn, range(4), 2)
    t0 = time.monotonic()
    rc = dn.stop(1)
    took = time.monotonic() - t0
    assert rc == 0
    assert took < 10, "stop took %.1f s" % took
    assert not os.path.exists(os.path.join(dn.node(1).dir, ".cookie"))  # removed at stop
    assert "stopped" in dn.node(1).log_tail(5)


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_second_daemon_on_one_datadir_is_refused(devnet):
    dn = devnet
    res = run([timed_path(), "--config", dn.node(0).conf], timeout=scaled(20))
    assert res.rc == 2
    assert "in use by another timed" in res.stderr
    assert dn.node(0).running()


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_rpc_auth_and_errors(devnet):
    dn = devnet
    status, _, _ = dn.rpc_raw(0, b'{"jsonrpc":"2.0","id":1,"method":"getblockcount"}', auth=False)
    assert status == 401
    with pytest.raises(JSONRPCError) as e:
        dn.rpc(0, "nosuchmethod")
    assert e.value.code == -32601 and "nosuchmethod" in e.value.message
    with pytest.raises(JSONRPCError) as e:
        dn.rpc(0, "getblockhash", 10**9)
    assert e.value.code == -5 and "out of range" in e.value.message
    with pytest.raises(JSONRPCError) as e:
        dn.rpc(0, "sendrawtransaction", "00")
    assert e.value.code == -22
    rc, out, err = dn.cli(0, "getblockhash", "999999999")
    assert rc == 2 and "out of range" in err


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4, start=False)
def test_block_interval_zero_proposes_when_transactions_wait(devnet):
    dn = devnet
    for i in range(4):
        dn.start(i, "--block-interval-ms", "0", "--empty-block-interval-ms", "4000")
    wait_height(dn, range(4), 1, timeout=30)
    h0 = dn.rpc(0, "getblockcount")
    time.sleep(scaled(2.0))
    idle = dn.rpc(0, "getblockcount") - h0
    assert idle <= 1, "%d empty blocks in 2 s with empty-block-interval 4 s" % idle
    _, addr = fresh_address(dn, "bob.wallet")
    faucet = os.path.join(dn.dir, "faucet.wallet")
    start = time.monotonic()
    rc, out, err = dn.cli(0, "--wallet", faucet, "wallet", "send", addr, "3")
    assert rc == 0, err
    dn.wait_until(lambda: all(dn.rpc(i, "getbalance", addr) == "3.00000000" for i in range(4)),
                  timeout=scaled(10), message="payment visible on all nodes")
    elapsed = time.monotonic() - start
    print("block-interval 0: payment final on all 4 nodes after %.2f s" % elapsed)
    assert elapsed < scaled(1.5), "a waiting transaction should not wait for an empty-block timer"


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_transaction_network_and_ban_methods(devnet):
    dn = devnet
    wait_height(dn, range(4), 2)
    _, addr = fresh_address(dn, "dave.wallet")
    rc, txid, err = dn.cli(0, "--wallet", os.path.join(dn.dir, "faucet.wallet"), "wallet", "send", addr, "5")
    assert rc == 0, err
    txid = txid.strip()
    dn.wait_until(lambda: dn.rpc(3, "getbalance", addr) == "5.00000000", timeout=scaled(10))
    info = dn.rpc(3, "getrawtransaction", txid, True)
    assert info["txid"] == txid and info["final"] is True and info["kind"] == "transfer"
    assert info["blockhash"] == dn.rpc(3, "getblockhash", info["height"])
    assert dn.rpc(3, "getrawtransaction", txid) == info["hex"]
    assert dn.rpc(1, "gettransaction", txid)["height"] == info["height"]
    with pytest.raises(JSONRPCError) as e:
        dn.rpc(0, "getrawtransaction", "00" * 32)
    assert e.value.code == -5

    utxo = dn.rpc(0, "gettxoutsetinfo")
    assert utxo["txouts"] > 4 and utxo["height"] >= 2
    # read together in one call: the block it names carries that commitment
    assert utxo["utxo_commitment"] == dn.rpc(0, "getblock", utxo["bestblock"])["utxo_commitment"]

    net = dn.rpc(0, "getnetworkinfo")
    assert net["connections"] == 3 and net["chain"] == "devnet"

    assert dn.rpc(0, "setban", "203.0.113.5", "add", 60) is None
    bans = dn.rpc(0, "listbanned")
    assert [b["subject"] for b in bans] == ["203.0.113.5"]
    assert dn.rpc(0, "setban", "203.0.113.5", "remove") is None
    assert dn.rpc(0, "listbanned") == []

    peer = dn.rpc(0, "getpeerinfo")[0]
    assert dn.rpc(0, "disconnectnode", peer["addr"]) is None
    with pytest.raises(JSONRPCError):
        dn.rpc(0, "disconnectnode", "127.0.0.1:1")
    # the validator mesh reconnects by itself
    dn.wait_until(lambda: dn.rpc(0, "getnetworkinfo")["connections"] == 3, timeout=scaled(30))


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_current_proposer_killed_others_keep_committing(devnet):
    dn = devnet
    wait_height(dn, range(4), 8)
    selves = {dn.rpc(i, "getconsensusinfo")["self"]: i for i in range(4)}

    def proposer(x, node=0):
        return dn.rpc(node, "getblock", dn.rpc(node, "getblockhash", x))["proposer"]

    # equal weights rotate with period 4: block h-3's proposer proposes h+1 in
    # round 0; kill it while the node waits out the block interval
    h = dn.rpc(0, "getblockcount")
    assert [proposer(x) for x in range(h - 3, h + 1)] == [proposer(x) for x in range(h - 7, h - 3)]
    victim_key = proposer(h - 3)
    victim = selves[victim_key]
    dn.kill(victim)
    alive = [i for i in range(4) if i != victim]
    wait_height(dn, alive, h + 9, timeout=40)
    times = [dn.rpc(alive[0], "getblock", dn.rpc(alive[0], "getblockhash", x))["time_ms"] for x in range(h, h + 10)]
    gaps = [(b - a) / 1000 for a, b in zip(times, times[1:])]
    print("proposer node%d killed: block gaps %s s, max %.2f s" % (victim, " ".join("%.2f" % g for g in gaps),
                                                                  max(gaps)))
    assert all(proposer(x, alive[0]) != victim_key for x in range(h + 1, h + 10))
    assert max(gaps) < scaled(5.0)


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4, start=False)
def test_port_in_use_and_foreign_datadir_are_refused(devnet):
    import socket
    dn = devnet
    # the P2P port is taken: a clear message naming it, exit 2, nothing left running
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", dn.node(0).p2p_port))
    holder.listen(1)
    try:
        res = run([timed_path(), "--config", dn.node(0).conf], timeout=scaled(20))
    finally:
        holder.close()
    assert res.rc == 2 and "P2P on 127.0.0.1:%d" % dn.node(0).p2p_port in res.stderr, res.stderr
    assert not os.path.exists(os.path.join(dn.node(0).dir, ".cookie"))
    # a data dir made from one genesis, started with another: refused, untouched
    dn.start(0)
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 0, timeout=scaled(10))
    dn.stop(0)
    other = os.path.join(dn.dir, "other")
    assert run([dn.time_cli, "devnet", "init", "--nodes", "1", "--dir", other]).rc == 0
    res = run([timed_path(), "--config", dn.node(0).conf, "--genesis", os.path.join(other, "genesis.json")],
              timeout=scaled(20))
    assert res.rc == 2 and "data dir was made from genesis" in res.stderr, res.stderr
    dn.start(0)  # and the real genesis still opens it
