"""The merge_by_name filter that layers host_ovs_overrides onto host_ovs (nfv.dpdk.host)."""

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nfv.dpdk.plugins.filter.merge_by_name import merge_by_name

FLEET = {
    "pmd_cpu_mask": "0x6",
    "socket_mem": [1024, 0],
    "other_config": {"pmd-rxq-assign": "cycles", "vhost-iommu-support": "false"},
    "bridges": [
        {"name": "br-phy", "datapath_type": "netdev", "purge_ports": True, "ports": [
            {"name": "dpdk0", "type": "dpdk", "options": {"dpdk-devargs": "0000:03:00.0", "n_rxq": "2"}},
            {"name": "vhu-vm1", "type": "dpdkvhostuserclient",
             "options": {"vhost-server-path": "/run/vhost/vm1.sock"}},
        ]},
        {"name": "br-tun", "datapath_type": "netdev"},
        {"name": "br-old", "state": "absent"},
    ],
}


def test_one_port_option_changes_and_everything_else_stays():
    fleet = copy.deepcopy(FLEET)
    merged = merge_by_name(fleet, {"bridges": [
        {"name": "br-phy", "ports": [{"name": "dpdk0", "options": {"dpdk-devargs": "0000:81:00.0"}}]}]})
    assert merged["bridges"][0]["ports"][0] == {
        "name": "dpdk0", "type": "dpdk", "options": {"dpdk-devargs": "0000:81:00.0", "n_rxq": "2"}}
    expected = copy.deepcopy(FLEET)
    expected["bridges"][0]["ports"][0]["options"]["dpdk-devargs"] = "0000:81:00.0"
    assert merged == expected
    assert fleet == FLEET, "the input must not be modified"


def test_new_items_are_appended_in_override_order_and_input_order_is_kept():
    merged = merge_by_name(FLEET, {"bridges": [
        {"name": "br-int", "datapath_type": "netdev"},
        {"name": "br-phy", "ports": [{"name": "vhu-vm3", "type": "dpdkvhostuserclient"},
                                     {"name": "vhu-vm2", "type": "dpdkvhostuserclient"}]}]})
    assert [b["name"] for b in merged["bridges"]] == ["br-phy", "br-tun", "br-old", "br-int"]
    assert [p["name"] for p in merged["bridges"][0]["ports"]] == ["dpdk0", "vhu-vm1", "vhu-vm3", "vhu-vm2"]


def test_state_absent_removes_a_port_or_a_bridge_and_never_reaches_the_result():
    merged = merge_by_name(FLEET, {"bridges": [
        {"name": "br-tun", "state": "absent", "datapath_type": "netdev"},
        {"name": "br-phy", "ports": [{"name": "vhu-vm1", "state": "absent"},
                                     {"name": "never-there", "state": "absent"}]},
        {"name": "br-new", "ports": [{"name": "p1"}, {"name": "p2", "state": "absent"}]},
        {"name": "br-ghost", "state": "absent"}]})
    assert [b["name"] for b in merged["bridges"]] == ["br-phy", "br-old", "br-new"]
    assert [p["name"] for p in merged["bridges"][0]["ports"]] == ["dpdk0"]
    assert merged["bridges"][2] == {"name": "br-new", "ports": [{"name": "p1"}]}


def test_a_bridge_the_input_itself_marks_absent_stays_for_ovs_bridge_to_delete():
    assert merge_by_name(FLEET, {"pmd_cpu_mask": "0xc"})["bridges"][2] == {"name": "br-old", "state": "absent"}


def test_scalars_dicts_and_plain_lists():
    merged = merge_by_name(FLEET, {"pmd_cpu_mask": "0xc", "socket_mem": [2048], "extra_args": ["--iova-mode=va"],
                                   "other_config": {"vhost-iommu-support": "true"}})
    assert merged["pmd_cpu_mask"] == "0xc"
    assert merged["socket_mem"] == [2048]
    assert merged["extra_args"] == ["--iova-mode=va"]
    assert merged["other_config"] == {"pmd-rxq-assign": "cycles", "vhost-iommu-support": "true"}


def test_an_empty_list_empties_and_no_overrides_change_nothing():
    assert merge_by_name(FLEET, {"bridges": [{"name": "br-phy", "ports": []}]})["bridges"][0]["ports"] == []
    assert merge_by_name(FLEET, {"bridges": []})["bridges"] == []
    assert merge_by_name(FLEET, {}) == FLEET
    assert merge_by_name(FLEET, None) == FLEET
    assert merge_by_name({}, {"bridges": [{"name": "br0"}]}) == {"bridges": [{"name": "br0"}]}
    assert merge_by_name(None, {"pmd_cpu_mask": "0x2"}) == {"pmd_cpu_mask": "0x2"}


def test_another_key_and_top_level_lists():
    base = [{"path": "/a", "mode": "0755"}, {"path": "/b"}]
    assert merge_by_name(base, [{"path": "/a", "mode": "0700"}, {"path": "/b", "state": "absent"}], key="path") == [
        {"path": "/a", "mode": "0700"}]


@pytest.mark.parametrize("base, overrides, message", [
    ({"bridges": [{"name": "br0"}, {"name": "br0"}]}, {"bridges": [{"name": "br0"}]},
     "bridges has two items with name 'br0' (items 0 and 1)"),
    ({"bridges": []}, {"bridges": [{"name": "br0"}, {"name": "br0", "state": "absent"}]},
     "overrides of bridges has two items with name 'br0'"),
    ({"bridges": [{"name": "br0", "ports": ["dpdk0"]}]},
     {"bridges": [{"name": "br0", "ports": [{"name": "dpdk0"}]}]},
     "bridges[name=br0].ports[0] is not an item with a 'name'"),
    ({"bridges": {"br0": {}}}, {"bridges": [{"name": "br0"}]},
     "bridges must be a list of items named by 'name'"),
    ({"other_config": "x"}, {"other_config": {"a": "b"}}, "other_config is 'x' in the input"),
    ({"bridges": []}, [{"name": "br0"}], "the input is dict and the overrides are list"),
])
def test_bad_shapes_fail_with_the_path(base, overrides, message):
    with pytest.raises(AnsibleFilterError) as err:
        merge_by_name(base, overrides)
    assert message in str(err.value)


def test_key_must_be_a_string():
    with pytest.raises(AnsibleFilterError, match="key must be a non-empty string"):
        merge_by_name(FLEET, {"a": 1}, key="")
