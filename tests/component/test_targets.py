"""site.yml, drift.yml and facts.yml fail at once, naming the pattern, when nfv_dpdk_targets matches no host.

A typo in nfv_dpdk_targets used to skip the play on the hosts and end the run green (drift.yml reported
no drift). Each playbook runs here against an inventory file of this machine (connection local); the
check is a first play on localhost, before any host is read or changed. A pattern that matches goes on
to the real plays; drift.yml's own run on a matching target is in test_change_report.py.
"""

import json
import os
import subprocess

import pytest

from module_call import REPO, VENV_BIN, ansible_env

pytestmark = pytest.mark.component

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
INVENTORY = {"dpdk_hosts": {"hosts": {"node1": LOCAL}}}


def run(tmp_path, playbook, *args, inventory=None):
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps(inventory or INVENTORY))
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(path), "--check", *args,
                           os.path.join(REPO, "playbooks", playbook)],
                          env=ansible_env({"ANSIBLE_CALLBACKS_ENABLED": "nfv.dpdk.change_report",
                                           "NFV_DPDK_CHANGE_REPORT": str(tmp_path / "report.json")}),
                          cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)
    return proc.returncode, proc.stdout


@pytest.mark.parametrize("playbook", ["site.yml", "drift.yml", "facts.yml"])
@pytest.mark.parametrize("targets", ["dpdk_host", "dpdk_hosts:&rack9"])
def test_a_pattern_that_matches_no_host_fails_naming_it(tmp_path, playbook, targets):
    rc, output = run(tmp_path, playbook, "-e", "nfv_dpdk_targets=%s" % targets)
    assert rc != 0, output
    assert ("nfv_dpdk_targets '%s' matches no host of the inventory (%s)" % (targets, tmp_path / "hosts.json")
            in output), output
    assert "its groups: dpdk_hosts." in output, output
    # nothing ran on a host: the run stopped in the first play
    assert output.count("PLAY [") == 1 and "node1" not in output.split("PLAY RECAP")[-1], output


@pytest.mark.parametrize("playbook", ["site.yml", "drift.yml"])
def test_the_default_pattern_is_named_when_it_matches_nothing(tmp_path, playbook):
    rc, output = run(tmp_path, playbook, inventory={"all": {"hosts": {"node2": {}}}})
    assert rc != 0, output
    assert "nfv_dpdk_targets 'dpdk_hosts' (the default) matches no host" in output, output
    assert "its groups: none." in output, output


@pytest.mark.parametrize("playbook, last_task", [
    ("site.yml", "Summarize the reboots the hosts still owe"),
    ("drift.yml", "Fail when a host has drifted"),
    ("facts.yml", "Summarize the host"),
])
@pytest.mark.parametrize("targets, hosts", [
    (None, None),  # the playbook's default: dpdk_hosts (site, drift), localhost (facts)
    ("dpdk_hosts", "node1"),
    ("node*", "node1"),
    ("localhost", "localhost"),  # the implicit localhost, not in the inventory
])
def test_a_matching_pattern_runs_the_playbook_on_its_hosts(tmp_path, playbook, last_task, targets, hosts):
    if targets is None:
        shown, hosts = ("localhost", "localhost") if playbook == "facts.yml" else ("dpdk_hosts", "node1")
        args = []
    else:
        shown, args = targets, ["-e", "nfv_dpdk_targets=%s" % targets]
    if hosts == "localhost":
        args += ["-e", "ansible_python_interpreter=/usr/bin/python3"]
    rc, output = run(tmp_path, playbook, *args)
    assert rc == 0, output
    assert "nfv_dpdk_targets '%s': %s" % (shown, hosts) in output, output
    assert "TASK [%s]" % last_task in output, output
    recap = output.split("PLAY RECAP")[-1]
    assert "%s " % hosts in recap and "failed=1" not in recap, output
