"""host_facts readers on fixture trees that copy the kernel's layout."""

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.host import facts, hugepages, kernel, netdev, numa, pci
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import KB_1G, KB_2M, SysfsTree, one_node_host, two_node_host


class NoCommands:
    """Runner stand-in for a host without `ip` and without OVS: nothing to run."""

    def has(self, name):
        return False

    def find(self, name):
        return None


@pytest.fixture
def two_node(tmp_path):
    two_node_host(tmp_path)
    return HostFS(str(tmp_path))


@pytest.fixture
def one_node(tmp_path):
    one_node_host(tmp_path)
    return HostFS(str(tmp_path))


def test_numa_nodes_two_node(two_node):
    nodes = numa.read_nodes(two_node)
    assert [n["id"] for n in nodes] == [0, 1]
    assert nodes[1]["cpus"] == [4, 5, 6, 7]
    assert nodes[0]["memory_total_kb"] == 16 * 1024 * 1024
    assert nodes[1]["memory_free_kb"] == 14 * 1024 * 1024


def test_no_numa_sysfs(tmp_path):
    tree = SysfsTree(tmp_path)
    tree.cpu("0-1")
    tree.hugepage_sizes()
    fs = HostFS(str(tmp_path))
    assert numa.read_nodes(fs) == []
    pools = hugepages.read_pools(fs)
    assert [(p["size"], p["node"]) for p in pools] == [("2M", None), ("1G", None)]


def test_pools_per_size_and_node(two_node):
    pools = hugepages.read_pools(two_node)
    by_key = dict(((p["size"], p["node"]), p) for p in pools)
    assert set(by_key) == {("2M", None), ("1G", None), ("2M", 0), ("1G", 0), ("2M", 1), ("1G", 1)}
    assert by_key[("1G", None)]["total"] == 4 and by_key[("1G", None)]["free"] == 3
    assert by_key[("1G", 0)]["free"] == 1
    assert "reserved" in by_key[("1G", None)] and "reserved" not in by_key[("1G", 0)]
    assert hugepages.default_size_kb(two_node) == KB_1G


@pytest.mark.parametrize("text,kb", [("2M", KB_2M), ("1G", KB_1G), ("2048kB", KB_2M),
                                     ("1048576kB", KB_1G), ("2MiB", KB_2M), ("1g", KB_1G)])
def test_size_to_kb(text, kb):
    assert hugepages.size_to_kb(text) == kb
    assert hugepages.size_to_kb(hugepages.kb_to_label(kb)) == kb


@pytest.mark.parametrize("text", ["2X", "", "M", "-2M", "2 M B"])
def test_size_to_kb_rejects(text):
    with pytest.raises(ValueError):
        hugepages.size_to_kb(text)


def test_hugetlbfs_mounts(tmp_path):
    tree = one_node_host(tmp_path)
    tree.write("/proc/mounts", "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
               "none /mnt/huge1g hugetlbfs rw,relatime,pagesize=1024M 0 0\n"
               "nodev /mnt/default hugetlbfs rw,relatime 0 0\n")
    mounts = hugepages.read_mounts(HostFS(str(tmp_path)))
    assert [(m["path"], m["size"]) for m in mounts] == [
        ("/dev/hugepages", "2M"), ("/mnt/huge1g", "1G"), ("/mnt/default", "2M")]


@pytest.mark.parametrize("text,expected", [
    ("0000:03:00.0", "0000:03:00.0"), ("03:00.0", "0000:03:00.0"), ("0000:AF:1f.7", "0000:af:1f.7"),
    ("03:00.8", None), ("3:00.0", None), ("0000:03:20.0", None), ("eth0", None), ("", None)])
def test_normalize_address(text, expected):
    assert pci.normalize_address(text) == expected


def test_pci_devices_two_node(two_node):
    devices = dict((d["address"], d) for d in pci.read_devices(two_node))
    x710 = devices["0000:03:00.1"]
    assert x710["vendor"] == "8086" and x710["device"] == "1572" and x710["vendor_device"] == "8086:1572"
    assert x710["driver"] == "i40e" and x710["numa_node"] == 0 and x710["iommu_group"] == 21
    assert x710["netdevs"] == ["ens3f1"] and x710["is_network"]
    assert devices["0000:03:00.0"]["driver"] == "vfio-pci" and devices["0000:03:00.0"]["netdevs"] == []
    assert devices["0000:00:00.0"]["is_bridge"] and not devices["0000:00:00.0"]["is_network"]
    assert pci.iommu_group_members(two_node, 41) == ["0000:82:00.0", "0000:82:00.1"]


def test_virtio_netdev_found_under_virtio_child(one_node):
    assert pci.netdevs_by_address(one_node) == {"0000:00:03.0": ["eth0"]}
    nic = [d for d in pci.read_devices(one_node) if d["is_network"]]
    assert [(d["address"], d["numa_node"], d["iommu_group"]) for d in nic] == [("0000:00:03.0", None, None)]


def test_management_follows_bridge_and_bond(two_node):
    reasons = netdev.management_interfaces(two_node, {}, None)
    assert set(reasons) == {"br-mgmt", "bond0", "eno1", "eno2"}
    assert reasons["eno1"].startswith("default route")
    assert "via bond0" in reasons["eno1"]


def test_management_by_connection_address(two_node):
    addresses = {"ens81f0": ["198.51.100.7"], "br-mgmt": ["192.0.2.10"]}
    reasons = netdev.management_interfaces(two_node, addresses, "198.51.100.7")
    assert reasons["ens81f0"] == "ansible connection address 198.51.100.7"


def test_ip_json_parsing():
    text = '[{"ifname": "eth0", "addr_info": [{"family": "inet", "local": "192.0.2.2"}, ' \
           '{"family": "inet6", "local": "fd00::2"}]}, {"ifname": "lo", "addr_info": []}]'
    assert netdev.parse_ip_addresses(text) == {"eth0": ["192.0.2.2", "fd00::2"], "lo": []}
    assert netdev.parse_ip_addresses("not json") == {}


def test_ipv6_default_route(tmp_path):
    tree = one_node_host(tmp_path)
    tree.write("/proc/net/route", "Iface\tDestination\n")
    tree.write("/proc/net/ipv6_route",
               "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
               "fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n"
               "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
               "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n")
    assert netdev.default_route_interfaces(HostFS(str(tmp_path))) == {"eth0"}


def test_cmdline_parsing_keeps_order_and_repeats():
    params = kernel.parse_cmdline('BOOT_IMAGE=/vmlinuz ro default_hugepagesz=1G hugepagesz=1G hugepages=4 '
                                  'hugepagesz=2M hugepages=1024 hugepages=0:2,1:2 '
                                  'dyndbg="file x.c +p" quiet -- init-arg')
    assert [(p["key"], p["value"]) for p in params] == [
        ("BOOT_IMAGE", "/vmlinuz"), ("ro", None), ("default_hugepagesz", "1G"), ("hugepagesz", "1G"),
        ("hugepages", "4"), ("hugepagesz", "2M"), ("hugepages", "1024"), ("hugepages", "0:2,1:2"),
        ("dyndbg", '"file x.c +p"'), ("quiet", None)]


def test_cpu_and_iommu(two_node):
    cpu = kernel.read_cpu(two_node)
    assert cpu["vendor"] == "GenuineIntel"
    assert "pdpe1gb" in cpu["flags"] and "sse4_2" in cpu["flags"] and "fpu" not in cpu["flags"]
    assert cpu["isolated"] == [2, 3, 6, 7]
    params = kernel.parse_cmdline(two_node.read("/proc/cmdline"))
    iommu = kernel.read_iommu(two_node, params, "GenuineIntel")
    assert iommu["enabled"] and iommu["groups"] == 7 and iommu["units"] == ["dmar0"]
    assert iommu["hardware"] == "intel" and iommu["on_arg"] == "intel_iommu=on"
    assert iommu["cmdline"] == {"intel_iommu": "on", "iommu": "pt"}


def test_iommu_hardware_from_the_acpi_tables(tmp_path):
    tree = one_node_host(tmp_path)
    fs = HostFS(str(tmp_path))
    assert kernel.iommu_hardware(fs) is None
    assert kernel.read_iommu(fs, [], "AuthenticAMD")["on_arg"] == "amd_iommu=on"
    tree.write("/sys/firmware/acpi/tables/IVRS", "IVRS")
    assert kernel.iommu_hardware(fs) == "amd"
    # a VM with an Intel vIOMMU on an AMD-branded CPU (QEMU TCG's "max")
    assert kernel.iommu_on_arg("AuthenticAMD", "intel") == "intel_iommu=on"


def test_gather_two_node_shapes_for_selection(two_node):
    result = facts.gather(two_node, NoCommands(), connection_address=None)
    assert result["numa"]["available"] is True
    assert result["ovs"] == {"installed": False, "running": False}
    nics = dict((n["address"], n) for n in result["nics"])
    assert nics["0000:01:00.0"]["management"] and nics["0000:01:00.0"]["interface"] == "eno1"
    assert not nics["0000:03:00.1"]["management"]
    # the documented selection: NICs on node 0 that carry no management traffic
    jmespath = pytest.importorskip("jmespath")
    selected = jmespath.search("nics[?numa_node==`0` && !management].address", result)
    assert selected == ["0000:03:00.0", "0000:03:00.1"]
    assert jmespath.search("hugepages.pools[?size=='1G' && node==`1`].free | [0]", result) == 2


def test_gather_without_numa_iommu_ovs(tmp_path):
    tree = SysfsTree(tmp_path)
    tree.cpu("0")
    tree.hugepage_sizes((KB_2M,))
    tree.pci("0000:00:03.0", "0x1af4", "0x1041", driver="virtio-pci", netdev="eth0", virtio=True)
    result = facts.gather(HostFS(str(tmp_path)), NoCommands())
    assert result["numa"] == {"available": False, "nodes": []}
    assert result["iommu"]["enabled"] is False and result["iommu"]["groups"] == 0
    assert result["nics"][0]["iommu_group"] is None and result["nics"][0]["numa_node"] is None
    assert result["hugepages"]["sizes"] == ["2M"]
