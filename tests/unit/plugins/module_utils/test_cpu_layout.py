"""CPU and NUMA layout: topology read from fixture trees, the layout host_cpu derives, every conflict."""

import os

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.description import Description
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.kernel_isolation import isolcpus_cpus, kernel_arg_values
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.layout import resolve
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.pmd_rxq_show import parse_pmd_rxq_show
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.running_check import (
    guest_affinity_conflicts,
    running_guest_conflicts,
    rxq_conflicts,
    vcpu_index,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.topology import Topology, current_layout
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.tuned import tuned_activation
from ansible_collections.nfv.dpdk.plugins.module_utils.host import facts
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import SysfsTree, one_node_cpu_host, two_node_smt_host


def host_facts(root):
    return facts.layout_facts(HostFS(str(root)))


@pytest.fixture
def one_node(tmp_path):
    one_node_cpu_host(tmp_path)
    return host_facts(tmp_path)


@pytest.fixture
def two_node(tmp_path):
    two_node_smt_host(tmp_path)
    return host_facts(tmp_path)


def run(facts, **desc):
    desc.setdefault("prefix", "host_")
    return resolve(Description(**desc), facts)


def only(conflicts, text):
    """The one conflict containing `text`."""
    found = [c for c in conflicts if text in c]
    assert len(found) == 1, conflicts
    return found[0]


# -- topology ---------------------------------------------------------------------------------

def test_reader_two_nodes_smt(two_node):
    cpu = two_node["cpu"]
    assert cpu["online"] == list(range(15))
    assert cpu["present"] == list(range(16))
    assert cpu["siblings"][:2] == [[0, 8], [1, 9]]
    assert cpu["siblings"][-1] == [7]  # 15 is offline
    topo = Topology.from_facts(two_node)
    assert topo.cores(1) == [(4, 12), (5, 13), (6, 14), (7,)]
    assert topo.siblings(2) == [10]
    assert topo.as_dict()["smt"] is True


def test_reader_one_node(one_node):
    assert one_node["cpu"]["siblings"] == [[0], [1], [2], [3]]
    assert Topology.from_facts(one_node).as_dict()["smt"] is False


def test_parsers():
    assert isolcpus_cpus("managed_irq,domain,2-3") == (["managed_irq", "domain"], [2, 3])
    assert kernel_arg_values(["quiet", "isolcpus=2-3", {"key": "nohz_full", "value": "2-3"}]) == {
        "isolcpus": "2-3", "nohz_full": "2-3"}


def test_current_layout_reads_masks_and_args(two_node):
    two_node["ovs"] = {"other_config": {"pmd-cpu-mask": "0x22", "dpdk-lcore-mask": "0x1"}}
    layout = current_layout(two_node, [{"key": "isolcpus", "value": "1-7"}, {"key": "quiet", "value": None}])
    assert layout["pmd_cpus"] == [1, 5]
    assert layout["lcore_cpus"] == [0]
    assert layout["kernel_args"] == {"isolcpus": "1-7"}
    assert layout["nodes"][0]["cpulist"] == "0-3,8-11"


# -- derived layout ---------------------------------------------------------------------------

def test_two_nodes_derive_whole_cores_per_nic_node(two_node):
    layout, conflicts = run(two_node, cpu={"housekeeping_cores": 1, "pmd_cores": 1},
                            dpdk_devices=["0000:03:00.0", "ens81f0"],
                            vms=[{"name": "vm1", "vcpus": 2, "numa_node": 0},
                                 {"name": "vm2", "vcpus": 3, "numa_node": 1}])
    assert conflicts == []
    assert layout["housekeeping"] == "0,4,8,12"
    assert layout["pmd_cpus"] == "1,5,9,13"  # both threads of one core per node
    assert layout["pmd_cpu_mask"] == "0x2222"
    assert layout["lcore_mask"] == "0x1111"
    assert layout["guest_pool"] == {"0": "2-3,10-11", "1": "6-7,14"}
    assert layout["kernel_args"] == ["isolcpus=domain,managed_irq,1-3,5-7,9-11,13-14",
                                     "nohz_full=1-3,5-7,9-11,13-14", "rcu_nocbs=1-3,5-7,9-11,13-14",
                                     "irqaffinity=0,4,8,12"]
    assert layout["systemd_cpu_affinity"] == "0,4,8,12"
    assert layout["vm_cpu_affinity"] == {"vm1": "2,10", "vm2": "6-7,14"}
    assert layout["dpdk_nodes"] == [0, 1]


def test_pmd_only_on_the_node_of_the_nic(two_node):
    layout, conflicts = run(two_node, cpu={"pmd_cores": 2, "isolcpus_flags": [], "rcu_nocbs": False},
                            dpdk_devices=["0000:81:00.0"])
    assert conflicts == []
    assert layout["pmd_cpus"] == "5-6,13-14"
    assert layout["kernel_args"][0] == "isolcpus=1-3,5-7,9-11,13-14"
    assert not any(a.startswith("rcu_nocbs") for a in layout["kernel_args"])


def test_one_node_nic_without_numa_puts_pmd_on_node_0(one_node):
    layout, conflicts = run(one_node, cpu={}, dpdk_devices=["0000:00:03.0"])
    assert layout["pmd_cpus"] == ""  # empty host_cpu derives nothing
    layout, conflicts = run(one_node, cpu={"housekeeping_cores": 1}, dpdk_devices=["0000:00:03.0"],
                            ovs={"socket_mem": [512]}, vms=[{"name": "vm1", "vcpus": 2}])
    assert conflicts == []
    assert (layout["housekeeping"], layout["pmd_cpus"], layout["guest_cpus"]) == ("0", "1", "2-3")
    assert layout["vm_cpu_affinity"] == {"vm1": "2-3"}
    assert layout["dpdk_nodes"] == []
    # without OVS in the description no PMD core is set aside
    layout, conflicts = run(one_node, cpu={"housekeeping_cores": 1}, vms=[{"name": "vm1", "vcpus": 2}])
    assert conflicts == [] and (layout["pmd_cpus"], layout["guest_cpus"]) == ("", "1-3")


def test_explicit_values_win_and_are_kept(two_node):
    layout, conflicts = run(two_node, cpu={"housekeeping_cpus": "0,8"}, dpdk_devices=["0000:03:00.0"],
                            ovs={"pmd_cpu_mask": "0x202", "lcore_mask": "0x1"},
                            kernel_args=["nohz_full=1-7,9-14"],
                            vms=[{"name": "vm1", "cpu_affinity": "3,11", "numa_node": 0}])
    assert conflicts == []
    assert layout["pmd_cpu_mask"] == "0x202"
    assert layout["lcore_mask"] == "0x1"
    assert not any(a.startswith("nohz_full") for a in layout["kernel_args"])
    assert layout["vm_cpu_affinity"] == {}


# -- conflicts --------------------------------------------------------------------------------

def test_cpus_that_do_not_exist_or_are_offline(two_node):
    _layout, conflicts = run(two_node, ovs={"pmd_cpu_mask": "0x18000"},
                             vms=[{"name": "vm1", "cpu_affinity": "15"}])
    assert "do not exist" in only(conflicts, "host_ovs.pmd_cpu_mask names CPUs 16")
    assert "offline" in only(conflicts, "host_ovs.pmd_cpu_mask names CPUs 15")
    assert "offline" in only(conflicts, "host_vms[vm1].cpu_affinity names CPUs 15")


def test_overlaps_name_both_fields(two_node):
    _layout, conflicts = run(two_node, cpu={"housekeeping_cpus": "0-1", "pmd_cpus": "1,9"},
                             ovs={"lcore_mask": "0x2"}, vms=[{"name": "vm1", "cpu_affinity": "9-10"}])
    only(conflicts, "host_cpu.housekeeping CPUs and host_cpu.pmd CPUs overlap on 1")
    only(conflicts, "host_ovs.pmd_cpu_mask and host_ovs.lcore_mask overlap on CPUs 1")
    only(conflicts, "host_vms[vm1].cpu_affinity overlaps the PMD CPUs")
    # CPU 0's sibling 8 is a guest CPU while 0 is housekeeping: PMD 1's sibling 9 is PMD, fine
    assert not [c for c in conflicts if "shares its core" in c]


def test_sibling_split_between_pmd_and_guests(two_node):
    _layout, conflicts = run(two_node, cpu={"pmd_cpus": "1"}, dpdk_devices=["0000:03:00.0"])
    assert "keep sibling threads together" in only(conflicts, "CPU 1 shares its core with CPU 9 of host_cpu.guest")


def test_pmd_on_a_node_without_dpdk_nic(two_node):
    _layout, conflicts = run(two_node, ovs={"pmd_cpu_mask": "0x20"}, dpdk_devices=["0000:03:00.0"])
    only(conflicts, "host_ovs.pmd_cpu_mask puts PMD CPUs 5 on NUMA node 1, where no DPDK NIC sits")
    only(conflicts, "no PMD CPU on NUMA node 0, where DPDK NICs 0000:03:00.0 sit")


def test_a_guests_vfio_device_is_no_dpdk_nic(two_node):
    layout, conflicts = run(two_node, cpu={"pmd_cores": 1}, dpdk_devices=["0000:03:00.0", "0000:81:00.0"],
                            vms=[{"name": "vm1", "numa_node": 1, "nics": [{"type": "vfio", "host": "81:00.0"}]}])
    assert conflicts == []
    assert layout["dpdk_nodes"] == [0] and layout["pmd_cpus"] == "1,9"
    assert layout["vm_cpu_affinity"] == {"vm1": "5,13"}  # a whole core, both threads


def test_dpdk_nic_of_a_bridge_counts(two_node):
    bridges = [{"name": "br1", "ports": [{"name": "p1", "type": "dpdk", "options": {"dpdk-devargs": "0000:81:00.0"}},
                                         {"name": "vhu1", "type": "dpdkvhostuserclient",
                                          "options": {"vhost-server-path": "/run/vhost/vm1.sock"}}]}]
    _layout, conflicts = run(two_node, ovs={"pmd_cpu_mask": "0x20", "bridges": bridges},
                             vms=[{"name": "vm1", "numa_node": 0, "cpu_affinity": "2",
                                   "nics": [{"type": "vhost-user", "socket": "/run/vhost/vm1.sock"}]}])
    assert not [c for c in conflicts if "PMD" in c]
    only(conflicts, "host_vms[vm1].nics: the guest runs on NUMA node 0 but its NIC")


@pytest.mark.parametrize("port_mtu, guest_mtu, conflict", [
    (9000, 9000, None),
    (9000, 1500, None),
    (None, 1500, None),
    (None, 9000, "host_vms[vm1].nics[0].mtu 9000 is more than the MTU of OVS port vhu1 on bridge br1 (no mtu_request: "
                 "1500), which serves its socket /run/vhost/vm1/net0.sock: set that port's mtu_request to 9000 or "
                 "lower the guest's"),
    (2000, 9000, "host_vms[vm1].nics[0].mtu 9000 is more than the MTU of OVS port vhu1 on bridge br1 (mtu_request "
                 "2000)"),
])
def test_guest_nic_mtu_fits_its_ovs_port(one_node, port_mtu, guest_mtu, conflict):
    vhu = {"name": "vhu1", "type": "dpdkvhostuserclient", "options": {"vhost-server-path": "/run/vhost/vm1/net0.sock"}}
    if port_mtu:
        vhu["mtu_request"] = port_mtu
    _layout, conflicts = run(one_node, ovs={"pmd_cpu_mask": "0x2", "bridges": [{"name": "br1", "ports": [vhu]}]},
                             vms=[{"name": "vm1", "cpu_affinity": "3", "nics": [
                                 {"type": "vhost-user", "socket": "/run/vhost/vm1/net0.sock", "mtu": guest_mtu},
                                 {"type": "vhost-user", "socket": "/run/vhost/vm1/other.sock", "mtu": 9000}]}])
    mtu_conflicts = [c for c in conflicts if ".mtu " in c]
    if conflict is None:
        assert mtu_conflicts == []
    else:
        assert len(mtu_conflicts) == 1 and mtu_conflicts[0].startswith(conflict), mtu_conflicts


@pytest.mark.parametrize("ovs, iommu, conflict", [
    ({}, True, "host_vms[vm1].iommu is true, but Open vSwitch serves its NIC nics[0] (port vhu1 on bridge br1) "
               "without vhost-iommu-support: the NIC's IOMMU_PLATFORM would not be negotiated and it would not "
               "start; set host_ovs.vhost_iommu_support to true"),
    ({"vhost_iommu_support": False}, True, "without vhost-iommu-support"),
    ({"vhost_iommu_support": True}, True, None),
    ({"other_config": {"vhost-iommu-support": "true"}}, True, None),
    ({}, False, None),
])
def test_a_guest_vIOMMU_needs_ovs_vhost_iommu_support(one_node, ovs, iommu, conflict):
    vhu = {"name": "vhu1", "type": "dpdkvhostuserclient", "options": {"vhost-server-path": "/run/vhost/vm1/net0.sock"}}
    _layout, conflicts = run(one_node, ovs=dict(ovs, pmd_cpu_mask="0x2", bridges=[{"name": "br1", "ports": [vhu]}]),
                             vms=[{"name": "vm1", "cpu_affinity": "3", "iommu": iommu, "nics": [
                                 {"type": "vhost-user", "socket": "/run/vhost/vm1/net0.sock"},
                                 {"type": "vhost-user", "socket": "/run/vhost/vm1/not-ours.sock"}]}])
    found = [c for c in conflicts if "iommu" in c]
    if conflict is None:
        assert found == []
    else:
        assert len(found) == 1 and conflict in found[0], found


def test_bond_members_count_as_the_dpdk_ports_they_are(tmp_path):
    two_node_smt_host(tmp_path)
    SysfsTree(tmp_path).pci("0000:81:00.1", "0x15b3", "0x1017", driver="mlx5_core", numa_node=1, iommu_group=41,
                            netdev="ens81f1")
    host = host_facts(tmp_path)
    vhu = {"name": "vhu1", "type": "dpdkvhostuserclient", "options": {"vhost-server-path": "/run/vhost/vm1.sock"}}
    singles = [{"name": "dpdk0", "type": "dpdk", "options": {"dpdk-devargs": "0000:81:00.0"}},
               {"name": "dpdk1", "type": "dpdk", "options": {"dpdk-devargs": "0000:81:00.1,n_rxq=2"}}, vhu]
    # a member's type defaults to dpdk
    bond = [{"name": "dpdkbond0", "bond_mode": "balance-tcp", "lacp": "active",
             "interfaces": [{"name": "dpdk0", "options": {"dpdk-devargs": "0000:81:00.0"}},
                            {"name": "dpdk1", "type": "dpdk", "options": {"dpdk-devargs": "0000:81:00.1,n_rxq=2"}}]},
            vhu]
    vms = [{"name": "vm1", "vcpus": 2, "numa_node": 0,
            "nics": [{"type": "vhost-user", "socket": "/run/vhost/vm1.sock"}]}]
    results = [run(host, cpu={"housekeeping_cores": 1, "pmd_cores": 1}, ovs={"bridges": [{"name": "br1", "ports": p}]},
                   vms=vms) for p in (singles, bond)]
    assert results[0] == results[1]
    layout, conflicts = results[1]
    assert layout["dpdk_nodes"] == [1] and layout["pmd_cpus"] == "5,13"
    only(conflicts, "host_vms[vm1].nics: the guest runs on NUMA node 0 but its NIC")
    # an explicit mask off the bond's node is told so, naming both members
    _layout, conflicts = run(host, ovs={"pmd_cpu_mask": "0x2", "bridges": [{"name": "br1", "ports": bond}]})
    only(conflicts, "no PMD CPU on NUMA node 1, where DPDK NICs 0000:81:00.0, 0000:81:00.1 sit")
    # a system member is no DPDK NIC
    system = [dict(bond[0], interfaces=[dict(m, type="system") for m in bond[0]["interfaces"]])]
    layout, _conflicts = run(host, cpu={"pmd_cores": 1}, ovs={"bridges": [{"name": "br1", "ports": system}]})
    assert layout["dpdk_nodes"] == []


def test_guest_vcpus_off_its_memory_node_and_vfio_nic(two_node):
    _layout, conflicts = run(two_node, vms=[
        {"name": "vm1", "numa_node": 0, "cpu_affinity": [2, 6]},
        {"name": "vm2", "cpu_affinity": "6-7", "nics": [{"type": "vfio", "host": "03:00.0"}]},
        {"name": "vm3", "numa_node": 3}])
    only(conflicts, "host_vms[vm1].cpu_affinity puts vCPUs on CPUs 6 outside NUMA node 0")
    only(conflicts, "host_vms[vm2].nics: the guest runs on NUMA node 1 but its NIC")
    only(conflicts, "host_vms[vm3].numa_node is NUMA node 3, which this host does not have")


def test_not_enough_cores(one_node):
    _layout, conflicts = run(one_node, cpu={"housekeeping_cores": 2, "pmd_cores": 3})
    only(conflicts, "host_cpu.pmd_cores asks for 3 core(s) on NUMA node 0, which has 2 free")
    _layout, conflicts = run(one_node, cpu={"housekeeping_cores": 1, "pmd_cores": 1},
                             vms=[{"name": "big", "vcpus": 3}])
    only(conflicts, "host_vms[big].vcpus needs 3 CPU(s) from the guest pool")


def test_isolcpus_forgotten_or_covering_housekeeping(two_node):
    _layout, conflicts = run(two_node, kernel_args=["isolcpus=domain,2-7"], ovs={"pmd_cpu_mask": "0x2"},
                             dpdk_devices=["0000:03:00.0"], vms=[{"name": "vm1", "cpu_affinity": "2,10"}])
    only(conflicts, "isolcpus=domain,2-7 leaves PMD CPUs 1")
    only(conflicts, "host_vms[vm1].cpu_affinity pins the guest to CPUs 10 that isolcpus does not isolate")
    _layout, conflicts = run(two_node, kernel_args=["isolcpus=0-14"], cpu={"housekeeping_cores": 1})
    only(conflicts, "covers every online CPU")
    only(conflicts, "includes housekeeping CPUs")


def test_bad_values_name_the_field(two_node):
    _layout, conflicts = run(two_node, cpu={"pmd_cores": "many", "housekeeping_cpus": "0-", "bogus": 1,
                                            "isolcpus_flags": ["nohz", "wrong"]},
                             ovs={"pmd_cpu_mask": "zz"})
    only(conflicts, "host_cpu.pmd_cores must be a number of cores per NUMA node")
    only(conflicts, "host_cpu.housekeeping_cpus must be a CPU list")
    only(conflicts, "host_cpu has unknown keys bogus")
    only(conflicts, "'wrong' is not an isolcpus flag")
    only(conflicts, "host_ovs.pmd_cpu_mask must be a non-zero hexadecimal CPU mask")
    _layout, conflicts = run(two_node, cpu={"pmd_cores": {5: 1}})
    only(conflicts, "host_cpu.pmd_cores names NUMA node 5")


def test_unbound_guests_on_two_nodes_count_against_all_pools(two_node):
    _layout, conflicts = run(two_node, ovs={"socket_mem": [1024, 1024]},
                             vms=[{"name": "a", "memory": "7G", "hugepages": {"size": "1G"}}])
    # 7 of the 8 1G pages fit the guest, OVS's 2 GiB on top do not
    assert conflicts == ["hugepages in all: host_ovs.socket_mem[0] 1024 MiB + host_ovs.socket_mem[1] 1024 MiB + "
                         "host_vms[a].memory 7168 MiB need 9216 MiB but the pools (the host's current pools) "
                         "hold 8192 MiB"]


def test_hugepage_budget_per_node(two_node):
    # pools of the host: 4 x 1G on each node
    _layout, conflicts = run(two_node, ovs={"socket_mem": [1024, 1024]}, vms=[
        {"name": "vm1", "numa_node": 0, "memory": "5G", "hugepages": {"size": "1G"}}], headroom_mb=512)
    msg = only(conflicts, "hugepages on NUMA node 0")
    assert "host_ovs.socket_mem[0] 1024 MiB + host_vms[vm1].memory 5120 MiB + headroom 512 MiB need 6656 MiB" in msg
    assert "host's current pools" in msg
    only(conflicts, "host_vms[vm1].memory need 5120 MiB of 1G pages on NUMA node 0, but the 1G pools hold 4 page(s)")
    # the description's pools replace the host's: 6 x 1G on node 0 is just enough
    _layout, conflicts = run(two_node, ovs={"socket_mem": [1024, 1024]},
                             hugepages=[{"size": "1G", "count": 6, "node": 0}, {"size": "1G", "count": 2, "node": 1}],
                             vms=[{"name": "vm1", "numa_node": 0, "memory": "5G", "hugepages": {"size": "1G"}}])
    assert conflicts == []


def test_budget_of_unbound_guests_against_all_pools(one_node):
    # 1024 x 2M = 2048 MiB on the only node
    _layout, conflicts = run(one_node, ovs={"socket_mem": [512]},
                             vms=[{"name": "a", "memory": "1G", "hugepages": {"size": "2M"}},
                                  {"name": "b", "memory": "1G", "hugepages": {"size": "2M"}}])
    # the guests alone fit the 2M pool, OVS's socket memory on top does not
    assert not [c for c in conflicts if "of 2M pages" in c]
    only(conflicts, "hugepages on NUMA node 0: host_ovs.socket_mem[0] 512 MiB + host_vms[a].memory 1024 MiB + "
                    "host_vms[b].memory 1024 MiB need 2560 MiB but the pools (the host's current pools) hold 2048 MiB")
    _layout, conflicts = run(one_node, hugepages=[{"size": "2M", "count": 512}],
                             vms=[{"name": "a", "memory": "2G", "hugepages": {"size": "2M"}}])
    only(conflicts, "host_vms[a].memory need 2048 MiB of 2M pages on NUMA node 0, but the 2M pools hold 512 page(s)")


# -- host_facts -------------------------------------------------------------------------------

class NoCommands:
    def has(self, name):
        return False

    def find(self, name):
        return None


def test_host_facts_report_the_current_layout(tmp_path):
    tree = two_node_smt_host(tmp_path)
    tree.cmdline("BOOT_IMAGE=/vmlinuz ro isolcpus=managed_irq,domain,1-7,9-14 nohz_full=1-7,9-14 irqaffinity=0,8")
    tree.write("/sys/devices/system/cpu/isolated", "1-7,9-14")
    tree.write("/sys/devices/system/cpu/nohz_full", "1-7,9-14")
    tree.write("/proc/1/status", "Name:\tsystemd\nCpus_allowed:\t0101\nCpus_allowed_list:\t0,8\n")
    result = facts.gather(HostFS(str(tmp_path)), NoCommands())
    layout = result["cpu_layout"]
    assert layout["online"] == list(range(15)) and layout["present"] == list(range(16))
    assert layout["nodes"][1] == {"id": 1, "cpus": [4, 5, 6, 7, 12, 13, 14, 15], "cpulist": "4-7,12-15"}
    assert [0, 8] in layout["siblings"] and [7] in layout["siblings"] and layout["smt"] is True
    assert layout["isolated"] == layout["nohz_full"] == [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14]
    assert layout["kernel_args"] == {"isolcpus": "managed_irq,domain,1-7,9-14", "nohz_full": "1-7,9-14",
                                     "irqaffinity": "0,8"}
    assert layout["systemd_cpu_affinity"] == [0, 8]
    assert layout["pmd_cpus"] is None and layout["lcore_cpus"] is None  # OVS not running
    assert result["cpu"]["init_affinity"] == [0, 8]


# -- after converge -------------------------------------------------------------------------------

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "fixtures",
                        "pmd_rxq_show")


def fixture_text(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_pmd_rxq_show_captured_from_ovs_3_1():
    pmds = parse_pmd_rxq_show(fixture_text("ovs-3.1-one-pmd-vhost.txt"))
    assert pmds == [{"numa": 0, "core": 1, "isolated": False, "rxqs": [
        {"port": "vhu1", "queue": 0, "enabled": True, "usage": "NOT AVAIL"},
        {"port": "vhu2", "queue": 0, "enabled": True, "usage": "NOT AVAIL"}]}]
    assert rxq_conflicts(pmds, {"vhu1": 0, "vhu2": None}) == []


def test_rxq_on_a_pmd_of_another_node_is_reported():
    pmds = parse_pmd_rxq_show(fixture_text("two-node-cross.txt"))
    assert [(p["numa"], p["core"], p["isolated"], len(p["rxqs"])) for p in pmds] == [(0, 1, False, 3), (1, 5, True, 2)]
    assert pmds[1]["rxqs"][1] == {"port": "vhu-vm2", "queue": 0, "enabled": False, "usage": "0 %"}
    found = rxq_conflicts(pmds, {"dpdk0": 0, "dpdk1": 1, "vhu-vm1": 0, "vhu-vm2": 0})
    # dpdk1 queue 1 on the node-0 PMD; vhu-vm2 is on node 0 but disabled, so not reported
    assert found == ["port dpdk1 queue 1 sits on NUMA node 1 but is polled by the PMD on CPU 1 of node 0 "
                     "(ovs-appctl dpif-netdev/pmd-rxq-show): give node 1 a PMD core"]


def test_guest_real_affinity(two_node):
    topo = Topology.from_facts(two_node)
    threads = {"100": [2, 10], "101": [2, 10], "102": [0, 1, 2], "103": [0, 1, 2]}
    found = guest_affinity_conflicts("vm1", threads, [2, 10], [1, 9], topo, node=0)
    assert found == ["guest vm1 threads 102,103 run on CPUs 0-2, not its cpu_affinity 2,10 (restart the guest to "
                     "apply it)", "guest vm1 threads 102,103 may run on PMD CPUs 1"]
    found = guest_affinity_conflicts("vm2", {"200": [6]}, [], [1], topo, node=0)
    assert found == ["guest vm2 thread 200 may run on CPUs 6 outside its NUMA node 0"]


def test_the_lab_vm_description(tmp_path):
    """inventory/labvm on the lab VM's topology (scripts/lab_vm.py): one vCPU per node, NICs without a node."""
    import yaml

    from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import KB_1G, KB_2M, SysfsTree, cpu_topology

    tree = SysfsTree(tmp_path)
    tree.cpu("0-1")
    cpu_topology(tree, [[0], [1]])
    tree.meminfo()
    tree.hugepage_sizes()
    tree.numa_node(0, "0", 1024 * 1024, 900 * 1024)
    tree.numa_node(1, "1", 1024 * 1024, 900 * 1024)
    tree.pool(KB_1G, total=1)
    tree.pool(KB_1G, node=0, total=1)
    tree.pool(KB_2M, node=0, total=256)
    tree.pool(KB_2M, node=1, total=256)
    tree.pci("0000:00:03.0", "0x8086", "0x100e", driver="vfio-pci", numa_node=-1, iommu_group=3)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(FIXTURES))))
    with open(os.path.join(root, "inventory", "labvm", "host_vars", "nfv-labvm.yml")) as handle:
        d = yaml.safe_load(handle)
    layout, conflicts = run(host_facts(tmp_path), cpu=d["host_cpu"], ovs=d["host_ovs"], hugepages=d["host_hugepages"],
                            dpdk_devices=d["host_vfio_devices"])
    assert conflicts == []
    assert layout["kernel_args"] == ["isolcpus=domain,managed_irq,1", "nohz_full=1", "rcu_nocbs=1", "irqaffinity=0"]
    assert (layout["lcore_mask"], layout["pmd_cpu_mask"], layout["systemd_cpu_affinity"]) == ("0x1", "0x2", "0")


# -- per-vCPU pins (issue 17) ------------------------------------------------------------------

def test_dedicated_guest_cores_become_per_vcpu_pins_with_emulator_on_housekeeping(two_node):
    layout, conflicts = run(two_node, cpu={"housekeeping_cores": 1, "pmd_cores": 1},
                            dpdk_devices=["0000:03:00.0", "ens81f0"],
                            vms=[{"name": "vm1", "vcpus": 2, "numa_node": 0},
                                 {"name": "vm2", "vcpus": 3, "numa_node": 1},
                                 {"name": "vm3", "vcpus": 1, "numa_node": 0}])
    assert conflicts == []
    assert layout["vm_cpu_affinity"] == {"vm1": "2,10", "vm2": "6-7,14", "vm3": "3,11"}
    # vCPU i on the i-th CPU, sibling threads of a core on consecutive vCPUs
    assert layout["vm_vcpu_pins"] == {"vm1": ["2", "10"], "vm2": ["6", "14", "7"], "vm3": ["3"]}
    # QEMU's other threads on the housekeeping CPUs of the guest's node
    assert layout["vm_emulator_cpus"] == {"vm1": "0,8", "vm2": "4,12", "vm3": "0,8"}


def test_derived_pins_pass_their_own_check(two_node):
    """The host role checks again after converge with the pins the first run derived: no conflict."""
    layout, _conflicts = run(two_node, cpu={"housekeeping_cores": 1, "pmd_cores": 1}, dpdk_devices=["0000:03:00.0"],
                             vms=[{"name": "vm1", "vcpus": 2, "numa_node": 0}])
    vm = {"name": "vm1", "vcpus": 2, "numa_node": 0, "vcpu_pins": layout["vm_vcpu_pins"]["vm1"],
          "emulator_cpus": layout["vm_emulator_cpus"]["vm1"]}
    again, conflicts = run(two_node, cpu={"housekeeping_cores": 1, "pmd_cores": 1}, dpdk_devices=["0000:03:00.0"],
                           vms=[vm])
    assert conflicts == [] and again["vm_vcpu_pins"] == {}  # explicit pins are kept, not derived again


def test_explicit_pins_are_checked_field_by_field(two_node):
    _layout, conflicts = run(two_node, cpu={"housekeeping_cores": 1, "pmd_cores": 1}, dpdk_devices=["0000:03:00.0"],
                             vms=[{"name": "vm1", "vcpus": 2, "numa_node": 0, "vcpu_pins": [2, 99, 5]},
                                  {"name": "vm2", "vcpus": 1, "numa_node": 0, "vcpu_pins": [0],
                                   "emulator_cpus": "1"},
                                  {"name": "vm3", "emulator_cpus": "0"}])
    assert only(conflicts, "host_vms[vm1].vcpu_pins has 3 entries") == (
        "host_vms[vm1].vcpu_pins has 3 entries but host_vms[vm1].vcpus is 2: give one host CPU (or CPU list) per vCPU")
    assert "host_vms[vm1].vcpu_pins[1] names CPUs 99 that do not exist" in only(conflicts, "vcpu_pins[1]")
    assert only(conflicts, "vm1].vcpu_pins puts") == ("host_vms[vm1].vcpu_pins puts vCPUs on CPUs 5,99 outside NUMA "
                                                      "node 0, where host_vms[vm1].numa_node binds the guest's memory")
    assert only(conflicts, "vm2].vcpu_pins pins the guest to housekeeping") == (
        "host_vms[vm2].vcpu_pins pins the guest to housekeeping CPUs 0 of host_cpu")
    assert "host_vms[vm2].emulator_cpus overlaps the PMD CPUs" in only(conflicts, "vm2].emulator_cpus")
    assert only(conflicts, "vm3") == "host_vms[vm3].emulator_cpus needs host_vms[vm3].vcpu_pins"


@pytest.mark.parametrize("name, index", [("CPU 0/KVM", 0), ("CPU 12/TCG", 12), ("qemu-system-x86", None),
                                         ("IO mon_iothread", None), ("CPU x/KVM", None)])
def test_vcpu_thread_names(name, index):
    assert vcpu_index(name) == index


def test_running_vcpu_threads_against_their_pins(two_node):
    topo = Topology.from_facts(two_node)
    vm = {"name": "vm1", "vcpus": 2, "numa_node": 0, "vcpu_pins": ["2", "10"], "emulator_cpus": "0,8"}
    names = {"100": "qemu-system-x86", "101": "IO mon_iothread", "102": "CPU 0/KVM", "103": "CPU 1/KVM"}
    pinned = {"pid": 100, "threads": {"100": [0, 8], "101": [0, 8], "102": [2], "103": [10]}}
    assert running_guest_conflicts(vm, pinned, names, [1, 9], topo) == []
    moved = {"pid": 100, "threads": {"100": [0, 8], "101": [0, 2, 8, 10], "102": [2], "103": [2]}}
    assert running_guest_conflicts(vm, moved, names, [1, 9], topo) == [
        "guest vm1 thread 101 runs on CPUs 0,2,8,10, not its emulator_cpus 0,8 (restart the guest to apply it)",
        "guest vm1 vCPU 1 (thread 103) runs on CPUs 2, not its vcpu_pins[1] 10 (restart the guest to pin it again)"]
    # a vCPU thread on a PMD CPU is named for that too; a missing vCPU thread cannot be checked
    found = running_guest_conflicts(vm, {"pid": 100, "threads": {"100": [0, 8], "102": [1]}},
                                    {"100": "qemu-system-x86", "102": "CPU 0/KVM"}, [1, 9], topo)
    assert found == ["guest vm1 vCPU 0 (thread 102) runs on CPUs 1, not its vcpu_pins[0] 2 (restart the guest to pin "
                     "it again)", "guest vm1 thread 102 may run on PMD CPUs 1",
                     "guest vm1 vCPU 1: no thread named 'CPU 1/...' (QEMU without debug-threads=on, or fewer vCPUs "
                     "running than vcpu_pins): its pin cannot be checked"]
    # without emulator_cpus the other threads keep the unit's CPUAffinity, the union of the pins
    vm = {"name": "vm1", "vcpus": 2, "vcpu_pins": ["2", "10"]}
    found = running_guest_conflicts(vm, {"pid": 100, "threads": {"100": [2, 10], "102": [2], "103": [10]}},
                                    names, [1], topo)
    assert found == []


# -- tuned's cpu-partitioning profile (host_cpu.tuned) -----------------------------------------

def test_tuned_takes_over_isolation_and_cpuaffinity(two_node):
    layout, conflicts = run(two_node, cpu={"housekeeping_cores": 1, "pmd_cores": 1, "tuned": True},
                            dpdk_devices=["0000:03:00.0", "ens81f0"], kernel_args=["irqaffinity=0,4"])
    assert conflicts == []
    # the profile writes nohz_full, rcu_nocbs, isolcpus and CPUAffinity itself: none derived
    assert layout["kernel_args"] == [] and layout["systemd_cpu_affinity"] == ""
    tuned = layout["tuned"]
    assert tuned["profile"] == "cpu-partitioning"
    assert tuned["variables_file"] == "/etc/tuned/cpu-partitioning-variables.conf"
    assert tuned["isolated_cores"] == tuned["no_balance_cores"] == "1-3,5-7,9-11,13-14"
    assert tuned["variables_text"].splitlines()[3:] == ["isolated_cores=1-3,5-7,9-11,13-14",
                                                        "no_balance_cores=1-3,5-7,9-11,13-14"]
    assert all(line.startswith("#") for line in tuned["variables_text"].splitlines()[:3])
    # the masks and guests are derived as without tuned
    assert layout["pmd_cpu_mask"] == "0x2222" and layout["lcore_mask"] == "0x1111"


def test_tuned_without_isolcpus_has_no_no_balance_cores(one_node):
    layout, conflicts = run(one_node, cpu={"housekeeping_cores": 1, "pmd_cores": 0, "tuned": True, "isolcpus": False})
    assert conflicts == []
    assert layout["tuned"]["no_balance_cores"] == "" and "\nno_balance_cores=" not in layout["tuned"]["variables_text"]
    assert "isolated_cores=%s\n" % layout["guest_cpus"] in layout["tuned"]["variables_text"]


def test_tuned_and_own_isolation_arguments_conflict(two_node):
    layout, conflicts = run(two_node, cpu={"housekeeping_cores": 1, "pmd_cores": 1, "tuned": True},
                            dpdk_devices=["0000:03:00.0"], kernel_args=["nohz_full=2-3", "quiet", "isolcpus=2-3"])
    assert only(conflicts, "host_cpu.tuned") == (
        "host_kernel_args sets isolcpus=2-3, nohz_full=2-3, which host_cpu.tuned (tuned's cpu-partitioning profile) "
        "writes itself through tuned's bootloader plugin: drop isolcpus, nohz_full from host_kernel_args or set "
        "host_cpu.tuned false")
    _layout, conflicts = run(two_node, cpu={"housekeeping_cpus": "0-7,8-15", "pmd_cores": 0, "tuned": True})
    assert "host_cpu.tuned needs CPUs to isolate" in only(conflicts, "host_cpu.tuned needs")
    # without tuned, the derived arguments are back
    layout, _conflicts = run(two_node, cpu={"housekeeping_cores": 1, "pmd_cores": 1, "tuned": False},
                             dpdk_devices=["0000:03:00.0", "ens81f0"])
    assert layout["tuned"] is None and layout["kernel_args"][0].startswith("isolcpus=")


@pytest.mark.parametrize("active, changed, reason", [
    ("cpu-partitioning", False, None),
    ("cpu-partitioning\n", False, None),
    ("cpu-partitioning", True, "the variables of the active cpu-partitioning profile changed"),
    ("balanced", False, "the active tuned profile is balanced, not cpu-partitioning"),
    (None, False, "the active tuned profile is none, not cpu-partitioning"),
    ("", True, "the active tuned profile is none, not cpu-partitioning"),
])
def test_tuned_activation_only_when_needed(active, changed, reason):
    assert tuned_activation(active, changed) == reason
