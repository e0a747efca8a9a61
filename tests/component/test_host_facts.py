"""host_facts on this machine's real sysfs, compared with what the kernel itself reports."""

import os

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import parse_cpulist
from module_call import run_module

pytestmark = pytest.mark.component


def kernel_value(path):
    with open(path) as handle:
        return handle.read().strip()


@pytest.fixture(scope="module")
def facts():
    result = run_module("host_facts", {})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    return result["ansible_facts"]["nfv_dpdk"]


def test_pci_nics_with_real_drivers(facts):
    expected = {}
    for address in os.listdir("/sys/bus/pci/devices"):
        base = "/sys/bus/pci/devices/" + address
        if kernel_value(base + "/class").startswith("0x02"):
            link = base + "/driver"
            expected[address] = os.path.basename(os.readlink(link)) if os.path.islink(link) else None
    assert expected, "this machine has a network PCI device"
    assert dict((n["address"], n["driver"]) for n in facts["nics"]) == expected


def test_default_route_nic_is_management(facts):
    with open("/proc/net/route") as handle:
        route_ifaces = {line.split()[0] for line in handle.readlines()[1:] if line.split()[1] == "00000000"}
    for nic in facts["nics"]:
        if set(nic["netdevs"]) & route_ifaces:
            assert nic["management"] and nic["default_route"]


def test_numa_nodes_match_sysfs(facts):
    nodes = sorted(int(e[4:]) for e in os.listdir("/sys/devices/system/node")
                   if e.startswith("node") and e[4:].isdigit()) if os.path.isdir("/sys/devices/system/node") else []
    assert [n["id"] for n in facts["numa"]["nodes"]] == nodes
    for node in facts["numa"]["nodes"]:
        assert node["cpulist"] == kernel_value("/sys/devices/system/node/node%d/cpulist" % node["id"])


def test_pools_match_kernel_counters(facts):
    pools = facts["hugepages"]["pools"]
    sizes = sorted(int(e[len("hugepages-"):-2]) for e in os.listdir("/sys/kernel/mm/hugepages"))
    assert sorted(set(p["size_kb"] for p in pools)) == sizes
    for pool in pools:
        if pool["node"] is None:
            base = "/sys/kernel/mm/hugepages/hugepages-%dkB" % pool["size_kb"]
        else:
            base = "/sys/devices/system/node/node%d/hugepages/hugepages-%dkB" % (pool["node"], pool["size_kb"])
        assert pool["total"] == int(kernel_value(base + "/nr_hugepages"))
        assert pool["surplus"] == int(kernel_value(base + "/surplus_hugepages"))


def test_kernel_and_cpu(facts):
    assert facts["kernel"]["cmdline"] == kernel_value("/proc/cmdline")
    with open("/proc/cpuinfo") as handle:
        flags = next(line for line in handle if line.startswith("flags")).split(":", 1)[1].split()
    assert ("pdpe1gb" in facts["cpu"]["flags"]) == ("pdpe1gb" in flags)
    assert ("sse4_2" in facts["cpu"]["flags"]) == ("sse4_2" in flags)
    groups = os.listdir("/sys/kernel/iommu_groups") if os.path.isdir("/sys/kernel/iommu_groups") else []
    assert facts["iommu"]["enabled"] == bool(groups)


def test_cpu_layout_as_the_kernel_reports_it(facts):
    layout = facts["cpu_layout"]
    assert layout["online"] == parse_cpulist(kernel_value("/sys/devices/system/cpu/online"))
    assert layout["systemd_cpu_affinity"] == sorted(os.sched_getaffinity(1))
    for cpu in layout["online"]:
        siblings = parse_cpulist(kernel_value("/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list" % cpu))
        assert [c for c in siblings if c in layout["online"]] in layout["siblings"]
    if facts["numa"]["available"]:
        assert sorted(c for n in layout["nodes"] for c in n["cpus"]) == layout["present"]


def test_bad_option_is_rejected():
    result = run_module("host_facts", {"no_such_option": 1})
    assert result["failed"] and "no_such_option" in result["msg"]


def test_cpus_allowed_of_a_real_thread():
    import subprocess

    from ansible_collections.nfv.dpdk.plugins.module_utils.host import kernel
    from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS

    cpu = sorted(os.sched_getaffinity(0))[-1]
    proc = subprocess.Popen(["sleep", "30"])
    try:
        os.sched_setaffinity(proc.pid, {cpu})
        assert kernel.read_cpus_allowed(HostFS(), "%d/task/%d" % (proc.pid, proc.pid)) == [cpu]
        assert kernel.read_cpus_allowed(HostFS(), proc.pid) == [cpu]
    finally:
        proc.kill()
        proc.wait()
    assert kernel.read_cpus_allowed(HostFS(), proc.pid) is None
