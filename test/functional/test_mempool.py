"""A full mempool (mempool-max-txs 2, slow blocks) evicts the lowest fee
rate for a better-paying newcomer and refuses one that pays less, saying why."""
import os

import pytest

from framework import run, scaled


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_full_mempool_evicts_or_rejects_with_reasons(devnet):
    dn = devnet
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 1, timeout=scaled(30))
    faucet = os.path.join(dn.dir, "faucet.wallet")
    wallets = []
    for k in range(4):  # four funded wallets, each with one confirmed coin
        w = os.path.join(dn.dir, "w%d.wallet" % k)
        addr = run([dn.time_cli, "wallet", "create", "--wallet", w, "--unencrypted"]).stdout.strip()
        rc, _, err = dn.cli(0, "--wallet", faucet, "wallet", "send", addr, "100")
        assert rc == 0, err
        dn.wait_until(lambda: dn.rpc(0, "getbalance", addr) == "100.00000000", timeout=scaled(10))
        wallets.append((w, addr))
    for i in range(4):
        dn.stop(i)
    for i in range(4):
        dn.start(i, "--mempool-max-txs", "2", "--block-interval-ms", "20000")
    h = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") > h, timeout=scaled(30))  # the block made at start
    to = wallets[0][1]

    def send(k, fee):
        return dn.cli(0, "--wallet", wallets[k][0], "wallet", "send", to, "10", "--fee", fee)

    rc, low, err = send(1, "0.2")
    assert rc == 0, err
    rc, _, err = send(2, "0.3")
    assert rc == 0, err
    assert dn.rpc(0, "getmempoolinfo")["size"] == 2
    rc, high, err = send(3, "0.5")  # pays a higher rate: the lowest (0.2) leaves
    assert rc == 0, err
    pending = dn.rpc(0, "getrawmempool")
    assert high.strip() in pending and low.strip() not in pending and len(pending) == 2
    assert dn.rpc(0, "getmempoolinfo")["evicted"] == 1
    rc, _, err = dn.cli(0, "--wallet", wallets[0][0], "wallet", "send", wallets[1][1], "10", "--fee", "0.1")
    assert rc != 0
    assert "mempool full" in err and "does not beat the lowest pending rate" in err, err
    assert dn.rpc(0, "getmempoolinfo")["size"] == 2
