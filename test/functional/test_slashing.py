"""Evidence binds (docs/chain.md, "Collateral, unbonding and slashing"), on
a 4-validator devnet of real `timed`: nodes 0-2 run, and the adversary of
adversary.py holds validator 3's operator key; validator 3's owner key
(node3/owner.key) is put in a time-cli wallet.

The double signer first tries to run with its collateral (refused by the
network: it is bonded), then signs two prevotes for different blocks at one
height and round. Every honest node sees the double sign, the evidence is
committed, and the masternode is jailed and slashed: 5 % of its collateral
moves to an output nobody can spend, the supply is unchanged, and it can
never be unjailed. Its owner can still deregister it and spend the rest,
but only after the unbonding period.

Before this rule, the owner's spend was accepted and removed the masternode,
so the evidence that followed named nobody (checked by reverting
check_bonded in src/chain/validate.c: step 1 fails)."""
import json
from decimal import Decimal

import pytest

import adversary as adv
from adversary import PREVOTE, T
from framework import scaled

BLOCK_REWARD = Decimal(100)  # TC_BLOCK_REWARD
COLLATERAL = {"bronze": Decimal(1000), "silver": Decimal(10000), "gold": Decimal(100000)}
SLASH_PERCENT = 5  # devnet, src/chain/params.c
UNBONDING_BLOCKS = 20


def supply_expected(dn, height):
    g = json.load(open(dn.dir / "genesis.json"))
    total = sum(Decimal(a["amount"]) for a in g["allocations"])
    total += sum(COLLATERAL[m["tier"]] for m in g["masternodes"])
    return total + BLOCK_REWARD * height


def mn_of(dn, i, operator_hex):
    found = [m for m in dn.rpc(i, "listmasternodes") if m["operator"] == operator_hex]
    return found[0] if found else None


def coin(dn, address, outpoint):
    for c in dn.rpc(0, "listunspent", address)["utxos"]:
        if "%s:%d" % (c["txid"], c["vout"]) == outpoint:
            return c
    return None


def owner_wallet(dn, path):
    """A time-cli wallet holding node3's owner key (the key file is the seed in hex)."""
    g = json.load(open(dn.dir / "genesis.json"))
    owner = adv.Key.load(dn.node(3).dir / "owner.key")
    m = [m for m in g["masternodes"] if m["owner_pubkey"] == owner.pub.hex()][0]
    with open(path, "w") as f:
        json.dump({"format": "timecoin-wallet", "version": 1, "network": "devnet", "encrypted": False,
                   "keys": [owner.seed.hex()], "addresses": [m["reward_address"]]}, f)
    return m["reward_address"]


@pytest.mark.needs_daemon
def test_double_signer_is_slashed_and_cannot_run_with_its_collateral(devnet_factory):
    dn = devnet_factory(nodes=4, init=False, start=False)
    adv.init_devnet(dn, validators=4)
    for i in (0, 1, 2):
        dn.start(i, wait=False)
    for i in (0, 1, 2):
        dn.wait_ready(i)
    dn.wait_until(lambda: min(dn.rpc(i, "getblockcount") for i in (0, 1, 2)) >= 2, timeout=scaled(60))
    v3 = adv.Validator(dn.node(3).dir)
    op_hex = v3.operator.pub.hex()
    wallet = str(dn.dir / "owner3.wallet")
    owner_addr = owner_wallet(dn, wallet)
    faucet = str(dn.dir / "faucet.wallet")
    faucet_addr = dn.cli(0, "--wallet", faucet, "wallet", "address").stdout.strip()
    col = mn_of(dn, 0, op_hex)["collateral"]
    # positive control: the owner's wallet holds the collateral, reported locked
    c = coin(dn, owner_addr, col)
    assert c is not None and c["locked"] is True, c
    assert Decimal(c["amount"]) == COLLATERAL["bronze"]

    # 1. run with the collateral before any evidence: the network refuses it
    r = dn.cli(0, "--wallet", wallet, "wallet", "send", faucet_addr, "999", "--allow-locked")
    assert r.rc != 0, r.stdout
    assert "collateral of a registered masternode" in r.stderr and "deregister it first" in r.stderr, r.stderr
    assert mn_of(dn, 0, op_hex) is not None

    # 2. double sign: two prevotes for different blocks at one (height, round), to every node
    genesis = adv.genesis_hash(dn)
    h = dn.rpc(0, "getblockcount") + 1
    links = {i: adv.Peer(dn.node(i).p2p_port, genesis, height=h - 1).connect() for i in (0, 1, 2)}
    for i, p in links.items():
        for salt in (b"\x01", b"\x02"):
            p.send(T.VOTE, adv.make_vote(v3.operator, PREVOTE, h, 0, salt * 32))
    dn.wait_until(lambda: all((mn_of(dn, i, op_hex) or {}).get("slashed") for i in (0, 1, 2)),
                  timeout=scaled(30), message="validator 3 slashed on every honest node")
    for p in links.values():
        p.close()
    m = mn_of(dn, 0, op_hex)
    assert m["jailed"] is True and m["unbond_height"] == 0
    assert dn.rpc(0, "getblockchaininfo")["validators"] == 3
    burned = COLLATERAL["bronze"] * SLASH_PERCENT / 100
    assert Decimal(coin(dn, owner_addr, col)["amount"]) == COLLATERAL["bronze"] - burned
    info = dn.rpc(0, "gettxoutsetinfo")
    # the burned share still exists, in an output nobody can spend: the supply is unchanged
    assert Decimal(str(info["total_amount"])) == supply_expected(dn, info["height"])
    # evidence recorded once; a second pair for another round is refused, not slashed twice
    assert dn.rpc(0, "getconsensusinfo")["evidence"] >= 1

    # 3. never unjailed
    r = dn.cli(0, "--wallet", faucet, "masternode", "unjail", "--collateral", col,
               "--operator-key", str(dn.node(3).dir / "operator.key"))
    assert r.rc != 0 and "slashed" in r.stderr, (r.stdout, r.stderr)

    # 4. deregister (the faucet pays the owner's fee), then the rest unlocks after unbonding
    r = dn.cli(0, "--wallet", faucet, "wallet", "send", owner_addr, "5")
    assert r.rc == 0, r.stderr
    dn.wait_until(lambda: coin(dn, owner_addr, "%s:0" % r.stdout.strip()) is not None, timeout=scaled(15))
    r = dn.cli(0, "--wallet", wallet, "masternode", "deregister", "--collateral", col)
    assert r.rc == 0, r.stderr
    dn.wait_until(lambda: mn_of(dn, 0, op_hex)["unbond_height"] > 0, timeout=scaled(15))
    unbond = mn_of(dn, 0, op_hex)["unbond_height"]
    assert UNBONDING_BLOCKS <= unbond - dn.rpc(0, "getblockcount") + 1 <= UNBONDING_BLOCKS + 1
    rest = COLLATERAL["bronze"] - burned
    r = dn.cli(0, "--wallet", wallet, "wallet", "send", faucet_addr, str(rest - 5), "--allow-locked")
    assert r.rc != 0 and "unbonding until height %d" % unbond in r.stderr, (r.stdout, r.stderr)
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") + 1 >= unbond, timeout=scaled(60))
    assert coin(dn, owner_addr, col)["locked"] is False
    r = dn.cli(0, "--wallet", wallet, "wallet", "send", faucet_addr, str(rest - 5))
    assert r.rc == 0, r.stderr
    dn.wait_until(lambda: mn_of(dn, 0, op_hex) is None, timeout=scaled(15),
                  message="the record removed once its collateral is spent")
    print(f"slashing: {burned} TIME burned of {COLLATERAL['bronze']}; unbonding until {unbond}; "
          f"the rest spent at height {dn.rpc(0, 'getblockcount')}")
