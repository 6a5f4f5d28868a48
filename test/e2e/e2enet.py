"""The links of an e2e devnet: every ordered pair of nodes (i -> j) goes
through its own FaultProxy, so one link can be cut, delayed or throttled.

Node i reaches node j at j's on-chain address; `peer-address` in node i's
time.conf reroutes that dial to the proxy of the link i -> j (src/net/route.h).
Inbound connections arrive from the proxy. A link i <-> j is cut by cutting
both proxies (i -> j and j -> i): whichever side dialled, the connection is
reset and new ones are refused.

Two modes, one interface (setup, cut, heal, slow, fast, down, up, close):

* ProcessNet: every node on 127.0.0.1, proxies on 127.0.0.1.
* NetnsNet (root): every node in its own network namespace with its own
  address, joined by a veth pair to a bridge this run creates; a proxy per
  link listens on its own address on the bridge. A partition adds blackhole
  routes inside the namespaces (packets to the far side's proxies are
  dropped, as on a real cut: TCP stalls, nothing is reset), a disconnect
  takes the node's veth down. Delay and bandwidth come from the proxies:
  `tc netem` is not available on the machines we run on (no sch_netem
  module), which `netem_available()` checks and the report states. Every
  namespace, veth and the bridge are removed on close, also after a failure
  (and by an atexit hook if the runner dies on an exception).
"""

import atexit
import ipaddress
import os
import random
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "functional"))

from proxy import FaultProxy  # noqa: E402


def netem_available():
    """Whether `tc qdisc ... netem` works here (checked on a dummy device
    in a throwaway namespace; never on the host's interfaces)."""
    ns = "tc-e2e-netem-%d" % os.getpid()
    try:
        if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode != 0:
            return False
        sh = ["ip", "netns", "exec", ns]
        subprocess.run(sh + ["ip", "link", "add", "d0", "type", "dummy"], capture_output=True)
        r = subprocess.run(sh + ["tc", "qdisc", "add", "dev", "d0", "root", "netem", "delay", "10ms"],
                           capture_output=True)
        return r.returncode == 0
    except OSError:
        return False
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


class ProcessNet:
    mode = "process"

    def __init__(self, dn, seed=0):
        self.dn = dn
        self.seed = seed
        self.n = dn.n_nodes
        self.proxy = {}  # (i, j) -> FaultProxy of the link i -> j

    def node_ip(self, i):
        return "127.0.0.1"

    def _proxy_hosts(self, i, j):
        return "127.0.0.1", "127.0.0.1"

    def setup(self):
        """Proxies for every ordered pair and the peer-address lines; call
        after `devnet init` and before the first start."""
        for i in range(self.n):
            routes = []
            for j in range(self.n):
                if i == j:
                    continue
                host, target_host = self._proxy_hosts(i, j)
                p = FaultProxy(self.dn.node(j).p2p_port, seed=self.seed * 1000 + i * 64 + j,
                               name=f"link{i}-{j}", host=host, target_host=target_host).start()
                self.dn.proxies.append(p)  # stopped by Devnet.cleanup
                self.proxy[(i, j)] = p
                routes.append(f"{self.node_ip(j)}:{self.dn.node(j).p2p_port}={p.address}")
            self.dn.node(i).conf_set("peer-address", routes)

    def links_of(self, nodes):
        nodes = set(nodes)
        return [(i, j) for (i, j) in self.proxy if i in nodes or j in nodes]

    def links_across(self, groups):
        side = {i: g for g, members in enumerate(groups) for i in members}
        return [(i, j) for (i, j) in self.proxy if side.get(i) != side.get(j)]

    def cut(self, links):
        for link in links:
            self.proxy[link].cut()

    def heal(self, links=None):
        for link in links if links is not None else list(self.proxy):
            self.proxy[link].heal()

    def down(self, i):
        """Every link of node i, both directions."""
        self.cut(self.links_of([i]))

    def up(self, i):
        self.heal(self.links_of([i]))

    def slow(self, delay_ms, jitter_ms=0, bandwidth=None, links=None):
        """delay_ms per direction (RTT = 2 x delay_ms), on every link by default."""
        for link in links if links is not None else list(self.proxy):
            self.proxy[link].set_delay(delay_ms, jitter_ms=jitter_ms)
            self.proxy[link].set_bandwidth(bandwidth)

    def fast(self):
        self.slow(0, 0, None)

    def close(self):
        pass  # the proxies are stopped with the devnet


class NetnsNet(ProcessNet):
    mode = "netns"
    MAX_NODES = 8

    def __init__(self, dn, seed=0):
        super().__init__(dn, seed)
        if os.geteuid() != 0:
            raise RuntimeError("netns mode needs root (ip netns, veth, bridge)")
        if self.n > self.MAX_NODES:
            raise RuntimeError(f"netns mode runs at most {self.MAX_NODES} nodes")
        tag = "%04x" % random.Random(os.getpid() ^ seed).randrange(1 << 16)
        self.bridge = "tcb" + tag
        self.ns = [f"tc-e2e-{tag}-{i}" for i in range(self.n)]
        self.veth = [f"tcv{tag}{i}" for i in range(self.n)]
        self.net = self._free_subnet()
        self.made = []  # ("ns", name) / ("link", name), for cleanup
        self.blackholes = set()  # (ns index, ip)
        atexit.register(self.close)

    # addresses: node i .1+i, bridge .254, the proxy of link i -> j .64+8i+j
    def _ip(self, last):
        return str(self.net.network_address + last)

    def node_ip(self, i):
        return self._ip(1 + i)

    def proxy_ip(self, i, j):
        return self._ip(64 + 8 * i + j)

    def _proxy_hosts(self, i, j):
        return self.proxy_ip(i, j), self.node_ip(j)

    @staticmethod
    def _free_subnet():
        used = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                              text=True).stdout
        for third in random.sample(range(1, 250), 249):
            net = ipaddress.ip_network(f"10.213.{third}.0/24")
            if str(net.network_address)[:-1] not in used:
                return net
        raise RuntimeError("no free 10.213.x.0/24 for the e2e bridge")

    def _ip_cmd(self, *args, ns=None, check=True):
        argv = (["ip", "netns", "exec", ns] if ns else []) + ["ip", *args]
        r = subprocess.run(argv, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
        return r

    def setup(self):
        self._ip_cmd("link", "add", self.bridge, "type", "bridge")
        self.made.append(("link", self.bridge))
        self._ip_cmd("addr", "add", f"{self._ip(254)}/24", "dev", self.bridge)
        for i in range(self.n):
            for j in range(self.n):
                if i != j:
                    self._ip_cmd("addr", "add", f"{self.proxy_ip(i, j)}/32", "dev", self.bridge)
        self._ip_cmd("link", "set", self.bridge, "up")
        for i in range(self.n):
            ns, veth = self.ns[i], self.veth[i]
            self._ip_cmd("netns", "add", ns)
            self.made.append(("ns", ns))
            self._ip_cmd("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self.made.append(("link", veth))
            self._ip_cmd("link", "set", veth, "master", self.bridge, "up")
            self._ip_cmd("link", "set", "lo", "up", ns=ns)
            self._ip_cmd("addr", "add", f"{self.node_ip(i)}/24", "dev", "eth0", ns=ns)
            self._ip_cmd("link", "set", "eth0", "up", ns=ns)  # the /24 route covers the proxies too
        self._readdress()
        super().setup()

    def _readdress(self):
        """Each node listens (P2P, RPC, metrics) on its namespace's address,
        which is also its on-chain address in genesis.json and the target of
        the other nodes' connect lines."""
        import json
        g_path = self.dn.dir / "genesis.json"
        g = json.loads(g_path.read_text())
        old = {}
        for i in range(self.n):
            node = self.dn.node(i)
            for key in ("listen", "rpc-listen", "metrics-listen"):
                port = node.conf_get(key).rsplit(":", 1)[1]
                if key == "listen":
                    old[f"127.0.0.1:{port}"] = f"{self.node_ip(i)}:{port}"
                node.conf_set(key, f"{self.node_ip(i)}:{port}")
            node.exec_prefix = ["ip", "netns", "exec", self.ns[i]]
        for m in g["masternodes"]:
            m["netaddr"] = old.get(m["netaddr"], m["netaddr"])
        g_path.write_text(json.dumps(g, indent=2))
        for i in range(self.n):
            node = self.dn.node(i)
            node.conf_set("connect", [old.get(a, a) for a in node.conf_values("connect")])

    def _blackhole(self, i, ip, add):
        if add and (i, ip) not in self.blackholes:
            self._ip_cmd("route", "add", "blackhole", f"{ip}/32", ns=self.ns[i])
            self.blackholes.add((i, ip))
        elif not add and (i, ip) in self.blackholes:
            self._ip_cmd("route", "del", "blackhole", f"{ip}/32", ns=self.ns[i], check=False)
            self.blackholes.discard((i, ip))

    def cut(self, links):
        """Drops every packet node i sends to the proxy of i -> j (and so
        every byte of that link): a blackhole route in i's namespace."""
        for (i, j) in links:
            self._blackhole(i, self.proxy_ip(i, j), True)

    def heal(self, links=None):
        for (i, j) in links if links is not None else list(self.proxy):
            self._blackhole(i, self.proxy_ip(i, j), False)

    def down(self, i):
        self._ip_cmd("link", "set", self.veth[i], "down")

    def up(self, i):
        self._ip_cmd("link", "set", self.veth[i], "up")

    def close(self):
        for kind, name in reversed(self.made):
            if kind == "ns":
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
            else:
                subprocess.run(["ip", "link", "del", name], capture_output=True)
        self.made = []
