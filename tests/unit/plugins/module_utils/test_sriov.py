"""sriov_vfs: input checks, reading VFs and their settings, planning (count through 0, settings, boot
files), the in-use and management refusals, apply/verify/undo, and the boot script, on fixture trees
in the kernel's layout (a PF with virtfnN links, VFs with physfn links).

`ip` is a scripted runner whose `ip -d -j link show` answer is the JSON iproute2 prints (taken from
an igb PF in the lab VM) built from the settings the test keeps; `ip link set ... vf` changes them.
A fixture tree is not a kernel: writing sriov_numvfs there creates no VF, so that path is verified
by read-back and fails; real VFs are proven in the lab VM scenario.
"""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host import pci
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import sriov
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import sriov_persistence as persistence
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import sriov_vf_settings as vf_settings
from ansible_collections.nfv.dpdk.tests.unit import sysfs_tree

PF = "0000:03:00.1"
VFS = ["0000:03:02.0", "0000:03:02.1", "0000:03:02.2"]
DEFAULT = {"mac": "00:00:00:00:00:00", "vlan": 0, "qos": 0, "trust": False, "spoofchk": True,
           "link_state": "auto", "max_tx": 0, "min_tx": 0}


def vfinfo(vf, s):
    """One vfinfo_list entry as `ip -d -j link show` prints it (igb, iproute2 6.1)."""
    return {"vf": vf, "link_type": "ether", "address": s["mac"], "broadcast": "ff:ff:ff:ff:ff:ff",
            "vlan_list": [{"vlan": s["vlan"], "qos": s["qos"]} if s["vlan"] else {}],
            "rate": {"max_tx": s["max_tx"], "min_tx": s["min_tx"]}, "spoofchk": s["spoofchk"],
            "link_state": s["link_state"], "trust": s["trust"]}


class IpRunner:
    """`ip` over a table of VF settings; `fail` maps a setting name (`ip`'s word: state for link_state), or a
    (VF index, name) pair, to the driver's error."""

    def __init__(self, count, ifname="ens3f1", addresses=None, ovs=None, fail=None, binaries=("ip",)):
        self.ifname = ifname
        self.vfs = [dict(DEFAULT) for vf in range(count)]
        self.addresses = addresses or [{"ifname": "br-mgmt", "addr_info": [{"local": "192.0.2.10"}]}]
        self.ovs = ovs
        self.fail = fail or {}
        self.binaries = set(binaries) | ({"ovs-vsctl"} if ovs is not None else set())
        self.calls = []

    def has(self, name):
        return name in self.binaries

    def find(self, name):
        return "/usr/bin/" + name if name in self.binaries else None

    def run(self, name, args, check=True, data=None, env=None):
        args = [str(a) for a in args]
        self.calls.append((name, tuple(args)))
        if name == "ovs-vsctl" and "--columns=name,options" not in args:
            return 1, "", "ovs-vsctl: this test's OVSDB holds only the Interface table"
        if name == "ovs-vsctl":
            rows = [[name_, ["map", [["dpdk-devargs", devargs]]]] for name_, devargs in self.ovs.items()]
            return 0, json.dumps({"headings": ["name", "options"], "data": rows}), ""
        assert name == "ip", args
        if args[:2] == ["-j", "address"]:
            return 0, json.dumps(self.addresses), ""
        if args[-4:] == ["route", "show", "table", "all"]:
            return 0, "[]", ""
        if args[:4] == ["-d", "-j", "link", "show"]:
            link = {"ifname": self.ifname, "vfinfo_list": [vfinfo(i, s) for i, s in enumerate(self.vfs)]}
            return 0, json.dumps([link]), ""
        assert args[:5] == ["link", "set", "dev", self.ifname, "vf"], args
        index, key = int(args[5]), args[6]
        if key in self.fail or (index, key) in self.fail:
            return 2, "", self.fail.get((index, key), self.fail.get(key))
        s = self.vfs[index]
        if key == "vlan":
            s["vlan"], s["qos"] = int(args[7]), int(args[9])
        elif key in ("trust", "spoofchk"):
            s[key] = args[7] == "on"
        elif key == "state":
            s["link_state"] = args[7]
        elif key in ("max_tx_rate", "min_tx_rate"):
            s[key[:6]] = int(args[7])
        else:
            s[key] = args[7]
        return 0, "", ""

    def output(self, name, args, **kwargs):
        rc, out, err = self.run(name, args)
        assert rc == 0, err
        return out

    def set_calls(self):
        return [c[1][5:] for c in self.calls if c[1][:2] == ("link", "set")]


class FakeModule:
    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = True


def params(pf="ens3f1", count=3, vfs=None, **kwargs):
    result = {"pf": pf, "count": count, "vfs": vfs or [], "persistent": True, "force": False,
              "connection_address": None}
    result.update(kwargs)
    return result


def run(tree, runner, check_mode=False, **kwargs):
    return sriov.SriovVfs(FakeModule(params(**kwargs), check_mode), fs=tree.fs, runner=runner).run()


@pytest.fixture
def host(tmp_path):
    tree = sysfs_tree.two_node_host(tmp_path)
    sysfs_tree.sriov_pf(tree, PF, "ens3f1", 64, VFS)
    # the X710 port 03:00.1 of two_node_host becomes the PF: take its plain definition's group
    tree.fs = HostFS(str(tmp_path))
    return tree


def files_of(tree):
    return [p for p in (persistence.conf_path(PF), persistence.SCRIPT, persistence.UNIT_FILE,
                        persistence.UNIT_WANTS_LINK) if os.path.lexists(tree.fs.path(p))]


# -- input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry, message", [
    ({"index": 0, "mac": "52:54:00:12:34"}, "invalid MAC"),
    ({"index": 0, "mac": "01:00:5e:00:00:01"}, "multicast"),
    ({"index": 0, "mac": "00:00:00:00:00:00"}, "is all zeros; leave mac out"),
    ({"index": 0, "qos": 3}, "qos needs a vlan"),
    ({"index": 0, "vlan": 4096}, "out of range 0-4095"),
    ({"index": 0, "vlan": 10, "qos": 8}, "out of range 0-7"),
    ({"index": 0, "link_state": "up"}, "link_state 'up' is not one of"),
    ({"index": 0, "max_tx_rate": 100, "min_tx_rate": 200}, "min_tx_rate 200 is above max_tx_rate 100"),
    ({"index": 3}, "VF index 3 is out of range: count is 3, so VFs are numbered 0-2"),
    ({"mac": "52:54:00:00:00:01"}, "index is required"),
    ({"index": 0, "colour": "red"}, "unknown setting(s) colour"),
])
def test_bad_vf_settings_are_refused(entry, message):
    with pytest.raises(NfvError) as err:
        vf_settings.normalize_vfs([entry], 3)
    assert message in err.value.msg


def test_duplicate_vf_and_mac_are_refused():
    with pytest.raises(NfvError, match="VF 1 is listed twice"):
        vf_settings.normalize_vfs([{"index": 1}, {"index": 1}], 2)
    with pytest.raises(NfvError, match="VFs 0 and 1 are given the same MAC 52:54:00:00:00:01"):
        vf_settings.normalize_vfs([{"index": 0, "mac": "52:54:00:00:00:01"},
                                   {"index": 1, "mac": "52-54-00-00-00-01"}], 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"pf": "0000:09:00.0"}, "unknown PF: no PCI device at 0000:09:00.0"),
    ({"pf": "ens9"}, "unknown PF: no network interface ens9"),
    ({"pf": "03:00.0"}, "0000:03:00.0 (8086:1572, driver vfio-pci) has no SR-IOV capability"),
    ({"pf": "0000:03:02.1"}, "0000:03:02.1 is a VF of 0000:03:00.1, not a PF"),
    ({"pf": "0000:03:0z.1"}, "malformed PCI address"),
    ({"count": 65}, "supports at most 64 VFs (sriov_totalvfs); count 65 is more"),
])
def test_bad_pf_or_count_fails_and_changes_nothing(host, kwargs, message):
    runner = IpRunner(3)
    with pytest.raises(NfvError) as err:
        run(host, runner, **kwargs)
    assert message in err.value.msg
    assert runner.set_calls() == [] and files_of(host) == []
    assert host.fs.read("/sys/bus/pci/devices/%s/sriov_numvfs" % PF) == "3"


# -- reading ----------------------------------------------------------------------------------------
def test_parse_vfinfo_reads_every_setting():
    s = dict(DEFAULT, mac="52:54:00:aa:00:01", vlan=100, qos=3, trust=True, spoofchk=False, max_tx=100)
    text = json.dumps([{"ifname": "enp1s0", "vfinfo_list": [vfinfo(0, s), vfinfo(1, DEFAULT)]}])
    got = vf_settings.parse_vfinfo(text)
    assert got[0] == {"mac": "52:54:00:aa:00:01", "vlan": {"vlan": 100, "qos": 3}, "trust": True,
                      "spoofchk": False, "link_state": "auto", "max_tx_rate": 100, "min_tx_rate": 0}
    assert got[1]["vlan"] == {"vlan": 0, "qos": 0} and got[1]["mac"] == "00:00:00:00:00:00"


def test_facts_name_the_pf_and_index_of_each_vf(host):
    devices = dict((d["address"], d) for d in pci.read_devices(host.fs))
    assert devices[PF]["vfs"] == VFS and devices[PF]["sriov_totalvfs"] == 64
    assert [(devices[v]["physfn"], devices[v]["vf_index"]) for v in VFS] == [(PF, 0), (PF, 1), (PF, 2)]
    assert devices["0000:03:00.0"]["vfs"] == [] and devices["0000:03:00.0"]["vf_index"] is None
    # one device read alone finds its index the same way
    assert pci.read_device(host.fs, VFS[2]) == devices[VFS[2]]


# -- planning ---------------------------------------------------------------------------------------
WANTED = [{"index": 0, "mac": "52:54:00:aa:00:01", "vlan": 100, "qos": 3, "trust": True, "spoofchk": False},
          {"index": 2, "max_tx_rate": 100}]


def test_check_mode_predicts_settings_and_boot_files_and_changes_nothing(host):
    runner = IpRunner(3)
    result = run(host, runner, check_mode=True, vfs=WANTED)
    keys = [c["key"] for c in result["changes"]]
    assert keys == ["vf 0 mac", "vf 0 vlan", "vf 0 trust", "vf 0 spoofchk", "vf 2 max_tx_rate",
                    persistence.conf_path(PF), persistence.SCRIPT, persistence.UNIT_FILE, persistence.UNIT_NAME]
    assert result["diff"]["after"]["vf 0 vlan"] == "100 qos 3" and result["diff"]["before"]["vf 0 trust"] == "off"
    assert runner.set_calls() == [] and files_of(host) == []


def test_real_run_applies_reads_back_persists_and_second_run_is_unchanged(host):
    runner = IpRunner(3)
    first = run(host, runner, vfs=WANTED)
    assert first["changed"]
    assert runner.set_calls() == [("0", "mac", "52:54:00:aa:00:01"), ("0", "vlan", "100", "qos", "3"),
                                  ("0", "trust", "on"), ("0", "spoofchk", "off"), ("2", "max_tx_rate", "100")]
    assert first["vfs"][0]["mac"] == "52:54:00:aa:00:01" and first["vfs"][0]["vlan"] == "100 qos 3"
    assert first["vfs"][2]["address"] == VFS[2] and first["vfs"][2]["iommu_group"] == 62
    conf = host.fs.read(persistence.conf_path(PF))
    assert conf.splitlines()[1:] == ["pf 8086:1572", "numvfs 3",
                                     "vf 0 mac 52:54:00:aa:00:01 vlan 100 qos 3 trust on spoofchk off",
                                     "vf 2 max_tx_rate 100"]
    assert os.readlink(host.fs.path(persistence.UNIT_WANTS_LINK)) == persistence.UNIT_FILE
    assert os.stat(host.fs.path(persistence.SCRIPT)).st_mode & 0o777 == 0o755
    second = run(host, runner, vfs=WANTED)
    assert not second["changed"] and second["changes"] == []


def test_count_change_goes_through_zero_refuses_on_fixture_and_persists_nothing(host, monkeypatch):
    monkeypatch.setattr(sriov, "VF_APPEAR_SECONDS", 0)
    runner = IpRunner(3)
    check = run(host, runner, check_mode=True, count=4, vfs=[{"index": 3, "trust": True}])
    assert [c["key"] for c in check["changes"]][:2] == ["ens3f1 sriov_numvfs", "vf 3 trust"]
    assert check["changes"][0]["before"] == "3" and check["changes"][0]["after"] == "4"
    assert check["changes"][1]["before"] is None  # a new VF: every listed setting is applied
    with pytest.raises(NfvError) as err:
        run(host, runner, count=4, vfs=[{"index": 3, "trust": True}])
    # a fixture tree is not a kernel: the write lands but no VF appears, and the error says so
    assert "wrote 4 to sriov_numvfs but 3 VFs appeared" in err.value.msg
    assert "nothing was made persistent" in err.value.msg
    assert err.value.details["disabled_vfs"] == []  # VF 3 never appeared: nothing to disable
    assert files_of(host) == []


def test_failed_setting_sets_back_what_the_run_changed(host):
    runner = IpRunner(3, fail={"state": "RTNETLINK answers: Operation not supported"})
    wanted = [{"index": 1, "mac": "52:54:00:aa:00:02", "link_state": "enable"}]
    with pytest.raises(NfvError) as err:
        run(host, runner, vfs=wanted)
    msg = err.value.msg
    assert "VF 1 link_state enable on ens3f1 failed: RTNETLINK answers: Operation not supported" in msg
    assert "settings changed by this run were set back: vf 1 mac" in msg
    assert runner.vfs[1]["mac"] == "00:00:00:00:00:00" and files_of(host) == []
    # a link state the driver refuses is no hole in the VF's isolation: nothing is disabled
    assert err.value.details["disabled_vfs"] == [] and "disable" not in [c[-1] for c in runner.set_calls()]


# -- failing closed: a VF without its MAC, VLAN, trust or spoof check setup is disabled ----------------
FAIL_WANTED = [{"index": 0, "mac": "52:54:00:aa:00:01", "vlan": 100},
               {"index": 1, "mac": "52:54:00:aa:00:02", "vlan": 200, "trust": True},
               {"index": 2, "spoofchk": False}]


def disables(runner):
    return [c[0] for c in runner.set_calls() if c[1:] == ("state", "disable")]


def test_failed_vlan_disables_that_vf_and_sets_the_others_back(host):
    runner = IpRunner(3, fail={(1, "vlan"): "RTNETLINK answers: Invalid argument"})
    with pytest.raises(NfvError) as err:
        run(host, runner, vfs=FAIL_WANTED)
    msg = err.value.msg
    assert msg.startswith("VF 1 vlan 200 on ens3f1 failed: RTNETLINK answers: Invalid argument; "
                          "VF 1 of PF 0000:03:00.1 (ens3f1) was disabled (link state disable) because its vlan "
                          "setting failed, so it passes no traffic; ")
    assert "settings changed by this run were set back: vf 0 vlan, vf 0 mac; nothing was made persistent" in msg
    assert "`ip link set dev ens3f1 vf 1 state auto`" in msg
    assert err.value.details["disabled_vfs"] == [1] and err.value.details["disable_failed_vfs"] == []
    assert err.value.details["pf"] == PF and err.value.details["setting"] == "vlan"
    assert disables(runner) == ["1"]
    assert [vf["link_state"] for vf in runner.vfs] == ["auto", "disable", "auto"]
    # VF 0 is back as it was, VF 2 was not reached, VF 1 keeps the MAC it got before its VLAN failed
    assert runner.vfs[0] == DEFAULT and runner.vfs[2] == DEFAULT
    assert runner.vfs[1]["mac"] == "52:54:00:aa:00:02" and runner.vfs[1]["vlan"] == 0
    assert files_of(host) == []


@pytest.mark.parametrize("setting, word", [("mac", "mac"), ("trust", "trust")])
def test_failed_mac_or_trust_disables_the_vf_too(host, setting, word):
    runner = IpRunner(3, fail={(1, word): "RTNETLINK answers: Operation not permitted"})
    with pytest.raises(NfvError) as err:
        run(host, runner, vfs=FAIL_WANTED)
    assert "because its %s setting failed" % setting in err.value.msg
    assert err.value.details["disabled_vfs"] == [1] and disables(runner) == ["1"]


def test_a_vf_that_cannot_be_disabled_is_named_as_a_risk(host):
    runner = IpRunner(3, fail={(2, "spoofchk"): "RTNETLINK answers: Operation not supported",
                               (2, "state"): "RTNETLINK answers: Operation not supported"})
    with pytest.raises(NfvError) as err:
        run(host, runner, vfs=FAIL_WANTED)
    msg = err.value.msg
    assert ("VF 2 of PF 0000:03:00.1 (ens3f1) should be disabled because its spoofchk setting failed, but "
            "disabling it failed too (VF 2 link_state disable on ens3f1 failed: RTNETLINK answers: Operation not "
            "supported): it may pass traffic without that setup; take it out of use") in msg
    assert "was disabled" not in msg and "to recover" not in msg
    assert err.value.details["disabled_vfs"] == [] and err.value.details["disable_failed_vfs"] == [2]
    assert runner.vfs[0] == DEFAULT and runner.vfs[1] == DEFAULT  # set back


def test_a_spoof_check_the_driver_ignores_disables_that_vf(host):
    class IgnoresSpoofchk(IpRunner):
        def run(self, name, args, check=True, data=None, env=None):
            if list(args)[:7] == ["link", "set", "dev", self.ifname, "vf", "2", "spoofchk"]:
                self.calls.append((name, tuple(str(a) for a in args)))
                return 0, "", ""
            return IpRunner.run(self, name, args, check, data, env)

    runner = IgnoresSpoofchk(3)
    with pytest.raises(NfvError) as err:
        run(host, runner, vfs=FAIL_WANTED)
    assert "did not apply: VF 2 spoofchk reads on, not off" in err.value.msg
    assert "VF 2 of PF 0000:03:00.1 (ens3f1) was disabled (link state disable) because its spoofchk reads back " \
           "other than set" in err.value.msg
    assert err.value.details["disabled_vfs"] == [2] and disables(runner) == ["2"]
    assert runner.vfs[0] == DEFAULT and runner.vfs[1] == DEFAULT


def test_after_a_count_change_the_vfs_not_reached_are_disabled_too(host):
    # numvfs reads 0 while the fixture's three virtfn links stand: writing 3 "creates" them
    host.write("/sys/bus/pci/devices/%s/sriov_numvfs" % PF, "0")
    runner = IpRunner(3, fail={(1, "vlan"): "RTNETLINK answers: Invalid argument"})
    with pytest.raises(NfvError) as err:
        run(host, runner, count=3, vfs=FAIL_WANTED)
    msg = err.value.msg
    assert "VF 1 of PF 0000:03:00.1 (ens3f1) was disabled (link state disable) because its vlan setting failed" \
        in msg
    assert "VF 2 of PF 0000:03:00.1 (ens3f1) was disabled (link state disable) because it is new and its " \
           "spoofchk was not set" in msg
    assert "the VF count stays as the kernel left it" in msg and "set back" not in msg
    assert err.value.details["disabled_vfs"] == [1, 2] and disables(runner) == ["1", "2"]
    assert runner.vfs[0]["link_state"] == "auto" and runner.vfs[0]["vlan"] == 100  # fully set up: left alone
    assert files_of(host) == []


def test_check_mode_disables_nothing(host):
    runner = IpRunner(3, fail={(1, "vlan"): "RTNETLINK answers: Invalid argument"})
    result = run(host, runner, check_mode=True, vfs=FAIL_WANTED)
    assert result["changed"] and "disabled_vfs" not in result and runner.set_calls() == []


def test_a_disable_that_cannot_be_read_back_is_named_as_a_risk(host):
    class ShowFailsAfterDisable(IpRunner):
        def run(self, name, args, check=True, data=None, env=None):
            if list(args)[:4] == ["-d", "-j", "link", "show"] and disables(self):
                return 1, "", "Cannot send link request: Message too long"
            return IpRunner.run(self, name, args, check, data, env)

        def output(self, name, args, **kwargs):
            rc, out, err = self.run(name, args)
            if rc:
                raise NfvError("ip %s failed: %s" % (" ".join(args), err))
            return out

    runner = ShowFailsAfterDisable(3, fail={(1, "vlan"): "RTNETLINK answers: Invalid argument"})
    with pytest.raises(NfvError) as err:
        run(host, runner, vfs=FAIL_WANTED)
    assert err.value.msg.startswith("VF 1 vlan 200 on ens3f1 failed: RTNETLINK answers: Invalid argument; ")
    assert "disabling it failed too (reading the VF's link state back failed: ip -d -j link show dev ens3f1 " \
           "failed: Cannot send link request: Message too long)" in err.value.msg
    assert err.value.details["disable_failed_vfs"] == [1] and disables(runner) == ["1"]


def test_setting_the_driver_accepts_but_ignores_is_reported(host):
    class Ignoring(IpRunner):
        def run(self, name, args, check=True, data=None, env=None):
            if list(args)[:2] == ["link", "set"]:
                self.calls.append((name, tuple(str(a) for a in args)))
                return 0, "", ""
            return IpRunner.run(self, name, args, check, data, env)

    with pytest.raises(NfvError, match="did not apply: VF 0 trust reads off, not on"):
        run(host, Ignoring(3), vfs=[{"index": 0, "trust": True}])


# -- refusals before a count change ------------------------------------------------------------------
def test_vf_open_by_a_process_or_in_ovs_blocks_a_count_change(host):
    sysfs_tree.rebind_driver(host, VFS[0], "vfio-pci")
    host.write("/proc/4242/comm", "qemu-system-x86")
    host.mkdir("/proc/4242/fd")
    os.symlink("/dev/vfio/60", host.p("/proc/4242/fd/17"))
    runner = IpRunner(3, ovs={"dpdk-vf2": "%s,representor=none" % VFS[2], "dpdk0": "0000:03:00.0"})
    with pytest.raises(NfvError) as err:
        run(host, runner, count=0, check_mode=True)
    assert err.value.details["refused"] == ["VF 0 (0000:03:02.0): vfio group 60 open by qemu-system-x86 (pid 4242)",
                                            "VF 2 (0000:03:02.2): OVS port dpdk-vf2"]
    assert "from 3 to 0" in err.value.msg and "force=true overrides" in err.value.msg
    forced = run(host, runner, count=0, check_mode=True, force=True)
    assert forced["changes"][0]["after"] == "0"


def test_pf_carrying_management_traffic_blocks_a_count_change(host):
    host.default_route("ens3f1")
    with pytest.raises(NfvError, match=r"PF 0000:03:00.1: ens3f1 carries management traffic: default route"):
        run(host, IpRunner(3), count=2, check_mode=True)
    # settings alone do not touch the PF's link
    assert run(host, IpRunner(3), check_mode=True, vfs=[{"index": 0, "trust": True}])["changed"]


def test_count_zero_removes_the_pfs_boot_file(host, monkeypatch):
    runner = IpRunner(3)
    run(host, runner, vfs=WANTED)
    assert host.fs.exists(persistence.conf_path(PF))
    result = run(host, runner, count=0, check_mode=True)
    assert [c["key"] for c in result["changes"]] == ["ens3f1 sriov_numvfs", persistence.conf_path(PF)]
    assert result["changes"][1]["after"] is None


# -- the boot program (module_utils/boot_sriov_vfs.py), run as installed against a fixture tree ----------
def installed_vf_program(directory):
    script = directory / "nfv-dpdk-sriov"
    script.write_text(persistence.script_text(sys.executable))
    script.chmod(0o755)
    return script


def test_vf_program_is_the_program_under_an_isolated_shebang():
    text = persistence.script_text("/usr/bin/python3")
    assert text.splitlines()[0] == "#!/usr/bin/python3 -IS"
    assert "def main(argv, environ, out, err" in text


LOGGING_IP = "#!/bin/sh\necho \"$*\" >> %s\n"


def run_vf_program(host, tmp_path, files, ip_script=LOGGING_IP):
    """The installed program over a directory of `files` ({name: text}), with a fake `ip` (its script gets
    the path of its log); returns the process and the log (what `ip` was asked, one call a line)."""
    work = tmp_path / "work"
    (work / "bin").mkdir(parents=True)
    log = work / "ip.log"
    fake_ip = work / "bin" / "ip"
    fake_ip.write_text(ip_script % log if "%s" in ip_script else ip_script)
    fake_ip.chmod(0o755)
    conf_dir = work / "sriov.d"
    conf_dir.mkdir()
    for name, text in files.items():
        (conf_dir / name).write_text(text)
    proc = subprocess.run([str(installed_vf_program(work)), str(conf_dir)],
                          env={"NFV_DPDK_SYSFS": host.p("/sys"), "PATH": "%s:/usr/bin:/bin" % (work / "bin")},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc, log


def test_boot_script_creates_vfs_through_zero_and_replays_settings(host, tmp_path):
    proc, log = run_vf_program(host, tmp_path, {
        "%s.conf" % PF: persistence.conf_text(4, vf_settings.normalize_vfs(WANTED, 4)),
        "0000:09:00.0.conf": persistence.conf_text(2, []),  # a PF that is gone
    })
    assert proc.returncode == 1
    assert "0000:09:00.0: no SR-IOV PF with a network interface here" in proc.stderr
    assert "%s (ens3f1): 3 -> 4 VFs" % PF in proc.stdout
    assert host.fs.read("/sys/bus/pci/devices/%s/sriov_numvfs" % PF) == "4"
    assert log.read_text().splitlines() == [
        "link set dev ens3f1 vf 0 mac 52:54:00:aa:00:01 vlan 100 qos 3 trust on spoofchk off",
        "link set dev ens3f1 vf 2 max_tx_rate 100"]


def test_boot_script_names_a_failed_vf_setting_and_goes_on(host, tmp_path):
    conf = persistence.conf_text(4, vf_settings.normalize_vfs(WANTED, 4))
    proc, _log = run_vf_program(host, tmp_path, {"%s.conf" % PF: conf},
                                ip_script="#!/bin/sh\ncase \"$*\" in *trust*) exit 2;; esac\n")
    assert proc.returncode == 1
    assert "%s (ens3f1): vf 0 mac 52:54:00:aa:00:01 vlan 100 qos 3 trust on spoofchk off failed" % PF in proc.stderr
    assert "vf 2" not in proc.stderr


# logs every call; fails the VLAN of VF 1 as a PF driver does (RTNETLINK on stderr, exit 2)
FAIL_VF1_VLAN_IP = """#!/bin/sh
echo "$*" >> %s
case "$*" in *" vf 1 "*vlan*) echo "RTNETLINK answers: Invalid argument" >&2; exit 2;; esac
"""


def test_boot_script_disables_the_vf_whose_line_failed_and_sets_up_the_others(host, tmp_path):
    vfs = vf_settings.normalize_vfs(FAIL_WANTED, 3)
    proc, log = run_vf_program(host, tmp_path, {"%s.conf" % PF: persistence.conf_text(3, vfs)},
                               ip_script=FAIL_VF1_VLAN_IP)
    assert proc.returncode == 1
    assert log.read_text().splitlines() == [
        "link set dev ens3f1 vf 0 mac 52:54:00:aa:00:01 vlan 100 qos 0",
        "link set dev ens3f1 vf 1 mac 52:54:00:aa:00:02 vlan 200 qos 0 trust on",
        "link set dev ens3f1 vf 1 state disable",
        "link set dev ens3f1 vf 2 spoofchk off"]
    assert proc.stderr.splitlines() == [
        "RTNETLINK answers: Invalid argument",
        "nfv-dpdk-sriov: %s (ens3f1): vf 1 mac 52:54:00:aa:00:02 vlan 200 qos 0 trust on failed; "
        "VF 1 disabled (link state disable) until the cause is fixed" % PF]


def test_boot_script_says_when_the_disable_fails_too(host, tmp_path):
    ip_script = FAIL_VF1_VLAN_IP.replace('*" vf 1 "*vlan*)', '*" vf 1 "*vlan*|*" vf 1 state disable")')
    conf = persistence.conf_text(3, vf_settings.normalize_vfs(FAIL_WANTED, 3))
    proc, log = run_vf_program(host, tmp_path, {"%s.conf" % PF: conf}, ip_script=ip_script)
    assert proc.returncode == 1
    assert "link set dev ens3f1 vf 2 spoofchk off" in log.read_text().splitlines()
    assert ("%s (ens3f1): vf 1 mac 52:54:00:aa:00:02 vlan 200 qos 0 trust on failed; disabling VF 1 failed too: "
            "it may pass traffic without that setup" % PF) in proc.stderr


def test_boot_script_leaves_a_pf_with_other_ids_alone(host, tmp_path):
    # the file recorded an 82599 (8086:10fb) at the PF's address; an X710 (8086:1572) is there now
    proc, log = run_vf_program(host, tmp_path, {
        "%s.conf" % PF: persistence.conf_text(4, vf_settings.normalize_vfs(WANTED, 4), "8086:10fb")})
    assert proc.returncode == 1
    assert "%s: is 8086:1572, not the 8086:10fb recorded: left alone" % PF in proc.stderr
    assert host.fs.read("/sys/bus/pci/devices/%s/sriov_numvfs" % PF) == "3"
    assert not log.exists()


def test_boot_script_without_files_is_a_noop(tmp_path):
    proc = subprocess.run([str(installed_vf_program(tmp_path)), str(tmp_path / "none")], check=False)
    assert proc.returncode == 0


def test_boot_script_wants_the_directory_named(tmp_path):
    proc = subprocess.run([str(installed_vf_program(tmp_path))], stderr=subprocess.PIPE, universal_newlines=True,
                          check=False)
    assert proc.returncode == 2 and "usage: nfv-dpdk-sriov DIRECTORY" in proc.stderr
