"""Damaged data never makes a validator misbehave (issue 15): a stopped
validator's data.mdb with 200 bytes flipped at random offsets (several
seeds), or cut to half its size. The node must refuse to start with a
message naming the file and the remedy, or start and keep to the network's
chain (no double sign seen by its peers, /health never 200 while
getblockhash names a block getblock cannot find); never die by a signal
(SIGBUS, SIGABRT) and never loop on a store error. `timed --verify-store`
must report the damage the start refused, and pass the undamaged copy."""
import os
import random
import re
import shutil
import signal
import time

import pytest

from framework import JSONRPCError, run, scaled

NODE = 3
SEEDS = [1, 2, 3, 4, 5, 6]
FLIPS = 200
WATCH_S = 8


def _flip(path, seed):
    data = bytearray(open(path, "rb").read())
    rng = random.Random(seed)
    for _ in range(FLIPS):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    open(path, "wb").write(data)


def _verify(dn):
    r = run([dn.timed, "--verify-store", "--config", str(dn.node(NODE).conf)])
    return r


def _consistent(dn):
    """getblockhash at every height names a block getblock returns."""
    h = dn.rpc(NODE, "getblockcount")
    for height in range(max(1, h - 5), h + 1):
        bh = dn.rpc(NODE, "getblockhash", height)
        dn.rpc(NODE, "getblock", bh)


def _double_signs(dn):
    n = 0
    for i in range(dn.n_nodes):
        if i != NODE:
            n += dn.node(i).log.read_text(errors="replace").count('msg="double sign seen"')
    return n


def _probe(dn, label):
    """Starts the damaged node; returns what happened, asserting the rules."""
    node = dn.node(NODE)
    mark = node.log.stat().st_size
    dn.start(NODE, wait=False)
    deadline = time.monotonic() + scaled(WATCH_S)
    while time.monotonic() < deadline and node.process.poll() is None:
        time.sleep(0.2)
    log = node.log.read_bytes()[mark:].decode(errors="replace")
    rc = node.process.poll()
    if rc is not None:
        node.exit_expected = True
        assert rc > 0 or "timed: fatal " + signal.Signals(-rc).name in log, \
            f"{label}: killed by {signal.Signals(-rc).name} without a word, last lines:\n{log[-2000:]}"
        assert re.search(r"data\.mdb|chain", log) and re.search(r"resync|restore", log), \
            f"{label}: exit {rc} without naming the file and the remedy:\n{log[-2000:]}"
        return "refused" if rc > 0 else "died (%s, named)" % signal.Signals(-rc).name
    # It runs: it must keep to the network and stay consistent.
    for _ in range(5):
        status, body = dn.health(NODE)
        try:
            _consistent(dn)
        except JSONRPCError as err:
            assert status != 200, f"{label}: /health 200 but the chain it serves is broken: {err}"
        time.sleep(0.5)
    errors = len(re.findall(r"level=error mod=store", log))
    assert errors < 20, f"{label}: {errors} store errors in {WATCH_S} s: a loop\n{log[-2000:]}"
    rc = dn.stop(NODE)
    assert rc is not None and rc >= 0, f"{label}: died by a signal at stop"
    return "ran"


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_damaged_store_never_misbehaves(devnet):
    dn = devnet
    dn.wait_until(lambda: min(dn.rpc(i, "getblockcount") for i in range(4)) >= 8, timeout=scaled(60))
    dn.stop(NODE)
    mdb = dn.node(NODE).dir / "chain" / "data.mdb"
    good = mdb.with_name("data.mdb.good")
    shutil.copyfile(mdb, good)
    r = _verify(dn)
    assert r.rc == 0 and "ok" in r.stdout, r
    print(f"\nintact: {r.stdout.strip()}")

    outcomes = []
    for seed in SEEDS:
        shutil.copyfile(good, mdb)
        _flip(mdb, seed)
        v = _verify(dn)
        assert v.rc in (0, 2), f"seed {seed}: --verify-store exit {v.rc}: {v.stderr[-500:]}"
        what = _probe(dn, f"seed {seed}")
        if what != "ran":
            assert v.rc == 2 and re.search(r"resync|restore", v.stderr), \
                f"seed {seed}: the start refused the store but --verify-store said {v.rc} {v.stdout}{v.stderr}"
        outcomes.append((seed, what, v.rc, (v.stderr or v.stdout).strip()[:160]))
    for o in outcomes:
        print("seed %d: start %s, --verify-store exit %d: %s" % o)
    assert _double_signs(dn) == 0, "a peer saw the damaged validator double-sign"

    # (b) half-truncated: refused at start, and by --verify-store.
    shutil.copyfile(good, mdb)
    os.truncate(mdb, mdb.stat().st_size // 2)
    v = _verify(dn)
    assert v.rc == 2 and "truncated" in v.stderr, v
    assert _probe(dn, "truncated") == "refused"

    shutil.copyfile(good, mdb)
    dn.start(NODE)
    dn.wait_until(lambda: dn.rpc(NODE, "getblockcount") >= dn.rpc(0, "getblockcount") - 1, timeout=scaled(30))


def _zero_pages(path, page=4096):
    """Zeroes every page of an LMDB file but its two meta pages, in place (the
    running node's map sees it), as a failing disk or a stray write would."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        for off in range(2 * page, size, page):
            f.seek(off)
            f.write(bytes(page))
        f.flush()
        os.fsync(f.fileno())


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_damage_while_running_stops_the_node(devnet):
    """Damage LMDB meets while the node runs stops it with exit 2 and the
    remedy, instead of a node that answers errors and builds on a store it
    cannot read; its peers keep committing."""
    dn = devnet
    dn.wait_until(lambda: min(dn.rpc(i, "getblockcount") for i in range(4)) >= 5, timeout=scaled(60))
    node = dn.node(NODE)
    # control: the intact store serves an old block and the node runs on
    dn.rpc(NODE, "getblock", dn.rpc(NODE, "getblockhash", 2))
    time.sleep(1.5)
    assert node.process.poll() is None
    mark = node.log.stat().st_size
    _zero_pages(node.dir / "chain" / "data.mdb")
    try:
        dn.rpc(NODE, "getblock", dn.rpc(NODE, "getblockhash", 2))
    except (JSONRPCError, OSError):
        pass  # the read fails (or the node is already stopping): what matters is that it stops
    rc = dn.wait_exit(NODE, timeout=10)
    log = node.log.read_bytes()[mark:].decode(errors="replace")
    assert rc == 2, f"exit {rc} after the store was damaged under it:\n{log[-2000:]}"
    assert "pages are damaged" in log and "--verify-store" in log, log[-2000:]
    assert re.search(r'msg=stopping reason="store: damaged" err="?MDB_', log), log[-2000:]
    h = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= h + 2, timeout=scaled(30))  # 3 of 4 go on
    v = _verify(dn)
    assert v.rc == 2, v
    print(f"\nstopped with exit {rc}; --verify-store: {v.stderr.strip()[:160]}")
