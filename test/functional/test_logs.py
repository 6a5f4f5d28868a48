"""log-file and SIGHUP (docs/operations.md, "Logs and SIGHUP"): the node
appends to its log file, reopens it after a rotation, and re-reads its
config on SIGHUP, applying log-level and nothing else; a broken config on
SIGHUP changes nothing and the node runs on."""
import os
import signal

import pytest


def _text(path):
    return path.read_text(errors="replace") if path.exists() else ""


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=1, start=False)
def test_log_file_reopened_and_level_reloaded_on_sighup(devnet):
    dn = devnet
    node = dn.node(0)
    log = node.dir / "logs" / "timed.log"
    log.parent.mkdir()
    node.conf_set("log-file", str(log))
    node.conf_set("log-level", "info")
    dn.start(0)
    dn.wait_until(lambda: 'msg=started' in _text(log), timeout=30, message="the start line in log-file")
    assert "msg=started" not in _text(node.log), "log-file set, yet the node logged to stderr"
    pid = node.process.pid

    # logrotate: rename, then SIGHUP; new lines go to a new file of that name
    rotated = log.with_name("timed.log.1")
    os.rename(log, rotated)
    os.kill(pid, signal.SIGHUP)
    dn.wait_until(lambda: "SIGHUP: log reopened" in _text(log), timeout=15, message="a new log file after SIGHUP")
    assert "SIGHUP" not in _text(rotated), "the reopen was logged to the rotated file"
    assert 'other_keys="take effect at the next start"' in _text(log), "the reopen line is garbled"
    assert "level=debug" not in _text(log)

    # log-level is applied at runtime
    node.conf_set("log-level", "debug")
    os.kill(pid, signal.SIGHUP)
    dn.wait_until(lambda: "log level changed" in _text(log), timeout=15, message="the level change")
    dn.wait_until(lambda: "level=debug" in _text(log), timeout=30, message="debug lines after the change")

    # back from warn to info: the change is logged (it was lost when the
    # line went out before the level was lowered)
    node.conf_set("log-level", "warn")
    os.kill(pid, signal.SIGHUP)
    dn.wait_until(lambda: "from=debug to=warn" in _text(log), timeout=15, message="debug -> warn")
    node.conf_set("log-level", "info")
    os.kill(pid, signal.SIGHUP)
    dn.wait_until(lambda: "from=warn to=info" in _text(log), timeout=15, message="warn -> info logged")

    # a config broken since the start changes nothing; the node runs on
    node.conf_set("no-such-key", "1")
    os.kill(pid, signal.SIGHUP)
    dn.wait_until(lambda: "config no longer parses" in _text(log), timeout=15, message="the refusal")
    assert 'unknown key \\"no-such-key\\"' in _text(log), "the refusal does not name the bad key"
    h = dn.rpc(0, "getblockcount")
    dn.wait_until(lambda: dn.rpc(0, "getblockcount") > h, timeout=30, message="blocks after the bad SIGHUP")
    assert node.running()
    node.conf_set("no-such-key", None)  # teardown stops it cleanly


def test_bad_log_file_stops_the_start(tmp_path):
    from framework import run, timed_path
    conf = tmp_path / "time.conf"
    conf.write_text(f"datadir = {tmp_path / 'data'}\nlog-file = {tmp_path / 'missing' / 'timed.log'}\n")
    r = run([timed_path(), "--config", conf])
    assert r.rc == 1, r.stderr
    assert "cannot open log file" in r.stderr and "missing" in r.stderr, r.stderr
