"""time-cli masternode unjail: a validator jailed for being absent from the
commit certificates is let back into the set by a transaction its operator
key signs, the fee paid from any wallet; a transaction the node refuses is a
runtime error (exit 2) that says the node refused it."""
import json
import os

import pytest

from framework import scaled

JAIL_AFTER = 8  # devnet init writes 30; fewer keeps the test short


def status(dn, i, op_key):
    rc, out, err = dn.cli(i, "masternode", "status", "--operator-key", op_key)
    assert rc == 0, err
    return json.loads(out)


@pytest.mark.needs_daemon
def test_jailed_validator_is_unjailed_by_its_operator(devnet_factory):
    dn = devnet_factory(nodes=4)
    genesis = os.path.join(dn.dir, "genesis.json")
    g = json.load(open(genesis))
    g["consensus"]["jail_after_missed"] = JAIL_AFTER
    json.dump(g, open(genesis, "w"))
    dn.start_all()
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 2, timeout=scaled(30))
    faucet = os.path.join(dn.dir, "faucet.wallet")
    op3 = os.path.join(dn.node(3).dir, "operator.key")
    op2 = os.path.join(dn.node(2).dir, "operator.key")
    col = status(dn, 0, op3)["collateral"]

    r = dn.cli(0, "--wallet", faucet, "masternode", "unjail", "--collateral", col)
    assert r.rc == 1 and "--operator-key" in r.stderr, r  # usage: told before the node is asked
    r = dn.cli(0, "--wallet", faucet, "masternode", "unjail", "--collateral", col, "--operator-key", op3)
    assert r.rc == 2, r  # the arguments are fine; the chain says no
    assert "the node refused the transaction: masternode is not jailed" in r.stderr, r.stderr

    dn.stop(3)
    dn.wait_until(lambda: status(dn, 0, op3)["jailed"], timeout=scaled(60), message="node3 jailed for absence")
    dn.wait_until(lambda: dn.rpc(0, "getblockchaininfo")["validators"] == 3, timeout=scaled(10))
    dn.start(3)

    # signed by another operator's key: refused by the chain rules
    r = dn.cli(0, "--wallet", faucet, "masternode", "unjail", "--collateral", col, "--operator-key", op2)
    assert r.rc == 2 and "unjail not signed by the operator key" in r.stderr, r.stderr
    # the faucet pays the fee; the collateral is not in its wallet, the operator key signs
    r = dn.cli(0, "--wallet", faucet, "masternode", "unjail", "--collateral", col, "--operator-key", op3)
    assert r.rc == 0, r.stderr
    assert len(r.stdout.strip()) == 64, r.stdout  # the txid
    dn.wait_until(lambda: not status(dn, 1, op3)["jailed"], timeout=scaled(10), message="node3 unjailed")
    dn.wait_until(lambda: dn.rpc(0, "getblockchaininfo")["validators"] == 4, timeout=scaled(10))
    signed = dn.rpc(3, "getconsensusinfo")["signed"]
    dn.wait_until(lambda: dn.rpc(3, "getconsensusinfo")["signed"] > signed, timeout=scaled(30),
                  message="node3 votes again")
    _, health = dn.health(3)
    assert health["validator"] is True
    h = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= h + JAIL_AFTER + 2, timeout=scaled(30))
    assert not status(dn, 0, op3)["jailed"]  # it signs the certificates now: not jailed again
