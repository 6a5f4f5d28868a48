"""The status page at / of the metrics listener: /status.json has every field
the page draws and its height moves; the page itself, loaded in headless
Chromium (Debian's `chromium`, driven over the DevTools protocol on a pipe,
Python stdlib only), renders a height that increases, logs no console error,
loads nothing but 127.0.0.1, and leaves screenshots (light and dark) in the
test's tmp dir.

Chromium runs in its own process group with a throwaway profile; every wait
is bounded, and teardown kills that group (and only it)."""
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import time

import pytest

from framework import http_request, run, scaled

STATUS_KEYS = {"network", "height", "tip_hash", "tip_time_ms", "last_block_age_ms", "validator", "consensus",
               "peers", "mempool", "sync", "blocks", "validators", "validators_truncated", "validator_set_size"}
BLOCK_KEYS = {"height", "hash", "time_ms", "txs", "round", "interval_ms", "latency_ms"}
VALIDATOR_KEYS = {"operator", "weight", "in_set", "self", "heartbeat_age_ms", "tier", "jailed", "missed"}


def status_json(port):
    status, headers, body = http_request(port, "/status.json")
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    return json.loads(body)


def check_shape(s, nodes):
    assert STATUS_KEYS <= set(s), "missing: %s" % sorted(STATUS_KEYS - set(s))
    assert s["network"] == "devnet"
    assert len(s["tip_hash"]) == 64
    assert {"height", "round", "step", "proposer"} <= set(s["consensus"])
    assert s["consensus"]["height"] in (s["height"], s["height"] + 1)
    assert s["peers"]["in"] + s["peers"]["out"] == nodes - 1
    assert {"txs", "bytes"} <= set(s["mempool"])
    assert s["sync"] == {"syncing": False, "target": s["sync"]["target"]}
    assert 1 <= len(s["blocks"]) <= 20
    for b in s["blocks"]:
        assert set(b) == BLOCK_KEYS, b
        assert len(b["hash"]) == 64
    heights = [b["height"] for b in s["blocks"]]
    assert heights == sorted(heights) and heights[-1] == s["height"]
    assert s["blocks"][-1]["hash"] == s["tip_hash"]
    assert len(s["validators"]) == s["validator_set_size"] == nodes
    for v in s["validators"]:
        assert set(v) == VALIDATOR_KEYS, v
        assert v["in_set"] and not v["jailed"] and v["weight"] > 0
    assert sum(v["self"] for v in s["validators"]) == 1
    # every other validator's heartbeat was heard, and recently
    heard = [v["heartbeat_age_ms"] for v in s["validators"] if not v["self"]]
    assert all(a is not None and a < scaled(120) * 1000 for a in heard), heard


class Chromium:
    """Headless Chromium with --remote-debugging-pipe: requests go in on fd 3
    and answers and events come back on fd 4, each a JSON text ending in NUL."""

    def __init__(self, binary, profile, allowed_origin):
        self.allowed = allowed_origin
        cmd_r, self.cmd_w = os.pipe()
        self.ev_r, ev_w = os.pipe()
        # Chromium reads fd 3 and writes fd 4: a shell moves our ends there
        # just before it execs the browser (same PID, same process group).
        child_r, child_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (cmd_r, ev_w))
        for fd in (cmd_r, ev_w):
            os.close(fd)
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-extensions", "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--no-first-run", "--no-default-browser-check", "--mute-audio", "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--window-size=1200,1000", f"--user-data-dir={profile}", "--remote-debugging-pipe",
                "about:blank"]
        shell = f'exec 3<&{child_r} 4>&{child_w} {child_r}<&- {child_w}>&-; exec "$@"'
        self.log = open(os.path.join(profile, "..", "chromium.log"), "wb")
        self.proc = subprocess.Popen(["/bin/bash", "-c", shell, "chromium"] + args, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log, pass_fds=(child_r, child_w),
                                     start_new_session=True)
        os.close(child_r)
        os.close(child_w)
        self.next_id = 0
        self.buf = b""
        self.events = []
        self.session = None

    def _read_one(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.ev_r], [], [], left)
            if ready:
                chunk = os.read(self.ev_r, 1 << 20)
                if not chunk:
                    raise EOFError("Chromium closed its pipe (exit %s)" % self.proc.poll())
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, timeout=10, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + scaled(timeout)
        while True:
            m = self._read_one(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def pump(self, seconds):
        """Collects events for up to `seconds`."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_one(deadline))
        except TimeoutError:
            pass

    def open(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(domain + ".enable")
        self.send("Page.navigate", {"url": url})

    def eval(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def problems(self):
        """Console errors, uncaught exceptions, failed loads and any request
        to somewhere other than the allowed origin, seen so far."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], [a.get("value", a.get("description"))
                                                         for a in p.get("args", [])]))
            elif m == "Runtime.exceptionThrown":
                out.append("exception: %s" % p["exceptionDetails"].get("exception", {}).get("description",
                                                                                           p["exceptionDetails"]))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append("log: %s %s" % (p["entry"].get("text"), p["entry"].get("url", "")))
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                out.append("load failed: %s" % p.get("errorText"))
            elif m == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if not (url.startswith(self.allowed) or url.startswith("data:")):
                    out.append("request outside %s: %s" % (self.allowed, url))
        return out

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=scaled(5))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group we started, whatever is left of it
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=scaled(10))
        os.close(self.cmd_w)
        os.close(self.ev_r)
        self.log.close()


HEARTBEAT_S = "2"  # the default is 60 s: the first heartbeats would come a minute in


def heartbeats_heard(port):
    return all(v["heartbeat_age_ms"] is not None or v["self"] for v in status_json(port)["validators"])


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4, start=False)
def test_status_json(devnet):
    dn = devnet
    dn.start_all("--heartbeat-interval", HEARTBEAT_S)
    port = dn.nodes[0].metrics_port
    dn.wait_until(lambda: status_json(port)["height"] >= 2, timeout=scaled(30))
    dn.wait_until(lambda: heartbeats_heard(port), timeout=scaled(30))
    first = status_json(port)
    check_shape(first, 4)
    dn.wait_until(lambda: status_json(port)["height"] > first["height"], timeout=scaled(20))
    later = status_json(port)
    check_shape(later, 4)
    assert later["blocks"][-1]["height"] > first["blocks"][-1]["height"]
    status, headers, _ = http_request(port, "/status.json", method="HEAD")
    assert status == 200 and headers["Content-Type"] == "application/json"


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=4, start=False)
def test_status_page_in_chromium(devnet, tmp_path):
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed (scripts/install-deps.sh installs it)")
    dn = devnet
    dn.start_all("--heartbeat-interval", HEARTBEAT_S)
    port = dn.nodes[0].metrics_port
    origin = f"http://127.0.0.1:{port}/"
    status, headers, body = http_request(port, "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"
    dn.wait_until(lambda: status_json(port)["height"] >= 1, timeout=scaled(30))

    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    browser = Chromium(binary, str(profile), origin)
    shot = tmp_path / "status_page.png"
    try:
        browser.open(origin)

        def rendered_height():
            browser.pump(0.2)
            text = browser.eval("document.getElementById('height') ? "
                                "document.getElementById('height').textContent : ''")
            return int(text) if text and text.isdigit() else None

        first = dn.wait_until(rendered_height, timeout=scaled(30), interval=0.3,
                              message="the page never rendered a height")
        dn.wait_until(lambda: (rendered_height() or 0) > first, timeout=scaled(30), interval=0.3,
                      message="the rendered height did not increase")
        # a payment, so the chart has a bar and the blocks table a non-zero count
        addr = run([dn.time_cli, "wallet", "create", "--wallet", str(tmp_path / "carol.wallet"),
                    "--unencrypted"]).stdout.strip()
        rc, _, err = dn.cli(0, "--wallet", os.path.join(dn.dir, "faucet.wallet"), "wallet", "send", addr, "7")
        assert rc == 0, err
        txs_cells = "Array.from(document.querySelectorAll('#blocks tr td:nth-child(3)')).map(function(td){" \
                    "return +td.textContent;})"
        dn.wait_until(lambda: browser.pump(0.2) or max(browser.eval(txs_cells) or [0]) >= 1, timeout=scaled(20),
                      interval=0.3, message="the payment's block never showed on the page")
        dn.wait_until(lambda: heartbeats_heard(port), timeout=scaled(30))
        browser.pump(1.5)  # one more poll, so the screenshot shows the heartbeats
        assert browser.eval("document.getElementById('conn').textContent") == "live"
        rows = browser.eval("document.querySelectorAll('#validators tr').length")
        assert rows == 4, rows
        assert browser.eval("document.querySelectorAll('#blocks tr').length") >= 1
        # the chart drew something: some pixel of the canvas is not transparent
        assert browser.eval("(function(){var c=document.getElementById('chart');"
                            "var d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;"
                            "for(var i=3;i<d.length;i+=4) if(d[i]) return true; return false;})()")
        png = base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"})["data"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        shot.write_bytes(png)
        print("status page screenshot: %s" % shot)
        # the dark scheme draws too (its own colours on the canvas), without errors
        browser.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        browser.pump(1.5)
        assert browser.eval("matchMedia('(prefers-color-scheme: dark)').matches") is True
        dark = tmp_path / "status_page_dark.png"
        dark.write_bytes(base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"})["data"]))
        print("status page screenshot (dark): %s" % dark)
        browser.pump(0.5)
        problems = browser.problems()
        assert not problems, "the page reported: %s" % problems
    finally:
        browser.close()
