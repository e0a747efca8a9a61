"""host_ovs in group_vars, one port changed by host_ovs_overrides in host_vars, through site.yml.

An inventory directory as a user writes it: group_vars/dpdk_hosts.yml holds the fleet's bridges, and
host_vars/node7.yml moves one port's socket, adds a port and drops a bridge; node8 has no overrides.
site.yml runs in check mode (--tags ovs) against a private OVS-DPDK (ovs_lab) that already holds the
fleet's bridges, for both hosts (connection local). What nfv.dpdk.ovs_bridge would change, per host,
comes from the change_report callback: node7 exactly its overrides, node8 nothing. Check mode leaves
the database as it was.
"""

import json
import os
import subprocess

import pytest
import yaml

from module_call import REPO, VENV_BIN, ansible_env

pytestmark = pytest.mark.component

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}


def fleet(lab):
    return {
        "host_ovs": {
            "socket_mem": [lab.socket_mem], "lcore_mask": lab.lcore_mask, "pmd_cpu_mask": lab.pmd_cpu_mask,
            "per_port_memory": lab.per_port_memory,
            "bridges": [
                {"name": "br-phy", "datapath_type": "netdev", "ports": [
                    {"name": "vhu-vm1", "type": "dpdkvhostuserclient",
                     "options": {"vhost-server-path": lab.vhost_dir + "/vm1.sock"}},
                    {"name": "vhu-vm2", "type": "dpdkvhostuserclient",
                     "options": {"vhost-server-path": lab.vhost_dir + "/vm2.sock"}}]},
                {"name": "br-tun", "datapath_type": "netdev"},
            ],
        },
    }


def overrides(lab):
    return {
        "host_ovs_overrides": {
            "bridges": [
                {"name": "br-phy", "ports": [
                    {"name": "vhu-vm1", "options": {"vhost-server-path": lab.vhost_dir + "/node7-vm1.sock"}},
                    {"name": "vhu-vm3", "type": "dpdkvhostuserclient",
                     "options": {"vhost-server-path": lab.vhost_dir + "/vm3.sock"}}]},
                {"name": "br-tun", "state": "absent"},
            ],
        },
    }


@pytest.fixture
def fleet_in_ovs(ovs_lab):
    """The fleet's bridges as they are in OVS; removed again afterwards."""
    ports = fleet(ovs_lab)["host_ovs"]["bridges"][0]["ports"]
    ovs_lab.vsctl("add-br", "br-phy", "--", "set", "Bridge", "br-phy", "datapath_type=netdev")
    for port in ports:
        ovs_lab.vsctl("add-port", "br-phy", port["name"], "--", "set", "Interface", port["name"],
                      "type=dpdkvhostuserclient",
                      "options:vhost-server-path=%s" % port["options"]["vhost-server-path"])
    ovs_lab.vsctl("add-br", "br-tun", "--", "set", "Bridge", "br-tun", "datapath_type=netdev")
    yield
    for bridge in ("br-phy", "br-tun"):
        ovs_lab.vsctl("--if-exists", "del-br", bridge)


def write_inventory(tmp_path, lab):
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "host_vars").mkdir()
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"dpdk_hosts": {"hosts": {"node7": LOCAL, "node8": LOCAL}}}))
    (inventory / "group_vars" / "dpdk_hosts.yml").write_text(yaml.safe_dump(fleet(lab), sort_keys=False))
    (inventory / "host_vars" / "node7.yml").write_text(yaml.safe_dump(overrides(lab), sort_keys=False))
    return inventory


def run_site(tmp_path, lab):
    report = tmp_path / "report.json"
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(write_inventory(tmp_path, lab)),
                           "--check", "--diff", "--tags", "ovs", "-e", "nfv_dpdk_targets=dpdk_hosts",
                           "-e", "ovs_dpdk_db=%s" % lab.db,
                           # the lab's ovs-vswitchd is no service: report start-only keys, restart nothing;
                           # typed as an operator types it, a string the roles read with | bool
                           "-e", "ovs_dpdk_restart_ok=false",
                           os.path.join(REPO, "playbooks", "site.yml")],
                          env=ansible_env({"ANSIBLE_CALLBACKS_ENABLED": "nfv.dpdk.change_report",
                                           "NFV_DPDK_CHANGE_REPORT": str(report)}),
                          cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout
    with open(str(report)) as handle:
        return json.load(handle)["hosts"], proc.stdout


def bridge_changes(host_report):
    return [entry for entry in host_report["changed"] if entry["task"].endswith("Bridges and ports")]


def test_host_vars_change_one_port_of_the_group_vars_bridges(tmp_path, ovs_lab, fleet_in_ovs):
    before = ovs_lab.dump()
    hosts, output = run_site(tmp_path, ovs_lab)

    # node8 takes the fleet's description as it is: its bridges are in OVS already
    assert bridge_changes(hosts["node8"]) == [], hosts["node8"]
    assert "ok: [node8] => (item=br-phy)" in output and "ok: [node8] => (item=br-tun)" in output, output

    # node7: exactly its overrides, on br-phy only; br-tun left its description (no task item for it)
    changes = bridge_changes(hosts["node7"])
    assert [entry["item"] for entry in changes] == ["br-phy"], changes
    diff = changes[0]["diff"]
    assert diff["before"] == {"ports.vhu-vm1": {"options": {"vhost-server-path": ovs_lab.vhost_dir + "/vm1.sock"}}}
    assert sorted(diff["after"]) == ["ports.vhu-vm1", "ports.vhu-vm3"], diff
    assert diff["after"]["ports.vhu-vm1"] == {"options": {"vhost-server-path": ovs_lab.vhost_dir + "/node7-vm1.sock"}}
    assert diff["after"]["ports.vhu-vm3"]["type"] == "dpdkvhostuserclient", diff
    assert "(item=br-tun)" not in "\n".join(line for line in output.splitlines() if "node7" in line), output

    assert ovs_lab.dump() == before, "check mode changed the database"


def test_merged_description_that_breaks_the_spec_fails_before_any_change(tmp_path, ovs_lab):
    inventory = write_inventory(tmp_path, ovs_lab)
    (inventory / "host_vars" / "node7.yml").write_text(yaml.safe_dump(
        {"host_ovs_overrides": {"pmd_cpu_mask": "0x4", "bridgez": [{"name": "br-x"}]}}))
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(inventory), "--check",
                           "-e", "nfv_dpdk_targets=node7", os.path.join(REPO, "playbooks", "site.yml")],
                          env=ansible_env(), cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)
    assert proc.returncode != 0, proc.stdout
    failure = proc.stdout.split("fatal:", 1)[-1]
    assert "bridgez" in failure and "host_ovs" in failure, proc.stdout
    assert "Check host_ovs with host_ovs_overrides merged in" in proc.stdout.split("fatal:", 1)[0], proc.stdout
    assert "changed=0" in proc.stdout
