"""Payments while the network is perturbed, and what the chain must show
afterwards.

Load: W wallets, funded from the faucet by doubling (every funded wallet
pays a new one each round, so W wallets take about log2(W) blocks). A
payment is a wallet paying itself a random amount (unique txids: a payment
that is lost and re-sent can never be mistaken for the first), signed by
`time-cli wallet send --dry-run` against a random running node and
submitted with `sendrawtransaction` to a random running node. A wallet
spends only confirmed coins, so it waits for its last payment to commit
(or for `stale_s`, after which the payment counts as lost unless it
appears on chain by the end) before paying again.

Every answer is recorded: accepted (txid), or refused with the node's
reason. At the end each accepted payment must be on chain exactly once,
and every refusal must carry a reason.
"""

import random
import threading
import time
from decimal import Decimal
from pathlib import Path

from framework import JSONRPCError, RPCHTTPError, run

BLOCK_REWARD = Decimal("100")  # TC_BLOCK_REWARD (src/chain/params.h), in TIME
COLLATERAL = {"bronze": Decimal(1000), "silver": Decimal(10000), "gold": Decimal(100000)}  # params.c


def genesis_total(dn):
    """The allocations of genesis.json plus the collateral coin genesis
    makes for each of its masternodes."""
    import json
    g = json.loads((Path(dn.dir) / "genesis.json").read_text())
    return (sum(Decimal(a["amount"]) for a in g["allocations"])
            + sum(COLLATERAL[m["tier"]] for m in g["masternodes"]))


class Load:
    def __init__(self, dn, up, wallets=8, rate=2.0, seed=0, stale_s=60.0):
        """up(): the indexes of nodes that are running now."""
        self.dn, self.up = dn, up
        self.n_wallets, self.rate = wallets, rate
        self.rng = random.Random(seed)
        self.stale_s = stale_s
        self.wallets = []   # [(path, address)]
        self.busy = {}      # wallet index -> (txid, monotonic sent)
        self.accepted = {}  # txid -> (node, monotonic)
        self.refused = []   # (node, code, message)
        self.errors = []    # (node, what): no answer at all (node down mid-call)
        self.stale = set()
        self._stop = threading.Event()
        self._thread = None
        self.lock = threading.Lock()

    # ---- setup ----

    def _create(self, k):
        path = Path(self.dn.dir) / f"load{k}.wallet"
        r = run([self.dn.time_cli, "wallet", "create", "--wallet", path, "--unencrypted"])
        if r.rc != 0:
            raise RuntimeError(f"wallet create: {r.stderr.strip()}")
        return str(path), r.stdout.strip()

    def _committed(self, txid, node=None):
        for i in [node] if node is not None else self.up():
            try:
                return self.dn.rpc(i, "gettransaction", txid, timeout=5).get("final") is True
            except (JSONRPCError, RPCHTTPError, OSError, ValueError):
                continue
        return False

    def _committed_everywhere(self, txid):
        """On chain at every running node. A wallet is reused only then: its
        next payment is signed from a random node's view of its coins, and a
        node cut off from the chain that committed the last one would sign
        a double spend of it, which the chain then rightly drops; that is the
        load's doing, not a payment the node lost."""
        up = self.up()
        return bool(up) and all(self._committed(txid, i) for i in up)

    def fund(self, timeout=120):
        """Funds every wallet by doubling from the faucet: 1,000,000 TIME in
        the first round, half as much in each next one (a funded wallet pays
        a new one from what it got), so the smallest share still pays a
        payment every second for hours at the fee of 2.5 TIME."""
        faucet = str(Path(self.dn.dir) / "faucet.wallet")
        made = [self._create(k) for k in range(self.n_wallets)]
        funded, todo = [faucet], list(made)
        deadline = time.monotonic() + timeout
        amount = 1000000
        while todo:
            pending = []
            for payer in list(funded):
                if not todo:
                    break
                path, addr = todo.pop(0)
                r = self.dn.cli(0, "--wallet", payer, "wallet", "send", addr, str(amount))
                if r.rc != 0:
                    raise RuntimeError(f"funding {addr}: {r.stderr.strip()}")
                pending.append((r.stdout.strip(), (path, addr)))
            while pending and time.monotonic() < deadline:
                still = []
                for txid, wallet in pending:
                    if self._committed(txid, 0):
                        funded.append(wallet[0])
                    else:
                        still.append((txid, wallet))
                pending = still
                time.sleep(0.2)
            if pending:
                raise RuntimeError("funding payments did not commit in time")
            amount //= 2
        self.wallets = made

    # ---- running ----

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True, name="load")
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(30)

    def _run(self):
        period = 1.0 / self.rate
        nxt = time.monotonic()
        while not self._stop.is_set():
            self._stop.wait(max(0.0, nxt - time.monotonic()))
            nxt += period
            if nxt < time.monotonic() - 5:  # fell behind (a paused node's RPC): do not burst
                nxt = time.monotonic()
            try:
                self._one()
            except Exception as e:  # noqa: BLE001 - the load must outlive any one failure
                self.errors.append((-1, f"{type(e).__name__}: {e}"))

    def _free_wallet(self):
        now = time.monotonic()
        order = list(range(len(self.wallets)))
        self.rng.shuffle(order)
        for k in order:
            b = self.busy.get(k)
            if b is None:
                return k
            txid, sent = b
            if now - sent > 3.0 and self._committed_everywhere(txid):
                del self.busy[k]
                return k
            if now - sent > self.stale_s:
                self.stale.add(txid)  # judged at the end: on chain or lost
                del self.busy[k]
                return k
        return None

    def _one(self):
        up = self.up()
        if not up:
            return
        k = self._free_wallet()
        if k is None:
            return
        path, addr = self.wallets[k]
        amount = "%d.%08d" % (self.rng.randrange(1, 5), self.rng.randrange(1, 10 ** 8))
        signer, target = self.rng.choice(up), self.rng.choice(up)
        r = self.dn.cli(signer, "--wallet", path, "wallet", "send", addr, amount, "--dry-run", timeout=15)
        if r.rc != 0:
            self.errors.append((signer, "sign: " + (r.stderr.strip()[:200] or "exit %d" % r.rc)))
            return
        raw = r.stdout.strip().split()[-1]
        try:
            txid = self.dn.rpc(target, "sendrawtransaction", raw, timeout=10)
        except JSONRPCError as e:
            with self.lock:
                self.refused.append((target, e.code, e.message))
            return
        except (RPCHTTPError, OSError, ValueError) as e:
            self.errors.append((target, f"send: {type(e).__name__}: {e}"))
            return
        with self.lock:
            self.accepted[txid] = (target, time.monotonic())
            self.busy[k] = (txid, time.monotonic())

    def drain(self, timeout=60):
        """After stop(): waits until every accepted payment is on chain (or
        timeout). Returns the txids still missing."""
        deadline = time.monotonic() + timeout
        missing = [t for t in self.accepted]
        while missing and time.monotonic() < deadline:
            missing = [t for t in missing if not self._committed(t)]
            if missing:
                time.sleep(0.5)
        return missing


def chain_txids(dn, node, top):
    """{txid: [heights]} of every block 1..top on one node."""
    seen = {}
    for h in range(1, top + 1):
        b = dn.rpc(node, "getblock", dn.rpc(node, "getblockhash", h), timeout=10)
        for t in b["tx"]:
            seen.setdefault(t, []).append(h)
    return seen


def supply_ok(dn, node):
    """(ok, text): gettxoutsetinfo's total equals genesis + reward x height."""
    info = dn.rpc(node, "gettxoutsetinfo", timeout=30)
    want = genesis_total(dn) + BLOCK_REWARD * info["height"]
    got = Decimal(str(info["total_amount"]))
    return got == want, f"node{node} height {info['height']}: supply {got}, genesis + rewards {want}"
