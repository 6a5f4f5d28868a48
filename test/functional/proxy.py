"""A fault-injecting TCP proxy for functional tests (stdlib, threads).

    with FaultProxy(target_port=node_p2p_port, seed=7) as p:
        # point a node at 127.0.0.1:p.port instead of the target
        p.set_delay(200, jitter_ms=50)   # each chunk delivered >= 200 ms after it arrived
        p.set_bandwidth(100_000)         # bytes/s per direction of each connection
        p.set_drop(0.01)                 # see "loss" below
        p.pause(); p.resume()            # partition: hold everything, then deliver it
        p.cut(); p.heal()                # reset every connection and refuse new ones

Faults apply per chunk, a chunk being what one recv() returned. A TCP stream
cannot lose bytes silently, so "loss" here is a connection reset: with the
drop probability, a chunk is cut at a random point, the bytes before that
point (never all of it) are delivered and then both sides get an RST. The peer sees what a real
lossy path eventually produces: a broken connection after N bytes.

While paused the proxy neither reads nor writes, so data is held in its
queues and in the kernel's buffers (senders feel back-pressure); connections
accepted meanwhile are not forwarded until resume. While cut, open
connections are reset and new ones are accepted and reset at once: the port
stays ours, so nothing else can take it, and clients see ECONNRESET where a
dead host would give a refusal or a timeout.

With a seed, the random choices (jitter, which chunk is cut and where) are
drawn from a generator per connection and direction, seeded from (seed,
connection number, direction): the same chunks on the same connections give
the same faults, whatever the thread timing.

Only 127.0.0.1 is ever listened on or connected to, unless a test that made
its own network namespaces names their addresses (host=, target_host=). Every thread polls with a
short timeout and exits on stop(); stop() joins them all with a bound.
"""

import collections
import random
import select
import socket
import struct
import threading
import time

LOOPBACK = "127.0.0.1"
POLL = 0.05           # s; the longest any thread goes without looking at the controls
CHUNK = 65536
MAX_QUEUED = 4 << 20  # bytes held per direction before the proxy stops reading
_EOF, _RESET = "eof", "reset"


def _reset(sock):
    """Closes sock with an RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class FaultProxy:
    """Listens on 127.0.0.1:listen_port (0: any free port, see .port) and
    forwards each connection to 127.0.0.1:target_port, with faults."""

    def __init__(self, target_port, listen_port=0, seed=0, name="faultproxy", host=LOOPBACK,
                 target_host=LOOPBACK):
        self.target = (target_host, int(target_port))
        self.host = host
        self.name = name
        self.seed = seed
        self._want_port = listen_port
        self._cond = threading.Condition()
        self._delay_ms = 0.0
        self._jitter_ms = 0.0
        self._drop = 0.0
        self._bandwidth = None
        self._paused = False
        self._cut = False
        self._stopping = False
        self._conns = set()
        self._threads = []
        self._listener = None
        self.port = None
        self.accepted = 0      # connections accepted, ever
        self.resets = 0        # connections reset by a fault (drop, cut)
        self.bytes_up = 0      # client -> target, bytes delivered
        self.bytes_down = 0    # target -> client

    # -- lifecycle --

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((self.host, self._want_port))
            s.listen(128)
        except OSError:
            s.close()
            raise
        s.setblocking(False)
        self._listener = s
        self.port = s.getsockname()[1]
        self._spawn(self._accept_loop, "accept")
        return self

    def stop(self, timeout=5.0):
        """Resets every connection and joins every thread (bounded).
        Returns True if all threads ended."""
        with self._cond:
            self._stopping = True
            conns = list(self._conns)
            self._cond.notify_all()
        for c in conns:
            c.close(reset=True)
        deadline = time.monotonic() + timeout
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))
        if self._listener is not None:
            self._listener.close()
        return not any(t.is_alive() for t in self._threads)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def threads_alive(self):
        return [t for t in self._threads if t.is_alive()]

    # -- controls (take effect within POLL seconds) --

    def set_delay(self, ms, jitter_ms=0):
        """Each chunk is delivered ms + uniform(0, jitter_ms) after it arrived
        (never before an earlier chunk: order is kept)."""
        with self._cond:
            self._delay_ms, self._jitter_ms = float(ms), float(jitter_ms)

    def set_drop(self, probability):
        """Probability per chunk that the connection is reset part-way through it."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be in [0, 1]")
        with self._cond:
            self._drop = float(probability)

    def set_bandwidth(self, bytes_per_s):
        """Limit per direction of each connection; None for no limit."""
        if bytes_per_s is not None and bytes_per_s <= 0:
            raise ValueError("bandwidth must be positive or None")
        with self._cond:
            self._bandwidth = bytes_per_s

    def pause(self):
        with self._cond:
            self._paused = True

    def resume(self):
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def cut(self):
        """Resets every open connection and refuses new ones until heal()."""
        with self._cond:
            self._cut = True
            conns = list(self._conns)
        for c in conns:
            self._fault_reset(c)

    def heal(self):
        with self._cond:
            self._cut = False
            self._cond.notify_all()

    def reset_connections(self):
        """Resets the open connections once; new ones are forwarded as usual."""
        with self._cond:
            conns = list(self._conns)
        for c in conns:
            self._fault_reset(c)

    def clear(self):
        """Removes every fault: no delay, drop or limit; resumed and healed."""
        with self._cond:
            self._delay_ms = self._jitter_ms = self._drop = 0.0
            self._bandwidth = None
            self._paused = self._cut = False
            self._cond.notify_all()

    @property
    def connections(self):
        with self._cond:
            return len(self._conns)

    # -- internals --

    def _spawn(self, fn, what, *args):
        t = threading.Thread(target=fn, args=args, name=f"{self.name}:{self.port}:{what}", daemon=True)
        with self._cond:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
        t.start()

    def _settings(self):
        with self._cond:
            return (self._paused, self._delay_ms, self._jitter_ms, self._drop, self._bandwidth)

    def _fault_reset(self, conn):
        conn.close(reset=True, fault=True)

    def _accept_loop(self):
        n = 0
        while not self._stopping:
            try:
                readable, _, _ = select.select([self._listener], [], [], POLL)
                if not readable:
                    continue
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return
            with self._cond:
                refuse = self._cut or self._stopping
                if not refuse:
                    n += 1
                    self.accepted += 1
                    conn = _Conn(self, client, n)
                    self._conns.add(conn)
            if refuse:
                _reset(client)
                continue
            self._spawn(self._connect_and_pump, f"conn{n}-up", conn)

    def _connect_and_pump(self, conn):
        with self._cond:  # a connection opened during a pause waits for resume
            while self._paused and not self._stopping and not conn.closed:
                self._cond.wait(POLL)
        if conn.closed or self._stopping:
            conn.close(reset=True)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            conn.close(reset=True)
            return
        if not conn.attach(upstream):
            return
        self._spawn(self._pump, f"conn{conn.number}-down", conn, upstream, conn.client, "down")
        self._pump(conn, conn.client, upstream, "up")

    def _pump(self, conn, src, dst, direction):
        """Moves one direction of one connection: reads chunks from src into
        a queue of (due time, bytes) and writes them to dst when due."""
        rng = random.Random(f"{self.seed}:{conn.number}:{direction}")
        queue = collections.deque()
        queued = 0
        reading = True
        last_due = 0.0
        next_send = 0.0  # bandwidth: earliest time of the next write
        try:
            while not conn.closed and not self._stopping:
                paused, delay_ms, jitter_ms, drop, bandwidth = self._settings()
                now = time.monotonic()
                want_read = reading and not paused and queued < MAX_QUEUED
                head_due = queue[0][0] if queue else None
                want_write = (not paused and head_due is not None and head_due <= now
                              and next_send <= now)
                wait = POLL
                if not paused and head_due is not None:
                    wait = min(wait, max(0.0, max(head_due, next_send) - now))
                if not want_read and not want_write and wait > 0:
                    time.sleep(wait)  # nothing to select on: waiting for a due time or the controls
                    continue
                r, w, _ = select.select([src] if want_read else [], [dst] if want_write else [], [],
                                        POLL if want_write else wait)
                if r:
                    data = src.recv(CHUNK)
                    now = time.monotonic()
                    due = max(last_due, now + (delay_ms + (rng.uniform(0, jitter_ms) if jitter_ms else 0)) / 1000)
                    last_due = due
                    if not data:
                        queue.append((due, _EOF))
                        reading = False
                    elif drop and rng.random() < drop:
                        keep = rng.randrange(len(data))  # at least one byte is lost
                        if keep:
                            queue.append((due, data[:keep]))
                            queued += keep
                        queue.append((due, _RESET))
                        reading = False
                    else:
                        queue.append((due, data))
                        queued += len(data)
                if w:
                    due, item = queue[0]
                    if item is _EOF:
                        dst.shutdown(socket.SHUT_WR)
                        conn.half_closed(direction)
                        return
                    if item is _RESET:
                        self._fault_reset(conn)
                        return
                    piece = item if bandwidth is None else item[:max(1, int(bandwidth * POLL / 2))]
                    sent = dst.send(piece)
                    queued -= sent
                    if sent == len(item):
                        queue.popleft()
                    else:
                        queue[0] = (due, item[sent:])
                    with self._cond:
                        if direction == "up":
                            self.bytes_up += sent
                        else:
                            self.bytes_down += sent
                    if bandwidth is not None:
                        next_send = max(next_send, time.monotonic()) + sent / bandwidth
        except (OSError, ValueError):  # peer reset, or the socket was closed under us
            conn.close(reset=True)


class _Conn:
    """A proxied connection: the client socket and, once connected, upstream."""

    def __init__(self, proxy, client, number):
        self.proxy = proxy
        self.client = client
        self.number = number
        self.upstream = None
        self.closed = False
        self._done = set()
        self._lock = threading.Lock()
        client.setblocking(False)

    def attach(self, upstream):
        with self._lock:
            if self.closed:
                _reset(upstream)
                return False
            upstream.setblocking(False)
            self.upstream = upstream
            return True

    def half_closed(self, direction):
        with self._lock:
            self._done.add(direction)
            both = len(self._done) == 2
        if both:
            self.close(reset=False)

    def close(self, reset, fault=False):
        """Closes both sockets (with an RST if reset); a fault is counted in
        proxy.resets before anyone can see the reset. True if this call closed it."""
        with self._lock:
            if self.closed:
                return False
            self.closed = True
            socks = [s for s in (self.client, self.upstream) if s is not None]
        if fault:
            with self.proxy._cond:
                self.proxy.resets += 1
        for s in socks:
            if reset:
                _reset(s)
            else:
                s.close()
        with self.proxy._cond:
            self.proxy._conns.discard(self)
        return True
