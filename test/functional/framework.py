"""Functional test framework: real `timed` processes on loopback.

A Devnet is a directory made by `time-cli devnet init` (DESIGN.md §10) plus
the `timed` processes started from it. Everything it starts is stopped by
cleanup() (SIGTERM, then SIGKILL after a bound), every wait is bounded, and
it only ever talks to 127.0.0.1. See README.md for the API in one page.

Stdlib only; runs on Debian's /usr/bin/python3.
"""

import atexit
import base64
import fcntl
import inspect
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

from proxy import FaultProxy

LOOPBACK = "127.0.0.1"

# The RPC cookie file the node writes to its data dir ("user:password").
COOKIE_FILE = ".cookie"
LOG_FILE = "timed.log"
CONF_FILE = "time.conf"

# DESIGN.md §10: node i listens on P2P P+10i, RPC P+10i+1, metrics P+10i+2.
NODE_PORT_STRIDE = 10
P2P_OFFSET, RPC_OFFSET, METRICS_OFFSET = 0, 1, 2

REPO_ROOT = Path(__file__).resolve().parents[2]

# Every timeout below is multiplied by this (TC_TIMEOUT_FACTOR=3 on a slow box).
TIMEOUT_FACTOR = float(os.environ.get("TC_TIMEOUT_FACTOR", "1"))

START_TIMEOUT = 60      # s until a started node answers RPC
STOP_TIMEOUT = 15       # s a node gets after SIGTERM before SIGKILL (contract: 10)
KILL_TIMEOUT = 10       # s for the kernel to reap a SIGKILLed process
RPC_TIMEOUT = 30        # s per HTTP request
CLI_TIMEOUT = 60        # s per time-cli / timed command run to completion
LOG_TAIL_LINES = 80


def scaled(seconds):
    return seconds * TIMEOUT_FACTOR


def timed_path():
    """build/timed of this checkout, or $TIMED."""
    return os.environ.get("TIMED") or str(REPO_ROOT / "build" / "timed")


def time_cli_path():
    """build/time-cli of this checkout, or $TIME_CLI."""
    return os.environ.get("TIME_CLI") or str(REPO_ROOT / "build" / "time-cli")


# ---- errors ------------------------------------------------------------------

class JSONRPCError(Exception):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, code, message, data=None, http_status=None):
        super().__init__(f"JSON-RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data
        self.http_status = http_status


class RPCHTTPError(Exception):
    """The RPC endpoint answered with something that is not JSON-RPC (401, ...)."""

    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body


class NodeError(AssertionError):
    """A node did not behave as the test needed (exited, would not stop, ...)."""


class WaitTimeout(AssertionError):
    pass


# ---- processes and waits -----------------------------------------------------

class Result(NamedTuple):
    rc: int
    stdout: str
    stderr: str


def run(argv, timeout=CLI_TIMEOUT, input=None, env=None, cwd=None):
    """Runs argv to completion (bounded); returns Result(rc, stdout, stderr)."""
    argv = [str(a) for a in argv]
    try:
        p = subprocess.run(argv, input=input, capture_output=True, text=True,
                           timeout=scaled(timeout), env=env, cwd=cwd)
    except subprocess.TimeoutExpired as e:  # run() has killed it already
        raise AssertionError(f"{' '.join(argv)} did not finish within {scaled(timeout):.0f} s;"
                             f" stdout={e.stdout!r} stderr={e.stderr!r}") from None
    return Result(p.returncode, p.stdout, p.stderr)


def _describe(predicate):
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return getattr(predicate, "__name__", repr(predicate))


def wait_until(predicate, timeout=60, interval=0.05, message=None, ignore=(), check=None):
    """Polls predicate() until it returns something truthy, and returns it.

    timeout is scaled by TC_TIMEOUT_FACTOR. Exceptions of the types in
    `ignore` count as "not yet"; `check()` runs before each poll and may
    raise to abort early (Devnet uses it to fail fast when a node dies).
    Raises WaitTimeout naming what was awaited and the last ignored error.
    """
    deadline = time.monotonic() + scaled(timeout)
    last_error = None
    while True:
        if check is not None:
            check()
        try:
            value = predicate()
            if value:
                return value
        except ignore as e:
            last_error = e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    what = message or _describe(predicate)
    detail = f" (last error: {last_error!r})" if last_error is not None else ""
    raise WaitTimeout(f"timed out after {scaled(timeout):.1f} s waiting for: {what}{detail}")


# ---- ports -------------------------------------------------------------------

# Bases are taken from fixed slots below the kernel's ephemeral range, so an
# outgoing connection never sits on a node's port, and away from the default
# devnet base 24200 used by `make devnet`. A slot is held with an flock on a
# file shared by every test process on the machine, so concurrent runs (and
# tests within a run) never get the same ports.
PORT_SLOT = 200
PORT_FIRST, PORT_LAST = 20000, 32000
PORT_AVOID = (24000, 24400)
_PORT_LOCK_DIR = Path(tempfile.gettempdir()) / "timecoin-test-ports"


def _ephemeral_range():
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
            return True
        except OSError:
            return False


class PortReservation:
    """Base port P with P+10i+{0,1,2} free for i < n_nodes; held until release()."""

    def __init__(self, n_nodes):
        span = NODE_PORT_STRIDE * (n_nodes - 1) + METRICS_OFFSET + 1
        if n_nodes < 1 or span > PORT_SLOT:
            raise ValueError(f"{n_nodes} nodes do not fit a port slot of {PORT_SLOT}")
        self.n_nodes = n_nodes
        self.base = None
        self._fd = None
        eph_lo, eph_hi = _ephemeral_range()
        bases = [b for b in range(PORT_FIRST, PORT_LAST, PORT_SLOT)
                 if not (b < PORT_AVOID[1] and b + PORT_SLOT > PORT_AVOID[0])
                 and not (b < eph_hi + 1 and b + PORT_SLOT > eph_lo)]
        random.Random().shuffle(bases)
        _PORT_LOCK_DIR.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(_PORT_LOCK_DIR, 0o1777)  # shared by every user, like /tmp
        except OSError:
            pass
        for base in bases:
            fd = self._lock(base)
            if fd is None:
                continue
            if all(port_is_free(p) for p in self.ports(base)):
                self.base, self._fd = base, fd
                return
            os.close(fd)
        raise RuntimeError(f"no free port slot for {n_nodes} nodes in {PORT_FIRST}-{PORT_LAST}")

    def ports(self, base):
        return [base + NODE_PORT_STRIDE * i + off
                for i in range(self.n_nodes) for off in (P2P_OFFSET, RPC_OFFSET, METRICS_OFFSET)]

    @staticmethod
    def _lock(base):
        try:
            fd = os.open(_PORT_LOCK_DIR / f"{base}.lock", os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            os.close(fd)
            return None

    def release(self):
        if self._fd is not None:
            os.close(self._fd)  # drops the flock
            self._fd = None


# ---- HTTP on loopback --------------------------------------------------------

# No ProxyHandler entries: $http_proxy must never route a test off the machine.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_request(port, path="/", method="GET", body=None, headers=None, timeout=RPC_TIMEOUT, host=LOOPBACK):
    """One HTTP request to host:port (127.0.0.1 unless a test made a network
    namespace). Returns (status, headers, body bytes); HTTP error statuses
    are returned, not raised. Connection errors raise."""
    req = urllib.request.Request(f"http://{host}:{int(port)}{path}", data=body,
                                 method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=scaled(timeout)) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


def basic_auth(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# ---- the devnet --------------------------------------------------------------

_LIVE_DEVNETS = set()


@atexit.register
def _kill_leftovers():
    # Last resort when the interpreter exits without fixture teardown.
    for dn in list(_LIVE_DEVNETS):
        for node in dn.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()


def _parse_conf(text):
    """time.conf lines as [(key, value)], comments and [main] dropped."""
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        pairs.append((key.strip(), value.strip()))
    return pairs


def _port_of(addr):
    return int(addr.rsplit(":", 1)[1])


class Node:
    """One node of a Devnet: its directory and, while started, its process."""

    def __init__(self, devnet, index):
        self.devnet = devnet
        self.index = index
        self.dir = devnet.dir / f"node{index}"
        self.conf = self.dir / CONF_FILE
        self.log = self.dir / LOG_FILE
        self.process = None
        self.exec_prefix = []  # e.g. ["ip", "netns", "exec", NS]: where timed runs
        self.args = ()
        self.exit_expected = False

    @property
    def name(self):
        return f"node{self.index}"

    def running(self):
        return self.process is not None and self.process.poll() is None

    def conf_values(self, key):
        return [v for k, v in _parse_conf(self.conf.read_text()) if k == key]

    def conf_get(self, key, default=None):
        values = self.conf_values(key)
        return values[-1] if values else default

    def conf_set(self, key, values):
        """Replaces every `key = …` line with one line per value (a str or a
        list; [] or None removes the key). Takes effect at the next start."""
        if values is None:
            values = []
        elif isinstance(values, str):
            values = [values]
        kept = [line for line in self.conf.read_text().splitlines()
                if not (line.strip() and line.strip()[0] not in "#;["
                        and "=" in line and line.split("=", 1)[0].strip() == key)]
        kept += [f"{key} = {v}" for v in values]
        self.conf.write_text("\n".join(kept) + "\n")

    def _port(self, key, offset):
        addr = self.conf_get(key)
        if addr:
            return _port_of(addr)
        return self.devnet.base_port + NODE_PORT_STRIDE * self.index + offset

    @property
    def p2p_port(self):
        return self._port("listen", P2P_OFFSET)

    def _host(self, key):
        addr = self.conf_get(key)
        return addr.rsplit(":", 1)[0] if addr else LOOPBACK

    @property
    def rpc_host(self):
        return self._host("rpc-listen")

    @property
    def metrics_host(self):
        return self._host("metrics-listen")

    @property
    def rpc_port(self):
        return self._port("rpc-listen", RPC_OFFSET)

    @property
    def metrics_port(self):
        return self._port("metrics-listen", METRICS_OFFSET)

    def log_tail(self, lines=LOG_TAIL_LINES):
        try:
            with open(self.log, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 256 * lines))
                data = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(data.splitlines()[-lines:])


class Devnet:
    """N nodes from `time-cli devnet init` in `directory`, on free ports.

    Nodes are addressed by index. Construct, then init(); use as a context
    manager or call cleanup() (the pytest fixtures in conftest.py do both).
    """

    def __init__(self, directory, n_nodes=4, timed=None, time_cli=None):
        self.dir = Path(directory)
        self.n_nodes = n_nodes
        self.timed = timed or timed_path()
        self.time_cli = time_cli or time_cli_path()
        self._ports = PortReservation(n_nodes)
        self.base_port = self._ports.base
        self.nodes = [Node(self, i) for i in range(n_nodes)]
        self.proxies = []
        self._rpc_ids = itertools.count(1)
        _LIVE_DEVNETS.add(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def node(self, i):
        return self.nodes[i]

    # -- setup --

    def init(self, *extra_args):
        """Runs `time-cli devnet init --nodes N --dir DIR --base-port P`."""
        r = run([self.time_cli, "devnet", "init", "--nodes", self.n_nodes, "--dir", self.dir,
                 "--base-port", self.base_port, *extra_args])
        if r.rc != 0:
            raise NodeError(f"time-cli devnet init failed (exit {r.rc}): {r.stderr.strip()}")
        return r

    # -- processes --

    def start(self, i, *extra_args, wait=True, timeout=START_TIMEOUT, env=None):
        """Starts `timed --config DIR/node<i>/time.conf [extra_args]`, output
        appended to DIR/node<i>/timed.log; with wait, returns once its RPC answers.
        env: variables added to this process's environment (test hooks such
        as TC_TEST_WALL_OFFSET_MS)."""
        node = self.nodes[i]
        if node.running():
            raise NodeError(f"{node.name} is already running (pid {node.process.pid})")
        argv = [*node.exec_prefix, self.timed, "--config", str(node.conf), *map(str, extra_args)]
        with open(node.log, "ab") as log:
            log.write(f"--- framework: starting {' '.join(argv)}\n".encode())
            log.flush()
            node.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, cwd=node.dir,
                                            env={**os.environ, **env} if env else None)
        node.args = tuple(extra_args)
        node.exit_expected = False
        if wait:
            self.wait_ready(i, timeout)
        return node.process

    def start_all(self, *extra_args, wait=True):
        for i in range(self.n_nodes):
            self.start(i, *extra_args, wait=False)
        if wait:
            for i in range(self.n_nodes):
                self.wait_ready(i)

    def wait_ready(self, i, timeout=START_TIMEOUT):
        """Waits until node i answers an RPC call (even with an error)."""
        def answers():
            try:
                self.rpc(i, "getblockcount", timeout=5)
            except JSONRPCError:
                pass
            return True
        wait_until(answers, timeout, interval=0.1, message=f"{self.nodes[i].name} to answer RPC",
                   ignore=(OSError, RPCHTTPError, ValueError), check=lambda: self.check_alive(i))

    def check_alive(self, *indexes):
        """Raises NodeError (with the log tail) if a started node has exited
        without the test asking for it. No indexes: every node."""
        for node in (self.nodes[i] for i in indexes) if indexes else self.nodes:
            if node.process is not None and not node.exit_expected and node.process.poll() is not None:
                raise NodeError(f"{node.name} exited unexpectedly with {node.process.returncode};"
                                f" last lines of {node.log}:\n{node.log_tail()}")

    def _started(self, i):
        node = self.nodes[i]
        if node.process is None:
            raise NodeError(f"{node.name} was never started")
        return node

    def stop(self, i, timeout=STOP_TIMEOUT):
        """SIGTERM, then waits; SIGKILL and NodeError if it takes longer than
        timeout. Returns the exit code."""
        node = self._started(i)
        node.exit_expected = True
        if node.process.poll() is None:
            node.process.send_signal(signal.SIGCONT)  # a SIGSTOPped node must see the TERM
            node.process.terminate()
        try:
            return node.process.wait(scaled(timeout))
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait(scaled(KILL_TIMEOUT))
            raise NodeError(f"{node.name} did not exit within {scaled(timeout):.0f} s of SIGTERM;"
                            f" killed. Last lines:\n{node.log_tail()}") from None

    def kill(self, i):
        """SIGKILL (kill -9) and reap. Returns the exit code (-9)."""
        node = self._started(i)
        node.exit_expected = True
        if node.process.poll() is None:
            node.process.kill()
        return node.process.wait(scaled(KILL_TIMEOUT))

    def wait_exit(self, i, timeout=STOP_TIMEOUT):
        """Waits for node i to exit by itself (e.g. after the `stop` RPC)."""
        node = self._started(i)
        node.exit_expected = True
        try:
            return node.process.wait(scaled(timeout))
        except subprocess.TimeoutExpired:
            raise NodeError(f"{node.name} still running after {scaled(timeout):.0f} s") from None

    def sigstop(self, i):
        self._started(i).process.send_signal(signal.SIGSTOP)

    def sigcont(self, i):
        self._started(i).process.send_signal(signal.SIGCONT)

    def restart(self, i, *extra_args, wait=True):
        """stop (if running) then start, with the previous start's args by default."""
        node = self.nodes[i]
        if node.running():
            self.stop(i)
        self.start(i, *(extra_args or node.args), wait=wait)

    # -- talking to nodes --

    def rpc_auth(self, i):
        """Basic-auth header from rpcuser/rpcpassword in time.conf, else the cookie."""
        node = self.nodes[i]
        user, password = node.conf_get("rpcuser"), node.conf_get("rpcpassword")
        if user is None:
            user, password = (node.dir / COOKIE_FILE).read_text().strip().split(":", 1)
        return basic_auth(user, password)

    def rpc(self, i, method, *params, timeout=RPC_TIMEOUT, **named):
        """Calls node i; returns the result or raises JSONRPCError /
        RPCHTTPError. Named arguments are sent as by-name params."""
        if params and named:
            raise ValueError("positional or named params, not both")
        request = {"jsonrpc": "2.0", "id": next(self._rpc_ids), "method": method,
                   "params": named if named else list(params)}
        headers = {"Content-Type": "application/json", **self.rpc_auth(i)}
        status, _, body = http_request(self.nodes[i].rpc_port, "/", "POST",
                                       json.dumps(request).encode(), headers, timeout, self.nodes[i].rpc_host)
        try:
            reply = json.loads(body)
        except ValueError:
            raise RPCHTTPError(status, body) from None
        if not isinstance(reply, dict):
            raise RPCHTTPError(status, body)
        error = reply.get("error")
        if error:
            raise JSONRPCError(error.get("code"), error.get("message"), error.get("data"), status)
        if status != 200 or "result" not in reply:
            raise RPCHTTPError(status, body)
        return reply["result"]

    def rpc_raw(self, i, body, headers=None, auth=True, timeout=RPC_TIMEOUT):
        """POSTs raw bytes to node i's RPC port (malformed JSON, batches, bad
        auth...). Returns (status, headers, body bytes)."""
        h = {"Content-Type": "application/json", **(self.rpc_auth(i) if auth else {}), **(headers or {})}
        return http_request(self.nodes[i].rpc_port, "/", "POST", body, h, timeout, self.nodes[i].rpc_host)

    def http_get(self, i, path, timeout=RPC_TIMEOUT):
        """GET on node i's metrics listener: (status, body text)."""
        status, _, body = http_request(self.nodes[i].metrics_port, path, timeout=timeout,
                                       host=self.nodes[i].metrics_host)
        return status, body.decode(errors="replace")

    def metrics(self, i):
        """/metrics text (Prometheus format); NodeError unless 200."""
        status, text = self.http_get(i, "/metrics")
        if status != 200:
            raise NodeError(f"{self.nodes[i].name} /metrics answered {status}: {text[:200]}")
        return text

    def health(self, i):
        """(status, parsed JSON or the raw text) of /health."""
        status, text = self.http_get(i, "/health")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def cli(self, i, *args, timeout=CLI_TIMEOUT, input=None, env=None):
        """Runs `time-cli --datadir DIR/node<i> ARGS…`; returns Result(rc, stdout, stderr)."""
        return run([self.time_cli, "--datadir", self.nodes[i].dir, *args],
                   timeout=timeout, input=input, env=env)

    def wait_until(self, predicate, timeout=60, interval=0.05, message=None, ignore=()):
        """wait_until that also fails at once if a node dies unexpectedly."""
        return wait_until(predicate, timeout, interval, message, ignore, check=self.check_alive)

    # -- proxies --

    def add_proxy(self, target_port, **kwargs):
        """Starts a FaultProxy (proxy.py) to 127.0.0.1:target_port, stopped at cleanup."""
        p = FaultProxy(target_port, **kwargs).start()
        self.proxies.append(p)
        return p

    # -- teardown --

    def log_sections(self, lines=LOG_TAIL_LINES):
        """[(title, last lines of the log)] for every node that has a log."""
        return [(f"{n.name} {n.log} (last {lines} lines)", n.log_tail(lines))
                for n in self.nodes if n.log.exists()]

    def cleanup(self):
        """Stops every process and proxy; releases the ports. Never raises for
        a process; returns a list of problems for the caller to report: a node
        that died without the test asking, exited non-zero on SIGTERM or
        ignored it."""
        problems = []
        try:
            problems += self._stop_processes()
        finally:
            for p in self.proxies:
                p.stop()
            self.proxies = []
            self._ports.release()
            _LIVE_DEVNETS.discard(self)
        return problems

    def _stop_processes(self):
        problems = []
        live = [n for n in self.nodes if n.process is not None and n.process.poll() is None]
        for n in self.nodes:
            if n.process is not None and not n.exit_expected and n not in live:
                problems.append(f"{n.name} exited unexpectedly with {n.process.returncode}")
        for n in live:
            n.process.send_signal(signal.SIGCONT)
            n.process.terminate()
        deadline = time.monotonic() + scaled(STOP_TIMEOUT)
        for n in live:
            n.exit_expected = True
            try:
                rc = n.process.wait(max(0.0, deadline - time.monotonic()))
                if rc != 0:
                    problems.append(f"{n.name} exited with {rc} after SIGTERM")
            except subprocess.TimeoutExpired:
                n.process.kill()
                try:
                    n.process.wait(scaled(KILL_TIMEOUT))
                except subprocess.TimeoutExpired:
                    problems.append(f"{n.name} (pid {n.process.pid}) survived SIGKILL")
                problems.append(f"{n.name} did not exit within {scaled(STOP_TIMEOUT):.0f} s of SIGTERM; killed")
        return problems
