"""time-cli --config FILE reaches a node whose time.conf is not in its data
dir (the service layout: /etc/timecoin/time.conf, /var/lib/timecoin), with
the file's rpc-listen and either its rpcuser/rpcpassword or the cookie in
its datadir; --datadir alone only reads <datadir>/time.conf."""
import shutil

import pytest

from framework import run


@pytest.mark.needs_daemon
def test_config_outside_the_data_dir(devnet_factory, tmp_path):
    dn = devnet_factory(nodes=1)
    node = dn.node(0)
    dn.start_all()
    etc = tmp_path / "etc"
    etc.mkdir()
    conf = etc / "time.conf"
    shutil.copy(node.conf, conf)

    r = run([dn.time_cli, "--config", conf, "getblockcount"])
    assert r.rc == 0 and int(r.stdout) >= 0, r
    r = run([dn.time_cli, "--config", conf, "--wallet", dn.dir / "faucet.wallet", "wallet", "balance"])
    assert r.rc == 0 and "TIME spendable" in r.stdout, r
    # --datadir beside --config names where the cookie is
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run([dn.time_cli, "--config", conf, "--datadir", elsewhere, "getblockcount"])
    assert r.rc == 2 and f"{elsewhere}/.cookie" in r.stderr, r
    shutil.copy(node.dir / ".cookie", elsewhere / ".cookie")
    r = run([dn.time_cli, "--config", conf, "--datadir", elsewhere, "getblockcount"])
    assert r.rc == 0, r

    bad = etc / "bad.conf"
    bad.write_text("rpc_listen = 127.0.0.1:1\n")
    r = run([dn.time_cli, "--config", bad, "getblockcount"])
    assert r.rc == 1 and f"{bad}:1: unknown key \"rpc_listen\"" in r.stderr, r

    # rpcuser/rpcpassword in the file are used instead of a cookie
    dn.stop(0)
    node.conf_set("rpcuser", "operator")
    node.conf_set("rpcpassword", "s3cret-for-the-test")
    (node.dir / ".cookie").unlink(missing_ok=True)
    dn.start(0)
    shutil.copy(node.conf, etc / "auth.conf")
    r = run([dn.time_cli, "--config", etc / "auth.conf", "getblockcount"])
    assert r.rc == 0, r
    wrong = etc / "wrong.conf"
    wrong.write_text((etc / "auth.conf").read_text().replace("s3cret-for-the-test", "not-the-password"))
    r = run([dn.time_cli, "--config", wrong, "getblockcount"])  # the file's credentials, not the cookie
    assert r.rc == 2 and "authentication refused" in r.stderr, r
