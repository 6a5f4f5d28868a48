"""make install / uninstall, the systemd unit, the man pages and make deb (docs/install.md).

Reuses build/timed and build/time-cli (make test-functional builds them
first): nothing here compiles. Every command is bounded by framework.run.
"""

import gzip
import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from framework import REPO_ROOT, run, timed_path

MAKE_TIMEOUT = 120

# What `make install` writes, relative to PREFIX=/usr with SYSCONFDIR=ETC,
# and the mode of each file.
def expected_files(etc):
    return {
        "usr/bin/timed": 0o755,
        "usr/bin/time-cli": 0o755,
        "usr/share/man/man1/timed.1": 0o644,
        "usr/share/man/man1/time-cli.1": 0o644,
        "usr/share/man/man5/time.conf.5": 0o644,
        f"{etc}/timecoin/time.conf.example": 0o644,
        f"{etc}/logrotate.d/timed": 0o644,
        "usr/lib/systemd/system/timed.service": 0o644,
        "usr/share/doc/timecoin/install.md": 0o644,
        "usr/share/doc/timecoin/config.md": 0o644,
        "usr/share/doc/timecoin/operations.md": 0o644,
    }


MAN_PAGES = ["man/timed.1", "man/time-cli.1", "man/time.conf.5"]
# A hardened unit scores about 1.1; the default (no hardening) is 9.6.
MAX_EXPOSURE = 2.0


def need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/install-deps.sh installs it)")


def build_version():
    r = run([timed_path(), "--version"])
    assert r.rc == 0, r.stderr
    return r.stdout.split()[1]


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if not p.is_dir())


def make(*args, as_nobody=False):
    """make ARGS in the repository; as root, optionally as the user nobody
    (to show that install into DESTDIR needs no root)."""
    argv = ["make", "--no-print-directory", "-C", REPO_ROOT, *args]
    if as_nobody and os.geteuid() == 0:
        need("setpriv")
        argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv]
    return run(argv, timeout=MAKE_TIMEOUT)


@pytest.fixture
def world_dir():
    """A scratch dir that the user nobody can write (tmp_path is root's 0700)."""
    d = tempfile.mkdtemp(prefix="tc-install-")
    os.chmod(d, 0o777)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


# ---- (a) make install / uninstall -------------------------------------------

def test_install_and_uninstall_into_destdir(world_dir):
    dest = world_dir / "root"
    r = make("install", f"DESTDIR={dest}", "PREFIX=/usr", as_nobody=True)
    assert r.rc == 0, r.stdout + r.stderr
    assert not re.search(r"^\S*cc .* -c ", r.stdout, re.M), "make install compiled something:\n" + r.stdout

    want = expected_files("usr/etc")  # GNU: SYSCONFDIR defaults to PREFIX/etc
    assert files_under(dest) == sorted(want), files_under(dest)
    for rel, mode in want.items():
        st = (dest / rel).stat()
        assert stat.S_IMODE(st.st_mode) == mode, f"{rel}: mode {stat.S_IMODE(st.st_mode):o}, want {mode:o}"

    version = build_version()
    for prog in ("timed", "time-cli"):
        r = run([dest / "usr/bin" / prog, "--version"])
        assert r.rc == 0 and r.stdout.strip() == f"{prog} {version}", (r.rc, r.stdout, r.stderr)
    r = run([dest / "usr/bin/time-cli", "help"])
    assert r.rc == 0 and r.stdout.startswith("usage: time-cli"), r.stdout

    unit = (dest / "usr/lib/systemd/system/timed.service").read_text()
    assert "ExecStart=/usr/bin/timed --config /usr/etc/timecoin/time.conf\n" in unit
    assert "ConditionPathExists=/usr/etc/timecoin/time.conf\n" in unit

    r = make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr", as_nobody=True)
    assert r.rc == 0, r.stdout + r.stderr
    assert files_under(dest) == [], f"uninstall left {files_under(dest)}"


def test_install_honours_bindir_mandir_sysconfdir(tmp_path):
    dest = tmp_path / "root"
    r = make("install", f"DESTDIR={dest}", "PREFIX=/opt/tc", "BINDIR=/opt/tc/sbin",
             "MANDIR=/opt/man", "SYSCONFDIR=/etc")
    assert r.rc == 0, r.stdout + r.stderr
    for rel in ("opt/tc/sbin/timed", "opt/tc/sbin/time-cli", "opt/man/man1/timed.1",
                "opt/man/man5/time.conf.5", "etc/timecoin/time.conf.example", "etc/logrotate.d/timed",
                "opt/tc/lib/systemd/system/timed.service"):
        assert (dest / rel).is_file(), f"{rel} not installed: {files_under(dest)}"
    unit = (dest / "opt/tc/lib/systemd/system/timed.service").read_text()
    assert "ExecStart=/opt/tc/sbin/timed --config /etc/timecoin/time.conf\n" in unit


# ---- (b) the unit --------------------------------------------------------------

def verify_unit(unit_text, root, tmp_path):
    """systemd-analyze verify on a copy of the unit whose binary paths point
    into root, with root's man pages on MANPATH (Documentation= is checked)."""
    d = tmp_path / "unit"
    d.mkdir(exist_ok=True)
    copy = d / "timed.service"
    copy.write_text(re.sub(r"(?m)^(Exec\w+=)(/usr/bin/)", rf"\g<1>{root}\g<2>", unit_text))
    env = dict(os.environ, MANPATH=str(Path(root) / "usr/share/man"))
    p = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True,
                       timeout=60, env=env)
    return p.returncode, p.stdout + p.stderr, copy


@pytest.fixture
def installed(tmp_path):
    dest = tmp_path / "root"
    r = make("install", f"DESTDIR={dest}", "PREFIX=/usr", "SYSCONFDIR=/etc")
    assert r.rc == 0, r.stdout + r.stderr
    return dest


def test_unit_verifies_and_broken_units_do_not(installed, tmp_path):
    need("systemd-analyze", "man")
    unit = (installed / "usr/lib/systemd/system/timed.service").read_text()
    rc, out, _ = verify_unit(unit, installed, tmp_path)
    assert rc == 0 and out == "", out  # not even a warning

    # The check must fail on a broken unit: a missing binary, a misspelt key,
    # a man page that is not installed.
    rc, out, _ = verify_unit(unit.replace("/usr/bin/timed ", "/usr/bin/timedx "), installed, tmp_path)
    assert rc != 0 and "is not executable" in out, out
    rc, out, _ = verify_unit(unit.replace("ProtectHome=", "ProtectHomes="), installed, tmp_path)
    assert "Unknown key" in out, out
    (installed / "usr/share/man/man5/time.conf.5").unlink()
    rc, out, _ = verify_unit(unit, installed, tmp_path)
    assert rc != 0 and "time.conf(5)" in out, out


def test_unit_hardening_score(installed, tmp_path):
    need("systemd-analyze")
    unit = (installed / "usr/lib/systemd/system/timed.service").read_text()
    _, _, copy = verify_unit(unit, installed, tmp_path)
    p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(copy)],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for timed\.service: (\d+\.\d+)", p.stdout + p.stderr)
    assert m, p.stdout + p.stderr
    assert float(m.group(1)) <= MAX_EXPOSURE, p.stdout


def test_unit_logrotate_and_example_agree(installed):
    unit = (installed / "usr/lib/systemd/system/timed.service").read_text()
    example = (installed / "etc/timecoin/time.conf.example").read_text()
    rotate = (installed / "etc/logrotate.d/timed").read_text()

    def key(text, k):
        m = re.search(rf"(?m)^{re.escape(k)}\s*=\s*(\S+)", text)
        assert m, f"{k} not set"
        return m.group(1)

    assert key(unit, "Type") == "exec"  # timed does not fork
    assert key(unit, "Restart") == "on-failure"
    assert key(unit, "RestartPreventExitStatus") == "1"  # a config error does not loop
    assert re.search(r"(?m)^ExecReload=/bin/kill -HUP \$MAINPID$", unit)
    user, state, logs = key(unit, "User"), key(unit, "StateDirectory"), key(unit, "LogsDirectory")
    assert key(example, "datadir") == f"/var/lib/{state}"
    log_file = key(example, "log-file")
    assert os.path.dirname(log_file) == f"/var/log/{logs}"
    assert re.search(rf"(?m)^{re.escape(log_file)} \{{", rotate), "logrotate rotates another file"
    assert re.search(rf"(?m)^\s*create 0640 {user} {user}$", rotate)
    assert "timed.service" in rotate


# ---- (c) man pages -------------------------------------------------------------

@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders_without_warnings(page):
    need("groff", "man")
    src = REPO_ROOT / page
    assert src.read_bytes().isascii(), f"{page}: non-ASCII bytes (use \\(em and the like)"
    r = run(["groff", "-mandoc", "-ww", "-z", src])
    assert r.rc == 0 and r.stderr == "", r.stderr
    r = run(["man", "--warnings=w", "-l", src], env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING=""))
    assert r.rc == 0 and r.stderr == "" and "SEE ALSO" in r.stdout, r.stderr


def test_man_pages_cover_keys_options_and_exit_codes():
    conf5 = (REPO_ROOT / "man/time.conf.5").read_text()
    keys = re.findall(r"^\|\s*`([a-z][a-z0-9-]*)`\s*\|", (REPO_ROOT / "docs/config.md").read_text(), re.M)
    assert len(keys) >= 30
    missing = [k for k in keys if f".It Cm {k}\n" not in conf5]
    assert not missing, f"time.conf.5 lacks keys of docs/config.md: {missing}"
    timed1 = (REPO_ROOT / "man/timed.1").read_text()
    for opt in ("-config", "-check-config", "-help", "-version"):
        assert f".Fl {opt}" in timed1, opt
    for sig in ("SIGHUP", "SIGTERM"):
        assert f".It Dv {sig}" in timed1 or f"Dv {sig}" in timed1, sig
    for page in ("man/timed.1", "man/time-cli.1"):
        text = (REPO_ROOT / page).read_text()
        exit_codes = re.search(r"\.Sh EXIT STATUS\n(.*?)\n\.Sh ", text, re.S)
        assert exit_codes and all(f".It {c}\n" in exit_codes.group(1) for c in "012"), page


# ---- (d) make deb --------------------------------------------------------------

def deb_field(control, name):
    m = re.search(rf"(?m)^{name}: (.*)$", control)
    assert m, f"control has no {name}"
    return m.group(1)


def test_deb_contents_control_and_scripts(tmp_path):
    need("dpkg-deb", "dpkg-shlibdeps", "readelf")
    r = make("deb")
    assert r.rc == 0, r.stdout + r.stderr
    version = build_version()
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    deb = REPO_ROOT / "build" / f"timecoin_{version}_{arch}.deb"
    assert deb.is_file(), r.stdout

    r = run(["dpkg-deb", "-c", deb])
    assert r.rc == 0, r.stderr
    listed = {line.split()[-1].lstrip(".") for line in r.stdout.splitlines()}
    for rel in expected_files("etc"):
        rel = "/" + rel + (".gz" if "/man/" in rel else "")
        assert rel in listed, f"{rel} not in the package:\n{r.stdout}"
    assert all(" root/root " in line for line in r.stdout.splitlines()), r.stdout

    root = tmp_path / "x"
    assert run(["dpkg-deb", "-x", deb, root]).rc == 0
    r = run([root / "usr/bin/timed", "--version"])
    assert r.rc == 0 and r.stdout.strip() == f"timed {version}", r
    man = gzip.decompress((root / "usr/share/man/man1/timed.1.gz").read_bytes())
    assert man == (REPO_ROOT / "man/timed.1").read_bytes()

    control = run(["dpkg-deb", "-f", deb]).stdout
    assert deb_field(control, "Package") == "timecoin"
    assert deb_field(control, "Version") == version
    assert deb_field(control, "Architecture") == arch
    depends = [d.split()[0] for d in deb_field(control, "Depends").split(", ")]
    assert "adduser" in depends
    # Every library the programs load is in Depends by its package.
    for prog in ("timed", "time-cli"):
        needed = re.findall(r"\(NEEDED\).*\[(.+)\]", run(["readelf", "-d", root / "usr/bin" / prog]).stdout)
        assert needed
        for lib in needed:
            owner = run(["dpkg", "-S", f"*/{lib}"]).stdout.split(":")[0]
            assert owner in depends, f"{prog} needs {lib} from {owner}, not in Depends {depends}"

    ctl = tmp_path / "ctl"
    assert run(["dpkg-deb", "-e", deb, ctl]).rc == 0
    conffiles = (ctl / "conffiles").read_text().split()
    assert conffiles and all((root / c.lstrip("/")).is_file() for c in conffiles), conffiles
    for script in ("postinst", "prerm", "postrm"):
        assert os.access(ctl / script, os.X_OK), script
        r = run(["sh", "-n", ctl / script])
        assert r.rc == 0, f"{script}: {r.stderr}"

    # The unit as the package ships it verifies against the package's tree.
    if shutil.which("systemd-analyze") and shutil.which("man"):
        unit = (root / "usr/lib/systemd/system/timed.service").read_text()
        assert "ExecStart=/usr/bin/timed --config /etc/timecoin/time.conf\n" in unit
        env = dict(os.environ, MANPATH=str(root / "usr/share/man"))
        copy = tmp_path / "timed.service"
        copy.write_text(unit.replace("/usr/bin/timed", f"{root}/usr/bin/timed"))
        p = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True,
                           timeout=60, env=env)
        assert p.returncode == 0 and p.stderr == "", p.stderr

    check_postinst(ctl / "postinst", tmp_path / "stubs")


def check_postinst(postinst, stubs):
    """postinst configure, with adduser/getent/systemctl replaced by stubs that
    log their arguments: it creates the system user and starts nothing."""
    stubs.mkdir()
    log = stubs / "calls.log"
    for name, rc in (("getent", 2), ("adduser", 0), ("useradd", 0), ("systemctl", 0), ("deb-systemd-invoke", 0)):
        (stubs / name).write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\nexit {rc}\n')
        (stubs / name).chmod(0o755)
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(stubs)}
    r = run(["sh", postinst, "configure"], env=env)
    assert r.rc == 0, r.stderr
    calls = log.read_text().splitlines()
    adds = [c for c in calls if c.startswith("adduser ")]
    assert len(adds) == 1, calls
    assert "--system" in adds[0] and "--home /var/lib/timecoin" in adds[0] and adds[0].endswith(" timecoin")
    assert not any(re.search(r"\b(start|enable|restart)\b", c) for c in calls), calls


# ---- (e) the example config is one the node accepts ------------------------------

def test_example_config_passes_check_config(tmp_path):
    example = REPO_ROOT / "contrib/time.conf.example"
    r = run([timed_path(), "--check-config", "--config", example])
    assert r.rc == 0, r.stderr
    assert r.stdout.strip() == f"{example}: ok (network mainnet, datadir /var/lib/timecoin)", r.stdout

    # --check-config opens nothing: neither the data dir nor the log file appear.
    data, logf = tmp_path / "data", tmp_path / "timed.log"
    r = run([timed_path(), "--check-config", "--config", example, "--datadir", data, "--log-file", logf])
    assert r.rc == 0 and not data.exists() and not logf.exists(), (r, list(tmp_path.iterdir()))

    # ... and it fails like a start does on a bad file.
    bad = tmp_path / "time.conf"
    text = example.read_text()
    bad.write_text(text + "peer-timeout = lots\n")
    r = run([timed_path(), "--check-config", "--config", bad])
    line = text.count("\n") + 1
    assert r.rc == 1 and f"{bad}:{line}:" in r.stderr and "lots" in r.stderr, r.stderr
    bad.write_text(text.replace("network = mainnet", "network = mainnet\nblock-interval-ms = 100"))
    r = run([timed_path(), "--check-config", "--config", bad])
    assert r.rc == 1 and "devnet override" in r.stderr, r.stderr
