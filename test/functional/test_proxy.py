"""The fault-injecting proxy against an echo server on 127.0.0.1."""

import os
import socket
import threading
import time

import pytest

from proxy import FaultProxy

IO_TIMEOUT = 3.0  # s; every socket operation in these tests is bounded by it


class EchoServer:
    """Echoes every byte back; one thread per connection; stop() joins them."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.socks = []
        self.threads[0].start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(0.05)
            self.socks.append(conn)
            t = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _echo(self, conn):
        with conn:
            while not self.stopping:
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                try:
                    conn.sendall(data)
                except OSError:
                    return

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.join(2)
        self.listener.close()


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.stop()


@pytest.fixture
def proxy(echo):
    with FaultProxy(echo.port, seed=1) as p:
        yield p
    assert not p.threads_alive(), "proxy threads left running"


def connect(p):
    return socket.create_connection(("127.0.0.1", p.port), timeout=IO_TIMEOUT)


def recv_exactly(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def roundtrip(p, payload):
    with connect(p) as s:
        s.sendall(payload)
        return recv_exactly(s, len(payload))


def is_closed_by_peer(sock):
    """True if sock gets EOF or a reset within IO_TIMEOUT (and no data)."""
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def is_refused(p):
    """True if a new connection through p is refused or reset at any step
    (connect, send or the first read) without echoing anything."""
    try:
        with connect(p) as s:
            s.sendall(b"b")
            return is_closed_by_peer(s)
    except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError):
        return True


def test_passthrough_is_byte_identical(proxy):
    payload = os.urandom(1 << 20)
    with connect(proxy) as s:
        sender = threading.Thread(target=s.sendall, args=(payload,), daemon=True)
        sender.start()
        got = recv_exactly(s, len(payload))
        sender.join(IO_TIMEOUT)
    assert got == payload
    # The relay thread counts a chunk after its send returns, which can be
    # just after the client has read it: give the counters a moment.
    deadline = time.monotonic() + IO_TIMEOUT
    while proxy.bytes_down < len(payload) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.bytes_up == proxy.bytes_down == len(payload)


def test_delay_adds_latency_each_way(proxy):
    proxy.set_delay(150, jitter_ms=20)
    t0 = time.monotonic()
    assert roundtrip(proxy, b"ping") == b"ping"
    assert time.monotonic() - t0 >= 0.300  # 150 ms out, 150 ms back
    proxy.set_delay(0)
    t0 = time.monotonic()
    assert roundtrip(proxy, b"ping") == b"ping"
    assert time.monotonic() - t0 < 0.300


def test_bandwidth_limit(proxy):
    proxy.set_bandwidth(200_000)
    payload = os.urandom(100_000)
    t0 = time.monotonic()
    with connect(proxy) as s:
        sender = threading.Thread(target=s.sendall, args=(payload,), daemon=True)
        sender.start()
        assert recv_exactly(s, len(payload)) == payload
        sender.join(IO_TIMEOUT)
    assert time.monotonic() - t0 >= 0.45  # 100 kB at 200 kB/s, pipelined both ways


def test_cut_resets_and_refuses_until_heal(proxy):
    s = connect(proxy)
    s.sendall(b"a")
    assert recv_exactly(s, 1) == b"a"
    proxy.cut()
    assert is_closed_by_peer(s)
    s.close()
    assert is_refused(proxy)  # accepted and reset at once
    assert proxy.connections == 0
    proxy.heal()
    assert roundtrip(proxy, b"back") == b"back"


def test_pause_holds_and_resume_delivers(proxy):
    with connect(proxy) as s:
        s.sendall(b"x")
        assert recv_exactly(s, 1) == b"x"
        proxy.pause()
        time.sleep(0.1)  # the pumps see the pause within POLL (50 ms)
        s.sendall(b"held")
        s.settimeout(0.4)
        with pytest.raises(socket.timeout):
            s.recv(16)
        s.settimeout(IO_TIMEOUT)
        proxy.resume()
        assert recv_exactly(s, 4) == b"held"


def test_connection_opened_during_pause_is_forwarded_after_resume(proxy):
    proxy.pause()
    with connect(proxy) as s:
        s.sendall(b"late")
        s.settimeout(0.3)
        with pytest.raises(socket.timeout):
            s.recv(16)
        s.settimeout(IO_TIMEOUT)
        proxy.resume()
        assert recv_exactly(s, 4) == b"late"


def test_drop_resets_the_connection(proxy):
    proxy.set_drop(1.0)
    with connect(proxy) as s:
        s.sendall(b"lost" * 100)
        got = b""
        try:
            while len(got) < 400:
                chunk = s.recv(400)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
    assert len(got) < 400
    assert proxy.resets == 1


def drop_pattern(echo_port, seed):
    """Which of 12 one-chunk connections survive a 50 % drop."""
    pattern = []
    with FaultProxy(echo_port, seed=seed) as p:
        p.set_drop(0.5)
        for _ in range(12):
            try:
                pattern.append(roundtrip(p, b"0123456789"))
            except (ConnectionError, OSError):
                pattern.append(None)
    return pattern


def test_faults_are_deterministic_with_a_seed(echo):
    a = drop_pattern(echo.port, 42)
    assert a == drop_pattern(echo.port, 42)
    assert None in a and b"0123456789" in a  # both outcomes occur at 50 %


def test_stop_ends_every_thread(echo):
    p = FaultProxy(echo.port).start()
    socks = [connect(p) for _ in range(3)]
    for s in socks:
        s.sendall(b"hi")
        assert recv_exactly(s, 2) == b"hi"
    p.pause()
    assert p.stop() and not p.threads_alive()
    for s in socks:
        assert is_closed_by_peer(s)
        s.close()
