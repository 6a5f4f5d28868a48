"""Key problems are stated at start (issue 15, "Damaged data never makes a
validator misbehave"): before, a node whose `operator-key` file was missing,
or held a key outside the validator set, ran as a follower without a word.

Control: a devnet validator starts signing with nothing to report. Then, on
one node of a stopped devnet: the configured key file moved away → exit 1
naming the file; a fresh key that no masternode registers → it starts and
warns that it will not sign; no operator-key line and no file → it says it
is a follower."""
import os

import pytest

from framework import run, timed_path


def start_line(dn, i, needle):
    return [ln for ln in dn.node(i).log.read_text(errors="replace").splitlines() if needle in ln]


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4, start=False)
def test_key_problems_are_named_at_start(devnet):
    dn = devnet
    node = dn.node(3)
    key_file = node.conf_get("operator-key")
    assert key_file and os.path.exists(key_file)

    # control: a registered validator, nothing to say about its key
    dn.start(3)
    assert dn.rpc(3, "getconsensusinfo").get("self")
    assert not start_line(dn, 3, "operator key")
    assert not start_line(dn, 3, "no operator key")
    dn.stop(3)

    # the configured file is missing: refuse to start, name it
    os.rename(key_file, key_file + ".away")
    r = run([timed_path(), "--config", node.conf], timeout=30)
    assert r.rc == 1, r
    assert f"operator-key {key_file}: no such file" in r.stderr and "hint:" in r.stderr, r.stderr

    # a key that is not a masternode: starts, says it will not sign
    fresh = os.path.join(node.dir, "fresh.key")
    run([dn.time_cli, "masternode", "genkey", "--out", fresh])
    node.conf_set("operator-key", fresh)
    dn.start(3)
    lines = start_line(dn, 3, "operator key is not a registered masternode")
    assert lines and "hint=" in lines[0] and fresh in lines[0], lines
    dn.stop(3)

    # no key configured and none in the data dir: a follower, and it says so
    node.conf_set("operator-key", None)
    assert not os.path.exists(os.path.join(node.dir, "operator.key"))
    dn.start(3)
    assert start_line(dn, 3, "no operator key: running as a follower")
    assert "self" not in dn.rpc(3, "getconsensusinfo")
