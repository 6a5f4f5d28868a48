"""The command-line contract (DESIGN.md §8, §10) that holds without a running node."""

import re

import pytest

from framework import REPO_ROOT, run, time_cli_path, timed_path

VERSION = re.compile(r"^\S+ \d+\.\d+\.\d+\S*$", re.M)


def config_md_keys():
    """The keys of the table in docs/config.md (first column, in backquotes)."""
    text = (REPO_ROOT / "docs" / "config.md").read_text()
    keys = re.findall(r"^\|\s*`([a-z][a-z0-9-]*)`\s*\|", text, re.M)
    assert len(keys) >= 20, "docs/config.md: key table not found or changed shape"
    return keys


def write_conf(tmp_path, *lines):
    """A time.conf whose first line keeps any data dir inside tmp_path."""
    path = tmp_path / "time.conf"
    path.write_text("\n".join([f"datadir = {tmp_path / 'data'}", *lines]) + "\n")
    return path


def timed(*args):
    return run([timed_path(), *args])


@pytest.mark.parametrize("binary, name", [(timed_path, "timed"), (time_cli_path, "time-cli")])
def test_version(binary, name):
    r = run([binary(), "--version"])
    assert r.rc == 0, r.stderr
    assert VERSION.search(r.stdout) and r.stdout.startswith(name + " "), r.stdout


def test_help_lists_every_documented_key():
    r = timed("--help")
    assert r.rc == 0, r.stderr
    missing = [k for k in config_md_keys() if not re.search(rf"^\s*{re.escape(k)}\s", r.stdout, re.M)]
    assert not missing, f"timed --help does not list {missing}"


def test_unknown_key_names_file_line_and_nearest_key(tmp_path):
    conf = write_conf(tmp_path, "network = devnet", "rpc_listen = 127.0.0.1:1")
    r = timed("--config", conf)
    assert r.rc == 1
    assert f"{conf}:3" in r.stderr, r.stderr
    assert "rpc_listen" in r.stderr and "did you mean" in r.stderr and "rpc-listen" in r.stderr, r.stderr


def test_unknown_key_under_main_section(tmp_path):
    conf = write_conf(tmp_path, "[main]", "max-inbund = 3")
    r = timed("--config", conf)
    assert r.rc == 1
    assert f"{conf}:3" in r.stderr and "max-inbound" in r.stderr, r.stderr


@pytest.mark.parametrize("key, value", [
    ("max-inbound", "lots"),
    ("network", "moonnet"),
    ("log-level", "loud"),
    ("listen", "nohostport"),
    ("block-interval-ms", "-2"),
])
def test_bad_value_names_file_line_and_key(tmp_path, key, value):
    conf = write_conf(tmp_path, f"{key} = {value}")
    r = timed("--config", conf)
    assert r.rc == 1
    assert f"{conf}:2" in r.stderr and key in r.stderr and value in r.stderr, r.stderr


def test_bad_flag_value_names_the_key(tmp_path):
    conf = write_conf(tmp_path)
    r = timed("--config", conf, "--max-inbound", "lots")
    assert r.rc == 1
    assert "max-inbound" in r.stderr and "lots" in r.stderr, r.stderr


def test_missing_config_file_is_named(tmp_path):
    missing = tmp_path / "absent.conf"
    r = timed("--config", missing)
    assert r.rc == 1
    assert str(missing) in r.stderr, r.stderr


def test_peer_address_must_be_numeric(tmp_path):
    """A host name in connect / addnode / seednode stops the start (the node
    never resolves names) instead of being refused at dial time."""
    conf = write_conf(tmp_path)
    r = timed("--config", conf, "--connect", "example.invalid:1")
    assert r.rc == 1, r.stderr
    assert ('connect: "example.invalid:1" is not a numeric ip:port' in r.stderr
            and "host names are not resolved" in r.stderr), r.stderr


def test_config_directory_is_not_a_file(tmp_path):
    """--config given a directory names it (it was read as an empty file)."""
    r = timed("--config", tmp_path)
    assert r.rc == 1, r.stderr
    assert f"{tmp_path}: not a regular file" in r.stderr, r.stderr


def test_config_nul_byte_and_long_line_name_their_line(tmp_path):
    conf = tmp_path / "time.conf"
    conf.write_bytes(f"datadir = {tmp_path / 'data'}\nrpcpassword = se\0cret\n".encode())
    r = timed("--config", conf)
    assert r.rc == 1 and f"{conf}:2: a NUL byte" in r.stderr, r.stderr
    conf.write_text(f"datadir = {tmp_path / 'data'}\nrpcpassword = {'x' * 10000}\n")
    r = timed("--config", conf)
    assert r.rc == 1 and f"{conf}:2: longer than" in r.stderr, r.stderr


def test_single_value_key_twice_is_refused(tmp_path):
    conf = write_conf(tmp_path, "max-inbound = 5", "max-inbound = 6")
    r = timed("--config", conf)
    assert r.rc == 1 and f"{conf}:3: max-inbound: given twice" in r.stderr, r.stderr


def test_rpcuser_with_colon_is_refused_at_the_check(tmp_path):
    conf = write_conf(tmp_path, "rpcuser = a:b", "rpcpassword = p")
    r = timed("--config", conf)
    assert r.rc == 1 and "rpcuser: may not contain ':'" in r.stderr, r.stderr


def test_devnet_overrides_refused_elsewhere(tmp_path):
    conf = write_conf(tmp_path, "network = testnet", "block-interval-ms = 0")
    r = timed("--config", conf)
    assert r.rc == 1 and "block-interval-ms: a devnet override; on testnet" in r.stderr, r.stderr


@pytest.mark.parametrize("args, needle", [
    (("ADDR", "0"), "AMOUNT must be more than 0"),
    (("ADDR", "1", "--fee", "abc"), '--fee is decimal TIME with up to 8 places, got "abc"'),
    (("ADDR", "abc"), 'AMOUNT is decimal TIME with up to 8 places, got "abc"'),
    (("ADDR", "1", "--tip", "2"), 'unexpected "--tip"'),
])
def test_wallet_send_usage_errors_exit_1(tmp_path, args, needle):
    """DESIGN §10: a usage error exits 1 and says which argument is wrong,
    before any wallet is opened or node asked."""
    r = run([time_cli_path(), "--datadir", tmp_path, "--wallet", tmp_path / "none.wallet", "wallet", "send", *args])
    assert r.rc == 1, (r.rc, r.stderr)
    assert needle in r.stderr, r.stderr


def test_first_start_on_a_fresh_machine_says_what_to_do(tmp_path):
    """`timed` with no arguments and an empty $HOME: the default data dir's
    parents are made, and the missing genesis is explained (exit 1, a
    configuration problem), not `cannot create data dir` (exit 2)."""
    import os
    env = dict(os.environ, HOME=str(tmp_path))
    r = run([timed_path()], env=env)
    assert r.rc == 1, (r.rc, r.stderr)
    assert "no genesis document" in r.stderr and "time-cli devnet init" in r.stderr, r.stderr
    assert (tmp_path / ".timecoin" / "devnet").is_dir()
    assert "network not set" in r.stderr, "the default network is not named"
