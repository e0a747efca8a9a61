"""pci_driver: parsing, resolution, guard, IOMMU and group viability, planning, persistence,
the interface-name memory and the apply/rollback path, on fixture trees in the kernel's layout.

Commands go through a scripted runner that answers the exact argv the module is expected to
run (as in community.general's runner tests); sysfs is a fixture tree read and written through
HostFS. A fixture tree is not a kernel: writing driver_override/unbind/drivers_probe there binds
nothing, so a bind on a fixture is verified by read-back, fails, and rolls back. Real binding is
proven in the lab VM scenario.
"""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host import pci
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import driver_binding as binding
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import pci_driver as pd
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import pci_driver_persistence as persistence
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import pci_guard, requested_devices
from ansible_collections.nfv.dpdk.tests.unit import sysfs_tree

IP_JSON = json.dumps([
    {"ifname": "br-mgmt", "addr_info": [{"local": "192.0.2.10"}]},
    {"ifname": "ens3f1", "addr_info": []},
    {"ifname": "ens82f0", "addr_info": []},
    {"ifname": "ens82f1", "addr_info": []},
    {"ifname": "ens81f0", "addr_info": [{"local": "198.51.100.7"}]},
])
ROUTE_ARGS = (("-j", "route", "show", "table", "all"), ("-j", "-6", "route", "show", "table", "all"))


class ScriptedRunner:
    """Answers the commands a test expects; anything else fails the test."""

    def __init__(self, commands=None, binaries=("ip", "modprobe")):
        self.commands = dict(commands or {})
        self.commands.setdefault(("ip", ("-j", "address", "show")), (0, IP_JSON, ""))
        for args in ROUTE_ARGS:  # no routes beyond the fixture's /proc/net (the main table)
            self.commands.setdefault(("ip", args), (0, "[]", ""))
        self.binaries = set(binaries)
        self.calls = []

    def has(self, name):
        return name in self.binaries

    def find(self, name):
        return "/usr/bin/" + name if name in self.binaries else None

    def run(self, name, args, check=True, data=None, env=None):
        key = (name, tuple(str(a) for a in args))
        self.calls.append(key)
        if name not in self.binaries or key not in self.commands:
            raise AssertionError("unexpected command %r" % (key,))
        rc, out, err = self.commands[key]
        if check and rc != 0:
            raise NfvError("command %s failed rc=%d: %s" % (" ".join(key[1]), rc, err))
        return rc, out, err


class FakeModule:
    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = True


def params(devices, **kwargs):
    result = {"devices": devices, "state": "present", "driver": "vfio-pci", "persistent": True, "force": False,
              "vfio_noiommu": False, "connection_address": None}
    result.update(kwargs)
    return result


def handler(root, devices, check_mode=False, runner=None, **kwargs):
    return pd.PciDriver(FakeModule(params(devices, **kwargs), check_mode), fs=HostFS(str(root)),
                        runner=runner or ScriptedRunner())


def run(root, devices, check_mode=False, runner=None, **kwargs):
    return handler(root, devices, check_mode, runner, **kwargs).run()


@pytest.fixture
def host(tmp_path):
    tree = sysfs_tree.two_node_host(tmp_path)
    tree.fs = HostFS(str(tmp_path))
    return tree


def link(tree, address):
    return os.readlink(tree.p("/sys/devices/pci0000:00/%s/driver" % address))


# -- device specs ------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("0000:03:00.0", ("address", "0000:03:00.0")),
    ("03:00.1", ("address", "0000:03:00.1")),
    ("0000:82:00.1", ("address", "0000:82:00.1")),
    ("ens3f1", ("interface", "ens3f1")),
    ("br-mgmt", ("interface", "br-mgmt")),
])
def test_parse_device_spec(text, expected):
    assert requested_devices.parse_device_spec(text) == expected


@pytest.mark.parametrize("text", ["03:00", "03:00.8", "0000:03:20.0", "3:0.0", "eth0:1", "a/b", "",
                                  "averyveryverylongname"])
def test_parse_device_spec_rejects(text):
    with pytest.raises(NfvError) as err:
        requested_devices.parse_device_spec(text)
    assert repr(text) in err.value.msg


def test_malformed_address_fails_naming_the_forms(host):
    with pytest.raises(NfvError) as err:
        run(host.root, ["03:00.0", "03:00"])
    assert "malformed PCI address '03:00'" in err.value.msg
    assert "0000:03:00.0 or 03:00.0" in err.value.msg


@pytest.mark.parametrize("driver", ["", "vfio pci", "../x", "-x"])
def test_malformed_driver_name(host, driver):
    with pytest.raises(NfvError) as err:
        run(host.root, ["03:00.1"], driver=driver)
    assert "malformed driver name" in err.value.msg


# -- resolution -----------------------------------------------------------------------------------
def test_resolve_by_address_and_interface_merges_duplicates(host):
    found = requested_devices.resolve_devices(host.fs, ["ens3f1", "03:00.1", "0000:81:00.0", "ens82f1"],
                                              {"devices": {}})
    assert [d["address"] for d in found] == ["0000:03:00.1", "0000:81:00.0", "0000:82:00.1"]
    assert [d["interface"] for d in found] == ["ens3f1", "ens81f0", "ens82f1"]
    assert found[0]["requested"] == "ens3f1"


def test_resolve_reports_every_unknown_device_at_once(host):
    with pytest.raises(NfvError) as err:
        requested_devices.resolve_devices(host.fs, ["0000:03:00.7", "ens9", "bond0", "03:00.0"], {"devices": {}})
    msg = err.value.msg
    assert "no PCI device at 0000:03:00.7" in msg
    assert "no interface ens9" in msg and "name it by PCI address" in msg
    assert "interface bond0 is not a PCI device" in msg
    assert err.value.details["unknown"] and len(err.value.details["unknown"]) == 3


def test_resolve_uses_remembered_interface(host):
    sysfs_tree.rebind_driver(host, "0000:03:00.1", "vfio-pci")
    state = {"devices": {"0000:03:00.1": {"interface": "ens3f1", "original_driver": "i40e"}}}
    found = requested_devices.resolve_devices(host.fs, ["ens3f1"], state)
    assert found == [{"address": "0000:03:00.1", "interface": "ens3f1", "requested": "ens3f1"}]
    with pytest.raises(NfvError):
        requested_devices.resolve_devices(host.fs, ["ens3f1"], {"devices": {}})


def test_unknown_address_fails_and_changes_nothing(host):
    with pytest.raises(NfvError) as err:
        run(host.root, ["0000:03:00.1", "0000:05:00.0"])
    assert "no PCI device at 0000:05:00.0" in err.value.msg
    assert link(host, "0000:03:00.1").endswith("/i40e")
    assert not host.fs.exists(persistence.STATE_FILE)


# -- management guard ---------------------------------------------------------------------------------
def test_guard_refuses_bond_member_under_default_route_bridge(host):
    with pytest.raises(NfvError) as err:
        run(host.root, ["eno1"])
    msg = err.value.msg
    assert "refusing" in msg and "0000:01:00.0" in msg
    assert "eno1 carries management traffic: default route (via " in msg
    assert "force=true" in msg


def test_guard_refuses_interface_up_with_addresses(host):
    with pytest.raises(NfvError) as err:
        run(host.root, ["ens81f0"])
    assert "ens81f0 is up with addresses 198.51.100.7" in err.value.msg


def test_guard_refuses_connection_address(host, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.1 50000 198.51.100.7 22")
    with pytest.raises(NfvError) as err:
        run(host.root, ["ens81f0"])
    assert "ansible connection address 198.51.100.7" in err.value.msg


def test_guard_takes_an_explicit_connection_address(host, monkeypatch):
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    with pytest.raises(NfvError) as err:
        run(host.root, ["ens81f0"], connection_address="198.51.100.7")
    assert "ens81f0 carries management traffic: ansible connection address 198.51.100.7" in err.value.msg


def test_guard_ignores_link_local_addresses(host):
    addresses = json.dumps([{"ifname": "ens3f1",
                             "addr_info": [{"local": "fe80::5054:ff:fe12:3456"}, {"local": "169.254.3.4"}]}])
    runner = ScriptedRunner({("ip", ("-j", "address", "show")): (0, addresses, "")})
    result = run(host.root, ["ens3f1"], check_mode=True, runner=runner, persistent=False)
    assert result["changed"]
    assert pci_guard.is_link_local("fe80::1%eth0") and not pci_guard.is_link_local("2001:db8::1")
    assert not pci_guard.is_link_local("garbage")


def test_bridge_is_not_a_target(host):
    with pytest.raises(NfvError) as err:
        run(host.root, ["0000:00:00.0"], check_mode=True)
    assert "0000:00:00.0: PCI bridges are not bound to vfio-pci" in err.value.msg


def test_guard_refuses_disk_controller(host):
    sysfs_tree.block_device(host, "nvme0n1", "/sys/devices/pci0000:00/0000:03:00.1/nvme/nvme0")
    with pytest.raises(NfvError) as err:
        run(host.root, ["03:00.1"])
    assert "holds block device nvme0n1" in err.value.msg


def test_guard_lists_every_refused_device(host):
    with pytest.raises(NfvError) as err:
        run(host.root, ["eno1", "eno2", "ens3f1"])
    assert "0000:01:00.0" in err.value.msg and "0000:01:00.1" in err.value.msg
    assert len(err.value.details["refused"]) == 2


def test_force_passes_the_guard(host):
    result = run(host.root, ["ens81f0"], check_mode=True, force=True, persistent=False)
    assert result["changed"]
    assert [c["key"] for c in result["changes"]] == ["0000:81:00.0"]


def test_guard_does_not_apply_to_devices_already_bound(host):
    # 03:00.0 is on vfio-pci already: nothing moves, nothing is guarded
    result = run(host.root, ["03:00.0"], check_mode=True, persistent=False)
    assert not result["changed"]


# -- IOMMU -----------------------------------------------------------------------------------------
def test_no_iommu_fails_with_amd_args(tmp_path):
    tree = sysfs_tree.one_node_host(tmp_path)
    tree.pci("0000:00:04.0", "0x8086", "0x100e", driver="e1000", netdev="ens4")
    with pytest.raises(NfvError) as err:
        run(tmp_path, ["00:04.0"], check_mode=True)
    msg = err.value.msg
    assert "the IOMMU is off" in msg
    assert "amd_iommu=on iommu=pt" in msg and "AuthenticAMD" in msg
    assert err.value.details["kernel_args"] == ["amd_iommu=on", "iommu=pt"]


def test_no_iommu_intel_with_args_already_present(tmp_path):
    tree = sysfs_tree.SysfsTree(tmp_path)
    tree.cpu("0-1", vendor="GenuineIntel")
    tree.cmdline("root=/dev/vda1 intel_iommu=on iommu=pt")
    tree.pci("0000:00:04.0", "0x8086", "0x100e", driver="e1000", netdev="ens4")
    tree.bind("0000:00:04.0", "e1000")
    tree.mkdir("/sys/bus/pci/drivers/vfio-pci")
    with pytest.raises(NfvError) as err:
        run(tmp_path, ["00:04.0"], check_mode=True)
    msg = err.value.msg
    assert "intel_iommu=on iommu=pt" in msg
    assert "already has intel_iommu=on iommu=pt" in msg and "firmware" in msg


def test_noiommu_opt_in_plans_the_mode(tmp_path):
    tree = sysfs_tree.SysfsTree(tmp_path)
    tree.cpu("0-1", vendor="GenuineIntel")
    tree.pci("0000:00:04.0", "0x8086", "0x100e", driver="e1000", netdev="ens4")
    tree.mkdir("/sys/bus/pci/drivers/vfio-pci")
    tree.write(binding.NOIOMMU_PARAM, "N")
    result = run(tmp_path, ["00:04.0"], check_mode=True, vfio_noiommu=True, persistent=False)
    assert [(c["key"], c["action"]) for c in result["changes"]] == [
        ("vfio no-IOMMU mode", "noiommu"), ("0000:00:04.0", "bind")]
    assert HostFS(str(tmp_path)).read(binding.NOIOMMU_PARAM) == "N"


def test_kernel_target_needs_no_iommu(tmp_path):
    tree = sysfs_tree.SysfsTree(tmp_path)
    tree.cpu("0-1")
    tree.pci("0000:00:04.0", "0x8086", "0x100e", driver="vfio-pci")
    result = run(tmp_path, ["00:04.0"], check_mode=True, driver="kernel", persistent=False)
    assert result["changed"]
    assert result["devices"][0]["driver_after"] == "(kernel default)"


# -- group viability -------------------------------------------------------------------------------
def test_split_group_not_viable_lists_members(host):
    with pytest.raises(NfvError) as err:
        run(host.root, ["ens82f0"], check_mode=True)
    msg = err.value.msg
    assert "IOMMU group 41 of 0000:82:00.0 is not viable" in msg
    assert "0000:82:00.1 (igb)" in msg
    assert err.value.details["groups"] == {"41": [{"address": "0000:82:00.1", "driver": "igb"}]}


def test_whole_group_together_is_viable(host):
    result = run(host.root, ["ens82f0", "ens82f1"], check_mode=True, persistent=False)
    assert [c["key"] for c in result["changes"]] == ["0000:82:00.0", "0000:82:00.1"]
    assert all(d["iommu_group"] == 41 for d in result["devices"])


def test_group_member_on_vfio_or_no_driver_or_bridge_is_viable(host):
    host.pci("0000:82:00.2", "0x8086", "0x10c9", driver="vfio-pci", numa_node=1, iommu_group=41)
    host.pci("0000:82:00.3", "0x8086", "0x10c9", numa_node=1, iommu_group=41)
    host.pci("0000:80:01.0", "0x8086", "0x2030", pci_class="0x060400", driver="pcieport", iommu_group=41)
    fs = host.fs
    devices = [pci.read_device(fs, "0000:82:00.0"), pci.read_device(fs, "0000:82:00.1")]
    assert pci_guard.group_blockers(fs, devices, {"0000:82:00.0", "0000:82:00.1"}) == {}
    assert pci_guard.group_blockers(fs, devices[:1], {"0000:82:00.0"}) == {41: [("0000:82:00.1", "igb")]}


def test_device_without_group_on_iommu_host(host):
    host.pci("0000:84:00.0", "0x8086", "0x10c9", driver="igb", numa_node=1)
    with pytest.raises(NfvError) as err:
        run(host.root, ["84:00.0"], check_mode=True)
    assert "no IOMMU group for 0000:84:00.0" in err.value.msg


# -- driver availability ------------------------------------------------------------------------------
def test_driver_not_loaded_is_planned_as_module_load(host):
    runner = ScriptedRunner({("modprobe", ("--dry-run", "--quiet", "uio_pci_generic")): (0, "", "")})
    result = run(host.root, ["ens3f1"], check_mode=True, runner=runner, driver="uio_pci_generic", persistent=False)
    assert [(c["key"], c["action"]) for c in result["changes"]] == [
        ("module uio_pci_generic", "load"), ("0000:03:00.1", "bind")]
    assert ("modprobe", ("uio_pci_generic",)) not in runner.calls  # check mode: dry run only


def test_unknown_driver_fails(host):
    runner = ScriptedRunner({("modprobe", ("--dry-run", "--quiet", "nosuchdrv")): (1, "", "")})
    with pytest.raises(NfvError) as err:
        run(host.root, ["ens3f1"], runner=runner, driver="nosuchdrv")
    assert "unknown driver nosuchdrv" in err.value.msg
    assert link(host, "0000:03:00.1").endswith("/i40e")
    assert host.fs.read("/sys/bus/pci/devices/0000:03:00.1/driver_override") == "(null)"


def test_unknown_driver_without_modprobe(host):
    runner = ScriptedRunner(binaries=("ip",))
    with pytest.raises(NfvError) as err:
        run(host.root, ["ens3f1"], runner=runner, driver="nosuchdrv")
    assert "no modprobe" in err.value.msg


# -- planning and idempotence -----------------------------------------------------------------------------
def test_plan_bind_and_own_persistence(host):
    result = run(host.root, ["ens3f1", "03:00.0"], check_mode=True)
    assert result["changed"]
    keys = [(c["key"], c["action"]) for c in result["changes"]]
    assert keys == [("0000:03:00.1", "bind"), (persistence.CONF_FILE, "file"), (persistence.BIND_SCRIPT, "file"),
                    (persistence.UNIT_FILE, "file"), (persistence.UNIT_NAME, "enable")]
    bind = result["changes"][0]
    assert (bind["before"], bind["after"]) == ("i40e", "vfio-pci")
    conf = result["changes"][1]["after"]
    assert "0000:03:00.0 vfio-pci 8086:1572\n0000:03:00.1 vfio-pci 8086:1572\n" in conf
    assert result["diff"]["before"]["0000:03:00.1"] == "i40e"
    assert result["diff"]["after"]["0000:03:00.1"] == "vfio-pci"
    assert result["persistence"] == "nfv-dpdk-pci-bind.service"
    by_addr = dict((d["address"], d) for d in result["devices"])
    assert by_addr["0000:03:00.1"] == {
        "address": "0000:03:00.1", "requested": "ens3f1", "interface": "ens3f1", "driver_before": "i40e",
        "driver_after": "vfio-pci", "changed": True, "iommu_group": 21, "numa_node": 0,
        "vendor_device": "8086:1572"}
    assert by_addr["0000:03:00.0"]["changed"] is False
    # check mode wrote nothing
    for path in (persistence.CONF_FILE, persistence.BIND_SCRIPT, persistence.UNIT_FILE, persistence.STATE_FILE):
        assert not host.fs.exists(path)
    assert host.fs.read("/sys/bus/pci/devices/0000:03:00.1/driver_override") == "(null)"


def test_already_bound_not_persistent_is_unchanged(host):
    result = run(host.root, ["0000:03:00.0"], persistent=False)
    header = "PCI driver bindings"
    assert result == {"changed": False, "changes": [],
                      "diff": {"before": {}, "after": {}, "before_header": header, "after_header": header},
                      "devices": [{"address": "0000:03:00.0", "requested": "0000:03:00.0", "interface": None,
                                   "driver_before": "vfio-pci", "driver_after": "vfio-pci", "changed": False,
                                   "iommu_group": 20, "numa_node": 0, "vendor_device": "8086:1572"}],
                      "persistence": "none"}


def test_persistence_apply_then_second_run_unchanged(host):
    first = run(host.root, ["0000:03:00.0"])
    assert first["changed"]
    assert [c["action"] for c in first["changes"]] == ["file", "file", "file", "enable"]
    conf = host.fs.read(persistence.CONF_FILE)
    assert conf.splitlines()[-1] == "0000:03:00.0 vfio-pci 8086:1572"
    assert os.stat(host.fs.path(persistence.BIND_SCRIPT)).st_mode & 0o777 == 0o755
    with open(host.fs.path(persistence.UNIT_FILE)) as f:
        unit = f.read()
    assert "Before=network-pre.target openvswitch-switch.service ovs-vswitchd.service" in unit
    assert "ExecStart=%s %s" % (persistence.BIND_SCRIPT, persistence.CONF_FILE) in unit
    assert "TimeoutStartSec=120" in unit
    assert "WantedBy=sysinit.target" in unit
    assert os.readlink(host.fs.path(persistence.UNIT_WANTS_LINK)) == persistence.UNIT_FILE
    assert link(host, "0000:03:00.0").endswith("/vfio-pci")
    second = run(host.root, ["0000:03:00.0"])
    assert not second["changed"] and second["changes"] == []
    # no temp files left behind
    assert [n for n in os.listdir(os.path.dirname(host.fs.path(persistence.CONF_FILE))) if n.startswith(".")] == []


def test_kernel_removes_persistent_entry(host):
    host.write(persistence.CONF_FILE,
               persistence.format_overrides({"0000:03:00.0": "vfio-pci", "0000:81:00.0": "vfio-pci"}))
    result = run(host.root, ["0000:03:00.0"], check_mode=True, driver="kernel")
    conf_change = next(c for c in result["changes"] if c["key"] == persistence.CONF_FILE)
    assert persistence.parse_overrides(conf_change["after"]) == {"0000:81:00.0": "vfio-pci"}
    bind = next(c for c in result["changes"] if c["action"] == "bind")
    assert (bind["before"], bind["after"]) == ("vfio-pci", "(kernel default)")


def test_device_a_process_holds_through_vfio_is_not_unbound_even_with_force(host):
    """The kernel's unbind of a vfio-pci device waits until the holder (OVS-DPDK, a guest) lets go: refused first."""
    host.write("/proc/1202/comm", "ovs-vswitchd")
    host.mkdir("/proc/1202/fd")
    os.symlink("/dev/vfio/20", host.p("/proc/1202/fd/40"))
    for force in (False, True):
        with pytest.raises(NfvError) as err:
            run(host.root, ["0000:03:00.0"], driver="kernel", force=force)
        assert err.value.details["held"] == ["0000:03:00.0: IOMMU group 20 (/dev/vfio/20) is open by "
                                             "ovs-vswitchd (pid 1202)"]
        assert "stop the guest or delete the OVS port first" in err.value.msg
    assert link(host, "0000:03:00.0").endswith("/vfio-pci")
    os.unlink(host.p("/proc/1202/fd/40"))  # let go: the plan goes ahead
    result = run(host.root, ["0000:03:00.0"], check_mode=True, driver="kernel")
    assert result["changed"]


def test_kernel_prediction_uses_remembered_driver(host):
    host.write(persistence.STATE_FILE, json.dumps({"devices": {"0000:03:00.0": {"original_driver": "i40e"}}}))
    result = run(host.root, ["0000:03:00.0"], check_mode=True, driver="kernel", persistent=False)
    assert result["devices"][0]["driver_after"] == "i40e"


def test_kernel_on_kernel_driver_is_unchanged(host):
    result = run(host.root, ["ens3f1", "eno1"], check_mode=True, driver="kernel")
    assert not result["changed"]  # and the guard does not apply to handing back


def test_kernel_clears_stale_override(host):
    host.write("/sys/devices/pci0000:00/0000:03:00.1/driver_override", "i40e")
    result = run(host.root, ["ens3f1"], check_mode=True, driver="kernel", persistent=False)
    assert result["changes"] == [{"key": "0000:03:00.1", "action": "bind", "before": "i40e (override i40e)",
                                  "after": "i40e"}]


def test_driverctl_persistence_plan(host):
    host.write(persistence.driverctl_file("0000:03:00.0"), "vfio-pci")
    runner = ScriptedRunner(binaries=("ip", "modprobe", "driverctl"))
    result = run(host.root, ["0000:03:00.0", "ens81f0"], check_mode=True, runner=runner, force=True)
    assert result["persistence"] == "driverctl"
    assert [(c["key"], c["before"], c["after"]) for c in result["changes"] if c["action"] == "driverctl"] == [
        ("driverctl override 0000:81:00.0", None, "vfio-pci")]
    assert not run(host.root, ["0000:03:00.0"], check_mode=True, runner=runner)["changed"]


def test_driverctl_for_a_device_already_bound_writes_its_file_without_rebinding(host):
    runner = ScriptedRunner(binaries=("ip", "driverctl"))
    result = run(host.root, ["0000:03:00.0"], runner=runner)
    assert [(c["action"], c["before"], c["after"]) for c in result["changes"]] == [("driverctl", None, "vfio-pci")]
    assert host.fs.read(persistence.driverctl_file("0000:03:00.0")) == "vfio-pci"
    assert [c for c in runner.calls if c[0] == "driverctl"] == []  # set-override would unbind it
    assert not run(host.root, ["0000:03:00.0"], runner=runner)["changed"]


def test_driverctl_set_override_runs_for_a_device_that_moves(host):
    # the bind itself cannot succeed on a fixture: the plan carries the moving device to driverctl
    runner = ScriptedRunner(binaries=("ip", "driverctl"))
    handle = handler(host.root, ["ens82f0", "ens82f1"], check_mode=True, runner=runner)
    plan = handle.plan(handle.read())
    moving = [c.data["moving"] for c in plan.by_action("driverctl")]
    assert moving == [True, True]
    runner.commands[("driverctl", ("set-override", "0000:82:00.0", "vfio-pci"))] = (0, "", "")
    persistence.set_driverctl(handle.runner, "0000:82:00.0", "vfio-pci")
    assert runner.calls[-1] == ("driverctl", ("set-override", "0000:82:00.0", "vfio-pci"))


def test_driverctl_unset_for_kernel(host):
    host.write(persistence.driverctl_file("0000:03:00.0"), "vfio-pci")
    runner = ScriptedRunner(binaries=("ip", "driverctl"))
    result = run(host.root, ["0000:03:00.0"], check_mode=True, runner=runner, driver="kernel")
    assert [(c["action"], c["before"], c["after"]) for c in result["changes"]] == [
        ("bind", "vfio-pci", "(kernel default)"), ("driverctl", "vfio-pci", None)]


def test_driverctl_override_goes_before_the_device_leaves_vfio_and_comes_back_on_failure(host, monkeypatch):
    # driverctl's udev rule and driverctl@.service apply a saved override: while it is saved, a device
    # handed back can be bound to vfio-pci again under the module's feet
    host.write(persistence.driverctl_file("0000:03:00.0"), "vfio-pci")
    saved_at_bind = []
    real_bind = binding.bind_device

    def bind(fs, address, driver, original):
        saved_at_bind.append(fs.exists(persistence.driverctl_file(address)))
        return real_bind(fs, address, driver, original)

    monkeypatch.setattr(pd, "bind_device", bind)
    runner = ScriptedRunner(binaries=("ip", "driverctl"))
    with pytest.raises(NfvError) as err:  # a fixture tree does not rebind: the hand-back fails
        run(host.root, ["0000:03:00.0"], runner=runner, driver="kernel")
    assert saved_at_bind == [False]
    assert "driverctl override 0000:03:00.0 restored" in err.value.details["rollback"]
    assert host.fs.read(persistence.driverctl_file("0000:03:00.0")) == "vfio-pci"
    assert [c for c in runner.calls if c[0] == "driverctl"] == []


class DynamicIdKernel:
    """The kernel's probe on a fixture tree: driver_override first, then vfio-pci's dynamic ids (new_id),
    then the device's own driver; remove_id answers ENODEV for an id vfio-pci lacks."""

    def __init__(self, host, dynamic_ids, own_driver):
        self.host, self.dynamic_ids, self.own_driver = host, set(dynamic_ids), own_driver
        self.real_write = HostFS(host.fs.root).write  # bound before the class is patched
        self.removed = []

    def write(self, path, value):
        fs = self.host.fs
        if path.endswith("/vfio-pci/remove_id"):
            if value not in self.dynamic_ids:
                raise NfvError("writing %r to %s failed: No such device" % (value, path))
            self.dynamic_ids.discard(value)
            self.removed.append(value)
        elif path.endswith("/unbind"):
            sysfs_tree.unbind_driver(self.host, value)
        elif path == binding.PROBE:
            base = "/sys/bus/pci/devices/" + value
            override = fs.read(base + "/driver_override")
            ids = "%s %s" % (fs.read(base + "/vendor")[2:], fs.read(base + "/device")[2:])
            if override not in (None, "", "(null)"):
                driver = override
            else:
                driver = "vfio-pci" if ids in self.dynamic_ids else self.own_driver
            sysfs_tree.rebind_driver(self.host, value, driver)
        else:
            self.real_write(path, value)


def test_hand_back_drops_the_vfio_dynamic_id_driverctl_added(host, monkeypatch):
    # Debian 13's driverctl writes "8086 1572" to vfio-pci's new_id when it binds 03:00.0 at boot: with an
    # empty override, vfio-pci claims the device again on probe until that id goes
    kernel = DynamicIdKernel(host, ["8086 1572"], "i40e")
    monkeypatch.setattr(HostFS, "write", lambda _fs, path, value: kernel.write(path, value))
    result = run(host.root, ["0000:03:00.0"], driver="kernel", persistent=False)
    assert result["devices"][0]["driver_after"] == "i40e", result
    assert kernel.removed == ["8086 1572"]
    assert link(host, "0000:03:00.0").endswith("/i40e")


def test_hand_back_without_a_dynamic_id_removes_none(host, monkeypatch):
    kernel = DynamicIdKernel(host, [], "i40e")
    monkeypatch.setattr(HostFS, "write", lambda _fs, path, value: kernel.write(path, value))
    result = run(host.root, ["0000:03:00.0"], driver="kernel", persistent=False)
    assert result["devices"][0]["driver_after"] == "i40e"
    assert kernel.removed == []


# -- state=absent (decommission) ---------------------------------------------------------------------------
def persisted_host(host):
    """03:00.0 on vfio-pci through the module's boot unit, 82:00.0 (gone since) listed too, and the memory."""
    run(host.root, ["0000:03:00.0"])
    host.write(persistence.CONF_FILE,
               persistence.format_overrides({"0000:03:00.0": "vfio-pci", "0000:09:00.0": "vfio-pci"}))
    host.write(persistence.STATE_FILE, json.dumps({"devices": {"0000:03:00.0": {"original_driver": "i40e"}}}))
    return host


def test_absent_predicts_the_hand_back_and_the_files_gone_and_changes_nothing(host):
    persisted_host(host)
    result = run(host.root, [], check_mode=True, state="absent")
    assert [(c["key"], c["action"]) for c in result["changes"]] == [
        ("0000:03:00.0", "bind"), (persistence.UNIT_NAME, "disable"), (persistence.UNIT_FILE, "remove"),
        (persistence.BIND_SCRIPT, "remove"), (persistence.CONF_FILE, "remove"), (persistence.STATE_FILE, "remove")]
    assert result["changes"][0]["after"] == "i40e"  # the remembered kernel driver
    for path in (persistence.UNIT_FILE, persistence.BIND_SCRIPT, persistence.CONF_FILE, persistence.STATE_FILE,
                 persistence.UNIT_WANTS_LINK):
        assert os.path.lexists(host.fs.path(path))
    assert link(host, "0000:03:00.0").endswith("/vfio-pci")


def test_absent_hands_back_removes_the_files_and_a_second_run_is_unchanged(host, monkeypatch):
    persisted_host(host)
    kernel = DynamicIdKernel(host, [], "i40e")
    monkeypatch.setattr(HostFS, "write", lambda _fs, path, value: kernel.write(path, value))
    predicted = run(host.root, [], check_mode=True, state="absent")["changes"]
    result = run(host.root, [], state="absent")
    assert result["changes"] == predicted
    assert link(host, "0000:03:00.0").endswith("/i40e")
    for path in (persistence.UNIT_FILE, persistence.BIND_SCRIPT, persistence.CONF_FILE, persistence.STATE_FILE,
                 persistence.UNIT_WANTS_LINK):
        assert not os.path.lexists(host.fs.path(path)), path
    again = run(host.root, [], state="absent")
    assert not again["changed"] and again["changes"] == []


def test_read_opens_the_overrides_file_once(host, monkeypatch):
    """read() parses the devices, the drivers and the recorded ids of absent's hand-back from one reading."""
    persisted_host(host)
    opened = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        if str(path).endswith(persistence.CONF_FILE):
            opened.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    result = run(host.root, [], check_mode=True, state="absent")
    assert (persistence.CONF_FILE, "remove") in [(c["key"], c["action"]) for c in result["changes"]]
    assert len(opened) == 1


def test_absent_takes_the_devices_named_and_ignores_driver(host):
    result = run(host.root, ["0000:03:00.0"], check_mode=True, state="absent", driver="uio_pci_generic")
    assert [(c["key"], c["action"], c["after"]) for c in result["changes"]] == [
        ("0000:03:00.0", "bind", "(kernel default)")]


def test_absent_failed_hand_back_keeps_every_file(host):
    persisted_host(host)  # the fixture binds nothing: the read-back fails and the run rolls back
    with pytest.raises(NfvError) as err:
        run(host.root, [], state="absent")
    assert "rolled back" in err.value.msg
    for path in (persistence.UNIT_FILE, persistence.BIND_SCRIPT, persistence.CONF_FILE, persistence.STATE_FILE,
                 persistence.UNIT_WANTS_LINK):
        assert os.path.lexists(host.fs.path(path)), path


# -- interface-name memory ---------------------------------------------------------------------------------
def test_interface_memory_keeps_later_runs_idempotent(host):
    # first run: the NIC still has its name; it is remembered (no change needed: already on mlx5_core)
    first = run(host.root, ["ens81f0"], driver="mlx5_core", persistent=False)
    assert not first["changed"]
    state = json.loads(host.fs.read(persistence.STATE_FILE))
    assert state["devices"]["0000:81:00.0"] == {"interface": "ens81f0", "original_driver": "mlx5_core"}
    # the NIC goes to vfio-pci (as the lab VM does for real): the name vanishes
    sysfs_tree.rebind_driver(host, "0000:81:00.0", "vfio-pci")
    assert not host.fs.exists("/sys/class/net/ens81f0")
    second = run(host.root, ["ens81f0"], persistent=False)
    assert not second["changed"]
    assert second["devices"][0]["address"] == "0000:81:00.0"
    assert second["devices"][0]["interface"] == "ens81f0"
    # handing it back predicts the remembered kernel driver
    back = run(host.root, ["ens81f0"], check_mode=True, driver="kernel", persistent=False)
    assert back["devices"][0]["driver_after"] == "mlx5_core"


def test_state_file_is_not_written_in_check_mode(host):
    run(host.root, ["ens81f0"], check_mode=True, driver="mlx5_core", persistent=False)
    assert not host.fs.exists(persistence.STATE_FILE)


def test_updated_state_keeps_kernel_driver_not_vfio():
    state = {"devices": {"0000:03:00.1": {"interface": "ens3f1", "original_driver": "i40e"}}}
    new = persistence.updated_state(state, [{"address": "0000:03:00.1", "interface": "ens3f1", "driver": "vfio-pci"}])
    assert new == state
    assert persistence.read_state(HostFS("/nonexistent-root")) == {"devices": {}}


def test_corrupt_state_file_is_ignored(host):
    host.write(persistence.STATE_FILE, "{not json")
    assert persistence.read_state(host.fs) == {"devices": {}}


# -- apply on a fixture tree: nothing binds, so the read-back fails and every device rolls back ----------------
def test_apply_writes_sysfs_then_rolls_back_when_readback_fails(host):
    with pytest.raises(NfvError) as err:
        run(host.root, ["ens82f0", "ens82f1"])
    msg = err.value.msg
    assert "binding 0000:82:00.0 to vfio-pci failed: after probing it is on igb" in msg
    assert "rolled back every device of this run: 0000:82:00.0 back on igb" in msg
    assert err.value.details["rollback"] == ["0000:82:00.0 back on igb"]
    fs = host.fs
    # the bind sequence reached the kernel files: unbind from igb, drivers_probe
    assert fs.read("/sys/bus/pci/drivers/igb/unbind") == "0000:82:00.0"
    assert fs.read(binding.PROBE) == "0000:82:00.0"
    # rollback cleared driver_override again (the kernel reads an empty write as "no override")
    assert pci.read_device(fs, "0000:82:00.0")["driver_override"] is None
    # second device untouched, nothing persisted, nothing remembered
    assert fs.read("/sys/bus/pci/devices/0000:82:00.1/driver_override") == "(null)"
    assert not fs.exists(persistence.CONF_FILE) and not fs.exists(persistence.STATE_FILE)


def test_rollback_restores_original_override_and_reports_failure(host):
    device = pci.read_device(host.fs, "0000:03:00.1")
    device["driver_override"] = "i40e"
    host.write("/sys/devices/pci0000:00/0000:03:00.1/driver_override", "vfio-pci")
    sysfs_tree.rebind_driver(host, "0000:03:00.1", "vfio-pci")  # as if the bind had worked
    report = binding.rollback(host.fs, [device])
    assert host.fs.read("/sys/bus/pci/devices/0000:03:00.1/driver_override") == "i40e"
    assert host.fs.read("/sys/bus/pci/drivers/vfio-pci/unbind") == "0000:03:00.1"
    assert host.fs.read("/sys/bus/pci/drivers/i40e/bind") == "0000:03:00.1"
    # a fixture does not rebind: the report says so instead of claiming success
    assert report == ["0000:03:00.1 NOT restored: on vfio-pci instead of i40e"]


def test_persistence_failure_is_undone(host):
    # a directory where the unit file must go makes the write fail after the overrides file was written
    os.makedirs(host.fs.path(persistence.UNIT_FILE))
    with pytest.raises(NfvError) as err:
        run(host.root, ["0000:03:00.0"])
    assert "making the bindings persistent failed" in err.value.msg
    assert persistence.CONF_FILE in err.value.msg and persistence.BIND_SCRIPT in err.value.msg
    assert not host.fs.exists(persistence.CONF_FILE) and not host.fs.exists(persistence.BIND_SCRIPT)


# -- the boot program (module_utils/boot_pci_bind.py), run as installed against a fixture tree ----------------
def installed_bind_script(directory):
    script = directory / "nfv-dpdk-pci-bind"
    script.write_text(persistence.bind_script_text(sys.executable))
    script.chmod(0o755)
    return script


def test_bind_script_is_the_program_under_an_isolated_shebang():
    text = persistence.bind_script_text("/usr/bin/python3")
    assert text.splitlines()[0] == "#!/usr/bin/python3 -IS"
    assert "def main(argv, environ, out, err):" in text


def test_bind_script_writes_override_unbind_probe(host, tmp_path_factory):
    script = installed_bind_script(tmp_path_factory.mktemp("script"))
    work = script.parent
    conf = work / "overrides.conf"
    conf.write_text(persistence.format_overrides({"0000:03:00.0": "vfio-pci", "0000:03:00.1": "vfio-pci",
                                                  "0000:07:00.0": "vfio-pci"}))
    proc = subprocess.run([str(script), str(conf)],
                          env={"NFV_DPDK_SYSFS": host.p("/sys"), "PATH": "/usr/bin:/bin"},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    fs = host.fs
    assert proc.returncode == 1
    assert "0000:07:00.0: no such PCI device" in proc.stderr
    assert "0000:03:00.1: binding to vfio-pci failed (now: i40e)" in proc.stderr
    assert fs.read("/sys/bus/pci/devices/0000:03:00.1/driver_override") == "vfio-pci"
    assert fs.read("/sys/bus/pci/drivers/i40e/unbind") == "0000:03:00.1"
    assert fs.read(binding.PROBE) == "0000:03:00.1"
    # the device already on vfio-pci gets its override (for later probes) but is not unbound
    assert fs.read("/sys/bus/pci/devices/0000:03:00.0/driver_override") == "vfio-pci"
    assert not fs.exists("/sys/bus/pci/drivers/vfio-pci/unbind")


def test_identity_is_recorded_with_the_subsystem_ids_where_sysfs_has_them(host):
    host.write("/sys/devices/pci0000:00/0000:03:00.1/subsystem_vendor", "0x8086")
    host.write("/sys/devices/pci0000:00/0000:03:00.1/subsystem_device", "0x0007")
    assert pci.identity(host.fs, "0000:03:00.1") == "8086:1572:8086:0007"
    assert pci.identity(host.fs, "0000:03:00.0") == "8086:1572"
    assert pci.identity(host.fs, "0000:09:00.0") is None


def test_a_boot_file_of_an_earlier_version_gets_the_ids_of_the_devices_it_binds(host):
    host.write(persistence.CONF_FILE, "0000:03:00.0 vfio-pci\n0000:81:00.0 vfio-pci\n")
    result = run(host.root, ["0000:03:00.0"], check_mode=True)
    conf = next(c for c in result["changes"] if c["key"] == persistence.CONF_FILE)["after"]
    # a device of another run keeps its line as it was
    assert conf.splitlines()[-2:] == ["0000:03:00.0 vfio-pci 8086:1572", "0000:81:00.0 vfio-pci"]


def test_bind_script_leaves_a_device_with_other_ids_alone(host, tmp_path_factory):
    script = installed_bind_script(tmp_path_factory.mktemp("script"))
    conf = script.parent / "overrides.conf"
    # 03:00.1 is an X710 (8086:1572); the file recorded another NIC at that address
    conf.write_text(persistence.format_overrides({"0000:03:00.1": "vfio-pci"}, {"0000:03:00.1": "15b3:1017"}))
    proc = subprocess.run([str(script), str(conf)], env={"NFV_DPDK_SYSFS": host.p("/sys"), "PATH": "/usr/bin:/bin"},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 1
    assert "0000:03:00.1: is 8086:1572, not the 15b3:1017 recorded: left alone" in proc.stderr
    assert host.fs.read("/sys/bus/pci/devices/0000:03:00.1/driver_override") == "(null)"
    assert not host.fs.exists("/sys/bus/pci/drivers/i40e/unbind")


def test_bind_script_without_conf_is_a_noop(tmp_path):
    script = installed_bind_script(tmp_path)
    proc = subprocess.run([str(script), str(tmp_path / "missing.conf")], check=False)
    assert proc.returncode == 0


def test_bind_script_wants_the_overrides_file_named(tmp_path):
    proc = subprocess.run([str(installed_bind_script(tmp_path))], stderr=subprocess.PIPE, universal_newlines=True,
                          check=False)
    assert proc.returncode == 2
    assert "usage: nfv-dpdk-pci-bind OVERRIDES-FILE" in proc.stderr


def test_overrides_format_roundtrip():
    text = persistence.format_overrides({"0000:81:00.0": "vfio-pci", "0000:03:00.0": "uio_pci_generic"},
                                        {"0000:81:00.0": "15b3:1017"})
    assert text.startswith("# Managed by nfv.dpdk.pci_driver")
    assert text.splitlines()[-2:] == ["0000:03:00.0 uio_pci_generic", "0000:81:00.0 vfio-pci 15b3:1017"]
    assert persistence.parse_overrides(text + "  # comment\n0000:05:00.0 vfio-pci # inline\n") == {
        "0000:03:00.0": "uio_pci_generic", "0000:81:00.0": "vfio-pci", "0000:05:00.0": "vfio-pci"}
    assert persistence.parse_identities(text) == {"0000:81:00.0": "15b3:1017"}


def test_iommu_kernel_args_by_vendor():
    assert pci_guard.iommu_kernel_args("GenuineIntel") == ["intel_iommu=on", "iommu=pt"]
    assert pci_guard.iommu_kernel_args("AuthenticAMD") == ["amd_iommu=on", "iommu=pt"]


def test_iommu_kernel_args_follow_the_firmware_table():
    # a VM with an Intel vIOMMU on an AMD-branded CPU (QEMU TCG's "max") needs intel_iommu=on
    assert pci_guard.iommu_kernel_args("AuthenticAMD", "intel") == ["intel_iommu=on", "iommu=pt"]
    assert pci_guard.iommu_kernel_args("GenuineIntel", "amd") == ["amd_iommu=on", "iommu=pt"]


def test_no_iommu_names_the_vt_d_args_when_the_acpi_table_says_so(tmp_path):
    tree = sysfs_tree.one_node_host(tmp_path)
    tree.write("/sys/firmware/acpi/tables/DMAR", "")
    tree.pci("0000:00:04.0", "0x8086", "0x100e", driver="e1000", netdev="ens4")
    with pytest.raises(NfvError) as err:
        run(tmp_path, ["00:04.0"], check_mode=True)
    assert "intel_iommu=on iommu=pt (intel IOMMU in the ACPI tables)" in err.value.msg
    assert err.value.details["kernel_args"] == ["intel_iommu=on", "iommu=pt"]


def test_empty_devices_fails(host):
    with pytest.raises(NfvError) as err:
        run(host.root, [])
    assert "devices is empty" in err.value.msg


# -- issue 15: connection_address is an IP address or a host name that resolves ---------------------------
import socket  # noqa: E402

from ansible_collections.nfv.dpdk.plugins.module_utils.host import netdev  # noqa: E402


def no_dns(name, port):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize("value, message", [
    ("198.51.100.700", "connection_address '198.51.100.700' is not an IP address and does not resolve"),
    ("198.51.100.7 ", None),  # surrounding spaces are fine
    ("mgmt host", "connection_address 'mgmt host' is neither an IP address nor a host name"),
    ("mgmt..example", "connection_address 'mgmt..example' is neither an IP address nor a host name"),
    ("-mgmt", "connection_address '-mgmt' is neither an IP address nor a host name"),
    ("198.51.100.7\n", "connection_address '198.51.100.7\\n': no option of this module may contain a control"),
    ("mgmt.invalid", "connection_address 'mgmt.invalid' is not an IP address and does not resolve"),
])
def test_connection_address_must_be_an_address(host, monkeypatch, value, message):
    monkeypatch.setattr(netdev.socket, "getaddrinfo", no_dns)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    for check_mode in (True, False):
        runner = ScriptedRunner()
        if message is None:
            with pytest.raises(NfvError, match=r"ansible connection address 198\.51\.100\.7"):
                run(host.root, ["ens81f0"], check_mode=check_mode, runner=runner, connection_address=value)
            continue
        with pytest.raises(NfvError) as err:
            run(host.root, ["0000:03:00.1"], check_mode=check_mode, runner=runner, connection_address=value,
                force=True)
        assert message in err.value.msg
        if "\n" in value:  # the one control-character check, before the module's own
            assert err.value.details["fields"] == ["connection_address"]
        else:
            assert err.value.details["connection_address"] == value
        assert runner.calls == []  # refused before anything is read
        assert link(host, "0000:03:00.1").endswith("/i40e") and not host.fs.exists(persistence.STATE_FILE)


def test_connection_address_host_name_guards_all_its_addresses(host, monkeypatch):
    def resolve(name, port):
        assert name == "mgmt.example.net"
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::9", 0, 0, 0)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("198.51.100.7", 0))]
    monkeypatch.setattr(netdev.socket, "getaddrinfo", resolve)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    with pytest.raises(NfvError) as err:
        run(host.root, ["ens81f0"], check_mode=True, connection_address="mgmt.example.net")
    assert "ens81f0 carries management traffic: ansible connection address 198.51.100.7" in err.value.msg


@pytest.mark.parametrize("given, ip_json_address", [
    ("2001:DB8::0007", "2001:db8::7"),
    ("fe80::7%ens81f0", "fe80::7"),
])
def test_connection_address_is_compared_in_canonical_form(host, monkeypatch, given, ip_json_address):
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    addresses = json.dumps([{"ifname": "ens81f0", "addr_info": [{"local": ip_json_address}]}])
    runner = ScriptedRunner({("ip", ("-j", "address", "show")): (0, addresses, "")})
    with pytest.raises(NfvError) as err:
        run(host.root, ["ens81f0"], check_mode=True, runner=runner, connection_address=given)
    assert "ens81f0 carries management traffic: ansible connection address %s" % ip_json_address in err.value.msg


def test_ssh_connection_in_ipv4_mapped_form_is_guarded(host, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "::ffff:192.0.2.1 50000 ::ffff:198.51.100.7 22")
    with pytest.raises(NfvError) as err:
        run(host.root, ["ens81f0"], check_mode=True)
    assert "ansible connection address 198.51.100.7" in err.value.msg


# -- issue 15: a failed bind does not leave vfio's unsafe no-IOMMU mode on ----------------------------
def noiommu_host(tmp_path):
    tree = sysfs_tree.SysfsTree(tmp_path)
    tree.cpu("0-1", vendor="GenuineIntel")
    tree.pci("0000:00:04.0", "0x8086", "0x100e", driver="e1000", netdev="ens4")
    tree.bind("0000:00:04.0", "e1000")
    tree.mkdir("/sys/bus/pci/drivers/vfio-pci")
    tree.write(binding.NOIOMMU_PARAM, "N")
    return tree


def test_failed_bind_turns_the_noiommu_mode_off_again(tmp_path):
    noiommu_host(tmp_path)
    fs = HostFS(str(tmp_path))
    # a fixture does not bind: the read-back fails after the run turned the unsafe mode on
    with pytest.raises(NfvError) as err:
        run(tmp_path, ["00:04.0"], vfio_noiommu=True, persistent=False)
    msg = err.value.msg
    assert "binding 0000:00:04.0 to vfio-pci failed: after probing it is on e1000" in msg
    assert err.value.details["rollback"] == ["0000:00:04.0 back on e1000", "vfio no-IOMMU mode back off"]
    assert "vfio no-IOMMU mode back off" in msg
    assert fs.read(binding.NOIOMMU_PARAM) == "N"
    assert binding.current_driver(fs, "0000:00:04.0") == "e1000"


def test_noiommu_mode_already_on_is_left_on_after_a_failed_bind(tmp_path):
    noiommu_host(tmp_path).write(binding.NOIOMMU_PARAM, "Y")  # set by the operator or the vfio role: not ours
    with pytest.raises(NfvError) as err:
        run(tmp_path, ["00:04.0"], vfio_noiommu=True, persistent=False)
    assert err.value.details["rollback"] == ["0000:00:04.0 back on e1000"]
    assert HostFS(str(tmp_path)).read(binding.NOIOMMU_PARAM) == "Y"


def test_noiommu_off_reports_a_mode_that_stays_on(tmp_path):
    tree = noiommu_host(tmp_path)
    os.remove(tree.p(binding.NOIOMMU_PARAM))
    os.mkdir(tree.p(binding.NOIOMMU_PARAM))  # unwritable: the kernel refuses while a no-IOMMU group is in use
    line = binding.noiommu_off(HostFS(str(tmp_path)))
    assert line.startswith("vfio no-IOMMU mode NOT turned off: writing 'N' to %s failed" % binding.NOIOMMU_PARAM)
