"""A VXLAN overlay on OVS-DPDK over a netdev bridge's underlay, set by nfv.dpdk.ovs_bridge, on a private,
real OVS-DPDK, against the kernel's own VXLAN endpoint.

br-phy's uplink is a DPDK net_af_packet port on a veth whose peer sits in a network namespace of its own
(the far end: 172.31.0.2, and a kernel vxlan device, VNI 42, 192.168.42.2). The module gives br-phy's
internal port the underlay address 172.31.0.1/24 and a route; br-int carries the VXLAN port (typed
remote_ip, key) and an access port whose veth peer, in another namespace, is 192.168.42.1. A ping from
there to 192.168.42.2 crosses OVS's userspace tunnel (encapsulated on br-phy's underlay) to the kernel
endpoint and back, before and after ovs-vswitchd restarts; after the restart a real QEMU guest on a
vhost-user port of br-int reaches it too, and the boot unit's program sets a flushed internal port up again.

The tests share the lab and run in file order.
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

UNDERLAY = {"addresses": ["172.31.0.1/24"], "routes": [{"dest": "172.31.8.0/24", "gateway": "172.31.0.254"}]}


def sh(*argv, check=True):
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False)
    if check and proc.returncode:
        raise AssertionError("%s failed (%d): %s" % (" ".join(argv), proc.returncode, proc.stdout))
    return proc


def netns(name):
    return "nfvvx%d-%s" % (os.getpid(), name)


def in_ns(name, *argv, check=True):
    return sh("ip", "netns", "exec", netns(name), *argv, check=check)


def in_lab(lab, *argv, check=True):
    return sh("ip", "netns", "exec", lab.netns, *argv, check=check)


@pytest.fixture(scope="module")
def wires(ovs_lab):
    """The far end (underlay address and kernel VXLAN endpoint) and the overlay host, each in a namespace."""
    lab = ovs_lab
    try:
        for name in ("remote", "overlay"):
            sh("ip", "netns", "add", netns(name))
        in_lab(lab, "ip", "link", "add", "u0", "type", "veth", "peer", "name", "u1")
        in_lab(lab, "ip", "link", "set", "u1", "netns", netns("remote"))
        # u0 is the DPDK port's: its kernel side must not answer ARP for br-phy's address (a DPDK NIC has
        # no kernel side), or the far end sends to u0's MAC
        in_lab(lab, "ip", "link", "set", "u0", "arp", "off", "up")
        in_ns("remote", "ip", "addr", "add", "172.31.0.2/24", "dev", "u1")
        in_ns("remote", "ip", "link", "set", "u1", "up")
        in_ns("remote", "ip", "link", "add", "vx42", "type", "vxlan", "id", "42", "local", "172.31.0.2",
              "remote", "172.31.0.1", "dstport", "4789", "dev", "u1", "noudpcsum")
        in_ns("remote", "ip", "addr", "add", "192.168.42.2/24", "dev", "vx42")
        in_ns("remote", "ip", "link", "set", "vx42", "up")
        in_lab(lab, "ip", "link", "add", "h-ov", "type", "veth", "peer", "name", "p-ov")
        in_lab(lab, "ip", "link", "set", "p-ov", "netns", netns("overlay"))
        in_lab(lab, "ip", "link", "set", "h-ov", "mtu", "1450", "up")
        in_ns("overlay", "ip", "link", "set", "p-ov", "mtu", "1450", "up")
        in_ns("overlay", "ip", "addr", "add", "192.168.42.1/24", "dev", "p-ov")
        yield lab
    finally:
        for name in ("remote", "overlay"):
            sh("ip", "netns", "delete", netns(name), check=False)


def phy(lab, check=False, underlay=None, **extra):
    # persistent false: the boot unit is not installed on the machine that runs the tests (its program is run
    # by hand below, and its installation is a unit test on a relocated root)
    args = {"name": "br-phy", "datapath_type": "netdev", "db": lab.db,
            "underlay": dict(underlay or UNDERLAY, persistent=False),
            "ports": [{"name": "uplink0", "type": "dpdk",
                       "options": {"dpdk-devargs": "net_af_packet0,iface=u0"}}]}
    args.update(extra)
    return run_module("ovs_bridge", args, check=check)


def overlay(lab, check=False, mtu=1450, more=(), **port):
    vxlan = {"name": "vxlan0", "type": "vxlan", "remote_ip": "172.31.0.2", "key": "42"}
    vxlan.update(port)
    args = {"name": "br-int", "datapath_type": "netdev", "db": lab.db,
            "ports": [vxlan, {"name": "h-ov", "mtu_request": mtu}] + list(more)}
    return run_module("ovs_bridge", args, check=check)


def kernel_underlay(lab):
    text = in_lab(lab, "ip", "-4", "addr", "show", "dev", "br-phy").stdout
    return [line.split()[1] for line in text.splitlines() if line.strip().startswith("inet ")]


def pings(count=3):
    return in_ns("overlay", "ping", "-c", str(count), "-i", "0.2", "-W", "2", "192.168.42.2",
                 check=False).returncode == 0


def wait_for(predicate, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def test_underlay_check_mode_then_set_in_the_kernel_and_in_ovs_route_table_then_noop(wires):
    lab = wires
    checked = phy(lab, check=True)
    assert not checked.get("failed"), checked.get("msg")
    assert [c["action"] for c in checked["changes"]] == ["create_bridge", "create_port", "underlay"]
    assert checked["changes"][-1]["before"] == {"up": False, "addresses": [], "routes": []}
    assert "br-phy" not in lab.vsctl("list-br", wait=False).split()

    created = phy(lab)
    assert not created.get("failed"), created.get("msg")
    assert created["changes"] == checked["changes"], "check mode did not predict the real run"
    assert created["underlay"] == {"up": True, **UNDERLAY}
    assert kernel_underlay(lab) == ["172.31.0.1/24"]
    routes = in_lab(lab, "ip", "route", "show", "dev", "br-phy", "proto", "190").stdout
    assert "172.31.8.0/24 via 172.31.0.254" in routes
    table = lab.appctl("ovs/route/show")
    assert "172.31.0.0/24 dev br-phy SRC 172.31.0.1" in table
    assert "172.31.8.0/24 dev br-phy GW 172.31.0.254" in table
    recorded = lab.vsctl("get", "Bridge", "br-phy", "external_ids:nfv-dpdk-underlay", wait=False)
    assert "172.31.0.1/24" in recorded

    again = phy(lab)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False and again["changes"] == []


def test_overlay_reaches_the_kernel_vxlan_endpoint_over_the_underlay(wires):
    lab = wires
    created = overlay(lab)
    assert not created.get("failed"), created.get("msg")
    options = lab.vsctl("get", "Interface", "vxlan0", "options", wait=False).strip()
    assert options == '{key="42", remote_ip="172.31.0.2"}'
    assert wait_for(lambda: pings(count=1), what="a ping through the VXLAN tunnel")
    assert pings()
    assert "172.31.0.2" in lab.appctl("tnl/neigh/show")


def test_the_underlay_and_the_tunnel_survive_an_ovs_vswitchd_restart(wires):
    lab = wires
    lab.stop_vswitchd()
    lab.start_vswitchd()
    assert wait_for(lambda: pings(count=1), what="a ping through the tunnel after the restart")
    assert kernel_underlay(lab) == ["172.31.0.1/24"]
    assert "172.31.8.0/24 dev br-phy GW 172.31.0.254" in lab.appctl("ovs/route/show")
    assert phy(lab)["changed"] is False


def test_after_the_restart_a_guest_on_the_overlay_reaches_the_kernel_endpoint(wires, processes):
    """A real QEMU guest on a vhost-user port of br-int pings the far end's VXLAN address through the tunnel."""
    lab = wires
    added = guest_pings_through("nfvvx-g", "192.168.42.3/24", "192.168.42.2", {"name": "vhu-vx", "mtu_request": 1450},
                                lambda port: overlay(lab, more=[port]), processes)
    assert [(c["key"], c["action"]) for c in added["changes"]] == [("ports.vhu-vx", "create_port")]


def test_the_boot_program_gives_a_new_internal_port_its_underlay(wires):
    """As after a reboot: the internal port without its addresses and routes; the boot unit's program, run as
    the unit runs it (the system python3, isolated), sets them from the bridge's external_ids."""
    lab = wires
    in_lab(lab, "ip", "addr", "flush", "dev", "br-phy", "scope", "global")
    in_lab(lab, "ip", "link", "set", "dev", "br-phy", "down")
    assert kernel_underlay(lab) == []
    program = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "plugins", "module_utils", "ovs", "boot_underlay.py")
    ran = in_lab(lab, "/usr/bin/python3", "-IS", program, lab.db)
    assert ran.stdout.strip() == "nfv-dpdk-underlay: bridge br-phy: 1 address(es), 1 route(s)"
    assert kernel_underlay(lab) == ["172.31.0.1/24"]
    assert "172.31.8.0/24 via 172.31.0.254" in in_lab(lab, "ip", "route", "show", "dev", "br-phy").stdout
    assert wait_for(lambda: pings(count=1), what="the tunnel after the boot program")
    assert phy(lab)["changed"] is False


def test_address_removed_by_hand_is_a_drift_and_is_put_back(wires):
    lab = wires
    in_lab(lab, "ip", "addr", "del", "172.31.0.1/24", "dev", "br-phy")
    drift = phy(lab, check=True)
    assert [c["action"] for c in drift["changes"]] == ["underlay"]
    assert drift["changes"][0]["before"]["addresses"] == []
    fixed = phy(lab)
    assert not fixed.get("failed"), fixed.get("msg")
    assert kernel_underlay(lab) == ["172.31.0.1/24"]
    assert wait_for(lambda: pings(count=1), what="the tunnel again")


def test_a_changed_underlay_replaces_only_what_differs(wires):
    lab = wires
    changed = phy(lab, underlay={"addresses": ["172.31.0.1/24"], "routes": []})
    assert not changed.get("failed"), changed.get("msg")
    assert [c["key"] for c in changed["changes"]] == ["bridge.external_ids", "underlay"]
    assert changed["changes"][-1]["after"]["routes"] == []
    assert "172.31.8.0/24" not in in_lab(lab, "ip", "route", "show", "dev", "br-phy").stdout
    assert kernel_underlay(lab) == ["172.31.0.1/24"]
    restored = phy(lab)
    assert [c["action"] for c in restored["changes"]] == ["bridge_map", "underlay"]
    assert restored["changes"][1]["after"]["routes"] == UNDERLAY["routes"]
    assert phy(lab)["changed"] is False


@pytest.mark.parametrize("call, message", [
    (lambda lab: phy(lab, underlay={"addresses": ["172.31.0.1/24"],
                                    "routes": [{"dest": "10.0.0.0/8", "gateway": "10.9.9.9"}]}),
     "underlay.routes[0].gateway: 10.9.9.9 is off the subnets of underlay.addresses (172.31.0.0/24)"),
    (lambda lab: phy(lab, underlay={"addresses": ["172.31.0.1"]}), "needs its prefix length"),
    (lambda lab: phy(lab, datapath_type="system"), "set datapath_type: netdev"),
    (lambda lab: overlay(lab, remote_ip=None), "a vxlan port needs remote_ip"),
    (lambda lab: overlay(lab, key="16777216"), "key of a vxlan port must be an integer from 0 to 16777215"),
    (lambda lab: overlay(lab, dst_port=0), "dst_port must be a UDP port 1-65535"),
    (lambda lab: overlay(lab, mtu=1500),
     "the overlay MTU 1500 (port h-ov of bridge br-int) plus 50 bytes of vxlan over IPv4 is 1550, more than the "
     "MTU 1500 of the underlay's uplink uplink0 (bridge br-phy"),
])
def test_bad_input_fails_naming_the_field_and_changes_nothing(wires, call, message):
    before = (lab_config(wires), kernel_underlay(wires))
    result = call(wires)
    assert result.get("failed"), result
    assert message in result["msg"]
    assert (lab_config(wires), kernel_underlay(wires)) == before


def lab_config(lab):
    return sorted(lab.vsctl("--format=json", "--columns=name,options,mtu_request", "list", "Interface",
                            wait=False).splitlines())
