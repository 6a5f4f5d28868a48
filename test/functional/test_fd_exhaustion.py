"""Issue 11, attack 4: running a validator out of file descriptors.

One validator of a 4-node devnet runs with RLIMIT_NOFILE 1024 (soft and
hard, set by prlimit before exec, so the node's own raise cannot lift it).
The test opens ~1,100 idle TCP sockets to its metrics port and ~1,100 to its
RPC port, holds them 20 s and opens again whatever the node closed halfway
through. The validator must keep committing (no gap over MAX_GAP_S in its
own "block committed" lines), never exit, write no more than MAX_REFUSAL_LINES
log lines about accepting or refusing connections, keep writing its sign log
(consensus.log grows), and answer RPC again once the sockets are gone.

Before the bounded listeners (evhttp, no cap, accept() retried at once on
EMFILE) the validator filled its descriptor table with the idle sockets,
logged tens of thousands of accept errors a second, and exited when the sign
log could not create consensus.lock.
"""
import os
import re
import resource
import socket
import stat
import time
from datetime import datetime

import pytest

from framework import LOOPBACK, scaled

N_EACH = 1100          # idle sockets per port
HOLD_S = 20            # how long they are held
FD_LIMIT = 1024
MAX_GAP_S = 10         # longest commit gap allowed on the attacked validator
MAX_REFUSAL_LINES = 300
FLAGS = ("--block-interval-ms", "1000")
TS = re.compile(r'^ts=(\S+) .*msg="block committed" height=(\d+)')
ACCEPT_LINE = re.compile(r"accept|connections refused", re.IGNORECASE)


def wrapper(tmp_path, timed):
    """A launcher that lowers RLIMIT_NOFILE (soft and hard) and execs timed,
    so the pid the framework holds is the node's."""
    path = tmp_path / "timed-nofile"
    path.write_text(f'#!/bin/sh\nexec prlimit --nofile={FD_LIMIT}:{FD_LIMIT} -- "{timed}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def open_idle(port, n):
    """n non-blocking connects to port; returns the sockets (some may fail)."""
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((LOOPBACK, port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        out.append(s)
    return out


def reopen_closed(socks, port):
    """Replaces every socket the server has closed or refused (EOF, reset, or
    a 503 waiting) by a fresh one; returns how many were replaced."""
    replaced = 0
    for i, s in enumerate(socks):
        try:
            s.recv(1, socket.MSG_PEEK)
            closed = True               # EOF or an answer: the node is done with it
        except BlockingIOError:
            closed = False              # still open and idle
        except OSError:
            closed = True
        if closed:
            s.close()
            fresh = open_idle(port, 1)
            if fresh:
                socks[i] = fresh[0]
                replaced += 1
    return replaced


def commits(log_text):
    """[(unix seconds, height)] of the node's "block committed" lines."""
    out = []
    for line in log_text.splitlines():
        m = TS.match(line)
        if m:
            t = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
            out.append((t, int(m.group(2))))
    return out


def max_gap(points, start, end):
    """Longest time in [start, end] without a commit."""
    times = [start] + [t for t, _ in points if start <= t <= end] + [end]
    return max(b - a for a, b in zip(times, times[1:]))


@pytest.mark.needs_daemon
def test_idle_sockets_do_not_exhaust_a_validator(devnet_factory, tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * N_EACH + 200
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"the test needs {need} descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))

    dn = devnet_factory(nodes=4)
    real = dn.timed
    dn.timed = wrapper(tmp_path, real)
    dn.start(0, *FLAGS, wait=False)
    dn.timed = real
    for i in range(1, 4):
        dn.start(i, *FLAGS, wait=False)
    for i in range(4):
        dn.wait_ready(i)
    node = dn.node(0)
    limits = open(f"/proc/{node.process.pid}/limits").read()
    assert re.search(r"Max open files\s+%d\s+%d" % (FD_LIMIT, FD_LIMIT), limits), limits
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 3, timeout=60)

    log_before = len(node.log.read_text(errors="replace").splitlines())
    signlog = node.dir / "consensus.log"
    signlog_size = signlog.stat().st_size
    start = time.time()
    socks_m = open_idle(node.metrics_port, N_EACH)
    socks_r = open_idle(node.rpc_port, N_EACH)
    opened = len(socks_m) + len(socks_r)
    replaced = None
    try:
        while time.time() - start < HOLD_S:  # the full hold, even if the node dies
            time.sleep(0.5)
            if replaced is None and time.time() - start >= HOLD_S / 2:
                replaced = reopen_closed(socks_m, node.metrics_port)
                replaced += reopen_closed(socks_r, node.rpc_port)
        end = time.time()
        alive = node.running()
    finally:
        for s in socks_m + socks_r:
            s.close()

    text = node.log.read_text(errors="replace")
    lines = text.splitlines()[log_before:]
    refusal_lines = [l for l in lines if ACCEPT_LINE.search(l)]
    gap = max_gap(commits(text), start, end)
    grew = signlog.stat().st_size - signlog_size
    print(f"\nfd exhaustion: opened={opened} reopened={replaced} alive={alive} "
          f"max_commit_gap_s={gap:.1f} refusal_log_lines={len(refusal_lines)} "
          f"signlog_growth={grew}")
    assert alive, "the validator exited under idle sockets"
    assert gap <= scaled(MAX_GAP_S), f"validator 0 went {gap:.1f} s without a commit"
    assert len(refusal_lines) <= MAX_REFUSAL_LINES, \
        f"{len(refusal_lines)} log lines about accepting: {refusal_lines[:3]}"
    assert grew > 0, "the sign log was not written during the attack"
    assert not any("consensus.lock" in l and "level=error" in l for l in lines)
    # RPC answers again once the sockets are gone.
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") > 0, timeout=15, ignore=(OSError,))
