"""Bonds and VLANs of nfv.dpdk.ovs_bridge on a private, real OVS-DPDK, without physical NICs.

Two netdev bridges face each other over two veth pairs (va0-vb0, va1-vb1), each end a DPDK
net_af_packet member of a bond: br-a's bond (written by the module) and br-b's bond, its LACP
partner (written with ovs-vsctl, as the switch on the other end of a real uplink). Both bonds trunk
VLANs 100 and 200. Behind them, kernel veths in network namespaces of their own are access ports:
h-a100 on br-a (VLAN 100), h-b100 and h-b200 on br-b (VLANs 100 and 200), all three in one IP subnet,
so a ping from the VLAN 100 host that reaches 10.77.0.2 and not 10.77.0.3 shows both the bond passing
frames and the VLANs kept apart.

The tests share the lab and run in file order: check mode, create, LACP negotiated (and host_facts says
so), traffic and isolation, a member's link down, a real QEMU guest on VLAN 100 reaching the partner side,
a member removed by hand and put back, a member changed in place, active-backup without LACP, bad input,
a member OVS rejects.
"""

import os
import subprocess
import time

import pytest

from guests import guest_pings_through
from module_call import run_module
from ovs_lab import ovs_lab_fixture

pytestmark = pytest.mark.component

ovs_lab = ovs_lab_fixture(socket_mem=1024, extra_pages=600)

HOSTS = (("a100", "br-a", 100, "10.77.0.1"), ("b100", "br-b", 100, "10.77.0.2"), ("b200", "br-b", 200, "10.77.0.3"))


def sh(*argv, check=True):
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False)
    if check and proc.returncode:
        raise AssertionError("%s failed (%d): %s" % (" ".join(argv), proc.returncode, proc.stdout))
    return proc


def in_lab(lab, *argv, check=True):
    return sh("ip", "netns", "exec", lab.netns, *argv, check=check)


def host_netns(name):
    """The network namespace of one VLAN host, named after this process (no clash with another run)."""
    return "nfvbond%d-%s" % (os.getpid(), name)


def in_host(name, *argv, check=True):
    return sh("ip", "netns", "exec", host_netns(name), *argv, check=check)


@pytest.fixture(scope="module")
def wires(ovs_lab):
    """The veth pairs of the uplink, the host namespaces, and br-b with its bond (the LACP partner)."""
    lab = ovs_lab
    for i in (0, 1):
        in_lab(lab, "ip", "link", "add", "va%d" % i, "type", "veth", "peer", "name", "vb%d" % i)
        for end in ("va%d" % i, "vb%d" % i):
            in_lab(lab, "ip", "link", "set", end, "up")
    try:
        for name, _bridge, _vlan, address in HOSTS:
            sh("ip", "netns", "add", host_netns(name))
            in_lab(lab, "ip", "link", "add", "h-" + name, "type", "veth", "peer", "name", "p-" + name)
            in_lab(lab, "ip", "link", "set", "p-" + name, "netns", host_netns(name))
            in_lab(lab, "ip", "link", "set", "h-" + name, "up")
            in_host(name, "ip", "addr", "add", address + "/24", "dev", "p-" + name)
            in_host(name, "ip", "link", "set", "p-" + name, "up")
        partner(lab)
        yield lab
    finally:
        for name, _bridge, _vlan, _address in HOSTS:
            sh("ip", "netns", "delete", host_netns(name), check=False)


def partner(lab):
    """br-b and its bond, the LACP partner: set up with ovs-vsctl, as the switch at the uplink's other end."""
    lab.vsctl("add-br", "br-b", "--", "set", "Bridge", "br-b", "datapath_type=netdev",
              "--", "add-bond", "br-b", "bond-b", "mb0", "mb1",
              "--", "set", "Interface", "mb0", "type=dpdk", "options:dpdk-devargs=net_af_packetb0,iface=vb0",
              "--", "set", "Interface", "mb1", "type=dpdk", "options:dpdk-devargs=net_af_packetb1,iface=vb1",
              "--", "set", "Port", "bond-b", "bond_mode=balance-tcp", "lacp=active", "other_config:lacp-time=fast",
              "vlan_mode=trunk", "trunks=[100,200]",
              "--", "add-port", "br-b", "h-b100", "tag=100", "--", "add-port", "br-b", "h-b200", "tag=200")


def member(name, end, **extra):
    entry = {"name": name, "type": "dpdk", "options": {"dpdk-devargs": "net_af_packet%s,iface=%s" % (name, end)}}
    entry.update(extra)
    return entry


def bond(**extra):
    entry = {"name": "bond-a", "interfaces": [member("ma0", "va0"), member("ma1", "va1")],
             "bond_mode": "balance-tcp", "lacp": "active", "lacp_time": "fast", "vlan_mode": "trunk",
             "trunks": [100, 200]}
    entry.update(extra)
    return dict((k, v) for k, v in entry.items() if v is not None)  # None: the field left out


def call(lab, ports, check=False, **args):
    args.update({"name": "br-a", "datapath_type": "netdev", "db": lab.db, "ports": ports})
    return run_module("ovs_bridge", args, check=check)


def wanted(**extra):
    return [bond(**extra), {"name": "h-a100", "tag": 100, "vlan_mode": "access"}]


def appctl_text(lab, *args):
    return lab.appctl(*args)


CONFIG_COLUMNS = {"Bridge": "name,ports,datapath_type,other_config,external_ids",
                  "Port": "name,interfaces,tag,trunks,vlan_mode,bond_mode,lacp,bond_updelay,bond_downdelay,"
                          "other_config,external_ids",
                  "Interface": "name,type,options,mtu_request,other_config,external_ids"}


def config(lab):
    """What the configuration holds (not the counters and status ovs-vswitchd keeps updating)."""
    return dict((table, sorted(lab.vsctl("--format=json", "--columns=" + columns, "list", table, wait=False)
                               .splitlines())) for table, columns in CONFIG_COLUMNS.items())


def wait_for(predicate, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def negotiated(lab, name):
    text = appctl_text(lab, "bond/show", name)
    return "lacp_status: negotiated" in text and text


def pings(name, address, count=3):
    return in_host(name, "ping", "-c", str(count), "-i", "0.2", "-W", "2", address, check=False).returncode == 0


def test_bond_check_mode_then_created_in_one_transaction_then_noop(wires):
    lab = wires
    before = config(lab)
    checked = call(lab, wanted(), check=True)
    assert not checked.get("failed"), checked.get("msg")
    assert [(c["key"], c["action"]) for c in checked["changes"]] == [
        ("bridge", "create_bridge"), ("ports.bond-a", "create_port"), ("ports.h-a100", "create_port")]
    assert sorted(checked["changes"][1]["after"]["interfaces"]) == ["ma0", "ma1"]
    assert config(lab) == before, "check mode changed the database"

    created = call(lab, wanted())
    assert not created.get("failed"), created.get("msg")
    assert created["changes"] == checked["changes"], "check mode did not predict the real run"
    members = dict((i["name"], i) for i in created["interfaces"] if i.get("bond") == "bond-a")
    assert sorted(members) == ["ma0", "ma1"] and all(i["ofport"] > 0 and not i["error"] for i in members.values())
    port = lab.vsctl("--columns=bond_mode,lacp,vlan_mode,trunks,other_config", "list", "Port", "bond-a", wait=False)
    assert dict((k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in port.splitlines())) == {
        "bond_mode": "balance-tcp", "lacp": "active", "vlan_mode": "trunk", "trunks": "[100, 200]",
        "other_config": "{lacp-time=fast}"}

    again = call(lab, wanted())
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False and again["changes"] == []


def test_lacp_negotiates_with_the_partner_bond(wires):
    text = wait_for(lambda: negotiated(wires, "bond-a"), what="LACP on bond-a")
    assert "member ma0: enabled" in text and "member ma1: enabled" in text
    lacp = appctl_text(wires, "lacp/show", "bond-a")
    assert lacp.count("partner state: activity timeout aggregation synchronized collecting distributing") == 2
    assert negotiated(wires, "bond-b")
    facts = run_module("host_facts", {"ovs_db": wires.db})
    assert not facts.get("failed"), facts.get("msg")
    bridges = dict((b["name"], b) for b in facts["ansible_facts"]["nfv_dpdk"]["ovs"]["bridges"])
    bonds = bridges["br-a"]["bonds"]
    assert [(b["name"], b["bond_mode"], b["lacp"], b["lacp_negotiated"]) for b in bonds] == [
        ("bond-a", "balance-tcp", "active", True)]
    assert [(m["name"], m["dpdk_devargs"], m["lacp_current"]) for m in bonds[0]["members"]] == [
        ("ma0", "net_af_packetma0,iface=va0", True), ("ma1", "net_af_packetma1,iface=va1", True)]


def test_vlan_100_crosses_the_bond_and_vlan_200_stays_apart(wires):
    assert wait_for(lambda: pings("a100", "10.77.0.2", count=1), what="a ping over the bond"), "VLAN 100 lost"
    assert pings("a100", "10.77.0.2")
    assert not pings("a100", "10.77.0.3", count=2), "VLAN 100 reached the VLAN 200 host"


def test_traffic_survives_one_members_link_going_down(wires):
    in_lab(wires, "ip", "link", "set", "va0", "down")
    try:
        wait_for(lambda: "member ma0: disabled" in appctl_text(wires, "bond/show", "bond-a"), what="ma0 disabled")
        assert pings("a100", "10.77.0.2", count=5), "no traffic over the remaining member"
    finally:
        in_lab(wires, "ip", "link", "set", "va0", "up")
    wait_for(lambda: "member ma0: enabled" in appctl_text(wires, "bond/show", "bond-a"), what="ma0 back")


def test_a_guest_on_vlan_100_reaches_the_partner_side_through_the_bond(wires, processes):
    """A real QEMU guest on a vhost-user port of br-a, access VLAN 100, pings the VLAN 100 host behind br-b."""
    lab = wires
    added = guest_pings_through("nfvbond-g", "10.77.0.4/24", "10.77.0.2",
                                {"name": "vhu-g100", "vlan_mode": "access", "tag": 100},
                                lambda port: call(lab, wanted() + [port]), processes)
    assert [(c["key"], c["action"]) for c in added["changes"]] == [("ports.vhu-g100", "create_port")]
    removed = call(lab, wanted(), purge_ports=True)
    assert [(c["key"], c["action"]) for c in removed["changes"]] == [("ports.vhu-g100", "delete_port")]


def test_member_removed_by_hand_is_a_drift_and_is_put_back(wires):
    lab = wires
    uuid = lab.vsctl("get", "Interface", "ma1", "_uuid", wait=False).strip()
    lab.vsctl("remove", "Port", "bond-a", "interfaces", uuid)
    drift = call(lab, wanted(), check=True)
    assert drift["changed"] is True
    assert [(c["key"], c["action"]) for c in drift["changes"]] == [("ports.bond-a", "update_bond")]
    assert drift["changes"][0]["before"] == {"interfaces": {"ma1": None}}
    assert drift["changes"][0]["after"]["interfaces"]["ma1"]["options"] == member("ma1", "va1")["options"]

    fixed = call(lab, wanted())
    assert not fixed.get("failed"), fixed.get("msg")
    assert fixed["changes"] == drift["changes"]
    assert sorted(lab.vsctl("get", "Port", "bond-a", "interfaces", wait=False).strip("[]\n").split(", ")) != []
    assert call(lab, wanted())["changed"] is False
    wait_for(lambda: negotiated(lab, "bond-a"), what="LACP again")


def test_member_changed_in_place_keeps_the_bond(wires):
    lab = wires
    ports = wanted(interfaces=[member("ma0", "va0", n_rxq_desc=512), member("ma1", "va1")])
    checked = call(lab, ports, check=True)
    assert [c["action"] for c in checked["changes"]] == ["update_bond"]
    assert checked["changes"][0]["after"] == {"interfaces": {"ma0": {"options": dict(
        member("ma0", "va0")["options"], n_rxq_desc="512")}}}
    changed = call(lab, ports)
    assert not changed.get("failed"), changed.get("msg")
    assert changed["changes"] == checked["changes"]
    assert lab.vsctl("get", "Interface", "ma0", "options:n_rxq_desc", wait=False).strip() == '"512"'
    assert call(lab, ports)["changed"] is False


def test_active_backup_without_lacp(wires):
    lab = wires
    lab.vsctl("set", "Port", "bond-b", "bond_mode=active-backup", "lacp=off")
    ports = wanted(bond_mode="active-backup", lacp="off", lacp_time=None)
    changed = call(lab, ports)
    assert not changed.get("failed"), changed.get("msg")
    assert changed["changes"][0]["after"]["bond_mode"] == "active-backup"
    text = wait_for(lambda: "active member" in appctl_text(lab, "bond/show", "bond-a") and
                    appctl_text(lab, "bond/show", "bond-a"), what="an active member")
    assert "bond_mode: active-backup" in text and "lacp_status: off" in text
    assert wait_for(lambda: pings("a100", "10.77.0.2", count=1), what="a ping over active-backup")
    assert call(lab, ports)["changed"] is False


@pytest.mark.parametrize("ports, message", [
    ([bond(interfaces=[member("ma0", "va0")])], "ports[0].interfaces: a bond needs at least two members"),
    ([bond(), {"name": "ma0"}], "ports[1].name: ma0 is already a member of bond bond-a"),
    ([bond(interfaces=[member("ma0", "va0"), member("h-b100", "va1")])],
     "ports[0].interfaces[1].name: interface h-b100 already belongs to port h-b100 on bridge br-b"),
    ([bond(lacp="off")], "lacp_time is an LACP setting and lacp is off"),
    ([bond(bond_mode="balance-tcp", lacp=None, lacp_time=None)], "bond_mode balance-tcp needs LACP"),
    ([{"name": "h-a100", "vlan_mode": "access", "tag": 100, "trunks": [200]}], "trunks on an access port"),
    ([{"name": "h-a100", "tag": 5000}], "tag must be a VLAN id 0-4095, got 5000"),
    ([{"name": "h-a100", "lacp": "active"}], "lacp is a bond setting"),
])
def test_bad_input_fails_naming_the_field_and_changes_nothing(wires, ports, message):
    before = config(wires)
    result = call(wires, ports)
    assert result.get("failed"), result
    assert message in result["msg"]
    assert config(wires) == before


def test_member_ovs_rejects_is_taken_out_again(wires):
    lab = wires
    ports = wanted(bond_mode="active-backup", lacp="off", lacp_time=None,
                   interfaces=[member("ma0", "va0"), member("ma1", "va1"),
                               {"name": "ma2", "type": "dpdk", "options": {"dpdk-devargs": "0000:ff:1f.7"}}])
    result = call(lab, ports)
    assert result.get("failed")
    assert "ma2" in result["msg"] and "removed again" in result["msg"]
    assert [r["name"] for r in result["rejected"]] == ["ma2"]
    assert "ma2" not in lab.vsctl("list-ifaces", "br-a", wait=False).split()
    assert sorted(lab.vsctl("list-ifaces", "br-a", wait=False).split()) == ["h-a100", "ma0", "ma1"]
    assert os.path.exists(lab.log_file)
