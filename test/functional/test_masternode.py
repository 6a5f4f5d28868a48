"""A masternode registered with collateral from a funded address joins the
validator set at its activation height and votes (its reward address earns
block rewards); deregistered, it leaves the set at once, and once the
unbonding period is over, spending its collateral removes its record."""
import os
import shutil

import pytest

from framework import run, scaled


def write_fifth_node(dn, op_key):
    """node4: node3's time.conf with its own data dir, ports and operator key."""
    src, dst = dn.node(3), dn.node(4)
    os.makedirs(dst.dir, exist_ok=True)
    shutil.copy(op_key, os.path.join(dst.dir, "operator.key"))
    os.chmod(os.path.join(dst.dir, "operator.key"), 0o600)
    text = open(src.conf).read().replace(str(src.dir), str(dst.dir))
    for off in (0, 1, 2):
        text = text.replace("127.0.0.1:%d\n" % (dn.base_port + 30 + off), "127.0.0.1:%d\n" % (dn.base_port + 40 + off))
    text = text.replace("connect = 127.0.0.1:%d\n" % (dn.base_port + 40), "connect = 127.0.0.1:%d\n" % (dn.base_port + 30))
    open(dst.conf, "w").write(text)


@pytest.mark.needs_daemon
def test_register_activate_vote_deregister_and_unbond(devnet_factory):
    dn = devnet_factory(nodes=5, init=False, start=False)
    res = run([dn.time_cli, "devnet", "init", "--nodes", "4", "--dir", dn.dir, "--base-port", dn.base_port])
    assert res.rc == 0, res.stderr
    for i in range(4):
        dn.start(i)
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 2, timeout=scaled(30))
    faucet = os.path.join(dn.dir, "faucet.wallet")
    owner_wallet = os.path.join(dn.dir, "owner.wallet")
    owner = run([dn.time_cli, "wallet", "create", "--wallet", owner_wallet, "--unencrypted"]).stdout.strip()

    rc, col_txid, err = dn.cli(0, "--wallet", faucet, "wallet", "send", owner, "1000")  # exact bronze collateral
    assert rc == 0, err
    dn.wait_until(lambda: dn.rpc(0, "getbalance", owner) == "1000.00000000", timeout=scaled(10))
    rc, _, err = dn.cli(0, "--wallet", faucet, "wallet", "send", owner, "1")  # for the registration fee
    assert rc == 0, err
    dn.wait_until(lambda: dn.rpc(0, "getbalance", owner) == "1001.00000000", timeout=scaled(10))

    op_key = os.path.join(dn.dir, "op4.key")
    operator = run([dn.time_cli, "masternode", "genkey", "--out", op_key]).stdout.strip()
    rc, _, err = dn.cli(0, "--wallet", owner_wallet, "masternode", "register", "--tier", "bronze",
                        "--collateral", col_txid.strip() + ":0", "--reward", owner,
                        "--addr", "127.0.0.1:%d" % (dn.base_port + 40), "--operator-key", op_key)
    assert rc == 0, err
    dn.wait_until(lambda: len(dn.rpc(1, "listmasternodes")) == 5, timeout=scaled(10))
    mn = [m for m in dn.rpc(1, "listmasternodes") if m["operator"] == operator][0]
    assert mn["tier"] == "bronze" and mn["jailed"] is False
    assert mn["active_height"] == mn["registered_height"] + 5  # devnet activation delay
    # masternode update: the owner moves the network address, and back (the chain shows each)
    for port in (dn.base_port + 41, dn.base_port + 40):
        rc, _, err = dn.cli(0, "--wallet", owner_wallet, "masternode", "update", "--collateral",
                            col_txid.strip() + ":0", "--reward", owner, "--addr", "127.0.0.1:%d" % port)
        assert rc == 0, err
        dn.wait_until(lambda: [m for m in dn.rpc(1, "listmasternodes") if m["operator"] == operator][0]["netaddr"]
                      == "127.0.0.1:%d" % port, timeout=scaled(10), message="the updated address on chain")
    # the collateral is reported locked and the wallet will not spend it by accident
    assert any(c["locked"] for c in dn.rpc(0, "listunspent", owner)["utxos"])
    rc, _, err = dn.cli(0, "--wallet", owner_wallet, "wallet", "send", owner, "500")
    assert rc == 2 and "locked" in err, err  # only 0.99 TIME is spendable

    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= mn["active_height"], timeout=scaled(30))
    assert dn.rpc(0, "getblockchaininfo")["validators"] == 5
    write_fifth_node(dn, op_key)
    dn.start(4)
    before = float(dn.rpc(0, "getbalance", owner))
    # its precommits land in certificates, so the coinbase pays its reward address
    dn.wait_until(lambda: float(dn.rpc(0, "getbalance", owner)) > before + 1, timeout=scaled(30),
                  message="the new masternode earns block rewards")
    assert dn.rpc(4, "getconsensusinfo")["signed"] > 0

    # a bonded collateral cannot be spent, even when the wallet is told to offer it
    rc, _, err = dn.cli(0, "--wallet", owner_wallet, "wallet", "send", owner, "999", "--allow-locked")
    assert rc != 0 and "deregister it first" in err, err
    # deregistered: out of the validator set at once, the collateral locked while unbonding
    rc, _, err = dn.cli(0, "--wallet", owner_wallet, "masternode", "deregister", "--collateral",
                        col_txid.strip() + ":0")
    assert rc == 0, err
    dn.wait_until(lambda: dn.rpc(0, "getblockchaininfo")["validators"] == 4, timeout=scaled(10))
    unbond = [m for m in dn.rpc(0, "listmasternodes") if m["operator"] == operator][0]["unbond_height"]
    assert unbond > dn.rpc(0, "getblockcount")
    h = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") + 1 >= unbond, timeout=scaled(60),
                  message="the unbonding period to end")
    rc, _, err = dn.cli(0, "--wallet", owner_wallet, "wallet", "send", owner, "999")
    assert rc == 0, err
    dn.wait_until(lambda: len(dn.rpc(0, "listmasternodes")) == 4, timeout=scaled(10))
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= h + 3, timeout=scaled(30))  # the four continue
