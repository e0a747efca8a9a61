"""The management guard's reading of the host network (mgmt_guard): default routes of every routing table, the
ports of an Open vSwitch bridge that carries management traffic, upper devices (bond, bridge, VLAN) that are up
with addresses or routes; on fixture trees in the kernel's sysfs layout, with `ip` and `ovs-vsctl` answers in
their real JSON form (tests/unit/fixtures/ovs-vsctl-guard-bridges.json is the output of a real ovsdb-server:
br-mgmt with eth0 and a patch port to br-ex with eth1, br-data with eth2 and a VXLAN port).

The kernel's side (a Linux bridge, a veth, a default route in a non-main table) is proven for real in
tests/component/test_mgmt_guard.py.
"""

import json
import os

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import CommandError
from ansible_collections.nfv.dpdk.plugins.module_utils.host import netdev
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import mgmt_guard
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import pci_driver as pd
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import SysfsTree

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "fixtures")
with open(os.path.join(FIXTURES, "ovs-vsctl-guard-bridges.json")) as _handle:
    OVSDB_BRIDGES = _handle.read()
ROUTES_4 = ("-j", "route", "show", "table", "all")
ROUTES_6 = ("-j", "-6", "route", "show", "table", "all")
OVS_QUERY = ("--timeout=5", "--format=json", "--data=json", "--", "--columns=name,ports", "list", "Bridge",
             "--", "--columns=_uuid,interfaces", "list", "Port",
             "--", "--columns=_uuid,name,type,options", "list", "Interface")
UNREACHABLE = (1, "", "ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or "
                      "directory)\n")


class Host:
    """`ip` and `ovs-vsctl` answers; any other command fails the test."""

    def __init__(self, addresses=None, routes=(), routes6=(), ovs=None, binaries=("ip",)):
        links = [{"ifname": name, "addr_info": [{"local": a} for a in addrs]}
                 for name, addrs in (addresses or {}).items()]
        self.answers = {
            ("ip", ("-j", "address", "show")): (0, json.dumps(links), ""),
            ("ip", ROUTES_4): (0, json.dumps(list(routes)), ""),
            ("ip", ROUTES_6): (0, json.dumps(list(routes6)), ""),
        }
        self.binaries = set(binaries)
        if ovs is not None:
            self.binaries.add("ovs-vsctl")
            self.answers[("ovs-vsctl", OVS_QUERY)] = ovs
        self.calls = []

    def has(self, name):
        return name in self.binaries

    def run(self, name, args, check=True, data=None, env=None):
        key = (name, tuple(args))
        self.calls.append(key)
        assert name in self.binaries and key in self.answers, "unexpected command %r" % (key,)
        rc, out, err = self.answers[key]
        if check and rc:
            raise CommandError(["/usr/bin/" + name] + list(args), rc, out, err)
        return rc, out, err


# -- a small host: three NICs, room for bonds, bridges and OVS ports ------------------------------
@pytest.fixture
def tree(tmp_path):
    tree = SysfsTree(tmp_path)
    tree.fs = HostFS(str(tmp_path))
    for address, name in (("0000:05:00.0", "eth0"), ("0000:05:00.1", "eth1"), ("0000:06:00.0", "eth2")):
        tree.pci(address, "0x8086", "0x1572", driver="i40e", netdev=name)
    return tree


def device(tree, name):
    return {"address": {"eth0": "0000:05:00.0", "eth1": "0000:05:00.1", "eth2": "0000:06:00.0"}[name],
            "netdevs": [name]}


def real(tree, name):
    return tree.fs.realpath("/sys/class/net/%s" % name)


def virtual(tree, name, kind=None, operstate="up", flags="0x1003"):
    """A virtual netdev; kind 'bridge' or 'bond' adds the directory sysfs has for it."""
    tree.virtual_netdev(name)
    tree.write(real(tree, name) + "/operstate", operstate)
    tree.write(real(tree, name) + "/flags", flags)
    if kind == "bridge":
        tree.mkdir(real(tree, name) + "/bridge")
    if kind == "bond":
        tree.mkdir(real(tree, name) + "/bonding")


def enslave(tree, lower, upper, master=True):
    """`lower` under `upper` as the kernel links them: master + upper_X below, lower_X above."""
    if master:
        tree.symlink(real(tree, lower) + "/master", real(tree, upper))
    tree.symlink(real(tree, lower) + "/upper_" + upper, real(tree, upper))
    tree.symlink(real(tree, upper) + "/lower_" + lower, real(tree, lower))


def ovs_host(tree):
    """eth0, eth1, eth2 and the internal ports br-mgmt, br-ex, br-data on the OVS kernel datapath."""
    virtual(tree, "ovs-system", operstate="down", flags="0x1002")
    for name in ("br-mgmt", "br-ex", "br-data"):
        virtual(tree, name, operstate="unknown")
    for name in ("eth0", "eth1", "eth2", "br-mgmt", "br-ex", "br-data"):
        tree.symlink(real(tree, name) + "/master", real(tree, "ovs-system"))
        tree.symlink(real(tree, name) + "/upper_ovs-system", real(tree, "ovs-system"))


def reasons(tree, host, name, conn=None):
    return mgmt_guard.read_network(tree.fs, host, conn).reasons(device(tree, name))


# -- routes of every table ------------------------------------------------------------------------
REAL_ROUTES = [  # `ip -j route show table all` as iproute2 6.1 prints it, plus a VRF's table and multipath
    {"dst": "default", "gateway": "192.0.2.1", "dev": "ens3", "flags": []},
    {"dst": "192.0.2.0/24", "dev": "ens3", "protocol": "kernel", "scope": "link", "prefsrc": "192.0.2.2", "flags": []},
    {"type": "local", "dst": "127.0.0.0/8", "dev": "lo", "table": "local", "protocol": "kernel", "scope": "host",
     "prefsrc": "127.0.0.1", "flags": []},
    {"type": "broadcast", "dst": "192.0.2.255", "dev": "ens3", "table": "local", "protocol": "kernel",
     "scope": "link", "prefsrc": "192.0.2.2", "flags": []},
    {"dst": "fe80::/64", "dev": "ens3", "protocol": "kernel", "metric": 256, "flags": [], "pref": "medium"},
    {"type": "multicast", "dst": "ff00::/8", "dev": "ens3", "table": "local", "protocol": "kernel", "metric": 256,
     "flags": [], "pref": "medium"},
    {"dst": "default", "gateway": "198.51.100.1", "dev": "eth1", "table": "100", "flags": []},
    {"type": "unreachable", "dst": "default", "dev": "lo", "table": "100", "metric": 4278198272, "flags": []},
    {"dst": "default", "table": "vrf-blue", "flags": [], "nexthops": [
        {"gateway": "203.0.113.1", "dev": "eth0", "weight": 1, "flags": []},
        {"gateway": "203.0.113.2", "dev": "eth2", "weight": 1, "flags": []}]},
]


def test_parse_routes_keeps_unicast_routes_of_every_table():
    assert mgmt_guard.parse_routes(json.dumps(REAL_ROUTES).encode()) == [
        ("ens3", "default", None), ("ens3", "192.0.2.0/24", None), ("ens3", "fe80::/64", None),
        ("eth1", "default", "100"), ("eth0", "default", "vrf-blue"), ("eth2", "default", "vrf-blue")]
    assert mgmt_guard.parse_routes(b"not json") is None
    assert mgmt_guard.parse_routes(b'[{"dst": "default", "dev": "eth0", "table": "main"}, 7]') == [
        ("eth0", "default", None)]


def test_default_route_in_a_non_main_table_marks_the_bridge_ports(tree):
    virtual(tree, "br-vrf", kind="bridge")
    enslave(tree, "eth1", "br-vrf")
    tree.symlink(real(tree, "br-vrf") + "/brif/eth1", real(tree, "eth1") + "/brport")
    host = Host(routes=[{"dst": "default", "gateway": "198.51.100.1", "dev": "br-vrf", "table": "100", "flags": []}])
    assert "br-vrf" not in netdev.default_route_interfaces(tree.fs)  # /proc/net: the main table only
    assert reasons(tree, host, "eth1") == ["eth1 carries management traffic: default route (table 100) (via br-vrf)"]
    assert reasons(tree, host, "eth0") == []


def test_ipv6_default_route_of_any_table_and_multipath_next_hops(tree):
    host = Host(routes6=[{"dst": "default", "table": "200", "flags": [], "nexthops": [
        {"gateway": "2001:db8::1", "dev": "eth0"}, {"gateway": "2001:db8::2", "dev": "eth2"}]}])
    assert reasons(tree, host, "eth0") == ["eth0 carries management traffic: default route (table 200)"]
    assert reasons(tree, host, "eth2") == ["eth2 carries management traffic: default route (table 200)"]
    assert reasons(tree, host, "eth1") == []


def test_the_main_table_names_no_table(tree):
    tree.default_route("eth0")  # /proc/net/route
    host = Host(routes=[{"dst": "default", "dev": "eth0", "table": "7", "flags": []},
                        {"dst": "default", "dev": "eth0", "flags": []}])
    assert reasons(tree, host, "eth0") == ["eth0 carries management traffic: default route"]


def test_without_ip_the_main_table_of_proc_net_still_guards(tree):
    tree.default_route("eth2")
    tree.write("/proc/net/ipv6_route", "%s 00 %s 00 fe800000000000000000000000000001 00000400 00000001 00000000 "
               "00000003 eth0\n" % ("0" * 32, "0" * 32))
    host = Host(binaries=())
    network = mgmt_guard.read_network(tree.fs, host, None)
    assert network.reasons(device(tree, "eth2")) == ["eth2 carries management traffic: default route"]
    assert network.reasons(device(tree, "eth0")) == ["eth0 carries management traffic: default route"]
    assert host.calls == []


def test_proc_net_routes_of_the_fallback():
    lines = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
             "eth1\t0064A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")

    class Proc:
        def read(self, path, default=None):
            return {"/proc/net/route": lines,
                    "/proc/net/ipv6_route": "20010db8000000000000000000000000 20 %s 00 %s 00000100 00000001 "
                                            "00000000 00000001 eth2\n" % ("0" * 32, "0" * 32)}.get(path, default)

    assert mgmt_guard.proc_routes(Proc()) == [("eth1", "192.168.100.0/24", None), ("eth2", "2001:db8::/32", None)]


# -- Open vSwitch bridges ------------------------------------------------------------------------
def test_ports_of_the_ovs_bridge_holding_the_connection_address_are_management(tree):
    ovs_host(tree)
    host = Host(addresses={"br-mgmt": ["192.0.2.10"]}, ovs=(0, OVSDB_BRIDGES, ""))
    assert reasons(tree, host, "eth0", "192.0.2.10") == [
        "eth0 carries management traffic: ansible connection address 192.0.2.10 (via OVS bridge br-mgmt)"]
    assert reasons(tree, host, "eth1", "192.0.2.10") == [
        "eth1 carries management traffic: ansible connection address 192.0.2.10 (via OVS bridge br-mgmt, "
        "patched to br-ex)"]
    assert reasons(tree, host, "eth2", "192.0.2.10") == []  # br-data is another bridge
    assert ("ovs-vsctl", OVS_QUERY) in host.calls


def test_ports_of_the_ovs_bridge_holding_the_default_route_are_management(tree):
    ovs_host(tree)
    host = Host(routes=[{"dst": "default", "dev": "br-data", "table": "10", "flags": []}], ovs=(0, OVSDB_BRIDGES, ""))
    assert reasons(tree, host, "eth2") == [
        "eth2 carries management traffic: default route (table 10) (via OVS bridge br-data)"]
    assert reasons(tree, host, "eth0") == []


def test_a_bond_on_an_ovs_bridge_takes_its_slaves_along(tree):
    ovs_host(tree)
    virtual(tree, "eth0", kind="bond")  # here "eth0" is the bond on br-mgmt; eth2 is its slave
    enslave(tree, "eth2", "eth0")
    host = Host(addresses={"br-mgmt": ["192.0.2.10"]}, ovs=(0, OVSDB_BRIDGES, ""))
    assert reasons(tree, host, "eth2", "192.0.2.10") == [
        "eth2 carries management traffic: ansible connection address 192.0.2.10 (via OVS bridge br-mgmt) (via eth0)"]


@pytest.mark.parametrize("ovs,binaries,why", [
    (UNREACHABLE, ("ip",), "(ovsdb-server is not reachable at the default socket (is it running?): ovs-vsctl: unix:"
                           "/var/run/openvswitch/db.sock: database connection failed (No such file or directory))"),
    (None, ("ip",), "(ovs-vsctl is not installed)"),
])
def test_without_ovsdb_a_datapath_port_is_refused_while_management_rides_the_datapath(tree, ovs, binaries, why):
    ovs_host(tree)
    host = Host(addresses={"br-mgmt": ["192.0.2.10"]}, ovs=ovs, binaries=binaries)
    found = reasons(tree, host, "eth2", "192.0.2.10")
    assert len(found) == 1
    assert found[0].startswith("eth2 is a port of the OVS kernel datapath (master ovs-system) and management traffic "
                               "rides OVS port br-mgmt, but OVSDB cannot be read (")
    assert why in found[0] and "start ovsdb-server, or force=true" in found[0]


def test_without_ovsdb_no_refusal_while_management_is_off_the_datapath(tree):
    ovs_host(tree)
    tree.default_route("eth1")
    os.unlink(tree.p(real(tree, "eth1") + "/master"))  # eth1 is no OVS port here
    host = Host(ovs=UNREACHABLE)
    assert reasons(tree, host, "eth2") == []
    assert reasons(tree, host, "eth1") == ["eth1 carries management traffic: default route"]


# -- upper devices up with addresses or routes ------------------------------------------------------
def test_slave_of_a_bond_up_with_addresses(tree):
    virtual(tree, "bond1", kind="bond")
    enslave(tree, "eth0", "bond1")
    host = Host(addresses={"bond1": ["10.0.0.1", "fe80::1"]})
    assert reasons(tree, host, "eth0") == ["eth0 is a slave of bond bond1, which is up with addresses 10.0.0.1"]


def test_port_of_a_bridge_up_with_routes_only(tree):
    virtual(tree, "br1", kind="bridge")
    enslave(tree, "eth1", "br1")
    host = Host(routes=[{"dst": "203.0.113.0/24", "dev": "br1", "table": "50", "scope": "link", "flags": []}],
                routes6=[{"dst": "fe80::/64", "dev": "br1", "flags": []},
                         {"type": "multicast", "dst": "ff00::/8", "dev": "br1", "table": "local", "flags": []}])
    assert reasons(tree, host, "eth1") == [
        "eth1 is a port of bridge br1, which is up with routes 203.0.113.0/24 (table 50)"]


@pytest.mark.parametrize("operstate,flags,refused", [("down", "0x1002", False), ("lowerlayerdown", "0x1003", False),
                                                     ("unknown", "0x1003", True), ("unknown", "0x1002", False)])
def test_an_upper_that_is_not_up_does_not_refuse(tree, operstate, flags, refused):
    virtual(tree, "bond1", kind="bond", operstate=operstate, flags=flags)
    enslave(tree, "eth0", "bond1")
    host = Host(addresses={"bond1": ["10.0.0.1"]})
    assert bool(reasons(tree, host, "eth0")) is refused


def test_an_upper_with_link_local_traffic_only_does_not_refuse(tree):
    virtual(tree, "br1", kind="bridge")
    enslave(tree, "eth1", "br1")
    host = Host(addresses={"br1": ["fe80::5054:ff:fe12:3456", "169.254.7.1"]},
                routes=[{"dst": "169.254.0.0/16", "dev": "br1", "flags": []}],
                routes6=[{"dst": "fe80::/64", "dev": "br1", "flags": []}])
    assert reasons(tree, host, "eth1") == []


def test_a_bond_in_a_bridge_with_addresses_names_the_bridge_through_the_bond(tree):
    virtual(tree, "bond1", kind="bond")
    virtual(tree, "br1", kind="bridge")
    enslave(tree, "eth0", "bond1")
    enslave(tree, "bond1", "br1")
    host = Host(addresses={"br1": ["10.9.0.1"]})
    assert reasons(tree, host, "eth0") == ["eth0 is under br1 (through bond1), which is up with addresses 10.9.0.1"]


def test_a_vlan_on_the_nic_up_with_addresses(tree):
    virtual(tree, "eth2.100")
    enslave(tree, "eth2", "eth2.100", master=False)
    host = Host(addresses={"eth2.100": ["198.51.100.20"]})
    assert reasons(tree, host, "eth2") == ["eth2 is under eth2.100, which is up with addresses 198.51.100.20"]


def test_an_upper_that_is_management_is_reported_once_as_management(tree):
    virtual(tree, "bond1", kind="bond")
    enslave(tree, "eth0", "bond1")
    host = Host(addresses={"bond1": ["10.0.0.1"]}, routes=[{"dst": "default", "dev": "bond1", "flags": []}])
    assert reasons(tree, host, "eth0") == ["eth0 carries management traffic: default route (via bond1)"]


# -- through pci_driver: refused in read(), the same in check mode ------------------------------------
class FakeModule:
    def __init__(self, params, check_mode):
        self.params = params
        self.check_mode = check_mode
        self._diff = True


@pytest.mark.parametrize("check_mode", [True, False])
def test_pci_driver_refuses_a_slave_of_a_bond_with_addresses(tree, check_mode):
    virtual(tree, "bond1", kind="bond")
    enslave(tree, "eth0", "bond1")
    host = Host(addresses={"bond1": ["10.0.0.1"]}, binaries=("ip", "modprobe"))
    params = {"devices": ["eth0"], "state": "present", "driver": "vfio-pci", "persistent": False, "force": False,
              "vfio_noiommu": False, "connection_address": None}
    with pytest.raises(NfvError) as err:
        pd.PciDriver(FakeModule(params, check_mode), fs=tree.fs, runner=host).run()
    assert err.value.details["refused"] == [
        "0000:05:00.0: eth0 is a slave of bond bond1, which is up with addresses 10.0.0.1"]
    assert tree.fs.read("/sys/bus/pci/devices/0000:05:00.0/driver_override") == "(null)"
    assert [c[0] for c in host.calls] == ["ip", "ip", "ip"]  # addresses and the two route tables, no change


# -- host_facts reads the host network as the guard does ------------------------------------------------
def test_host_facts_marks_ovs_bridge_ports_and_default_routes_of_any_table(tree):
    from ansible_collections.nfv.dpdk.plugins.module_utils.host import facts, pci
    ovs_host(tree)
    host = Host(addresses={"br-mgmt": ["192.0.2.10"]}, ovs=(0, OVSDB_BRIDGES, ""),
                routes=[{"dst": "default", "dev": "eth2", "table": "100", "flags": []}])
    network = mgmt_guard.read_network(tree.fs, host, "192.0.2.10")
    nics = dict((nic["interface"], nic) for nic in facts.nic_facts(
        tree.fs, pci.read_devices(tree.fs), network.addresses, network.management,
        set(mgmt_guard.default_routes(network.routes))))
    assert nics["eth0"]["management"] and nics["eth0"]["connection"] and not nics["eth0"]["default_route"]
    assert nics["eth0"]["management_reason"] == "ansible connection address 192.0.2.10 (via OVS bridge br-mgmt)"
    assert nics["eth2"]["default_route"] and nics["eth2"]["management_reason"] == "default route (table 100)"
