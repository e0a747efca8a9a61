"""nfv.dpdk.cpu_layout on this machine's real topology: derived layout and conflicts, check mode alike."""

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist, parse_cpulist
from module_call import run_module
from ovs_lab import ovs_lab_fixture

pytestmark = pytest.mark.component

ovs_lab = ovs_lab_fixture()  # private OVS-DPDK, pmd-cpu-mask 0x2, started only for the test that uses it


def kernel_cpus(path):
    with open(path) as handle:
        return parse_cpulist(handle.read().strip())


ONLINE = kernel_cpus("/sys/devices/system/cpu/online")
PRESENT = kernel_cpus("/sys/devices/system/cpu/present")


@pytest.mark.parametrize("check", [False, True])
def test_layout_from_host_cpu(check):
    if len(ONLINE) < 2:
        pytest.skip("needs two online CPUs")
    result = run_module("cpu_layout", {"cpu": {"housekeeping_cores": 1, "pmd_cores": 0},
                                       "vms": [{"name": "vm1", "vcpus": 1}]}, check=check)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    layout = result["layout"]
    first = layout["housekeeping"]
    assert parse_cpulist(first)[0] == ONLINE[0]
    rest = [c for c in ONLINE if c not in parse_cpulist(first)]
    assert layout["guest_cpus"] == format_cpulist(rest)
    assert layout["systemd_cpu_affinity"] == first
    assert "irqaffinity=" + first in layout["kernel_args"]
    assert "isolcpus=domain,managed_irq," + format_cpulist(rest) in layout["kernel_args"]
    dedicated = parse_cpulist(layout["vm_cpu_affinity"]["vm1"])
    assert dedicated[0] in rest
    # one vCPU: pinned to the first dedicated CPU, QEMU's other threads on housekeeping
    assert result["vms"][0] == {"name": "vm1", "vcpus": 1, "vcpu_pins": [str(dedicated[0])], "emulator_cpus": first}
    assert layout["vm_vcpu_pins"] == {"vm1": [str(dedicated[0])]} and layout["vm_emulator_cpus"] == {"vm1": first}


@pytest.mark.parametrize("check", [False, True])
def test_every_conflict_named(check):
    missing = max(PRESENT) + 1
    result = run_module("cpu_layout", {
        "ovs": {"pmd_cpu_mask": "0x%x" % (1 << missing | 1), "lcore_mask": "0x1", "socket_mem": [1 << 20]},
        "vms": [{"name": "vm1", "cpu_affinity": [0]}],
        "field_prefix": "host_"}, check=check)
    assert result["failed"]
    text = "\n".join(result["conflicts"])
    assert "host_ovs.pmd_cpu_mask names CPUs %d that do not exist" % missing in text
    assert "host_ovs.pmd_cpu_mask and host_ovs.lcore_mask overlap on CPUs 0" in text
    assert "host_vms[vm1].cpu_affinity overlaps the PMD CPUs" in text
    assert "host_ovs.socket_mem[0] 1048576 MiB" in text
    assert result["msg"].startswith("the CPU and NUMA layout has %d conflict(s)" % len(result["conflicts"]))


def test_bad_cpu_option_names_the_field():
    result = run_module("cpu_layout", {"cpu": {"pmd_core": 1}})
    assert result["failed"] and "cpu.pmd_core" in result["msg"]
    result = run_module("cpu_layout", {"cpu": {"isolcpus_flags": ["isolate"]}})
    assert result["failed"] and "isolcpus_flags" in result["msg"]


def test_without_cpu_nothing_is_derived():
    result = run_module("cpu_layout", {"vms": [{"name": "vm1"}]})
    assert not result.get("failed"), result.get("msg")
    assert result["layout"]["kernel_args"] == [] and result["layout"]["housekeeping"] == ""
    assert result["vms"] == [{"name": "vm1"}]


def test_check_running_reads_the_real_pmd_rxq_assignment(ovs_lab):
    ovs_lab.vsctl("add-br", "br-cpu", "--", "set", "Bridge", "br-cpu", "datapath_type=netdev")
    bridge = {"name": "br-cpu", "ports": []}
    for i in (1, 2):
        sock = "%s/cpu%d.sock" % (ovs_lab.vhost_dir, i)
        ovs_lab.vsctl("add-port", "br-cpu", "vhu-cpu%d" % i, "--", "set", "Interface", "vhu-cpu%d" % i,
                      "type=dpdkvhostuserclient", "options:vhost-server-path=" + sock)
        bridge["ports"].append({"name": "vhu-cpu%d" % i, "type": "dpdkvhostuserclient",
                                "options": {"vhost-server-path": sock}})
    for check in (True, False):
        result = run_module("cpu_layout", {"ovs": {"pmd_cpu_mask": "0x2", "lcore_mask": "0x1", "bridges": [bridge]},
                                           "vms": [{"name": "cpu-guest", "cpu_affinity": [0]}],
                                           "check_running": True, "ovs_db": ovs_lab.db}, check=check)
        assert not result.get("failed"), result.get("msg")
        running = result["running"]
        assert running["pmds"], running
        node = running["pmds"][0]["numa"]
        assert [(p["core"], p["isolated"]) for p in running["pmds"]] == [(1, False)]
        assert sorted(q["port"] for q in running["pmds"][0]["rxqs"]) == ["vhu-cpu1", "vhu-cpu2"]
        assert node == 0
        # one NUMA node: nothing can be polled across nodes; the guest is not running
        assert running["conflicts"] == [] and running["guests"] == {}
        assert result.get("warnings", []) == [] or not any("polled" in w for w in result["warnings"])
