"""Disk full, twice: a validator whose data dir is on a small tmpfs runs out
of space, exits cleanly; restarted on the still-full disk it neither spins
nor admits payments it could never commit, and /health says why; once space
is freed it catches up by itself (docs/troubleshooting.md, "Disk full")."""
import os
import re
import subprocess
import time
import uuid

import pytest

from framework import run, scaled

NODE = 3
TMPFS_MB = 24


def _mount_tmpfs():
    path = f"/tmp/store-dfull-{uuid.uuid4().hex[:8]}"
    os.mkdir(path)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m,mode=0700", "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(path)
        pytest.skip(f"cannot mount a tmpfs ({r.stderr.strip()})")
    return path


def _umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)
    try:
        os.rmdir(path)
    except OSError:
        pass


def _fill(path):
    """Fills the filesystem under path to the last byte (ENOSPC)."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (64 << 10, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def _log_since(node, mark):
    return node.log.read_bytes()[mark:].decode(errors="replace")


@pytest.fixture
def tmpfs():
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs for the data dir")
    path = _mount_tmpfs()
    yield path
    _umount(path)


def _send(dn, wallet, to, amount="1"):
    conf = str(dn.node(NODE).conf)
    return run([dn.time_cli, "--config", conf, "--wallet", wallet, "wallet", "send", to, amount])


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4, start=False)
def test_disk_full_twice(devnet, tmpfs):
    dn = devnet
    node = dn.node(NODE)
    node.conf_set("datadir", [tmpfs])
    node.conf_set("rpcuser", ["u"])
    node.conf_set("rpcpassword", ["p"])
    dn.start_all()
    dn.wait_until(lambda: dn.rpc(NODE, "getblockcount") >= 3, timeout=scaled(60))
    faucet = os.path.join(dn.dir, "faucet.wallet")
    to = run([dn.time_cli, "wallet", "create", "--wallet", os.path.join(dn.dir, "to.wallet"),
              "--unencrypted"]).stdout.strip()

    # First time: the disk fills under a running validator; it stops cleanly.
    filler = _fill(tmpfs)
    node.exit_expected = True
    rc = node.process.wait(scaled(60))
    first = node.log.read_text(errors="replace")
    assert rc == 2, f"exit code {rc}"
    # Whichever write fails first (the store, or the sign log's lock) names the disk.
    assert ("store: map or disk full" in first and f"path={tmpfs}" in first) or \
        "No space left on device" in first, first[-2000:]

    # Second time: restarted on the still-full disk, the others committing on.
    # It refuses to start (exit 2, the condition and the path named) before
    # its RPC listens, so nothing can be admitted; one message per start.
    for attempt in range(3):
        mark = node.log.stat().st_size
        dn.start(NODE, wait=False)
        node.exit_expected = True
        t0 = time.monotonic()
        rc = node.process.wait(scaled(30))
        elapsed = time.monotonic() - t0
        log = _log_since(node, mark)
        print(f"restart {attempt} on a full disk: exit {rc} after {elapsed:.2f} s, "
              f"{len(log.splitlines())} log lines")
        assert rc == 2, log
        assert "store: map or disk full" in log and tmpfs in log, log
        assert "free disk space" in log, log
        assert "JSON-RPC listening" not in log, "RPC opened on a node that cannot write:\n" + log
        assert len(re.findall(r"map or disk full", log)) <= 2, log
        assert len(log.splitlines()) <= 10, "spinning:\n" + log[-3000:]

    # Space freed: it starts, catches up with the others and takes payments.
    os.unlink(filler)
    dn.start(NODE)
    dn.wait_until(lambda: dn.rpc(NODE, "getblockcount") >= dn.rpc(0, "getblockcount") - 1, timeout=scaled(60))
    r = _send(dn, faucet, to)
    assert r.rc == 0, r.stderr
    status, body = dn.health(NODE)
    assert not any("disk full" in x for x in body.get("reasons", [])), body
