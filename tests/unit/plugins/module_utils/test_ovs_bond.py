"""ovs_bridge bonds and VLAN modes: validation, the plan against OVSDB JSON, the one-transaction argv."""

import json

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_plan import plan_bridge, predicted_ports
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_state import (
    BRIDGE_COLUMNS,
    INTERFACE_COLUMNS,
    PORT_COLUMNS,
    index_state,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_transaction import transaction_args
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_validation import validate
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovs_bridge import OvsBridge
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import list_tables
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.port_validation import PORT_SPEC

EMPTY = ["set", []]


def ovs_map(values):
    return ["map", [[k, v] for k, v in sorted(values.items())]]


def refs(*uuids):
    return ["set", [["uuid", u] for u in uuids]]


class FakeOvsDb:
    def __init__(self, docs):
        self.docs = docs

    def vsctl(self, args):
        return 0, "\n".join(json.dumps(d) for d in self.docs) + "\n", ""


def port_row(uuid, name, interfaces, tag=None, trunks=None, vlan_mode=None, bond_mode=None, lacp=None,
             other=None):
    """A Port row; None: the empty set OVSDB shows for an unset optional column."""
    def cell(value):
        return EMPTY if value is None else value
    return [["uuid", uuid], name, interfaces, cell(tag), cell(trunks), cell(vlan_mode), cell(bond_mode), cell(lacp),
            0, 0, ovs_map(other or {}), ovs_map({})]


def iface_row(uuid, name, kind="dpdk", devargs=None, ofport=1, options=None):
    options = dict(options or {}, **({"dpdk-devargs": devargs} if devargs else {}))
    return [["uuid", uuid], name, kind, ovs_map(options), EMPTY, ovs_map({}), ovs_map({}), EMPTY, ofport]


def state(bond_members=("dpdk0", "dpdk1"), bridge="br-phy"):
    """br-phy with bond0 (balance-tcp, LACP active, fast, trunks 100 and 200) and the single port vhu0;
    br-ex with eth9."""
    members = [("i%d" % n, name) for n, name in enumerate(bond_members)]
    bridges = {"headings": BRIDGE_COLUMNS, "data": [
        [["uuid", "b0"], "br-phy", refs("p0", "p1", "p2"), "netdev", EMPTY, ovs_map({}), ovs_map({})],
        [["uuid", "b1"], "br-ex", refs("p9"), "netdev", EMPTY, ovs_map({}), ovs_map({})]]}
    ports = {"headings": PORT_COLUMNS, "data": [
        port_row("p0", "br-phy", refs("ib")),
        port_row("p1", "bond0", refs(*[uuid for uuid, _name in members]), trunks=["set", [100, 200]], vlan_mode="trunk",
                 bond_mode="balance-tcp", lacp="active", other={"lacp-time": "fast"}),
        port_row("p2", "vhu0", refs("iv"), tag=100, vlan_mode="access"),
        port_row("p9", "eth9", refs("i9"))]}
    interfaces = {"headings": INTERFACE_COLUMNS, "data": [
        iface_row("ib", "br-phy", "internal", ofport=65534),
        iface_row("iv", "vhu0", "dpdkvhostuserclient", options={"vhost-server-path": "/run/vhost/vhu0.sock"}),
        iface_row("i9", "eth9", "")]
        + [iface_row(u, n, devargs="0000:03:00.%d" % i) for i, (u, n) in enumerate(members)]}
    tables = list_tables(FakeOvsDb([bridges, ports, interfaces]), [
        ("Bridge", BRIDGE_COLUMNS, None), ("Port", PORT_COLUMNS, None), ("Interface", INTERFACE_COLUMNS, None)])
    return index_state(*tables, bridge_name=bridge)


def member(name, function, **extra):
    entry = {"name": name, "type": "dpdk", "options": {"dpdk-devargs": "0000:03:00.%d" % function}, "mtu_request": None,
             "n_rxq": None, "n_rxq_desc": None, "n_txq_desc": None, "pmd_rxq_affinity": None, "other_config": {},
             "external_ids": {}}
    entry.update(extra)
    return entry


def port(name, **extra):
    entry = dict((k, None) for k in PORT_SPEC)
    entry.update({"name": name, "type": "system", "options": {}, "trunks": [], "other_config": {}, "external_ids": {}})
    entry.update(extra)
    return entry


def bond(name="bond0", **extra):
    fields = {"interfaces": [member("dpdk0", 0), member("dpdk1", 1)], "bond_mode": "balance-tcp", "lacp": "active",
              "lacp_time": "fast", "vlan_mode": "trunk", "trunks": [200, 100]}
    fields.update(extra)
    return port(name, **fields)


def vhu0():
    return port("vhu0", type="dpdkvhostuserclient", options={"vhost-server-path": "/run/vhost/vhu0.sock"},
                tag=100, vlan_mode="access")


def params(ports, **extra):
    base = {"name": "br-phy", "state": "present", "datapath_type": None, "fail_mode": None, "other_config": {},
            "external_ids": {}, "ports": ports, "purge_ports": False}
    base.update(extra)
    return base


def plan_for(p, current=None):
    current = current or state(bridge=p["name"])
    return plan_bridge(p, validate(p), current), current


def test_state_reads_the_bond_and_its_members():
    current = state()
    entry = current["ports"]["bond0"]
    assert entry["n_interfaces"] == 2 and sorted(entry["members"]) == ["dpdk0", "dpdk1"]
    assert (entry["bond_mode"], entry["lacp"], entry["vlan_mode"], entry["trunks"]) == (
        "balance-tcp", "active", "trunk", [100, 200])
    assert entry["port_other_config"] == {"lacp-time": "fast"}
    assert current["iface_owner"]["dpdk1"] == ("br-phy", "bond0")
    assert current["iface_owner"]["eth9"] == ("br-ex", "eth9")


def test_unchanged_bond_plans_nothing():
    plan, _current = plan_for(params([bond(), vhu0()]))
    assert plan.changes == []


def test_member_added_removed_and_changed_in_place_in_one_change():
    p = params([bond(interfaces=[member("dpdk0", 0, n_rxq=2), member("dpdk2", 2)], lacp_time=None)])
    plan, _current = plan_for(p)
    assert [(c.key, c.action) for c in plan] == [("ports.bond0", "update_bond")]
    change = plan.changes[0]
    assert change.before == {"other_config": {"lacp-time": "fast"}, "interfaces": {
        "dpdk2": None,
        "dpdk1": {"type": "dpdk", "options": {"dpdk-devargs": "0000:03:00.1"}, "mtu_request": None,
                  "other_config": {}, "external_ids": {}},
        "dpdk0": {"options": {"dpdk-devargs": "0000:03:00.0"}}}}
    assert change.after["interfaces"]["dpdk1"] is None
    assert change.after["interfaces"]["dpdk0"] == {"options": {"dpdk-devargs": "0000:03:00.0", "n_rxq": "2"}}
    assert change.after["other_config"] == {"lacp-time": None}
    assert transaction_args(plan, "br-phy") == [
        "--", "remove", "Port", "bond0", "interfaces", "i1",
        "--", "remove", "Port", "bond0", "other_config", '"lacp-time"',
        "--", "set", "Interface", "dpdk0", 'options={"dpdk-devargs"="0000:03:00.0","n_rxq"="2"}',
        "--", "--id=@bond0_member0", "create", "Interface", 'name="dpdk2"', 'type="dpdk"',
        'options={"dpdk-devargs"="0000:03:00.2"}',
        "--", "add", "Port", "bond0", "interfaces", "@bond0_member0",
    ]


def test_two_bonds_gaining_members_in_one_transaction_get_distinct_row_ids():
    p = params([bond(interfaces=[member("dpdk0", 0), member("dpdk1", 1), member("dpdk2", 2)]),
                bond("bond1", interfaces=[member("dpdk4", 4), member("dpdk5", 5)])])
    current = state()
    current["ports"]["bond1"] = dict(current["ports"]["bond0"], name="bond1", members={
        "dpdk4": dict(current["ports"]["bond0"]["members"]["dpdk0"], name="dpdk4", uuid="i4",
                      options={"dpdk-devargs": "0000:03:00.4"})})
    current["iface_owner"]["dpdk4"] = ("br-phy", "bond1")
    plan, _current = plan_for(p, current)
    assert [c.action for c in plan] == ["update_bond", "update_bond"]
    ids = [a for a in transaction_args(plan, "br-phy") if a.startswith("--id=")]
    assert ids == ["--id=@bond0_member0", "--id=@bond1_member0"]


def test_bond_left_with_one_member_by_hand_gets_the_member_back():
    plan, _current = plan_for(params([bond()]), state(bond_members=("dpdk0",)))
    assert [c.action for c in plan] == ["update_bond"]
    assert plan.changes[0].before == {"interfaces": {"dpdk1": None}}


def test_new_bond_is_one_add_bond_with_its_members_and_port_columns():
    p = params([bond("bond1", interfaces=[member("dpdk4", 4, mtu_request=9000), member("dpdk5", 5)], bond_updelay=100,
                     lacp_fallback_ab=True, external_ids={"role": "uplink"})], name="br-new")
    plan, current = plan_for(p)
    assert [c.action for c in plan] == ["create_bridge", "create_port"]
    assert plan.changes[1].after["interfaces"]["dpdk4"]["mtu_request"] == 9000
    assert transaction_args(plan, "br-new")[3:] == [
        "--", "add-bond", "br-new", "bond1", "dpdk4", "dpdk5",
        "--", "set", "Interface", "dpdk4", 'type="dpdk"', 'options={"dpdk-devargs"="0000:03:00.4"}', "mtu_request=9000",
        "--", "set", "Interface", "dpdk5", 'type="dpdk"', 'options={"dpdk-devargs"="0000:03:00.5"}',
        "--", "set", "Port", "bond1", "trunks=[100,200]", 'vlan_mode="trunk"', 'bond_mode="balance-tcp"',
        'lacp="active"', "bond_updelay=100",
        'other_config={"lacp-fallback-ab"="true","lacp-time"="fast"}', 'external_ids={"role"="uplink"}',
    ]
    assert predicted_ports(plan, current) == ["bond1", "br-new"]


def test_single_port_becoming_a_bond_is_replaced_in_the_same_transaction():
    p = params([port("vhu0", interfaces=[member("m0", 6), member("m1", 7)], bond_mode="active-backup")])
    plan, _current = plan_for(p)
    assert [c.action for c in plan] == ["replace_port"]
    args = transaction_args(plan, "br-phy")
    assert args[:4] == ["--", "del-port", "br-phy", "vhu0"]
    assert args[4:10] == ["--", "add-bond", "br-phy", "vhu0", "m0", "m1"]


def test_member_of_a_purged_port_can_join_a_bond():
    p = params([bond(interfaces=[member("dpdk0", 0), member("dpdk1", 1), member("vhu0", 9)])])
    with pytest.raises(NfvError, match=r"ports\[0\].interfaces\[2\].name: interface vhu0 already belongs to port "
                                       r"vhu0 on bridge br-phy; remove it there first, or set purge_ports"):
        plan_for(p)
    plan, _current = plan_for(dict(p, purge_ports=True))
    args = transaction_args(plan, "br-phy")
    assert args.index("del-port") < args.index("create")


def test_member_on_another_bridge_is_refused():
    with pytest.raises(NfvError, match=r"interfaces\[1\].name: interface eth9 already belongs to port eth9 on bridge "
                                       r"br-ex; remove it there first$"):
        plan_for(params([bond(interfaces=[member("dpdk0", 0), member("eth9", 1, type="system", options={})])]))


@pytest.mark.parametrize("ports, message", [
    ([bond(interfaces=[member("dpdk0", 0)])], "ports[0].interfaces: a bond needs at least two members, got 1"),
    ([bond(interfaces=[member("dpdk0", 0), member("dpdk0", 1)])], "member dpdk0 is listed more than once"),
    ([bond(interfaces=[member("bond0", 0), member("dpdk1", 1)])], "member bond0 has the bond's name"),
    ([bond(), port("dpdk1")], "ports[1].name: dpdk1 is already a member of bond bond0"),
    ([port("dpdk1"), bond()], "ports[1].interfaces[1].name: dpdk1 is already the interface of port dpdk1"),
    ([bond(interfaces=[member("dpdk0", 0), member("dpdk1", 1, options={})])],
     "port bond0 member dpdk1: a dpdk port needs options.dpdk-devargs"),
    ([bond(type="dpdk")], "type is each member's (ports[0].interfaces[].type)"),
    ([bond(mtu_request=9000)], "mtu_request belongs to each member of the bond (ports[0].interfaces[].mtu_request)"),
    ([bond(lacp="off")], "lacp_time is an LACP setting and lacp is off"),
    ([bond(lacp=None, lacp_time=None)], "bond_mode balance-tcp needs LACP"),
    ([bond(bond_mode="active-backup", lacp=None, lacp_fallback_ab=True, lacp_time=None)],
     "lacp_fallback_ab is an LACP setting and lacp is not given (off)"),
    ([bond(bond_downdelay=-1)], "bond_downdelay is in milliseconds"),
    ([bond(lacp_time="slow", other_config={"lacp-time": "fast"})], "lacp_time conflicts with other_config.lacp-time"),
    ([port("eth1", bond_mode="active-backup")], "port eth1: bond_mode is a bond setting"),
    ([port("eth1", vlan_mode="access", tag=10, trunks=[20])], "trunks on an access port"),
    ([port("eth1", vlan_mode="access")], "vlan_mode access needs tag"),
    ([port("eth1", vlan_mode="native-untagged", trunks=[20])], "vlan_mode native-untagged needs tag"),
    ([port("eth1", vlan_mode="trunk", tag=5)], "vlan_mode trunk takes no tag"),
    ([port("eth1", tag=5, trunks=[6])], "tag and trunks together need vlan_mode"),
    ([port("eth1", tag=4096)], "tag must be a VLAN id 0-4095, got 4096"),
])
def test_validation(ports, message):
    with pytest.raises(NfvError) as err:
        validate(params(ports))
    assert message in str(err.value)


def test_native_vlan_modes_and_their_columns():
    p = params([port("eth1", vlan_mode="native-untagged", tag=10, trunks=[20, 30])], name="br-new")
    plan, _current = plan_for(p)
    assert transaction_args(plan, "br-new")[-5:] == [
        "set", "Port", "eth1", "tag=10", "trunks=[20,30]", 'vlan_mode="native-untagged"'][-5:]
    plan, _current = plan_for(params([dict(vhu0(), vlan_mode=None)]))
    assert plan.changes[0].after == {"vlan_mode": None}
    assert transaction_args(plan, "br-phy") == ["--", "clear", "Port", "vhu0", "vlan_mode"]


class FakeModule:
    def __init__(self, module_params):
        self.params = dict(module_params, db=None, timeout=5, underlay=None)
        self.check_mode = False
        self._diff = True

    def warn(self, msg):
        pass


@pytest.mark.parametrize("row_after, undone", [(True, True), (False, False)])
def test_a_rejected_new_member_is_taken_out_again_when_ovsdb_holds_its_row(row_after, undone):
    p = params([bond(interfaces=[member("dpdk0", 0), member("dpdk1", 1), member("dpdk2", 2)])])
    plan, before = plan_for(p)
    after = state(bond_members=("dpdk0", "dpdk1", "dpdk2") if row_after else ("dpdk0", "dpdk1"))
    bridge = OvsBridge(FakeModule(p), runner=None)
    applied = []
    bridge.vsctl_apply = applied.append
    with pytest.raises(NfvError) as err:
        bridge.undo_rejected(plan, after, [{"name": "dpdk2", "bond": "bond0", "type": "dpdk", "ofport": -1,
                                            "error": "could not open network device dpdk2"}])
    assert applied == ([["--", "remove", "Port", "bond0", "interfaces", "i2"]] if undone else [])
    assert "dpdk2: could not open network device dpdk2 (%s)" % (
        "removed again" if undone else "no longer in OVSDB") in str(err.value)
    assert before["ports"]["bond0"]["members"].keys() == {"dpdk0", "dpdk1"}
