"""The facts_line filter used by playbooks/facts.yml."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nfv.dpdk.plugins.filter.facts_line import facts_line


def test_nic_line_names_driver_group_node_and_management():
    nic = {"address": "0000:03:00.1", "interface": "ens3f1", "vendor_device": "8086:1572", "driver": "i40e",
           "iommu_group": 21, "numa_node": 0, "link": True, "management": True,
           "management_reason": "default route"}
    assert facts_line(nic, "nic") == ("nic 0000:03:00.1 ens3f1 (8086:1572): driver i40e, iommu group 21, "
                                      "node 0, link up [management: default route]")
    nic.update(driver=None, iommu_group=None, numa_node=None, link=False, management=False, interface=None)
    assert facts_line(nic, "nic") == "nic 0000:03:00.1 - (8086:1572): driver none, iommu group -, node -, link down"


def test_pool_and_ovs_lines():
    pool = {"size": "1G", "node": 1, "total": 2, "free": 1, "surplus": 0}
    assert facts_line(pool, "pool") == "hugepages 1G node 1: total 2, free 1, surplus 0"
    assert facts_line({"installed": False}, "ovs") == "ovs: not installed"
    ovs = {"installed": True, "running": True, "ovs_version": "3.1.0", "dpdk_initialized": True,
           "dpdk_version": "DPDK 22.11.4",
           "bridges": [{"name": "br0", "datapath_type": "netdev", "ports": ["br0", "vhu0"]}]}
    assert facts_line(ovs, "ovs") == "ovs 3.1.0: dpdk initialized DPDK 22.11.4, bridges br0(netdev: br0 vhu0)"


def test_unknown_kind_and_wrong_fact():
    with pytest.raises(AnsibleFilterError, match="kind must be one of"):
        facts_line({}, "disk")
    with pytest.raises(AnsibleFilterError, match="is not a pool fact"):
        facts_line({"node": 0}, "pool")
