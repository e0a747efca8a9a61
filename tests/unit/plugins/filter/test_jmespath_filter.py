"""The jmespath filter used to select devices from host facts."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nfv.dpdk.plugins.filter.jmespath import jmespath_filter
from ansible_collections.nfv.dpdk.plugins.module_utils.host import facts
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import two_node_host


class NoCommands:
    def has(self, name):
        return False


def test_selects_nics_from_two_node_facts(tmp_path):
    two_node_host(tmp_path)
    data = facts.gather(HostFS(str(tmp_path)), NoCommands())
    assert jmespath_filter(data, "nics[?vendor=='8086' && numa_node==`0` && !management].address") == [
        "0000:03:00.0", "0000:03:00.1"]
    assert jmespath_filter(data, "nics[?numa_node==`1` && driver=='igb'].interface") == ["ens82f0", "ens82f1"]
    assert jmespath_filter(data, "numa.nodes[?id==`7`] | [0]") is None


def test_bad_query_is_reported():
    with pytest.raises(AnsibleFilterError, match="bad query"):
        jmespath_filter({}, "nics[?")


def test_selects_the_members_of_a_bond_from_the_ovs_facts():
    # host_facts' ovs.bridges[].bonds (ovsdb.port_bonds): a host_vfio_select query can pick a bond's members
    data = {"ovs": {"bridges": [{"name": "br-phy", "datapath_type": "netdev", "ports": ["br-phy", "dpdkbond0"],
                                 "bonds": [{"name": "dpdkbond0", "bond_mode": "balance-tcp", "lacp": "active",
                                            "lacp_negotiated": False, "active_member": None, "members": [
                                                {"name": "dpdk0", "type": "dpdk", "link_state": "up",
                                                 "lacp_current": False, "dpdk_devargs": "0000:03:00.0"},
                                                {"name": "dpdk1", "type": "dpdk", "link_state": "down",
                                                 "lacp_current": False, "dpdk_devargs": "0000:03:00.1"}]}]}]}}
    assert jmespath_filter(data, "ovs.bridges[?name=='br-phy'].bonds[].members[].dpdk_devargs") == [
        "0000:03:00.0", "0000:03:00.1"]
    assert jmespath_filter(data, "ovs.bridges[].bonds[].members[?link_state=='down'][].name") == ["dpdk1"]
