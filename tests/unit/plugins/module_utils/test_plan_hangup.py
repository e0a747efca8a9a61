"""A dropped SSH session (sshd's SIGHUP) during apply does not kill a module: apply and its rollback run to the end.

Each test runs a real module process: an AnsibleModule built by plan.run_module from the arguments on stdin, as
AnsiballZ runs it, around a PlannedModule whose apply waits for the test. The test sends the process a real
SIGHUP at a chosen phase and reads what the process did (files it writes, its JSON result, how it ended).
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core import plan

# the directory that holds ansible_collections/ (plugins/module_utils/core/plan.py is 5 levels below it)
COLLECTIONS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(plan.__file__)))))))

MODULE = textwrap.dedent('''
    import os, signal, time
    from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
    from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule, run_module

    WORK = os.environ["HANGUP_WORK"]

    def mark(name, text=""):
        with open(os.path.join(WORK, name), "w") as handle:
            handle.write(text)

    def wait_for(name):
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(WORK, name)):
            if time.monotonic() > deadline:
                raise SystemExit("the test never let %s go" % name)
            time.sleep(0.02)

    class Waits(PlannedModule):
        def read(self):
            mark("reading")
            wait_for("go-read")
            return {}

        def plan(self, current):
            result = Plan()
            result.add("thing", "old", "new")
            return result

        def apply(self, plan, current):
            mark("applying", str(signal.getsignal(signal.SIGHUP)))
            wait_for("go-apply")
            if self.params["fail"]:
                mark("rolled-back")  # a failing step: the rollback runs, then the error
                raise NfvError("step failed; rolled back")
            mark("applied")

        def report(self, current, plan):
            return {"sighup_after_apply": str(signal.getsignal(signal.SIGHUP))}

    run_module(Waits, {"fail": {"type": "bool", "default": False}})
''')


def start(tmp_path, fail=False):
    # the child sees what this process sees (ansible-test units puts ansible-core on the path by PYTHONPATH)
    path = os.pathsep.join([COLLECTIONS] + [entry for entry in sys.path if entry])
    env = dict(os.environ, HANGUP_WORK=str(tmp_path), PYTHONPATH=path)
    proc = subprocess.Popen([sys.executable, "-c", MODULE], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)
    proc.stdin.write(json.dumps({"ANSIBLE_MODULE_ARGS": {"fail": fail}}))
    proc.stdin.close()
    proc.stdin = None  # communicate() later reads stdout and stderr only
    return proc


def wait_file(tmp_path, name, proc):
    deadline = time.monotonic() + 30
    while not (tmp_path / name).exists():
        assert proc.poll() is None, "the module ended early: %s" % proc.stderr.read()
        assert time.monotonic() < deadline, "the module never reached %s" % name
        time.sleep(0.02)


def go(tmp_path, name):
    (tmp_path / name).write_text("")


def finish(proc):
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def test_sighup_during_apply_does_not_kill_the_module(tmp_path):
    proc = start(tmp_path)
    wait_file(tmp_path, "reading", proc)
    go(tmp_path, "go-read")
    wait_file(tmp_path, "applying", proc)
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert proc.poll() is None, "SIGHUP killed the module during apply"
    assert (tmp_path / "applying").read_text() == str(signal.SIG_IGN)
    go(tmp_path, "go-apply")
    rc, out, err = finish(proc)
    assert rc == 0, err
    assert (tmp_path / "applied").exists()
    result = json.loads(out)
    assert result["changed"] is True
    # the disposition is restored once apply is done: the rest of the run is interruptible as before
    assert result["sighup_after_apply"] == str(signal.SIG_DFL)


def test_sighup_during_a_failing_apply_lets_the_rollback_finish_and_report(tmp_path):
    proc = start(tmp_path, fail=True)
    wait_file(tmp_path, "reading", proc)
    go(tmp_path, "go-read")
    wait_file(tmp_path, "applying", proc)
    proc.send_signal(signal.SIGHUP)
    proc.send_signal(signal.SIGHUP)
    go(tmp_path, "go-apply")
    rc, out, err = finish(proc)
    assert rc == 1, err
    assert (tmp_path / "rolled-back").exists()
    result = json.loads(out)
    assert result["failed"] is True and result["msg"] == "step failed; rolled back"


def test_sighup_before_apply_still_ends_the_module(tmp_path):
    """Only apply ignores SIGHUP: a session that drops while the module reads ends it, before any change."""
    proc = start(tmp_path)
    wait_file(tmp_path, "reading", proc)
    proc.send_signal(signal.SIGHUP)
    rc, _out, _err = finish(proc)
    assert rc == -signal.SIGHUP
    assert not (tmp_path / "applying").exists()


def test_hangup_ignored_restores_a_handler_the_process_had(tmp_path):
    seen = []
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: seen.append(signum))
    try:
        handler = signal.getsignal(signal.SIGHUP)
        with plan.hangup_ignored():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) is handler
        os.kill(os.getpid(), signal.SIGHUP)
        assert seen == [signal.SIGHUP]  # the one sent while ignored was dropped, the later one handled
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_hangup_ignored_restores_after_an_error():
    with pytest.raises(RuntimeError), plan.hangup_ignored():
        raise RuntimeError("apply failed")
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
