"""time-cli against a running node (issue 16, CLI): help is plain text with
per-method arguments and an example; wallet address works in the NODE form;
wallet send --dry-run prints a signed transaction that sendrawtransaction
accepts, and sends nothing by itself."""
import os

import pytest

from framework import scaled


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=1)
def test_help_plain_text_and_per_method(devnet):
    dn = devnet
    rc, out, err = dn.cli(0, "help")
    assert rc == 0, err
    assert "\\n" not in out and not out.startswith('"'), "help printed as a JSON string"
    lines = out.splitlines()
    assert "getblockhash height" in lines and "stop" in lines, out
    rc, out, err = dn.cli(0, "help", "getblockhash")
    assert rc == 0, err
    assert out.startswith("getblockhash height\n"), out
    assert "Arguments:\n  1. height (number, required)" in out, out
    assert "Example:\n  time-cli --datadir DIR getblockhash 5" in out, out
    rc, out, err = dn.cli(0, "help", "nosuchmethod")
    assert rc != 0 and "nosuchmethod" in err, (rc, err)
    # other string results are plain too (a hash, not "hash")
    rc, out, err = dn.cli(0, "getbestblockhash")
    assert rc == 0 and len(out.strip()) == 64 and '"' not in out, out


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=1)
def test_wallet_address_node_form_and_send_dry_run(devnet):
    dn = devnet
    faucet = os.path.join(dn.dir, "faucet.wallet")
    rc, addr, err = dn.cli(0, "--wallet", faucet, "wallet", "address")
    assert rc == 0, err
    addr = addr.strip()
    assert addr.startswith("tdev1") or len(addr) > 20, addr
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 1, timeout=scaled(30))
    before = dn.rpc(0, "getmempoolinfo")["admitted"]
    rc, hexed, err = dn.cli(0, "--wallet", faucet, "wallet", "send", addr, "3", "--dry-run")
    assert rc == 0, err
    hexed = hexed.strip()
    assert "dry run" in err and all(c in "0123456789abcdef" for c in hexed) and len(hexed) > 100, (hexed, err)
    assert dn.rpc(0, "getmempoolinfo")["admitted"] == before, "--dry-run sent the transaction"
    txid = dn.rpc(0, "sendrawtransaction", hexed)
    assert len(txid) == 64
    dn.wait_until(lambda: dn.rpc(0, "getrawtransaction", txid, True).get("final"), timeout=scaled(30),
                  message="the dry-run transaction, sent by hand, final")
