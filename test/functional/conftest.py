"""pytest glue: markers, the devnet fixtures, node logs on failure."""

import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import framework  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_daemon: the test runs timed as a node (not only its"
                                       " --help/--version/config checks)")
    config.addinivalue_line("markers", "devnet(nodes=4, start=True): shape of the `devnet` fixture")
    # `kill <pytest pid>` should still run fixture teardown and stop the nodes.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_to_interrupt)


def _sigterm_to_interrupt(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
    if report.failed:
        for dn in getattr(item, "_tc_devnets", ()):
            for title, text in dn.log_sections():
                report.sections.append((title, text))


@pytest.fixture
def devnet_factory(request, tmp_path):
    """make(nodes=4, init=True, start=False) -> Devnet in this test's tmp dir.
    Every Devnet made is cleaned up at teardown; if the test failed, the last
    lines of every node's log are shown with the failure."""
    made = []
    request.node._tc_devnets = made

    def make(nodes=4, init=True, start=False):
        dn = framework.Devnet(tmp_path / f"devnet{len(made)}", nodes)
        made.append(dn)
        if init:
            dn.init()
        if start:
            dn.start_all()
        return dn

    yield make
    problems = []
    for dn in made:
        problems += dn.cleanup()
    call = getattr(request.node, "rep_call", None)
    if problems and call is not None and call.passed:
        pytest.fail("at teardown: " + "; ".join(problems), pytrace=False)


@pytest.fixture
def devnet(request, devnet_factory):
    """An initialized devnet, all nodes started and answering RPC. Shape it
    with @pytest.mark.devnet(nodes=5, start=False)."""
    marker = request.node.get_closest_marker("devnet")
    kwargs = dict(marker.kwargs) if marker else {}
    return devnet_factory(nodes=kwargs.get("nodes", 4), start=kwargs.get("start", True))
