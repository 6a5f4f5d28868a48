"""setban, listbanned and clearbanned over RPC: a valid ban is listed with
its subject in canonical form and survives a restart, clearbanned lifts
every ban (also in the store: none comes back after a restart), and
nonsense subjects, commands and ban times are refused with -32602 naming
the bad parameter, before anything is banned."""
import pytest

from framework import JSONRPCError

KEY = "3B6DDF19ACBB59D0D898C06B9AE3C8B3272AE34A67279CB6B5B5B7F6A18989D3"


def subjects(dn):
    return sorted(b["subject"] for b in dn.rpc(0, "listbanned"))


def refused(dn, *params):
    with pytest.raises(JSONRPCError) as e:
        dn.rpc(0, "setban", *params)
    assert e.value.code == -32602, (params, e.value.code, e.value.message)
    return e.value.message


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=1)
def test_setban_clearbanned_and_restart(devnet):
    dn = devnet
    assert "clearbanned" in dn.rpc(0, "help")
    assert dn.rpc(0, "listbanned") == []
    assert dn.rpc(0, "setban", "203.0.113.5", "add", 600) is None
    assert dn.rpc(0, "setban", "2001:DB8:0:0::7", "add") is None  # default ban time
    assert dn.rpc(0, "setban", "key:" + KEY, "add", 3600) is None
    want = sorted(["203.0.113.5", "2001:db8::7", "key:" + KEY.lower()])  # canonical forms
    assert subjects(dn) == want
    bans = {b["subject"]: b for b in dn.rpc(0, "listbanned")}
    b = bans["203.0.113.5"]
    assert 599_000 <= b["until_ms"] - b["created_ms"] <= 601_000
    b = bans["2001:db8::7"]
    assert b["until_ms"] - b["created_ms"] == 24 * 3600 * 1000
    # a non-canonical spelling names the same ban
    assert dn.rpc(0, "setban", "2001:db8::0:7", "remove") is None
    assert dn.rpc(0, "setban", "2001:db8::7", "add", 60) is None

    dn.restart(0)
    assert subjects(dn) == want, "bans did not survive the restart"
    assert dn.rpc(0, "clearbanned") is None
    assert dn.rpc(0, "listbanned") == []
    dn.restart(0)
    assert dn.rpc(0, "listbanned") == [], "clearbanned left bans in the store"
    assert dn.rpc(0, "clearbanned") is None  # nothing to clear is no error
    with pytest.raises(JSONRPCError) as e:
        dn.rpc(0, "clearbanned", "all")
    assert e.value.code == -32602


@pytest.mark.needs_daemon
@pytest.mark.devnet(nodes=1)
def test_setban_refuses_nonsense(devnet):
    dn = devnet
    for subject in ("", "nonsense", "999.1.1.1", "1.2.3", "203.0.113.5:24100", "[::1]", "example.org",
                    "key:", "key:zz", "key:" + "ab" * 31, "key:" + "ab" * 33, "203.0.113.5 ", " 203.0.113.5"):
        assert "subject" in refused(dn, subject, "add", 60), subject
    assert "subnet" in refused(dn, "203.0.113.0/24", "add", 60)
    assert "subject" in refused(dn, 12345, "add", 60)
    for cmd in ("ADD", "added", "", "delete", "clear"):
        assert "command" in refused(dn, "203.0.113.5", cmd, 60), cmd
    assert "command" in refused(dn, "203.0.113.5")
    for bantime in (-1, 0, -86400, 2**63 - 1, 2**62, 10**18, 1.5, "60", True, None):
        assert "bantime" in refused(dn, "203.0.113.5", "add", bantime), bantime
    assert "bantime" in refused(dn, "203.0.113.5", "remove", 60)  # nothing to time
    assert "absolute" in refused(dn, "203.0.113.5", "add", 60, True)
    assert "help" in refused(dn)  # no parameters at all: the usage
    assert dn.rpc(0, "listbanned") == [], "a refused setban banned something"
    # the largest ban time is taken (about ten years), one more second is not
    assert dn.rpc(0, "setban", "203.0.113.5", "add", 10 * 365 * 86400) is None
    assert "bantime" in refused(dn, "203.0.113.6", "add", 10 * 365 * 86400 + 1)
    # removing what is not banned is not a parameter error
    with pytest.raises(JSONRPCError) as e:
        dn.rpc(0, "setban", "198.51.100.1", "remove")
    assert e.value.code == -1 and "not banned" in e.value.message
    assert subjects(dn) == ["203.0.113.5"]
