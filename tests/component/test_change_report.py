"""nfv.dpdk.change_report and playbooks/drift.yml through ansible-playbook on this machine.

The report path is given relative (environment or ansible.cfg) and ansible-playbook runs in another
directory than the playbook's: the callback writes the report where the path points from the working
directory and drift.yml reads exactly that file. Looped tasks are recorded per item with label and diff.
Drift against real hosts is proven in the Molecule scenario `default` (molecule/default/check_fidelity.yml).
"""

import json
import os
import subprocess

import pytest

from module_call import VENV_BIN, ansible_env

pytestmark = pytest.mark.component

ENABLE = {"ANSIBLE_CALLBACKS_ENABLED": "nfv.dpdk.change_report"}


def run(cwd, argv, env):
    clean = ansible_env(env)
    for name in ("NFV_DPDK_CHANGE_REPORT", "ANSIBLE_CALLBACKS_ENABLED"):
        if name not in env:
            clean.pop(name, None)
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook")] + argv, cwd=str(cwd), env=clean,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=300, check=False)
    return proc.returncode, proc.stdout


def drift(cwd, env, targets="localhost"):
    """drift.yml against this machine with an empty description (only the read-only host facts run)."""
    return run(cwd, ["--check", "--diff", "-i", "localhost,", "nfv.dpdk.drift", "-e", "nfv_dpdk_targets=%s" % targets,
                     "-e", "ansible_connection=local", "-e", "ansible_python_interpreter=/usr/bin/python3"], env)


def test_loop_items_with_labels_and_diffs_and_the_published_path(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    playbook = tmp_path / "loop.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"ansible_python_interpreter": "/usr/bin/python3"},
        "tasks": [
            {"name": "The callback publishes the absolute path",
             "ansible.builtin.assert": {"that": "nfv_dpdk_change_report_path == %r" % str(work / "change.json")}},
            {"name": "Write files",
             "ansible.builtin.copy": {"dest": str(tmp_path / "{{ item.name }}.txt"),
                                      "content": "{{ item.content }}\n", "mode": "0644"},
             "loop": [{"name": "one", "content": "1"}, {"name": "two", "content": "2"}],
             "loop_control": {"label": "{{ item.name }}"}},
        ]}]))
    (tmp_path / "two.txt").write_text("2\n")
    (tmp_path / "two.txt").chmod(0o644)
    rc, output = run(work, ["--check", "--diff", "-i", "localhost,", str(playbook)],
                     dict(ENABLE, NFV_DPDK_CHANGE_REPORT="change.json"))
    assert rc == 0, output
    with open(str(work / "change.json")) as handle:
        changed = json.load(handle)["hosts"]["localhost"]["changed"]
    assert [(entry["task"], entry["item"]) for entry in changed] == [("Write files", "one")], changed
    assert changed[0]["diff"][0]["after"] == "1\n", changed


def test_drift_finds_a_relative_report_from_the_working_directory(tmp_path):
    rc, output = drift(tmp_path, dict(ENABLE, NFV_DPDK_CHANGE_REPORT="drift.json"))
    assert rc == 0, output
    assert "localhost: in line with its description" in output, output
    assert "every host matches its description (report: %s)" % (tmp_path / "drift.json") in output
    with open(str(tmp_path / "drift.json")) as handle:
        report = json.load(handle)
    assert report["check_mode"] is True
    assert report["hosts"]["localhost"]["changed"] == [], report


def test_drift_fails_when_the_targets_match_no_host(tmp_path):
    rc, output = drift(tmp_path, dict(ENABLE, NFV_DPDK_CHANGE_REPORT="drift.json"), targets="dpdk_hosts:&rack9")
    assert rc != 0, output
    assert "nfv_dpdk_targets 'dpdk_hosts:&rack9' matches no host of the inventory (localhost,)" in output, output
    assert "every host matches" not in output and "PLAY [Compare hosts" not in output, output


def test_drift_reads_the_path_from_ansible_cfg(tmp_path):
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\ncallbacks_enabled = nfv.dpdk.change_report\n"
                      "[nfv_dpdk]\nchange_report = reports/drift.json\n")
    rc, output = drift(tmp_path, {"ANSIBLE_CONFIG": str(config)})
    assert rc == 0, output
    assert os.path.isfile(str(tmp_path / "reports" / "drift.json")), output


@pytest.mark.parametrize("env", [{}, {"NFV_DPDK_CHANGE_REPORT": "drift.json"}, ENABLE])
def test_drift_without_the_callback_or_its_path_says_how_to_enable_it(tmp_path, env):
    rc, output = drift(tmp_path, env)
    assert rc != 0, output
    assert "ANSIBLE_CALLBACKS_ENABLED=nfv.dpdk.change_report" in output, output
    assert "NFV_DPDK_CHANGE_REPORT=drift.json" in output, output
    assert not os.path.exists(str(tmp_path / "drift.json"))


def test_drift_fails_when_the_report_cannot_be_written(tmp_path):
    (tmp_path / "file").write_text("")
    rc, output = drift(tmp_path, dict(ENABLE, NFV_DPDK_CHANGE_REPORT="file/drift.json"))
    assert rc != 0, output
    assert "cannot write its report to %s" % (tmp_path / "file" / "drift.json") in output, output
    assert "no change report at %s" % (tmp_path / "file" / "drift.json") in output, output
