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
