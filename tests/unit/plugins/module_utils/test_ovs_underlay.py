"""ovs_bridge's underlay (validation, plan), typed tunnel options, and the overlay-in-underlay MTU check."""

import os

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs import boot_underlay
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_validation import validate
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovs_bridge import OvsBridge
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.port_validation import PORT_SPEC
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.tunnel_mtu import (
    check_tunnel_mtu,
    uplinks_of_state,
    uplinks_of_wanted,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.underlay_kernel import ROUTE_PROTOCOL, UNDERLAY_KEY
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.underlay_persistence import (
    UNIT_TEXT,
    persist,
    plan_persistence,
    read_persistence,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.underlay_plan import (
    plan_underlay,
    recorded,
    recorded_underlays,
    with_underlay_key,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.underlay_validation import validate_underlay


def port(name, **extra):
    entry = dict((k, None) for k in PORT_SPEC)
    entry.update({"name": name, "type": "system", "options": {}, "trunks": [], "other_config": {}, "external_ids": {}})
    entry.update(extra)
    return entry


def params(ports=(), underlay=None, **extra):
    base = {"name": "br-phy", "state": "present", "datapath_type": "netdev", "fail_mode": None, "other_config": {},
            "external_ids": {}, "ports": list(ports), "purge_ports": False, "underlay": underlay}
    base.update(extra)
    return base


def test_underlay_is_normalized_and_sorted():
    underlay = validate_underlay(params(underlay={
        "addresses": ["172.16.0.1/24", "2001:db8::1/64"],
        "routes": [{"dest": "10.9.0.0/16", "gateway": "172.16.0.254"},
                   {"dest": "2001:db8:9::/48", "gateway": "2001:db8::fe"}]}))
    assert underlay == {"addresses": ["172.16.0.1/24", "2001:db8::1/64"],
                        "routes": [{"dest": "10.9.0.0/16", "gateway": "172.16.0.254"},
                                   {"dest": "2001:db8:9::/48", "gateway": "2001:db8::fe"}]}
    assert validate_underlay(params()) is None


@pytest.mark.parametrize("underlay, extra, message", [
    ({"addresses": ["172.16.0.1/24"]}, {"datapath_type": None}, "set datapath_type: netdev"),
    ({"addresses": ["172.16.0.1"]}, {}, "underlay.addresses[0]: 172.16.0.1 needs its prefix length"),
    ({"addresses": ["172.16.0.0/24"]}, {}, "is the network address of 172.16.0.0/24"),
    ({"addresses": ["172.16.0.255/24"]}, {}, "is the broadcast address"),
    ({"addresses": ["fe80::1/64"]}, {}, "link-local, loopback or multicast"),
    ({"addresses": ["not-an-ip/24"]}, {}, "underlay.addresses[0]: 'not-an-ip/24' is not an address"),
    ({"addresses": ["172.16.0.1/24", "172.16.0.1/16"]}, {}, "172.16.0.1 is listed more than once"),
    ({"addresses": ["172.16.0.1/24"], "routes": [{"dest": "10.0.0.1/8", "gateway": "172.16.0.2"}]}, {},
     "underlay.routes[0].dest: '10.0.0.1/8' is not a network with no host bits set"),
    ({"addresses": ["172.16.0.1/24"], "routes": [{"dest": "10.0.0.0/8", "gateway": "172.17.0.2"}]}, {},
     "underlay.routes[0].gateway: 172.17.0.2 is off the subnets of underlay.addresses (172.16.0.0/24)"),
    ({"addresses": ["172.16.0.1/24"], "routes": [{"dest": "10.0.0.0/8", "gateway": "172.16.0.1"}]}, {},
     "172.16.0.1 is off the subnets"),
    ({"addresses": ["172.16.0.1/24"], "routes": [{"dest": "2001:db8::/32", "gateway": "172.16.0.2"}]}, {},
     "are not of one IP version"),
    ({"addresses": ["172.16.0.1/24"], "routes": [{"dest": "10.0.0.0/8", "gateway": "172.16.0.2"},
                                                 {"dest": "10.0.0.0/8", "gateway": "172.16.0.3"}]}, {},
     "a dest is listed more than once: 10.0.0.0/8"),
    ({"addresses": ["172.16.0.1/24"]}, {"db": "tcp:192.0.2.9:6640"},
     "underlay: db tcp:192.0.2.9:6640 is a remote OVSDB"),
])
def test_underlay_validation(underlay, extra, message):
    underlay.setdefault("routes", [])
    with pytest.raises(NfvError) as err:
        validate_underlay(params(underlay=underlay, **extra))
    assert message in str(err.value)


def test_underlay_plan_and_record():
    underlay = {"addresses": ["172.16.0.1/24"], "routes": []}
    plan = Plan()
    plan_underlay(plan, underlay, None)
    assert [(c.key, c.before, c.after) for c in plan] == [
        ("underlay", {"up": False, "addresses": [], "routes": []},
         {"up": True, "addresses": ["172.16.0.1/24"], "routes": []})]
    plan = Plan()
    plan_underlay(plan, underlay, {"up": True, "addresses": ["172.16.0.1/24"], "routes": []})
    assert not plan.changed
    plan = Plan()
    plan_underlay(plan, None, {"up": True, "addresses": ["10.0.0.1/8"], "routes": []})
    assert not plan.changed, "an underlay not given is left alone"
    assert with_underlay_key(params(), underlay)["external_ids"] == {
        "nfv-dpdk-underlay": '{"addresses":["172.16.0.1/24"],"routes":[]}'}
    assert with_underlay_key(params(), {"addresses": [], "routes": []})["external_ids"] == {"nfv-dpdk-underlay": None}
    assert recorded_underlays([{"name": "br-phy", "external_ids": {"nfv-dpdk-underlay": recorded(underlay)}},
                               {"name": "br-x", "external_ids": {"nfv-dpdk-underlay": "{broken"}}]) == {
        "br-phy": underlay}


def test_typed_tunnel_options_merge_into_options():
    wanted = validate(params([port("vx0", type="vxlan", remote_ip="172.16.0.2", key="42", dst_port=4790,
                                   local_ip="flow")]))
    assert wanted[0]["options"] == {"remote_ip": "172.16.0.2", "key": "42", "dst_port": "4790", "local_ip": "flow"}
    wanted = validate(params([port("gre0", type="gre", options={"remote_ip": "2001:db8::2", "key": "4294967295"})]))
    assert wanted[0]["options"]["key"] == "4294967295"


@pytest.mark.parametrize("entry, message", [
    (port("vx0", type="vxlan"), "a vxlan port needs remote_ip"),
    (port("vx0", type="vxlan", remote_ip="172.16.0.300"), "remote_ip must be an IP address (or flow)"),
    (port("vx0", type="vxlan", remote_ip="flow", key="16777216"), "from 0 to 16777215"),
    (port("vx0", type="geneve", remote_ip="flow", key="-1"), "key of a geneve port must be an integer"),
    (port("vx0", type="vxlan", remote_ip="flow", dst_port=70000), "dst_port must be a UDP port 1-65535"),
    (port("vx0", type="vxlan", remote_ip="10.0.0.1", options={"remote_ip": "10.0.0.2"}),
     "remote_ip=10.0.0.1 conflicts with options.remote_ip=10.0.0.2"),
    (port("eth1", remote_ip="10.0.0.1"), "remote_ip is an option of tunnel ports"),
])
def test_tunnel_option_validation(entry, message):
    with pytest.raises(NfvError) as err:
        validate(params([entry]))
    assert message in str(err.value)


UNDERLAYS = {"br-phy": {"addresses": ["172.16.0.1/24"], "routes": [{"dest": "10.9.0.0/16", "gateway": "172.16.0.254"}]}}


def overlay(mtu, remote="10.9.1.1"):
    return validate(params([port("vx0", type="vxlan", remote_ip=remote, key="7"),
                            port("vhu0", type="dpdkvhostuserclient", mtu_request=mtu,
                                 options={"vhost-server-path": "/run/vhost/vhu0.sock"})], name="br-int"))


def test_overlay_fits_the_underlay_uplink():
    check_tunnel_mtu("br-int", overlay(8950), UNDERLAYS, {"br-phy": [("dpdk0", 9000)]})
    check_tunnel_mtu("br-int", overlay(9000, remote="192.0.2.1"), UNDERLAYS, {"br-phy": [("dpdk0", 1500)]})


def test_underlay_with_a_local_db_socket_is_accepted():
    assert validate_underlay(params(underlay={"addresses": ["172.16.0.1/24"]}, db="unix:/tmp/ovs/db.sock")) == {
        "addresses": ["172.16.0.1/24"], "routes": []}


def test_patch_ports_do_not_count_as_overlay():
    wanted = overlay(1450) + validate(params([port("patch-int", type="patch", options={"peer": "patch-phy"})]))
    check_tunnel_mtu("br-int", wanted, UNDERLAYS, {"br-phy": [("dpdk0", 1500)]})
    with pytest.raises(NfvError):
        check_tunnel_mtu("br-int", overlay(1500), UNDERLAYS, {"br-phy": [("dpdk0", 1500)]})


def test_overlay_too_large_for_the_uplink_fails_naming_both():
    with pytest.raises(NfvError) as err:
        check_tunnel_mtu("br-int", overlay(9000), UNDERLAYS, {"br-phy": [("dpdk0", 9000), ("dpdk1", 9000)]})
    assert str(err.value).startswith(
        "ports[0] (vx0): the overlay MTU 9000 (port vhu0 of bridge br-int) plus 50 bytes of vxlan over IPv4 is 9050, "
        "more than the MTU 9000 of the underlay's uplink dpdk0 (bridge br-phy, whose underlay reaches 10.9.1.1); "
        "lower the overlay ports' mtu_request to 8950 or raise the uplink's to 9050")


def test_uplinks_count_bond_members_and_physical_ports_only():
    wanted = validate(params([
        port("bond0", interfaces=[{"name": "d0", "type": "dpdk", "options": {"dpdk-devargs": "0000:03:00.0"},
                                   "mtu_request": 9000},
                                  {"name": "d1", "type": "dpdk", "options": {"dpdk-devargs": "0000:03:00.1"}}],
             bond_mode="active-backup"),
        port("vhu0", type="dpdkvhostuserclient", options={"vhost-server-path": "/run/vhost/vhu0.sock"})]))
    assert uplinks_of_wanted(wanted) == [("d0", 9000), ("d1", 1500)]
    bridges = [{"name": "br-phy", "ports": ["p0", "p1"]}]
    ports = [{"_uuid": "p0", "interfaces": ["i0"]}, {"_uuid": "p1", "interfaces": ["i1", "i2"]}]
    ifaces = [{"_uuid": "i0", "name": "br-phy", "type": "internal", "mtu": 1500},
              {"_uuid": "i1", "name": "d0", "type": "dpdk", "mtu_request": [], "mtu": 9000},
              {"_uuid": "i2", "name": "d1", "type": "dpdk", "mtu_request": 2000, "mtu": 1500}]
    assert uplinks_of_state(bridges, ports, ifaces) == {"br-phy": [("d0", 9000), ("d1", 2000)]}


# ---- the boot unit and its program ----------------------------------------------------------------

class NoRunner:
    """No systemd, no commands: the unit's files are planned and written under a relocated root."""

    def has(self, name):
        return False

    def find(self, name):
        return None

    def run(self, name, args, check=True, data=None, env=None):
        raise AssertionError("no command expected: %s %s" % (name, args))


def test_boot_unit_installed_once_under_a_relocated_root_then_taken_away(tmp_path):
    fs = HostFS(str(tmp_path))
    plan = Plan()
    plan_persistence(plan, read_persistence(fs), NoRunner(), True)
    assert [(c.key, c.action) for c in plan] == [
        ("/usr/local/sbin/nfv-dpdk-underlay", "file"), ("/etc/systemd/system/nfv-dpdk-underlay.service", "file"),
        ("nfv-dpdk-underlay.service", "enable")]
    persist(fs, NoRunner(), plan)
    script = (tmp_path / "usr/local/sbin/nfv-dpdk-underlay").read_text()
    assert script.startswith("#!/usr/bin/python3 -IS\n") and "def steps(bridge, underlay):" in script
    link = tmp_path / "etc/systemd/system/multi-user.target.wants/nfv-dpdk-underlay.service"
    assert os.readlink(str(link)) == "/etc/systemd/system/nfv-dpdk-underlay.service"
    again = Plan()
    plan_persistence(again, read_persistence(fs), NoRunner(), True)
    assert not again.changed
    gone = Plan()
    plan_persistence(gone, read_persistence(fs), NoRunner(), False)
    assert [c.action for c in gone] == ["disable", "remove", "remove"]
    persist(fs, NoRunner(), gone)
    assert not link.exists() and not (tmp_path / "usr/local/sbin/nfv-dpdk-underlay").exists()


def test_unit_text_runs_the_program_after_ovs_vswitchd_and_again_when_it_restarts():
    lines = UNIT_TEXT.splitlines()
    assert "After=ovs-vswitchd.service" in lines and "PartOf=ovs-vswitchd.service" in lines
    assert "WantedBy=multi-user.target" in lines and "ExecStart=/usr/local/sbin/nfv-dpdk-underlay" in lines


def test_boot_program_agrees_with_the_module_and_repeats_harmlessly():
    assert boot_underlay.KEY == UNDERLAY_KEY and boot_underlay.ROUTE_PROTOCOL == ROUTE_PROTOCOL
    assert boot_underlay.steps("br-phy", {"addresses": ["172.16.0.1/24"],
                                          "routes": [{"dest": "10.9.0.0/16", "gateway": "172.16.0.254"}]}) == [
        ["ip", "link", "set", "dev", "br-phy", "up"],
        ["ip", "addr", "replace", "172.16.0.1/24", "dev", "br-phy"],
        ["ip", "route", "replace", "10.9.0.0/16", "via", "172.16.0.254", "dev", "br-phy", "proto", "190"]]


def test_boot_program_reports_a_bridge_whose_port_never_appears(monkeypatch, capsys):
    monkeypatch.setattr(boot_underlay, "recorded", lambda db: [("br-gone", {"addresses": ["172.16.0.1/24"]})])
    assert boot_underlay.main(["nfv-dpdk-underlay"], timeout=0) == 1
    assert "bridge br-gone: its internal port did not appear within 0 s; nothing set" in capsys.readouterr().err


class FakeModule:
    def __init__(self, module_params):
        self.params = module_params
        self.check_mode = True
        self._diff = True

    def warn(self, msg):
        pass


RECORDED = {"addresses": ["172.16.0.1/24"], "routes": []}


@pytest.mark.parametrize("state, underlay, others, expected", [
    ("absent", None, {}, ["disable", "remove", "remove"]),          # the last underlay's bridge goes: unit too
    ("absent", None, {"br-ex": RECORDED}, []),                        # another bridge still records one
    ("present", None, {}, []),                                         # not given: left alone
    ("present", {"addresses": [], "routes": [], "persistent": True}, {}, ["disable", "remove", "remove"]),
    ("present", {"addresses": [], "routes": [], "persistent": True}, {"br-ex": RECORDED}, []),
    ("present", dict(RECORDED, persistent=True), {}, []),              # installed already: nothing to do
    ("present", dict(RECORDED, persistent=False), {}, []),
])
def test_the_boot_unit_goes_with_the_last_underlay(tmp_path, state, underlay, others, expected):
    fs = HostFS(str(tmp_path))
    installed = Plan()
    plan_persistence(installed, read_persistence(fs), NoRunner(), True)
    persist(fs, NoRunner(), installed)
    bridge = OvsBridge(FakeModule(params(state=state, underlay=underlay, db=None, timeout=5)), runner=NoRunner(),
                       fs=fs)
    bridge.validate()
    current = {"underlays": dict(others, **{"br-phy": RECORDED}), "persistence": read_persistence(fs)}
    plan = Plan()
    bridge.plan_persistence(plan, current)
    assert [c.action for c in plan] == expected
