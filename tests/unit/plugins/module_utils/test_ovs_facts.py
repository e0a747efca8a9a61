"""host_facts' Open vSwitch part (OvsDb.facts) on OVSDB JSON as ovs-vsctl prints it: one ovs-vsctl list call,
the bridges as before and their bonds with members and LACP state."""

import json

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import FACTS_QUERIES, OvsDb

EMPTY = ["set", []]


def ovs_map(values):
    return ["map", [[k, v] for k, v in sorted(values.items())]]


def refs(*uuids):
    return ["set", [["uuid", u] for u in uuids]] if len(uuids) != 1 else ["uuid", uuids[0]]


def doc(columns, rows):
    return json.dumps({"headings": columns, "data": rows})


class FakeRunner:
    """ovs-vsctl on a running OVS: --version, show, and the list call answered with canned documents."""

    def __init__(self, docs):
        self.docs = docs
        self.calls = []

    def has(self, name):
        return name == "ovs-vsctl"

    def run(self, name, args, check=True, data=None, env=None):
        self.calls.append(list(args))
        if "--version" in args:
            return 0, "ovs-vsctl (Open vSwitch) 3.5.0\nDB Schema 8.8.0\n", ""
        if "show" in args:
            return 0, "", ""
        return 0, "\n".join(self.docs) + "\n", ""


def root_doc():
    return doc(["_uuid", "bridges", "dpdk_initialized", "dpdk_version", "other_config", "ovs_version"],
               [[["uuid", "r0"], refs("b0", "b1"), True, "DPDK 24.11.1", ovs_map({"dpdk-init": "true"}), "3.5.0"]])


def bridge_doc():
    return doc(FACTS_QUERIES[1][1], [
        ["br-phy", "netdev", refs("p0", "p1", "p2", "p3")],
        ["br-int", "", refs("p9")],
    ])


def port_doc():
    # bond_mode, lacp, bond_active_slave: optional columns, an empty set when unset
    return doc(FACTS_QUERIES[2][1], [
        [["uuid", "p0"], "br-phy", refs("i0"), EMPTY, EMPTY, EMPTY],
        [["uuid", "p1"], "dpdkbond0", refs("i1", "i2"), "balance-tcp", "active", "aa:bb:cc:00:00:02"],
        [["uuid", "p2"], "bond1", refs("i3", "i4"), EMPTY, EMPTY, EMPTY],
        [["uuid", "p3"], "vhu0", refs("i5"), EMPTY, EMPTY, EMPTY],
        [["uuid", "p9"], "br-int", refs("i9"), EMPTY, EMPTY, EMPTY],
    ])


def interface_doc():
    def row(uuid, name, kind, link, lacp_current, mac, options):
        return [["uuid", uuid], name, kind, link, lacp_current, mac, ovs_map(options)]
    return doc(FACTS_QUERIES[3][1], [
        row("i0", "br-phy", "internal", "up", EMPTY, "aa:bb:cc:00:00:00", {}),
        row("i2", "dpdk1", "dpdk", "up", True, "AA:BB:CC:00:00:02", {"dpdk-devargs": "0000:03:00.1"}),
        row("i1", "dpdk0", "dpdk", "down", False, "aa:bb:cc:00:00:01", {"dpdk-devargs": "0000:03:00.0"}),
        row("i3", "eth2", "", EMPTY, EMPTY, "aa:bb:cc:00:00:03", {}),
        row("i4", "eth1", "", "up", EMPTY, "aa:bb:cc:00:00:04", {}),
        row("i5", "vhu0", "dpdkvhostuserclient", "up", EMPTY, EMPTY, {"vhost-server-path": "/run/vhost/vhu0.sock"}),
        row("i9", "br-int", "internal", "up", EMPTY, "aa:bb:cc:00:00:09", {}),
    ])


def lab():
    return FakeRunner([root_doc(), bridge_doc(), port_doc(), interface_doc()])


def test_facts_read_every_table_in_one_vsctl_call():
    runner = lab()
    state = OvsDb(runner).facts()
    lists = [c for c in runner.calls if "list" in c]
    assert len(lists) == 1
    assert [lists[0][i + 1] for i, word in enumerate(lists[0]) if word == "list"] == [
        "Open_vSwitch", "Bridge", "Port", "Interface"]
    assert state["running"] is True and "error" not in state


def test_facts_keep_the_existing_keys():
    state = OvsDb(lab()).facts()
    assert state["installed"] is True and state["version"] == "3.5.0"
    assert state["ovs_version"] == "3.5.0" and state["dpdk_initialized"] is True
    assert state["dpdk_version"] == "DPDK 24.11.1" and state["other_config"] == {"dpdk-init": "true"}
    assert [(b["name"], b["datapath_type"], b["ports"]) for b in state["bridges"]] == [
        ("br-int", "system", ["br-int"]),
        ("br-phy", "netdev", ["bond1", "br-phy", "dpdkbond0", "vhu0"]),
    ]


def test_facts_list_bonds_members_and_lacp_state():
    bridges = dict((b["name"], b) for b in OvsDb(lab()).facts()["bridges"])
    assert bridges["br-int"]["bonds"] == []
    bond1, dpdkbond0 = bridges["br-phy"]["bonds"]
    assert dpdkbond0 == {
        "name": "dpdkbond0", "bond_mode": "balance-tcp", "lacp": "active", "lacp_negotiated": True,
        "active_member": "dpdk1",
        "members": [
            {"name": "dpdk0", "type": "dpdk", "link_state": "down", "lacp_current": False,
             "dpdk_devargs": "0000:03:00.0"},
            {"name": "dpdk1", "type": "dpdk", "link_state": "up", "lacp_current": True,
             "dpdk_devargs": "0000:03:00.1"},
        ],
    }
    # unset columns: OVS's defaults (active-backup, LACP off), nothing negotiated, no active member known
    assert bond1 == {
        "name": "bond1", "bond_mode": "active-backup", "lacp": "off", "lacp_negotiated": False,
        "active_member": None,
        "members": [
            {"name": "eth1", "type": "system", "link_state": "up", "lacp_current": None, "dpdk_devargs": None},
            {"name": "eth2", "type": "system", "link_state": None, "lacp_current": None, "dpdk_devargs": None},
        ],
    }


def test_lacp_not_negotiated_when_no_member_is_current():
    runner = lab()
    runner.docs[3] = runner.docs[3].replace("true", "false")
    bonds = OvsDb(runner).facts()["bridges"][1]["bonds"]
    assert [b["lacp_negotiated"] for b in bonds] == [False, False]
    # the documented selection: members of LACP bonds whose LACP is not negotiated
    jmespath = pytest.importorskip("jmespath")
    facts = {"ovs": OvsDb(runner).facts()}
    expression = "ovs.bridges[].bonds[] | [?lacp!='off' && !lacp_negotiated].members[].name"
    assert jmespath.search(expression, facts) == ["dpdk0", "dpdk1"]
    assert jmespath.search(expression, {"ovs": OvsDb(lab()).facts()}) == []


def test_facts_report_a_short_answer_as_an_error():
    runner = FakeRunner([root_doc(), bridge_doc()])
    state = OvsDb(runner).facts()
    assert state["running"] is True and "bridges" not in state
    assert "2 JSON documents for 4 tables" in state["error"]
