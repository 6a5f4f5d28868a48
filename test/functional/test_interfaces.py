"""The node's RPC under hostile input (wrong credentials, malformed JSON, a
100 MB body, a 1,000-call batch) while it keeps serving; the mempool methods;
the new metrics; the wallet with a wrong passphrase at the command line."""
import hashlib
import json
import os

import pytest

from framework import JSONRPCError, basic_auth, http_request, run, scaled


def body(method, *params, id=1):
    return json.dumps({"jsonrpc": "2.0", "id": id, "method": method, "params": list(params)}).encode()


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_rpc_hostile_input_and_node_unaffected(devnet):
    dn = devnet
    port = dn.node(0).rpc_port
    status, _, _ = http_request(port, "/", "POST", body("getblockcount"), basic_auth("__cookie__", "0" * 64))
    assert status == 401
    status, _, out = dn.rpc_raw(0, b'{"jsonrpc":"2.0","id":1,"method":')
    assert json.loads(out)["error"]["code"] == -32700
    status, _, out = dn.rpc_raw(0, b'{"jsonrpc":"2.0","id":1}')
    assert json.loads(out)["error"]["code"] == -32600
    # 100 MB announced: refused before the body is read
    status, _, _ = dn.rpc_raw(0, b"x" * 4096, headers={"Content-Length": str(100 * 1000 * 1000)})
    assert status == 413
    batch = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "getblockcount"} for i in range(1000)]).encode()
    status, _, out = dn.rpc_raw(0, batch)
    err = json.loads(out)["error"]
    assert err["code"] == -32600 and "100" in err["message"]
    # still serving, and still making blocks
    h = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") > h, timeout=scaled(10))
    names = dn.rpc(0, "help")
    for m in ("getblockchaininfo", "getblockcount", "getbestblockhash", "getblockhash", "getblock",
              "getrawtransaction", "sendrawtransaction", "getmempoolinfo", "getrawmempool", "gettxoutsetinfo",
              "getbalance", "listunspent", "getpeerinfo", "getnetworkinfo", "getconsensusinfo", "listmasternodes",
              "setban", "listbanned", "addnode", "disconnectnode", "stop"):
        assert m in json.dumps(names), "help does not list " + m


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4, start=False)
def test_mempool_methods(devnet):
    dn = devnet
    for i in range(4):  # slow blocks, so the payment is seen pending first
        dn.start(i, "--block-interval-ms", "4000")
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 1, timeout=scaled(30))
    wallet = os.path.join(dn.dir, "erin.wallet")
    addr = run([dn.time_cli, "wallet", "create", "--wallet", wallet, "--unencrypted"]).stdout.strip()
    dn.wait_until(lambda: dn.rpc(0, "getmempoolinfo")["size"] == 0, timeout=scaled(10))
    rc, txid, err = dn.cli(0, "--wallet", os.path.join(dn.dir, "faucet.wallet"), "wallet", "send", addr, "2")
    assert rc == 0, err
    txid = txid.strip()
    pending = dn.rpc(0, "getrawmempool")
    if pending:  # the block may already have taken it; both outcomes are legal
        assert pending == [txid]
        info = dn.rpc(0, "getmempoolinfo")
        assert info["size"] == 1 and info["fees"] == "0.02000000"
        assert dn.rpc(0, "getrawtransaction", txid, True)["in_mempool"] is True
        with pytest.raises(JSONRPCError) as e:
            dn.rpc(0, "sendrawtransaction", dn.rpc(0, "getrawtransaction", txid))
        assert e.value.code == -27
    dn.wait_until(lambda: dn.rpc(0, "getmempoolinfo")["size"] == 0, timeout=scaled(15))
    assert dn.rpc(0, "getmempoolinfo")["mined"] >= 1
    assert dn.rpc(0, "getrawtransaction", txid, True)["final"] is True


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_vote_and_handshake_metrics(devnet):
    dn = devnet
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 2, timeout=scaled(30))
    text = dn.metrics(1)
    assert "# TYPE timecoin_votes_received_total counter" in text
    assert 'timecoin_votes_received_total{type="precommit",outcome="accepted"}' in text
    assert "# TYPE timecoin_p2p_handshake_failures_total counter" in text


def test_wallet_wrong_passphrase_leaves_file_untouched(tmp_path):
    from framework import time_cli_path
    wallet = str(tmp_path / "w.wallet")
    env = dict(os.environ, TIMECOIN_WALLET_PASSPHRASE="correct horse battery staple")
    res = run([time_cli_path(), "wallet", "create", "--wallet", wallet, "--network", "testnet"], env=env)
    assert res.rc == 0, res.stderr
    before = hashlib.sha256(open(wallet, "rb").read()).hexdigest()
    env["TIMECOIN_WALLET_PASSPHRASE"] = "wrong"
    res = run([time_cli_path(), "wallet", "address", "--wallet", wallet], env=env)
    assert res.rc != 0 and "passphrase" in res.stderr.lower()
    assert hashlib.sha256(open(wallet, "rb").read()).hexdigest() == before
    with open(wallet, "r+b") as f:  # a torn write: refused, never overwritten
        f.truncate(os.path.getsize(wallet) // 2)
    corrupt = hashlib.sha256(open(wallet, "rb").read()).hexdigest()
    env["TIMECOIN_WALLET_PASSPHRASE"] = "correct horse battery staple"
    res = run([time_cli_path(), "wallet", "address", "--wallet", wallet], env=env)
    assert res.rc != 0
    assert hashlib.sha256(open(wallet, "rb").read()).hexdigest() == corrupt
