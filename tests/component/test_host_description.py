"""A wrong host description fails before any change, naming the wrong field.

site.yml runs against this machine (connection local) with broken descriptions;
the run must fail in validation, before the first task that could change the
host, with a message that names the field.
"""

import json
import os
import subprocess

import pytest

from module_call import REPO, VENV_BIN, ansible_env

pytestmark = pytest.mark.component

GOOD_VM = {"name": "vm1", "memory": "256M", "vcpus": 1, "kernel": "/boot/vmlinuz", "nics": [
    {"type": "vhost-user", "socket": "/run/vhost/vm1/net0.sock", "mac": "52:54:00:00:00:01"}]}


def run_site(tmp_path, description):
    extra = tmp_path / "description.json"
    extra.write_text(json.dumps(dict(description, nfv_dpdk_targets="localhost",
                                     ansible_connection="local", ansible_python_interpreter="/usr/bin/python3")))
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "--check",
                           os.path.join(REPO, "playbooks", "site.yml"), "-e", "@%s" % extra],
                          env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)
    return proc.returncode, proc.stdout


def tasks_run(output):
    return [line.split("[", 1)[1].rsplit("]", 1)[0] for line in output.splitlines() if line.startswith("TASK [")]


@pytest.mark.parametrize("description,field", [
    ({"host_reboot": "sometimes"}, "host_reboot"),
    ({"host_hugepages": [{"size": "2M"}]}, "count"),
    ({"host_hugepages": "1024"}, "host_hugepages"),
    ({"host_ovs": {"pmd_cpu_mask": "0x2", "bridgez": []}}, "bridgez"),
    ({"host_vms": [dict(GOOD_VM, nics=[{"type": "bogus", "mac": "52:54:00:00:00:01"}])]}, "bogus"),
    ({"host_vms": [dict(GOOD_VM, state="running")]}, "state"),
    ({"host_ovs": {"vhost_socket_dir": "/run/openvswitch/vhost"}},
     "host_ovs.vhost_socket_dir /run/openvswitch/vhost is inside /run/openvswitch"),
])
def test_wrong_description_fails_before_any_change(tmp_path, description, field):
    rc, output = run_site(tmp_path, description)
    assert rc != 0, output
    assert field in output.split("fatal:", 1)[-1], output
    ran = tasks_run(output)
    # validation only: the argument spec checks of nfv.dpdk.host and of the stage roles, after the read-only
    # host_facts call whose os facts the release check takes
    assert all("alidat" in task or "Check" in task or task == "nfv.dpdk.host : Read the host" for task in ran), ran
    assert "changed=0" in output
