#!/usr/bin/python3
"""The perturbation runner: a devnet of real `timed` processes, every link
through its own fault proxy (e2enet.py), payments running throughout
(e2eload.py), and a list of perturbations from a manifest, each followed by
a measured recovery. CometBFT's test/e2e runner is the model; our bound is
tighter (5 s to committing again, theirs 20 s).

    runner.py MANIFEST.toml [--out DIR] [--netns] [--seed N]
    runner.py MANIFEST.toml --soak SECONDS      random perturbations, plots
    runner.py MANIFEST.toml --crash-loop KILLS  SIGKILL a random node, again and again

The manifest format, each perturbation and every end-of-run check are in
test/e2e/README.md. Exit status 0 when every check passed, 1 otherwise; the
report (report.txt, report.json, and for a soak resources.csv and
resources.png) goes to --out.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "functional"))
sys.path.insert(0, str(HERE))

import adversary as adv  # noqa: E402
from adversary import T  # noqa: E402
from e2eload import Load, chain_txids, supply_ok  # noqa: E402
from e2enet import NetnsNet, ProcessNet, netem_available  # noqa: E402
from framework import Devnet, JSONRPCError, RPCHTTPError  # noqa: E402

TIER_WEIGHT = {"bronze": 1, "silver": 10, "gold": 100}  # docs/chain.md, validator weights
KINDS = ("kill", "restart", "pause", "disconnect", "partition", "slow", "clock_skew", "disk_full", "byzantine")


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


# ---- watching heights ------------------------------------------------------------

class Monitor:
    """One thread per node polls getblockcount every 100 ms (a paused node
    blocks only its own thread) and keeps the first time each height was
    seen; another samples RSS and open descriptors every `sample_s`."""

    def __init__(self, dn, sample_s=5.0):
        self.dn = dn
        self.height = {i: 0 for i in range(dn.n_nodes)}
        self.first_seen = {i: {} for i in range(dn.n_nodes)}
        self.samples = []  # (t, node, rss_kb, fds)
        self.sample_s = sample_s
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._poll, args=(i,), daemon=True) for i in range(dn.n_nodes)]
        self._threads.append(threading.Thread(target=self._sample, daemon=True))
        self.t0 = time.monotonic()

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(10)

    def _poll(self, i):
        while not self._stop.is_set():
            node = self.dn.node(i)
            if node.running():
                try:
                    h = self.dn.rpc(i, "getblockcount", timeout=2)
                    now = time.monotonic()
                    if h > self.height[i]:
                        for k in range(self.height[i] + 1, h + 1):
                            self.first_seen[i].setdefault(k, now)
                    self.height[i] = h
                except (JSONRPCError, RPCHTTPError, OSError, ValueError):
                    pass
            self._stop.wait(0.1)

    def _sample(self):
        while not self._stop.wait(self.sample_s):
            for i, node in enumerate(self.dn.nodes):
                if not node.running():
                    continue
                pid = node.process.pid
                try:
                    rss = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))
                    fds = len(os.listdir(f"/proc/{pid}/fd"))
                except (OSError, AttributeError):
                    continue
                self.samples.append((time.monotonic() - self.t0, i, rss, fds))

    def top(self):
        return max(self.height.values())

    def wait_beyond(self, nodes, target, timeout):
        """Seconds until every node in `nodes` reached `target`, or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if all(self.height[i] >= target for i in nodes):
                return time.monotonic() - t0
            time.sleep(0.02)
        return None

    def advanced(self, nodes, since_heights):
        return {i: self.height[i] - since_heights[i] for i in nodes}


# ---- the run ------------------------------------------------------------------

class Run:
    def __init__(self, manifest, out, netns=False, seed=0):
        self.m = manifest
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(seed)
        self.seed = seed
        net = manifest.get("network", {})
        self.n = int(net.get("nodes", 4))
        self.tiers = list(net.get("tiers", ["bronze"] * self.n))
        assert len(self.tiers) == self.n, "network.tiers names one tier per node"
        self.weights = [TIER_WEIGHT[t] for t in self.tiers]
        self.bound = float(manifest.get("bounds", {}).get("recovery_s", 5.0))
        self.results = []
        self.failures = []
        self.byzantine = set()   # nodes whose operator key an adversary used
        self.tmpfs = {}          # node -> mount point (disk_full)
        self.workdir = Path(tempfile.mkdtemp(prefix="tc-e2e-", dir=os.environ.get("TC_E2E_TMP", "/tmp")))
        self.dn = Devnet(self.workdir / "devnet", n_nodes=self.n)
        self.net = (NetnsNet if netns else ProcessNet)(self.dn, seed)
        self.mon = None
        self.load = None
        self.paused = set()

    # -- setup --

    def setup(self):
        self.dn.init()
        self._set_tiers()
        for i in range(self.n):
            node = self.dn.node(i)
            for k, v in self.m.get("node_config", {}).items():
                node.conf_set(k, str(v))
        self.skip = {}  # kind -> why it cannot run here
        if any(p["kind"] == "disk_full" for p in self.m.get("perturbation", [])):
            if os.geteuid() == 0:
                self._mount_small_disk(int(self.m.get("disk_full", {}).get("node", self.n - 1)))
            else:
                self.skip["disk_full"] = "needs root to mount a small tmpfs for the node's data dir"
        self.net.setup()
        self.dn.start_all()
        self.mon = Monitor(self.dn, float(self.m.get("sample_s", 5))).start()
        if self.mon.wait_beyond(range(self.n), 2, 60) is None:
            raise RuntimeError("the devnet did not reach height 2 in 60 s")
        lo = self.m.get("load", {})
        self.load = Load(self.dn, self.up, wallets=int(lo.get("wallets", 8)), rate=float(lo.get("rate", 2)),
                         seed=self.seed)
        self.load.fund()
        self.load.start()
        log(f"devnet of {self.n} ({self.net.mode} mode, tiers {self.tiers}) committing at height "
            f"{self.mon.top()}; load {self.load.rate}/s over {self.load.n_wallets} wallets")

    def _set_tiers(self):
        g_path = self.dn.dir / "genesis.json"
        g = json.loads(g_path.read_text())
        by_addr = {self.dn.node(i).conf_get("listen"): i for i in range(self.n)}
        for m in g["masternodes"]:
            m["tier"] = self.tiers[by_addr[m["netaddr"]]]
        g_path.write_text(json.dumps(g, indent=2))

    def _mount_small_disk(self, i):
        """Node i's data dir on a tmpfs of its own (root): disk_full fills it."""
        if os.geteuid() != 0:
            raise RuntimeError("disk_full needs root (a tmpfs for the node's data dir)")
        size = int(self.m.get("disk_full", {}).get("size_mb", 96))
        d = self.dn.node(i).dir
        keep = self.workdir / f"node{i}.keep"
        shutil.copytree(d, keep)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}m,mode=0700", "tmpfs", str(d)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"mount tmpfs on {d}: {r.stderr.strip()}")
        self.tmpfs[i] = d
        for f in keep.iterdir():
            if f.name != self.dn.node(i).log.name:
                shutil.copy2(f, d / f.name)
        # the log stays on the real disk, as an operator's would: on the
        # filled tmpfs its last lines (the 'stopping' the check reads) were cut
        outside = self.workdir / f"node{i}.{self.dn.node(i).log.name}"
        if (keep / self.dn.node(i).log.name).exists():
            shutil.copy2(keep / self.dn.node(i).log.name, outside)
        (d / self.dn.node(i).log.name).symlink_to(outside)
        self.dn.node(i).conf_set("store-map-mb", "64")

    def up(self):
        return [i for i in range(self.n) if self.dn.node(i).running() and i not in self.paused]

    def quorum(self, nodes):
        return 3 * sum(self.weights[i] for i in nodes) > 2 * sum(self.weights)

    def honest(self):
        return [i for i in range(self.n) if i not in self.byzantine]

    # -- one perturbation --

    def perturb(self, p):
        kind = p["kind"]
        if kind not in KINDS:
            raise ValueError(f"unknown perturbation kind {kind!r} (one of {', '.join(KINDS)})")
        t0 = time.monotonic()
        before = dict(self.mon.height)
        r = {"kind": kind, "params": {k: v for k, v in p.items() if k != "kind"}, "start_height": self.mon.top(),
             "problems": []}
        log(f"perturbation {len(self.results) + 1}: {kind} {r['params']}")
        if kind in self.skip:
            r.update(seconds=0, recovery_s=None, skipped=self.skip[kind], t0=0, t_heal=0)
            self.results.append(r)
            log(f"  skipped: {self.skip[kind]}")
            return
        getattr(self, "_" + kind)(p, r, before)
        # from the heal (the start, SIGCONT, links back), so a restart's
        # start-up time counts in the recovery
        t_heal = r.pop("heal_mono", time.monotonic())
        target = self.mon.top() + 1
        must = [i for i in range(self.n) if self.dn.node(i).running()]
        rec = self.mon.wait_beyond(must, target, max(30.0, 4 * self.bound))
        r["t0"], r["t_heal"] = t0 - self.mon.t0, t_heal - self.mon.t0
        r["seconds"] = round(t_heal - t0, 2)
        r["recovery_s"] = None if rec is None else round(rec, 2)
        if rec is None:
            r["problems"].append(f"not every node reached height {target} within {max(30.0, 4 * self.bound):.0f} s "
                                 f"of the heal (heights {dict(self.mon.height)})")
        elif rec > self.bound:
            r["problems"].append(f"recovery {rec:.2f} s is over the bound of {self.bound:.0f} s")
        r["end_height"] = self.mon.top()
        self.results.append(r)
        status = "ok" if not r["problems"] else "FAIL: " + "; ".join(r["problems"])
        log(f"  recovered in {r['recovery_s']} s (bound {self.bound:.0f} s): {status}")
        self._settle()

    def _settle(self, timeout=30):
        """Every running node at one height before the next perturbation."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            hs = {self.mon.height[i] for i in self.up()}
            if len(hs) == 1:
                return
            time.sleep(0.1)

    def _expect_live(self, r, nodes, before, what, since=None):
        """nodes, if they hold a quorum, committed since `before`. With `since`
        (when the fault began) a fault shorter than the bound is given until
        since + bound: a proposer down for 1 s costs its round the propose
        timeout, and then the next proposer's block has to come."""
        if since is not None and self.quorum(nodes):
            while min(self.mon.advanced(nodes, before).values()) < 1 and time.monotonic() < since + self.bound:
                time.sleep(0.05)
        adv_ = self.mon.advanced(nodes, before)
        if self.quorum(nodes) and min(adv_.values()) < 1:
            r["problems"].append(f"{what}: nodes {sorted(nodes)} hold a quorum but did not commit (advanced {adv_})")
        r.setdefault("during", {})[what] = adv_

    def _others(self, i):
        return [k for k in range(self.n) if k != i]

    def _kill(self, p, r, before):
        i = int(p["node"])
        self.dn.kill(i)
        self._down_then_start(p, r, before, i, 2)

    def _restart(self, p, r, before):
        i = int(p["node"])
        rc = self.dn.stop(i)
        if rc != 0:
            r["problems"].append(f"node{i} exited {rc} on SIGTERM")
        self._down_then_start(p, r, before, i, 1)

    def _down_then_start(self, p, r, before, i, down_s):
        """Node i stays down `down_s` (the others must commit if they hold a
        quorum), then starts again and must still hold what it committed."""
        t_down = time.monotonic()
        time.sleep(float(p.get("down_s", down_s)))
        self._expect_live(r, self._others(i), before, "while down", since=t_down)
        h_before = self.mon.height[i]
        r["heal_mono"] = time.monotonic()
        self.dn.start(i)
        h = self.dn.rpc(i, "getblockcount")
        if h < h_before:
            r["problems"].append(f"node{i} lost committed blocks: height {h_before} before, {h} after the restart")

    def _pause(self, p, r, before):
        i = int(p["node"])
        self.paused.add(i)
        self.dn.sigstop(i)
        time.sleep(float(p.get("seconds", 10)))
        self._expect_live(r, self._others(i), before, "while paused")
        r["heal_mono"] = time.monotonic()
        self.dn.sigcont(i)
        self.paused.discard(i)

    def _disconnect(self, p, r, before):
        i = int(p["node"])
        self.net.down(i)
        time.sleep(float(p.get("seconds", 10)))
        self._expect_live(r, self._others(i), before, "while cut off")
        r["heal_mono"] = time.monotonic()
        self.net.up(i)

    def _partition(self, p, r, before):
        groups = [[int(x) for x in re.findall(r"\d+", g)] for g in p["groups"].split("|")]
        self.net.cut(self.net.links_across(groups))
        top0 = self.mon.top()
        time.sleep(float(p.get("seconds", 20)))
        for g in groups:
            adv_ = self.mon.advanced(g, before)
            r.setdefault("during", {})["{" + ",".join(map(str, g)) + "}"] = adv_
            if self.quorum(g):
                self._expect_live(r, g, before, "quorum side")
            elif max(self.mon.height[i] for i in g) > top0 + 1:
                r["problems"].append(f"side {g} has no quorum but committed past {top0 + 1} "
                                     f"(heights {[self.mon.height[i] for i in g]})")
        r["heal_mono"] = time.monotonic()
        self.net.heal(self.net.links_across(groups))

    def _slow(self, p, r, before):
        self.net.slow(float(p.get("delay_ms", 100)), float(p.get("jitter_ms", 20)), p.get("bandwidth"))
        time.sleep(float(p.get("seconds", 20)))
        self._expect_live(r, list(range(self.n)), before, "slow links")
        r["heal_mono"] = time.monotonic()
        self.net.fast()

    def _clock_skew(self, p, r, before):
        i = int(p["node"])
        off = int(p.get("offset_ms", 20000))
        self.dn.stop(i)
        self.dn.start(i, env={"TC_TEST_WALL_OFFSET_MS": ("%+d" % off)})
        time.sleep(float(p.get("seconds", 20)))
        self._expect_live(r, self._others(i), before, "skewed")
        self.dn.stop(i)
        r["heal_mono"] = time.monotonic()
        self.dn.start(i)

    def _disk_full(self, p, r, before):
        i = int(p["node"])
        if i not in self.tmpfs:
            raise RuntimeError(f"disk_full on node{i}: its data dir is not on a tmpfs (set [disk_full] node)")
        ballast = self.tmpfs[i] / "ballast"
        node = self.dn.node(i)
        mark = node.log.stat().st_size
        with open(ballast, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * (1 << 20))
                    f.flush()
            except OSError:
                pass
        time.sleep(float(p.get("seconds", 15)))
        self._expect_live(r, self._others(i), before, "disk full")
        state = "running" if node.running() else f"exited {node.process.returncode}"
        with open(node.log, "rb") as f:
            f.seek(mark)
            said = f.read().decode(errors="replace").splitlines()
        errors = [x for x in said if "level=error" in x]
        r["node_state"] = f"{state}; {len(errors)} error lines" + (f", first: {errors[0][24:200]}" if errors else "")
        if len(said) > 300:
            r["problems"].append(f"node{i} wrote {len(said)} log lines in {p.get('seconds', 15)} s on a full disk "
                                 "(a retry loop, not a stop or a wait)")
        if not node.running():
            node.exit_expected = True
            # DESIGN.md §10: 2 is a runtime error; a signal or another code is a crash
            if node.process.returncode != 2 or not any("msg=stopping" in x for x in said):
                r["problems"].append(f"node{i} on a full disk {state} without a 'stopping' line "
                                     "(a crash, not a clean stop)")
        r["heal_mono"] = time.monotonic()
        ballast.unlink()
        if not node.running():
            self.dn.start(i)

    def _byzantine(self, p, r, before):
        """Node i's process stops; an adversary holding its operator key
        takes its place for `seconds` (every round it leads: two different
        proposals, an invalid block, or a proposal whose block it withholds
        and votes for), then the real node starts again."""
        i = int(p["node"])
        how = p.get("behaviour", "equivocate")
        self.byzantine.add(i)
        self.dn.stop(i)
        others = self._others(i)
        genesis = adv.genesis_hash(self.dn, others[0])
        key = adv.Validator(self.dn.node(i).dir).operator
        links = {k: adv.Peer(self.dn.node(k).p2p_port, genesis, height=self.mon.top(),
                             host=self.net.node_ip(k)).connect() for k in others}
        # It attests the key on each link (mnauth) as the node it stands in
        # for did: a proposer whose links all closed is not waited for
        # (docs/protocol.md §9), so without it no honest node would wait for
        # its proposals.
        for peer in links.values():
            peer.send(adv.T.MNAUTH, (key.pub, key.sign(adv.mnauth_sign_bytes(key.pub, peer.exporter, peer.key.pub))))
        led, parent = set(), None
        end = time.monotonic() + float(p.get("seconds", 20))
        while time.monotonic() < end:
            try:
                c = self.dn.rpc(others[0], "getconsensusinfo", timeout=2)
            except (JSONRPCError, RPCHTTPError, OSError, ValueError):
                continue
            h, rnd = c["height"], c["round"]
            if c.get("proposer") != key.pub.hex() or (h, rnd) in led:
                time.sleep(0.02)
                continue
            led.add((h, rnd))
            if parent is None or parent.header.height != h - 1:
                parent = adv.fetch_blocks(links[others[0]], h - 1, 1)[0][0]
            self._misbehave(how, links, key, parent, h, rnd)
        for peer in links.values():
            peer.close()
        r["rounds_led"] = len(led)
        if not led:
            r["problems"].append(f"the adversary with node{i}'s key never led a round")
        self._expect_live(r, others, before, "byzantine")
        r["heal_mono"] = time.monotonic()
        self.dn.start(i)

    @staticmethod
    def _misbehave(how, links, key, parent, h, rnd):
        peers = list(links.values())
        if how == "equivocate":
            for n, group in enumerate((peers[:1], peers[1:])):
                raw, bh = adv.junk_block(parent, h, 1000 * rnd + n + 1, proposer=key.pub, prev=parent.hash())
                for peer in group:
                    peer.send(T.PROPOSAL, (adv.make_proposal(key, h, rnd, bh), raw))
        elif how == "invalid":
            raw, bh = adv.junk_block(parent, h, 7 + rnd, proposer=key.pub, prev=parent.hash())
            for peer in peers:
                peer.send(T.PROPOSAL, (adv.make_proposal(key, h, rnd, bh), raw))
        elif how == "withhold":
            _, bh = adv.junk_block(parent, h, 99 + rnd, proposer=key.pub, prev=parent.hash())
            for peer in peers:
                peer.send(T.PROPOSAL, (adv.make_proposal(key, h, rnd, bh), b""))
                peer.send(T.VOTE, adv.make_vote(key, adv.PREVOTE, h, rnd, bh))
                peer.send(T.VOTE, adv.make_vote(key, adv.PRECOMMIT, h, rnd, bh))
        else:
            raise ValueError(f"byzantine behaviour {how!r}: equivocate, invalid or withhold")

    # -- the end --

    def finish(self):
        self.load.stop()
        missing = self.load.drain(float(self.m.get("drain_s", 60)))
        self._settle(60)
        self.mon.stop()
        checks = {}
        tops = [self.dn.rpc(i, "getblockcount") for i in range(self.n)]
        top = min(tops)
        hashes = [[self.dn.rpc(i, "getblockhash", h) for h in range(1, top + 1)] for i in range(self.n)]
        forks = [h + 1 for h in range(top) if len({hs[h] for hs in hashes}) != 1]
        checks["same hashes at every height"] = (not forks, f"heights 1..{top} on {self.n} nodes"
                                                 + (f"; differ at {forks[:10]}" if forks else ""))
        seen = chain_txids(self.dn, 0, top)
        acc = self.load.accepted
        twice = [t for t in acc if len(seen.get(t, [])) > 1]
        lost = [t for t in acc if t not in seen]
        unreasoned = [x for x in self.load.refused if not x[2]]
        checks["every accepted payment committed exactly once"] = (
            not twice and not lost,
            f"{len(acc)} accepted, {len(acc) - len(lost)} committed, {len(lost)} lost, {len(twice)} twice; "
            f"{len(self.load.refused)} refused with a reason, {len(self.load.errors)} calls unanswered"
            + (f"; lost: {lost[:5]}" if lost else ""))
        checks["every refusal names its reason"] = (not unreasoned, f"{len(unreasoned)} without a message; "
                                                    + self._refusals())
        self.lost_detail = [self._when(t) for t in lost]
        sup = [supply_ok(self.dn, i) for i in range(self.n)]
        checks["supply = genesis + rewards"] = (all(ok for ok, _ in sup), "; ".join(t for _, t in sup))
        ds = self._double_signs()
        checks["no double-sign by an honest node"] = (not ds, f"{len(ds)} sightings" + (f": {ds[:3]}" if ds else ""))
        bans = self._honest_bans()
        checks["no honest peer banned"] = (not bans, "; ".join(bans) or "none")
        self.checks = checks
        self.missing = missing
        return checks

    def _refusals(self):
        import collections
        c = collections.Counter(re.sub(r"[0-9a-f]{64}(:\d+)?", "<txid>", m)[:90] for _, _, m in self.load.refused)
        return ", ".join(f"{n} x '{m}'" for m, n in c.most_common(4)) or "none refused"

    def _when(self, txid):
        """Which node accepted a payment, when, and what was going on."""
        node, t = self.load.accepted[txid]
        t -= self.mon.t0
        during = [f"#{n} {r['kind']}" for n, r in enumerate(self.results, 1)
                  if r["t0"] - 1 <= t <= r["t_heal"] + 5]
        return f"{txid[:16]} accepted by node{node} at t={t:.1f} s ({', '.join(during) or 'no perturbation'})"

    def _double_signs(self):
        honest_ops = {adv.Validator(self.dn.node(i).dir).operator.pub.hex() for i in self.honest()}
        out = []
        for i in range(self.n):
            for m in re.finditer(r'msg="double sign seen" validator=(\w+)', self.dn.node(i).log.read_text(
                    errors="replace")):
                if m.group(1) in honest_ops:
                    out.append(f"node{i} saw {m.group(1)[:16]}")
        return out

    def _honest_bans(self):
        keys = {}
        for i in range(self.n):
            f = self.dn.node(i).dir / "node.key"
            if f.exists():
                keys["key:" + adv.Key.load(f).pub.hex()] = i
        out = []
        for i in range(self.n):
            for b in self.dn.rpc(i, "listbanned"):
                if b["subject"] in keys:
                    out.append(f"node{i} banned node{keys[b['subject']]} ({b.get('reason', '')})")
        return out

    def report(self, title, extra=None):
        lines = [f"# {title}", f"mode {self.net.mode}; {self.n} nodes, tiers {self.tiers}; seed {self.seed}; "
                 f"recovery bound {self.bound:.0f} s; tc netem available: {netem_available() if os.geteuid() == 0 else 'not checked (not root)'}",
                 "", "| # | perturbation | held s | recovery s | result |", "|---|---|---|---|---|"]
        for n, r in enumerate(self.results, 1):
            desc = r["kind"] + " " + " ".join(f"{k}={v}" for k, v in r["params"].items())
            result = "ok" if not r["problems"] else "FAIL: " + "; ".join(r["problems"])
            if r.get("skipped"):
                result = "skipped: " + r["skipped"]
            if r.get("node_state"):
                result += f" (node: {r['node_state']})"
            lines.append(f"| {n} | {desc} | {r['seconds']} | {r['recovery_s']} | {result} |")
        recs = [r["recovery_s"] for r in self.results if r["recovery_s"] is not None]
        if recs:
            worst = max(range(len(self.results)), key=lambda k: self.results[k]["recovery_s"] or 1e9)
            lines.append(f"\nworst recovery: {max(recs):.2f} s ({self.results[worst]['kind']}, #{worst + 1}); "
                         f"median {sorted(recs)[len(recs) // 2]:.2f} s over {len(recs)}")
        lines.append("")
        for name, (ok, text) in self.checks.items():
            lines.append(f"- {'PASS' if ok else 'FAIL'} {name}: {text}")
        for d in getattr(self, "lost_detail", []):
            lines.append(f"  - lost: {d}")
        lines += extra or []
        text = "\n".join(lines) + "\n"
        (self.out / "report.txt").write_text(text)
        (self.out / "report.json").write_text(json.dumps({"results": self.results, "checks": self.checks,
                                                           "mode": self.net.mode, "seed": self.seed}, indent=2))
        print(text, flush=True)
        bad = [r for r in self.results if r["problems"]] or [c for c in self.checks.values() if not c[0]]
        return not bad

    def cleanup(self):
        try:
            if self.load:
                self.load.stop()
            if self.mon:
                self.mon.stop()
            problems = self.dn.cleanup()
            for p in problems:
                log("cleanup: " + p)
            for node in self.dn.nodes:  # the evidence for whatever the report says
                if node.log.exists():
                    shutil.copy(node.log, self.out / f"{node.name}.log")
        finally:
            self.net.close()
            for d in self.tmpfs.values():
                subprocess.run(["umount", "-l", str(d)], capture_output=True)
            if not os.environ.get("TC_E2E_KEEP"):
                shutil.rmtree(self.workdir, ignore_errors=True)
            else:
                log(f"kept {self.workdir}")


# ---- modes ----------------------------------------------------------------------

def run_manifest(run):
    for p in run.m.get("perturbation", []):
        run.perturb(p)
        time.sleep(float(run.m.get("gap_s", 2)))
    run.finish()
    return run.report("e2e: " + run.m.get("name", "manifest"))


def random_perturbation(run, rng):
    kinds = run.m.get("soak", {}).get("kinds", ["kill", "restart", "pause", "disconnect", "partition", "slow",
                                                  "clock_skew"])
    kind = rng.choice(kinds)
    node = rng.randrange(run.n)
    if kind == "partition":
        order = list(range(run.n))
        rng.shuffle(order)
        cut = rng.randrange(1, run.n)
        return {"kind": kind, "groups": "{%s}|{%s}" % (",".join(map(str, sorted(order[:cut]))),
                                                     ",".join(map(str, sorted(order[cut:])))),
                "seconds": rng.choice([5, 10, 20])}
    p = {"kind": kind}
    if kind in ("kill", "restart", "pause", "disconnect", "clock_skew", "disk_full"):
        p["node"] = node if kind != "disk_full" else int(run.m.get("disk_full", {}).get("node", run.n - 1))
    if kind in ("pause", "disconnect", "slow", "clock_skew"):
        p["seconds"] = rng.choice([5, 10])
    if kind == "clock_skew":
        p["offset_ms"] = rng.choice([-20000, 20000])
    if kind == "slow":
        p["delay_ms"] = rng.choice([50, 100])
    if kind == "byzantine":
        p["behaviour"] = rng.choice(["invalid", "withhold"])
        p["seconds"] = 10
    return p


def run_soak(run, duration):
    rng = random.Random(run.seed)
    end = time.monotonic() + duration
    while time.monotonic() < end:
        run.perturb(random_perturbation(run, rng))
        time.sleep(rng.uniform(1, 5))
    run.finish()
    extra = resource_report(run)
    return run.report(f"soak: {duration:.0f} s, {len(run.results)} perturbations", extra)


def resource_report(run):
    csv = run.out / "resources.csv"
    with open(csv, "w") as f:
        f.write("t_s,node,rss_kb,fds\n")
        for t, i, rss, fds in run.mon.samples:
            f.write(f"{t:.1f},{i},{rss},{fds}\n")
    lines = ["", "| node | RSS first/max/last (MiB) | descriptors first/max/last |", "|---|---|---|"]
    for i in range(run.n):
        s = [x for x in run.mon.samples if x[1] == i]
        if s:
            lines.append(f"| node{i} | {s[0][2] / 1024:.1f} / {max(x[2] for x in s) / 1024:.1f} / "
                         f"{s[-1][2] / 1024:.1f} | {s[0][3]} / {max(x[3] for x in s)} / {s[-1][3]} |")
    lines.append(f"\nsamples: {csv}" + plot(run, csv))
    return lines


def plot(run, csv):
    if shutil.which("gnuplot") is None:
        return " (no plot: gnuplot is not installed; scripts/install-deps.sh installs gnuplot-nox)"
    png = run.out / "resources.png"
    per = " , ".join(f"'{csv}' using ($2=={i}?$1/60:1/0):($3/1024) with lines title 'node{i} RSS MiB'"
                     for i in range(run.n))
    fds = " , ".join(f"'{csv}' using ($2=={i}?$1/60:1/0):4 with lines title 'node{i} fds'" for i in range(run.n))
    script = (f"set terminal png size 1200,800; set output '{png}'; set datafile separator ',';"
              f"set multiplot layout 2,1; set xlabel 'minutes'; set ylabel 'RSS (MiB)'; plot {per};"
              f"set ylabel 'open descriptors'; plot {fds}; unset multiplot")
    r = subprocess.run(["gnuplot", "-e", script], capture_output=True, text=True)
    return f"; plot: {png}" if r.returncode == 0 else f"; gnuplot failed: {r.stderr.strip()[:200]}"


def run_crash_loop(run, kills, interval):
    rng = random.Random(run.seed)
    restarts, lost_blocks = [], []
    for k in range(kills):
        i = rng.randrange(run.n)
        h_before = run.mon.height[i]
        run.dn.kill(i)
        t0 = time.monotonic()
        run.dn.start(i)
        restarts.append(time.monotonic() - t0)
        h = run.dn.rpc(i, "getblockcount")
        if h < h_before:
            lost_blocks.append(f"kill {k + 1}: node{i} at {h} after the restart, {h_before} before")
        if (k + 1) % 50 == 0:
            log(f"crash loop: {k + 1}/{kills} kills, height {run.mon.top()}, "
                f"{len(run.load.accepted)} payments accepted")
        time.sleep(interval * rng.uniform(0.5, 1.5))
    run.finish()
    run.checks["no committed block lost by a restart"] = (not lost_blocks, f"{len(lost_blocks)} of {kills}"
                                                           + (f": {lost_blocks[:3]}" if lost_blocks else ""))
    rs = sorted(restarts)
    extra = [f"\nrestart to RPC ready: median {rs[len(rs) // 2]:.2f} s, max {rs[-1]:.2f} s over {kills} kills"]
    return run.report(f"crash loop: {kills} SIGKILLs, one every ~{interval:.1f} s", extra + resource_report(run))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest")
    ap.add_argument("--out", default=None, help="report directory (default build/e2e/<manifest name>)")
    ap.add_argument("--netns", action="store_true", help="each node in its own network namespace (root)")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("TC_E2E_SEED", "1")))
    ap.add_argument("--soak", type=float, metavar="SECONDS", help="random perturbations for SECONDS")
    ap.add_argument("--crash-loop", type=int, metavar="KILLS", help="SIGKILL a random node KILLS times")
    ap.add_argument("--interval", type=float, default=3.0, help="crash loop: seconds between kills (mean)")
    a = ap.parse_args(argv)
    with open(a.manifest, "rb") as f:
        manifest = tomllib.load(f)
    name = manifest.get("name", Path(a.manifest).stem)
    out = a.out or str(HERE.parent.parent / "build" / "e2e" / name)
    run = Run(manifest, out, netns=a.netns, seed=a.seed)
    ok = False

    def stop(sig, _frame):  # SIGTERM or SIGINT (ignored in a background job): clean up like a failure
        raise KeyboardInterrupt(f"signal {sig}")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        run.setup()
        if a.soak:
            ok = run_soak(run, a.soak)
        elif a.crash_loop:
            ok = run_crash_loop(run, a.crash_loop, a.interval)
        else:
            ok = run_manifest(run)
    except Exception:
        for title, text in run.dn.log_sections(40):
            print(f"--- {title}\n{text}", file=sys.stderr)
        raise
    finally:
        run.cleanup()
    print(f"e2e {'PASSED' if ok else 'FAILED'}: report in {out}/report.txt", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
