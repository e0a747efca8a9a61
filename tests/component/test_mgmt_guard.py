"""The management guard (mgmt_guard.read_network) on a real kernel: a network namespace made by the test, real
Linux bridges and veth pairs, a default route in a non-main routing table (what a VRF or policy routing sets up),
and a private ovsdb-server read through the real ovs-vsctl.

The guard runs inside the namespace (`ip netns exec` gives it the namespace's /sys/class/net and /proc/net) as a
module runs: a real AnsibleModule and Runner, the real `ip`, HostFS on "/". No PCI device is bound: the veths
stand for NICs (the guard reads their netdevs).

This machine's kernel has no openvswitch module (no kernel datapath, no ovs-system master), no bonding, VLAN,
VRF or dummy devices: the OVS port is a veth that OVSDB lists on a bridge, the "internal port" a veth named like
the bridge. The kernel datapath's own links (master ovs-system) are covered by the unit tests' fixture trees.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

from module_call import REPO

pytestmark = pytest.mark.component

NS = "nfvguard%d" % os.getpid()
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"

GUARD = textwrap.dedent('''
    import json, sys
    from ansible.module_utils.basic import AnsibleModule
    from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
    from ansible_collections.nfv.dpdk.plugins.module_utils.pci.mgmt_guard import read_network
    from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import Runner
    from ansible_collections.nfv.dpdk.plugins.module_utils.host import netdev

    module = AnsibleModule(argument_spec={"netdevs": {"type": "list", "elements": "str"},
                                          "conn": {"type": "str"}, "ovs_db": {"type": "str"}})
    fs = HostFS("/")
    network = read_network(fs, Runner(module), module.params["conn"], module.params["ovs_db"])
    module.exit_json(
        reasons=dict((name, network.reasons({"address": "0000:ff:1f.7", "netdevs": [name]}))
                     for name in module.params["netdevs"]),
        main_table_only=sorted(netdev.default_route_interfaces(fs)),
        management=network.management, ovs_error=network.ovs_error)
''')


def ns(*argv):
    return subprocess.run(["ip", "netns", "exec", NS] + list(argv), check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)


def ip(*args):
    return ns("ip", *args)


def veth_in_bridge(port, bridge):
    ip("link", "add", port, "type", "veth", "peer", "name", port + "p")
    ip("link", "set", port, "master", bridge)
    ip("link", "set", port + "p", "up")
    ip("link", "set", port, "up")


@pytest.fixture(scope="module")
def netns():
    if not shutil.which("ip") or subprocess.run(["ip", "netns", "add", NS], check=False).returncode != 0:
        pytest.skip("no network namespaces here")
    try:
        ip("link", "set", "lo", "up")
        for bridge in ("br-vrf", "br-routes", "br-quiet", "br-down"):
            ip("link", "add", bridge, "type", "bridge")
            ip("link", "set", bridge, "up")
        # the management bridge: an address and the default route in table 100 only (not main)
        veth_in_bridge("vmgmt", "br-vrf")
        ip("address", "add", "192.0.2.1/24", "dev", "br-vrf")
        ip("route", "add", "default", "via", "192.0.2.254", "dev", "br-vrf", "table", "100")
        ip("rule", "add", "from", "192.0.2.1", "table", "100")
        # a bridge without an address that routes a prefix (table 50)
        veth_in_bridge("vrouted", "br-routes")
        ip("route", "add", "203.0.113.0/24", "dev", "br-routes", "table", "50")
        # a bridge that is up with the kernel's link-local traffic only
        veth_in_bridge("vquiet", "br-quiet")
        # a bridge with an address that is down
        veth_in_bridge("vdown", "br-down")
        ip("address", "add", "198.51.100.1/24", "dev", "br-down")
        ip("link", "set", "br-down", "down")
        # a veth that OVSDB lists as a port of br-ovs, and a veth named br-ovs holding the connection address
        ip("link", "add", "vovs", "type", "veth", "peer", "name", "vovsp")
        ip("link", "add", "br-ovs", "type", "veth", "peer", "name", "br-ovsp")
        for name in ("vovs", "vovsp", "br-ovs", "br-ovsp"):
            ip("link", "set", name, "up")
        ip("address", "add", "10.77.0.1/24", "dev", "br-ovs")
        yield NS
    finally:
        subprocess.run(["ip", "netns", "delete", NS], check=False)


@pytest.fixture(scope="module")
def ovsdb():
    if not (shutil.which("ovsdb-server") and shutil.which("ovs-vsctl") and os.path.exists(SCHEMA)):
        pytest.skip("no Open vSwitch here")
    run = tempfile.mkdtemp(prefix="nfv-guard-ovs-")
    db = "unix:%s/db.sock" % run
    try:
        subprocess.run(["ovsdb-tool", "create", run + "/conf.db", SCHEMA], check=True)
        subprocess.run(["ovsdb-server", run + "/conf.db", "--remote=punix:%s/db.sock" % run,
                        "--pidfile=%s/ovsdb-server.pid" % run, "--unixctl=%s/ctl" % run, "--detach",
                        "--log-file=%s/ovsdb-server.log" % run], check=True)
        subprocess.run(["ovs-vsctl", "--no-wait", "--db=" + db, "add-br", "br-ovs", "--", "add-port", "br-ovs", "vovs",
                        "--", "add-br", "br-other", "--", "add-port", "br-other", "vquiet"], check=True)
        yield db
    finally:
        pidfile = run + "/ovsdb-server.pid"
        if os.path.exists(pidfile):
            with open(pidfile) as handle:
                os.kill(int(handle.read().strip()), 15)
        shutil.rmtree(run, ignore_errors=True)


def guard(netdevs, conn=None, ovs_db=None):
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".build", "collections"))
    args = json.dumps({"ANSIBLE_MODULE_ARGS": {"netdevs": netdevs, "conn": conn, "ovs_db": ovs_db}})
    proc = subprocess.run(["ip", "netns", "exec", NS, sys.executable, "-c", GUARD], input=args, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_the_kernel_holds_the_default_route_in_table_100_only(netns):
    assert "default via 192.0.2.254 dev br-vrf" in ip("route", "show", "table", "100").stdout
    assert "default" not in ip("route", "show", "table", "main").stdout
    proc_route = [line.split() for line in ns("cat", "/proc/net/route").stdout.splitlines()[1:]]
    net = "%08X" % int.from_bytes(bytes([192, 0, 2, 0]), sys.byteorder)  # the kernel prints it in host order
    assert ["br-vrf", net] in [f[:2] for f in proc_route]  # 192.0.2.0/24 (main table)
    assert not [f for f in proc_route if f[1] == "00000000"]  # no default route in /proc/net/route


def test_a_port_of_a_bridge_with_a_default_route_in_a_non_main_table_is_management(netns):
    result = guard(["vmgmt"])
    assert result["main_table_only"] == []  # what the guard saw before: nothing
    assert result["management"]["br-vrf"] == "default route (table 100)"
    assert result["reasons"]["vmgmt"] == ["vmgmt carries management traffic: default route (table 100) (via br-vrf)"]


def test_a_port_of_a_bridge_up_with_routes_is_refused_naming_the_bridge(netns):
    assert guard(["vrouted"])["reasons"]["vrouted"] == [
        "vrouted is a port of bridge br-routes, which is up with routes 203.0.113.0/24 (table 50)"]


def test_a_port_of_a_bridge_with_link_local_traffic_only_or_down_is_not_refused(netns):
    reasons = guard(["vquiet", "vdown", "vmgmtp"])["reasons"]
    assert reasons == {"vquiet": [], "vdown": [], "vmgmtp": []}


def test_the_ports_of_an_ovs_bridge_whose_port_holds_the_connection_address(netns, ovsdb):
    result = guard(["vovs", "vquiet", "vovsp"], conn="10.77.0.1", ovs_db=ovsdb)
    assert result["ovs_error"] is None
    assert result["reasons"]["vovs"] == [
        "vovs carries management traffic: ansible connection address 10.77.0.1 (via OVS bridge br-ovs)"]
    assert result["reasons"]["vquiet"] == []  # on br-other
    assert result["reasons"]["vovsp"] == []  # on no bridge


def test_an_unreachable_ovsdb_is_reported_and_refuses_nothing_off_the_kernel_datapath(netns, tmp_path):
    result = guard(["vovs"], conn="10.77.0.1", ovs_db="unix:%s/none.sock" % tmp_path)
    assert "database connection failed" in result["ovs_error"] or "No such file" in result["ovs_error"]
    assert result["reasons"]["vovs"] == []  # no master ovs-system on this kernel: nothing says it is an OVS port
