"""Role nfv.dpdk.ovs_dpdk: socket memory derived from the NICs' NUMA nodes (run through ansible-playbook
on localhost, no host changes), syntax check, and argument_specs matching defaults."""

import json
import os
import subprocess
import sys
import tempfile

import pytest
import yaml

from module_call import REPO, VENV_BIN, ansible_env

ROLE = os.path.join(REPO, "roles", "ovs_dpdk")
TWO_NODES = {"numa": {"available": True, "nodes": [{"id": 0}, {"id": 1}]},
             "nics": [{"address": "0000:03:00.0", "interface": None, "numa_node": 1},
                      {"address": "0000:04:00.0", "interface": "eno1", "numa_node": 0},
                      {"address": "0000:81:00.0", "interface": "ens9", "numa_node": 1}]}
NO_NUMA = {"numa": {"available": False, "nodes": []},
           "nics": [{"address": "0000:00:03.0", "interface": "ens3", "numa_node": None}]}


def playbook(tmp, tasks, extra_vars):
    path = os.path.join(tmp, "play.yml")
    with open(path, "w") as handle:
        json.dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                    "vars": dict({"ansible_python_interpreter": sys.executable}, **extra_vars),
                    "tasks": tasks}], handle)
    return path


def derive(facts, **role_vars):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        tasks = [{"ansible.builtin.include_role": {"name": "nfv.dpdk.ovs_dpdk", "tasks_from": "socket_mem.yml"},
                  "vars": role_vars},
                 {"ansible.builtin.copy": {"content": "{{ __ovs_dpdk_socket_mem | to_json }}", "dest": out}}]
        path = playbook(tmp, tasks, {"__ovs_dpdk_facts": facts})
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", path],
                              env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, check=False)
        assert proc.returncode == 0, proc.stdout
        with open(out) as handle:
            return json.load(handle)


@pytest.mark.parametrize("facts, role_vars, expected", [
    (TWO_NODES, {"ovs_dpdk_nics": ["0000:03:00.0"]}, [0, 1024]),
    (TWO_NODES, {"ovs_dpdk_nics": ["eno1", "0000:81:00.0"], "ovs_dpdk_socket_mem_per_node": 2048}, [2048, 2048]),
    (TWO_NODES, {"ovs_dpdk_nics": []}, [1024, 0]),
    (TWO_NODES, {"ovs_dpdk_nics": ["0000:03:00.0"], "ovs_dpdk_socket_mem": [512, 512]}, [512, 512]),
    (NO_NUMA, {"ovs_dpdk_nics": ["ens3"]}, [1024]),
])
def test_socket_mem_from_nic_nodes(facts, role_vars, expected):
    assert derive(facts, **role_vars) == expected


def test_role_syntax():
    with tempfile.TemporaryDirectory() as tmp:
        path = playbook(tmp, [{"ansible.builtin.include_role": {"name": "nfv.dpdk.ovs_dpdk"}}], {})
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                               path], env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_argument_specs_match_defaults():
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROLE, "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert name.startswith("ovs_dpdk_")
        assert "type" in spec and "description" in spec, name
        assert spec["default"] == defaults[name], name
