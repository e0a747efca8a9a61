"""The PCI reader (plugins/module_utils/host/pci.py) on fixture trees in the kernel's layout."""

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.host import pci
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.tests.unit import sysfs_tree


@pytest.mark.parametrize("text,expected", [
    ("0000:03:00.0", "0000:03:00.0"),
    ("03:00.1", "0000:03:00.1"),
    ("0000:AF:1F.7", "0000:af:1f.7"),
    ("  81:00.0 ", "0000:81:00.0"),
    ("0001:82:00.1", "0001:82:00.1"),
])
def test_normalize_address_accepts_full_and_short_forms(text, expected):
    assert pci.normalize_address(text) == expected


@pytest.mark.parametrize("text", ["03:00", "03:00.8", "0000:03:20.0", "3:0.0", "000:03:00.0", "zz:00.0",
                                  "", None, "eth0", "0000:03:00.0.1"])
def test_normalize_address_rejects_malformed(text):
    assert pci.normalize_address(text) is None


def test_looks_like_address_flags_near_misses():
    assert pci.looks_like_address("03:00.9")
    assert pci.looks_like_address("3:0.0")
    assert not pci.looks_like_address("ens3f1")
    assert not pci.looks_like_address("03:00")


def test_read_devices_two_node_host(tmp_path):
    sysfs_tree.two_node_host(tmp_path)
    fs = HostFS(str(tmp_path))
    devices = dict((d["address"], d) for d in pci.read_devices(fs))
    assert sorted(devices) == ["0000:00:00.0", "0000:01:00.0", "0000:01:00.1", "0000:03:00.0",
                               "0000:03:00.1", "0000:81:00.0", "0000:82:00.0", "0000:82:00.1"]
    x710 = devices["0000:03:00.1"]
    assert x710["driver"] == "i40e"
    assert x710["vendor_device"] == "8086:1572"
    assert x710["numa_node"] == 0
    assert x710["iommu_group"] == 21
    assert x710["netdevs"] == ["ens3f1"]
    assert x710["is_network"] and not x710["is_bridge"]
    assert x710["driver_override"] is None
    assert devices["0000:03:00.0"]["driver"] == "vfio-pci"
    assert devices["0000:03:00.0"]["netdevs"] == []
    assert devices["0000:00:00.0"]["is_bridge"]
    assert devices["0000:81:00.0"]["numa_node"] == 1


def test_virtio_netdev_found_under_virtio_child(tmp_path):
    sysfs_tree.one_node_host(tmp_path)
    fs = HostFS(str(tmp_path))
    assert pci.netdevs_by_address(fs) == {"0000:00:03.0": ["eth0"]}
    device = pci.read_device(fs, "0000:00:03.0", ["eth0"])
    assert device["iommu_group"] is None
    assert device["numa_node"] is None  # -1 in sysfs: no NUMA


def test_iommu_group_members(tmp_path):
    sysfs_tree.two_node_host(tmp_path)
    fs = HostFS(str(tmp_path))
    assert pci.iommu_group_members(fs, 41) == ["0000:82:00.0", "0000:82:00.1"]
    assert pci.iommu_group_members(fs, 21) == ["0000:03:00.1"]
    assert pci.iommu_group_members(fs, 99) == []


def test_driver_override_read_back(tmp_path):
    tree = sysfs_tree.two_node_host(tmp_path)
    tree.write("/sys/devices/pci0000:00/0000:03:00.1/driver_override", "vfio-pci")
    fs = HostFS(str(tmp_path))
    assert pci.read_device(fs, "0000:03:00.1")["driver_override"] == "vfio-pci"


def test_rebind_helper_drops_netdev(tmp_path):
    tree = sysfs_tree.two_node_host(tmp_path)
    sysfs_tree.rebind_driver(tree, "0000:03:00.1", "vfio-pci")
    fs = HostFS(str(tmp_path))
    device = pci.read_device(fs, "0000:03:00.1")
    assert device["driver"] == "vfio-pci"
    assert "0000:03:00.1" not in pci.netdevs_by_address(fs)
    assert fs.listdir("/sys/bus/pci/drivers/i40e") == []
