"""/metrics parsed by a strict Prometheus text-format parser, values moving
with blocks and payments; /health turning 503 when a node's peers go and 200
again when they return."""
import os
import re

import pytest

from framework import run, scaled

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$" % (NAME, LABEL, LABEL))
HELP = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)


def parse(text):
    """Strict 0.0.4 text format: every sample belongs to a family declared by a
    TYPE line before it; histogram buckets are cumulative and end in +Inf equal
    to _count. Returns {(name, labels): value} and {family: type}."""
    assert text.endswith("\n"), "exposition must end with a newline"
    types, samples = {}, {}
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP"):
            assert HELP.match(line), "line %d: bad HELP: %r" % (n, line)
            continue
        m = TYPE.match(line)
        if m:
            assert m.group(1) not in types, "line %d: family %s declared twice" % (n, m.group(1))
            types[m.group(1)] = m.group(2)
            continue
        assert not line.startswith("#"), "line %d: unknown comment %r" % (n, line)
        m = SAMPLE.match(line)
        assert m, "line %d: not a sample: %r" % (n, line)
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, "line %d: sample of undeclared family %s" % (n, name)
        assert (name, labels) not in samples, "line %d: duplicate series" % n
        samples[(name, labels)] = value
    for fam, kind in types.items():
        if kind != "histogram":
            continue
        buckets = [(k[1], v) for k, v in samples.items() if k[0] == fam + "_bucket"]
        les = [float(re.search(r'le="([^"]+)"', l).group(1).replace("+Inf", "inf")) for l, _ in buckets]
        assert les == sorted(les) and les[-1] == float("inf"), "%s: buckets out of order" % fam
        values = [v for _, v in buckets]
        assert values == sorted(values), "%s: buckets not cumulative" % fam
        assert values[-1] == samples[(fam + "_count", "")], "%s: +Inf bucket != _count" % fam
    return samples, types


def value(samples, name, labels=""):
    return samples.get(("timecoin_" + name, labels), 0.0)


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_metrics_parse_and_move(devnet):
    dn = devnet
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") >= 2, timeout=scaled(30))
    before, types = parse(dn.metrics(0))
    for fam in ("height", "consensus_round", "peers", "block_interval_seconds", "commit_latency_seconds",
                "rounds_per_height", "p2p_messages_total", "mempool_transactions", "signature_verifications_total",
                "store_bytes", "process_resident_memory_bytes"):
        assert "timecoin_" + fam in types, "missing family " + fam
    assert types["timecoin_block_interval_seconds"] == "histogram"
    assert value(before, "peers", '{direction="in"}') + value(before, "peers", '{direction="out"}') == 3
    assert value(before, "process_resident_memory_bytes") > 1e6

    wallet = os.path.join(dn.dir, "carol.wallet")
    addr = run([dn.time_cli, "wallet", "create", "--wallet", wallet, "--unencrypted"]).stdout.strip()
    rc, _, err = dn.cli(0, "--wallet", os.path.join(dn.dir, "faucet.wallet"), "wallet", "send", addr, "7")
    assert rc == 0, err
    dn.wait_until(lambda: dn.rpc(2, "getbalance", addr) == "7.00000000", timeout=scaled(10))
    h = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: parse(dn.metrics(2))[0].get(("timecoin_height", ""), 0) >= h, timeout=scaled(10))
    after, _ = parse(dn.metrics(2))
    assert value(after, "height") >= h
    assert value(after, "block_interval_seconds_count") >= 2
    # node 2 received the payment by relay and verified its signature
    assert value(after, "p2p_messages_total", '{type="tx",direction="in"}') >= 1
    assert value(after, "signature_verifications_total") > 0
    # the Grafana dashboard only queries families the node exports
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "grafana-dashboard.json")) as f:
        used = set(re.findall(r"timecoin_[a-z0-9_]+", f.read()))
    unknown = {u for u in used if re.sub(r"_(bucket|sum|count)$", "", u) not in types}
    assert not unknown, "dashboard queries metrics the node does not export: %s" % sorted(unknown)
    final, _ = parse(dn.metrics(0))
    assert value(final, "height") > value(before, "height")
    assert value(final, "commit_latency_seconds_count") > value(before, "commit_latency_seconds_count")


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4)
def test_health_follows_peers(devnet):
    dn = devnet
    dn.wait_until(lambda: dn.health(0)[0] == 200, timeout=scaled(30))
    status, body = dn.health(0)
    assert body["status"] == "ok" and body["reasons"] == [] and body["validator"] is True
    assert body["peers"] == 3 and body["syncing"] is False
    for i in (1, 2, 3):
        dn.stop(i)
    dn.wait_until(lambda: dn.health(0)[0] == 503, timeout=scaled(30))
    status, body = dn.health(0)
    assert body["status"] == "unhealthy"
    assert "no peers" in body["reasons"]
    for i in (1, 2, 3):
        dn.start(i)
    dn.wait_until(lambda: dn.health(0)[0] == 200, timeout=scaled(40))
