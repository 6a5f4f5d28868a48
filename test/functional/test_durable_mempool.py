"""Nothing accepted is lost: a transaction `sendrawtransaction` answered is
in <datadir>/mempool.journal before the answer, so it is pending again after
the node is SIGKILLed (a), after every node is stopped and started (b), and a
torn journal tail costs only the torn record, with one warning (c). A
graceful stop first hands what the node admitted to its peers (d)."""
import os

import pytest

from framework import run, scaled

N_PAY = 4
AMOUNT = "3"
JOURNAL = "mempool.journal"
PAUSED = ("--block-interval-ms", "600000")  # one block at start, then none for 10 minutes


def fund_wallets(dn, k):
    """k wallets with one confirmed 100 TIME coin each."""
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 1, timeout=scaled(30))
    faucet = os.path.join(dn.dir, "faucet.wallet")
    wallets = []
    for j in range(k):
        w = os.path.join(dn.dir, "w%d.wallet" % j)
        addr = run([dn.time_cli, "wallet", "create", "--wallet", w, "--unencrypted"]).stdout.strip()
        rc, _, err = dn.cli(0, "--wallet", faucet, "wallet", "send", addr, "100")
        assert rc == 0, err
        dn.wait_until(lambda: dn.rpc(0, "getbalance", addr) == "100.00000000", timeout=scaled(15))
        wallets.append(w)
    return wallets


def signed_payments(dn, wallets, to):
    """One signed payment (hex) from each wallet to `to`, not sent."""
    txs = []
    for w in wallets:
        rc, out, err = dn.cli(0, "--wallet", w, "wallet", "send", to, AMOUNT, "--dry-run")
        assert rc == 0, err
        txs.append(out.strip())
    return txs


def new_address(dn):
    w = os.path.join(dn.dir, "to.wallet")
    return run([dn.time_cli, "wallet", "create", "--wallet", w, "--unencrypted"]).stdout.strip()


def pause_blocks(dn, nodes):
    h = dn.rpc(nodes[0], "getblockcount")
    for i in nodes:
        dn.stop(i)
    for i in nodes:
        dn.start(i, *PAUSED, wait=False)
    for i in nodes:
        dn.wait_ready(i)
    dn.wait_until(lambda: all(dn.rpc(i, "getblockcount") > h for i in nodes), timeout=scaled(30))  # the block made at start


def committed_once(dn, nodes, to, txids):
    """Every payment commits, each once: the balance is exactly their sum."""
    want = "%d.00000000" % (int(AMOUNT) * len(txids))
    dn.wait_until(lambda: all(dn.rpc(i, "getbalance", to) == want for i in nodes), timeout=scaled(60))
    dn.wait_until(lambda: all(dn.rpc(i, "getrawmempool") == [] for i in nodes), timeout=scaled(30))
    for t in txids:
        assert dn.rpc(nodes[0], "getrawtransaction", t, True)["final"] == 1


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_sigkill_after_answer_keeps_payments(devnet):
    """(a) The only running node is SIGKILLed right after its answers; no peer
    holds the payments, no quorum commits them: only its disk can bring them back."""
    dn = devnet
    wallets = fund_wallets(dn, N_PAY)
    to = new_address(dn)
    txs = signed_payments(dn, wallets, to)
    for i in (1, 2, 3):
        dn.stop(i)
    txids = [dn.rpc(0, "sendrawtransaction", hx) for hx in txs]
    dn.kill(0)
    dn.start(0)
    assert sorted(dn.rpc(0, "getrawmempool")) == sorted(txids)
    for i in (1, 2, 3):
        dn.start(i, wait=False)
    committed_once(dn, range(4), to, txids)


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_all_nodes_sigterm_restart_keeps_payments(devnet):
    """(b) Payments pending on every node; all four stopped by SIGTERM and started."""
    dn = devnet
    wallets = fund_wallets(dn, N_PAY)
    to = new_address(dn)
    txs = signed_payments(dn, wallets, to)
    pause_blocks(dn, [0, 1, 2, 3])
    txids = [dn.rpc(k % 4, "sendrawtransaction", hx) for k, hx in enumerate(txs)]
    dn.wait_until(lambda: all(len(dn.rpc(i, "getrawmempool")) == N_PAY for i in range(4)), timeout=scaled(10))
    for i in range(4):
        dn.stop(i)
    for i in range(4):
        assert os.path.getsize(dn.node(i).dir / JOURNAL) > 0
    dn.start_all()
    committed_once(dn, range(4), to, txids)


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_torn_journal_tail_ignored_with_warning(devnet):
    """(c) The last record cut short (a crash mid-write): one warning, the rest loads."""
    dn = devnet
    wallets = fund_wallets(dn, N_PAY)
    to = new_address(dn)
    txs = signed_payments(dn, wallets, to)
    for i in (1, 2, 3):
        dn.stop(i)
    txids = [dn.rpc(0, "sendrawtransaction", hx) for hx in txs]
    dn.stop(0)
    path = dn.node(0).dir / JOURNAL
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 5)
    mark = os.path.getsize(dn.node(0).log)
    dn.start(0)
    pending = dn.rpc(0, "getrawmempool")
    assert sorted(pending) == sorted(txids[:-1])  # the journal keeps arrival order
    with open(dn.node(0).log, "rb") as f:
        f.seek(mark)
        log = f.read().decode(errors="replace")
    assert log.count("journal tail torn or corrupt") == 1, log
    assert "level=error" not in log.split("journal tail torn")[0].splitlines()[-1]
    for i in (1, 2, 3):
        dn.start(i, wait=False)
    want = "%d.00000000" % (int(AMOUNT) * (N_PAY - 1))
    dn.wait_until(lambda: dn.rpc(0, "getbalance", to) == want, timeout=scaled(60))


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_sigterm_relays_what_was_admitted(devnet):
    """(d) With the journal off, a node SIGTERMed right after its answers still
    gets the payments to its peer before it closes the sockets."""
    dn = devnet
    wallets = fund_wallets(dn, N_PAY)
    to = new_address(dn)
    txs = signed_payments(dn, wallets, to)
    for i in (2, 3):
        dn.stop(i)
    for i in (0, 1):
        dn.stop(i)
    for i in (0, 1):
        dn.start(i, "--mempool-persist", "0", wait=False)
    for i in (0, 1):
        dn.wait_ready(i)
    dn.wait_until(lambda: len(dn.rpc(0, "getpeerinfo")) >= 1, timeout=scaled(15))
    txids = [dn.rpc(0, "sendrawtransaction", hx) for hx in txs]
    dn.node(0).exit_expected = True
    dn.node(0).process.terminate()
    dn.wait_exit(0)
    assert sorted(dn.rpc(1, "getrawmempool")) == sorted(txids)
