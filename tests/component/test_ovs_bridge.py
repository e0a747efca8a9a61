"""nfv.dpdk.ovs_bridge through ansible-playbook against a private, real OVS-DPDK (ovs_lab).

The tests of this module share one OVS instance and run in file order: create, converge,
purge, rejected port, validation, daemon down, absent.
"""

import pytest

from module_call import run_module

pytestmark = pytest.mark.component

BRIDGE = "br-nfv"
N_PORTS = 64


def vhost_ports(lab, count, prefix="vhu"):
    return [{"name": "%s%d" % (prefix, i), "type": "dpdkvhostuserclient",
             "options": {"vhost-server-path": "%s/%s%d.sock" % (lab.vhost_dir, prefix, i)}}
            for i in range(count)]


def interfaces(lab):
    return dict((row["name"], row) for row in lab.list_table("Interface"))


def bridge_ports(lab, bridge=BRIDGE):
    return sorted(lab.vsctl("list-ports", bridge, wait=False).split())


def call(lab, check=False, **args):
    args.setdefault("name", BRIDGE)
    if args.get("state") != "absent":
        args.setdefault("datapath_type", "netdev")
    args["db"] = lab.db
    return run_module("ovs_bridge", args, check=check)


def ovs_map(cell):
    assert cell[0] == "map"
    return dict(cell[1])


def test_create_64_vhost_user_ports_check_mode_then_real_then_noop(ovs_lab):
    ports = vhost_ports(ovs_lab, N_PORTS)
    before = ovs_lab.dump()

    checked = call(ovs_lab, check=True, datapath_type="netdev", ports=ports)
    assert not checked.get("failed"), checked.get("msg")
    assert checked["changed"] is True
    assert len(checked["changes"]) == N_PORTS + 1
    assert ovs_lab.dump() == before, "check mode changed the database"

    created = call(ovs_lab, datapath_type="netdev", ports=ports)
    assert not created.get("failed"), created.get("msg")
    assert created["changed"] is True
    assert created["changes"] == checked["changes"], "check mode did not predict the real run"
    assert created["ports"] == checked["ports"]

    rows = interfaces(ovs_lab)
    assert bridge_ports(ovs_lab) == sorted(p["name"] for p in ports)
    assert ovs_lab.vsctl("get", "Bridge", BRIDGE, "datapath_type", wait=False).strip() == "netdev"
    for port in ports:
        row = rows[port["name"]]
        assert row["type"] == "dpdkvhostuserclient"
        assert ovs_map(row["options"]) == port["options"]
        assert row["error"] == ["set", []], row["error"]
        assert isinstance(row["ofport"], int) and row["ofport"] > 0
    reported = dict((i["name"], i) for i in created["interfaces"])
    assert reported["vhu0"]["ofport"] == rows["vhu0"]["ofport"]

    settled = ovs_lab.dump()
    again = call(ovs_lab, datapath_type="netdev", ports=ports)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False
    assert again["changes"] == []
    assert ovs_lab.dump() == settled


def test_existing_port_converges_options_tag_mtu(ovs_lab):
    ports = vhost_ports(ovs_lab, N_PORTS)
    ports[5]["options"]["vhost-server-path"] = ovs_lab.vhost_dir + "/moved5.sock"
    ports[6].update({"tag": 100, "mtu_request": 2000})
    ports[7].update({"trunks": [20, 10], "external_ids": {"vm": "vm7"}})
    before = ovs_lab.dump()

    checked = call(ovs_lab, check=True, ports=ports)
    assert checked["changed"] is True
    assert sorted(c["key"] for c in checked["changes"]) == ["ports.vhu5", "ports.vhu6", "ports.vhu7"]
    assert checked["diff"]["after"]["ports.vhu5"] == {"options": {"vhost-server-path": ovs_lab.vhost_dir
                                                                  + "/moved5.sock"}}
    assert ovs_lab.dump() == before, "check mode changed the database"

    result = call(ovs_lab, ports=ports)
    assert not result.get("failed"), result.get("msg")
    assert result["changes"] == checked["changes"]
    rows = interfaces(ovs_lab)
    assert ovs_map(rows["vhu5"]["options"]) == {"vhost-server-path": ovs_lab.vhost_dir + "/moved5.sock"}
    assert rows["vhu6"]["mtu_request"] == 2000
    assert ovs_map(rows["vhu7"]["external_ids"]) == {"vm": "vm7"}
    assert ovs_lab.vsctl("get", "Port", "vhu6", "tag", wait=False).strip() == "100"
    assert ovs_lab.vsctl("get", "Port", "vhu7", "trunks", wait=False).strip() == "[10, 20]"

    # Back to the plain spec: tag, MTU and trunks are exact and get cleared; external_ids merge and stay.
    plain = vhost_ports(ovs_lab, N_PORTS)
    reverted = call(ovs_lab, ports=plain)
    assert reverted["changed"] is True
    assert sorted(c["key"] for c in reverted["changes"]) == ["ports.vhu5", "ports.vhu6", "ports.vhu7"]
    rows = interfaces(ovs_lab)
    assert ovs_map(rows["vhu5"]["options"]) == plain[5]["options"]
    assert rows["vhu6"]["mtu_request"] == ["set", []]
    assert ovs_lab.vsctl("get", "Port", "vhu6", "tag", wait=False).strip() == "[]"
    assert ovs_lab.vsctl("get", "Port", "vhu7", "trunks", wait=False).strip() == "[]"
    assert ovs_map(rows["vhu7"]["external_ids"]) == {"vm": "vm7"}
    assert call(ovs_lab, ports=plain)["changed"] is False


def test_purge_ports(ovs_lab):
    keep = vhost_ports(ovs_lab, 16)
    result = call(ovs_lab, ports=keep, purge_ports=True)
    assert not result.get("failed"), result.get("msg")
    assert len(result["changes"]) == N_PORTS - 16
    assert all(c["action"] == "delete_port" for c in result["changes"])
    assert bridge_ports(ovs_lab) == sorted(p["name"] for p in keep)
    assert sorted(interfaces(ovs_lab)) == sorted([BRIDGE] + [p["name"] for p in keep])
    assert call(ovs_lab, ports=keep, purge_ports=True)["changed"] is False


def test_rejected_dpdk_port_fails_with_ovs_error_and_is_removed(ovs_lab):
    ports = vhost_ports(ovs_lab, 16) + [
        {"name": "vhu-new", "type": "dpdkvhostuserclient",
         "options": {"vhost-server-path": ovs_lab.vhost_dir + "/new.sock"}},
        {"name": "dpdk-bad", "type": "dpdk", "options": {"dpdk-devargs": "0000:99:1f.7"}},
    ]
    result = call(ovs_lab, ports=ports)
    assert result.get("failed") is True
    assert "Error attaching device '0000:99:1f.7' to DPDK" in result["msg"]
    assert [r["name"] for r in result["rejected"]] == ["dpdk-bad"]
    assert result["rejected"][0]["outcome"] == "removed again"
    names = bridge_ports(ovs_lab)
    assert "dpdk-bad" not in names and "dpdk-bad" not in interfaces(ovs_lab)
    # The rest of the transaction stands, as the task reported.
    assert "vhu-new" in names
    assert "0000:99:1f.7" in ovs_lab.log_tail(400)


@pytest.mark.parametrize("ports, message", [
    ([{"name": "vhu-a", "type": "dpdkvhostuserclient", "options": {"vhost-server-path": "/tmp/a.sock"}},
      {"name": "vhu-a", "type": "dpdkvhostuserclient", "options": {"vhost-server-path": "/tmp/b.sock"}}],
     "listed more than once"),
    ([{"name": "vhu-long", "type": "dpdkvhostuserclient",
       "options": {"vhost-server-path": "/tmp/" + "s" * 100 + ".sock"}}], "longer than the 107"),
    ([{"name": "a-name-of-16-chr", "type": "internal"}], "at most 15"),
    ([{"name": "vhu-x", "type": "dpdkvhostuserclient"}], "needs options.vhost-server-path"),
    # issue 15
    ([{"name": "vhu:x", "type": "internal"}], "ports[0].name 'vhu:x' may hold only"),
    ([{"name": "dpdk-q", "type": "dpdk", "options": {"dpdk-devargs": "0000:99:1f.7"}, "n_rxq_desc": 1000}],
     "n_rxq_desc must be a power of two from 1 to 4096"),
])
def test_bad_input_fails_before_anything_is_sent(ovs_lab, ports, message):
    before = ovs_lab.dump()
    result = call(ovs_lab, ports=ports, purge_ports=True)
    assert result.get("failed") is True
    assert message in result["msg"]
    assert ovs_lab.dump() == before


def test_bridge_name_too_long(ovs_lab):
    result = call(ovs_lab, name="br-sixteen-chars")
    assert result.get("failed") is True and "at most 15" in result["msg"]


def test_daemons_down_give_clear_errors_and_change_nothing(ovs_lab):
    ports = vhost_ports(ovs_lab, 20)
    before = ovs_lab.dump()
    ovs_lab.stop_vswitchd()
    try:
        result = call(ovs_lab, ports=ports)
        assert result.get("failed") is True
        assert "ovs-vswitchd is not running" in result["msg"]
        assert ovs_lab.dump() == before

        ovs_lab.stop_ovsdb()
        result = call(ovs_lab, ports=ports)
        assert result.get("failed") is True
        assert "ovsdb-server is not reachable" in result["msg"]
    finally:
        ovs_lab.start_ovsdb()
        ovs_lab.start_vswitchd()
    # With both back, the same task converges.
    result = call(ovs_lab, ports=ports)
    assert not result.get("failed"), "%s\n%s" % (result.get("msg"), ovs_lab.log_tail(60))
    assert "vhu19" in bridge_ports(ovs_lab)


def test_state_absent_deletes_the_bridge(ovs_lab):
    result = call(ovs_lab, state="absent")
    assert result["changed"] is True
    assert BRIDGE not in ovs_lab.vsctl("list-br", wait=False).split()
    assert call(ovs_lab, state="absent")["changed"] is False
