"""nfv.dpdk.qemu_vm on this machine: real QEMU guests on a private real OVS-DPDK, and the module itself.

This machine has no systemd as PID 1, so the guests are not started through
systemctl: the test builds the argv with the same module_utils code that
writes the unit's ExecStart= (`guest_spec` -> `qemu_argv`), runs the unit's
privileged ExecStartPre= steps (`prestart_commands`: the mkdir of the helper,
installed as the module installs it), and starts QEMU with that argv as an
unprivileged user (nobody/nogroup, umask 0007, like User=,
Group= and UMask= of the unit). Two guests (Debian kernel + busybox initramfs,
see tests/guest_image.py) on 2M hugepages, each with a vhost-user NIC served
by QEMU, are joined by a netdev bridge with two dpdkvhostuserclient ports, and
must ping each other (their serial logs say so); OVS must report link_state
up and packet counters on both ports. The unit's ExecStop= helper then powers
one guest off over QMP. Two more guests with rings of 1024, the packed ring
and MTU 9000 exchange 8972-byte pings through ports of mtu_request 9000; QMP
and the guests' negotiated virtio features show the options took.

The module is also run through ansible-playbook (tests/module_call.py):
check mode and diff, the written unit and its idempotence, validation
failures that write nothing, and a clear failure for started/stopped where
systemd does not run.

Pages: 2M pages are added relative to the current count and given back; the
1G pool is not touched. QEMU processes are killed in a finalizer.
"""

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

import guest_image
from ansible_collections.nfv.dpdk.plugins.module_utils.core import systemd_unit
from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import system_python
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import unescape_exec, verify_unit
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import kvm_probe
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.argv import qemu_argv
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.nic_spec import TUN_DEVICE
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_spec
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.start_check import failure_cause
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_commands import (
    console_argv,
    helper_argv,
    helper_text,
    prestart_commands,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_reader import macs_in_unit, unit_exec_start
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_text import unit_text
from guests import (
    BOOT_TIMEOUT,
    SERVICE_GROUP,
    SERVICE_USER,
    ProcessRunner,
    boot_guests,
    helper_path,
    hugepage_mount,
    qmp,
    run_root_under_run,
    serial,
    wait_for_pings,
)
from guests import report as guest_report
from module_call import run_module

pytestmark = pytest.mark.component

GUESTS = {
    "nfvq-a": {"ip": "10.231.0.1/24", "peer": "10.231.0.2", "port": "vhu-nfvq-a"},
    "nfvq-b": {"ip": "10.231.0.2/24", "peer": "10.231.0.1", "port": "vhu-nfvq-b"},
}


@pytest.fixture(scope="module")
def needs_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in ("qemu-system-x86_64", "apt-get", "dpkg"):
        if shutil.which(tool) is None:
            pytest.skip("missing %s" % tool)


@pytest.fixture(scope="module")
def image(needs_root):
    return guest_image.build()


@pytest.fixture(scope="module")
def run_root(needs_root):
    with run_root_under_run("nfvq-") as path:
        yield path


@pytest.fixture(scope="module")
def guest_hugepages(run_root):
    with hugepage_mount(run_root, len(GUESTS)) as mount:
        yield mount


def _interfaces(lab):
    return dict((row["name"], row) for row in lab.list_table("Interface"))


def _ovs_map(cell):
    # ["map", [[k, v], ...]]
    return dict(cell[1]) if isinstance(cell, list) and cell and cell[0] == "map" else {}


def _ports_up_and_counted(lab, ports, timeout=20):
    """The ports' Interface rows once all are up with packets counted both ways, or at the timeout.

    OVS writes link_state and statistics to the database every few seconds (stats-update-interval)."""
    deadline = time.time() + timeout
    while True:
        ifaces = _interfaces(lab)
        rows = [ifaces[port] for port in ports]
        if time.time() > deadline or all(
                row["link_state"] == "up" and all(_ovs_map(row["statistics"]).get(key, 0) > 0
                                                  for key in ("rx_packets", "tx_packets")) for row in rows):
            return rows
        time.sleep(1)


def test_two_guests_ping_each_other_over_ovs_dpdk(ovs_lab, image, run_root, guest_hugepages, processes):
    specs, logs = boot_guests(GUESTS, image, run_root, guest_hugepages, processes)
    vhost_dir = os.path.join(run_root, "vhost")
    helper = helper_path(run_root)
    uid = pwd.getpwnam(SERVICE_USER).pw_uid
    gid = grp.getgrnam(SERVICE_GROUP).gr_gid

    for name in GUESTS:  # each guest's own socket directory, in a parent the unit made root 0755
        assert oct(os.stat(os.path.join(vhost_dir, name)).st_mode & 0o7777) == "0o770"
    assert oct(os.stat(vhost_dir).st_mode & 0o7777) == "0o755"
    args = ["add-br", "br-nfvq", "--", "set", "Bridge", "br-nfvq", "datapath_type=netdev"]
    for name, guest in GUESTS.items():
        args += ["--", "add-port", "br-nfvq", guest["port"], "--", "set", "Interface", guest["port"],
                 "type=dpdkvhostuserclient", "options:vhost-server-path=%s" % specs[name]["nics"][0]["socket"]]
    ovs_lab.vsctl(*args)

    done = wait_for_pings(logs, processes, run_root)
    report = guest_report(logs)
    for name, guest in GUESTS.items():
        assert guest_image.MARK_PING_OK + " " + guest["peer"] in done.get(name, ""), report
        mac = specs[name]["nics"][0]["mac"]
        assert "mac %s" % mac in done[name], report  # the guest sees the MAC the unit gives it

    for row in _ports_up_and_counted(ovs_lab, [guest["port"] for guest in GUESTS.values()]):
        stats = _ovs_map(row["statistics"])
        assert row["link_state"] == "up", row
        assert stats.get("rx_packets", 0) > 0 and stats.get("tx_packets", 0) > 0, (row["name"], stats)

    # ExecStop=: the helper powers guest a off over QMP; QEMU exits cleanly
    spec = specs["nfvq-a"]
    stop = subprocess.run([sys.executable, helper, spec["qmp_socket"], "60"], user=uid, group=gid,
                          capture_output=True, text=True, timeout=90, check=False)
    assert stop.returncode == 0, stop
    assert "QEMU exited" in stop.stdout, stop.stdout
    assert processes[0].wait(timeout=30) == 0
    assert guest_image.MARK_POWEROFF in serial(logs["nfvq-a"])
    assert processes[1].poll() is None  # the other guest still runs


JUMBO_GUESTS = {
    "nfvj-a": {"ip": "10.232.0.1/24", "peer": "10.232.0.2", "port": "vhu-nfvj-a"},
    "nfvj-b": {"ip": "10.232.0.2/24", "peer": "10.232.0.1", "port": "vhu-nfvj-b"},
}
JUMBO_NIC = {"rx_queue_size": 1024, "tx_queue_size": 1024, "packed": True, "mtu": 9000}
VIRTIO_NET_F_MTU, VIRTIO_F_RING_PACKED = 3, 34


def _guest_line(log, mark):
    return next((line for line in serial(log).splitlines() if mark in line), "")


def test_jumbo_guests_with_1024_rings_and_packed_ring(ovs_lab, image, run_root, guest_hugepages, processes):
    """Issue 30: the NIC options reach the guest. Rings of 1024, packed (QEMU's vhost queues over QMP), the MTU
    and the packed ring in the virtio features the guest's driver negotiated, and 9000-byte frames crossing
    OVS ports of mtu_request 9000 without a fragment."""
    guests = dict((name, dict(guest, nic=JUMBO_NIC, size=9000 - 28)) for name, guest in JUMBO_GUESTS.items())
    specs, logs = boot_guests(guests, image, run_root, guest_hugepages, processes)
    args = ["add-br", "br-nfvj", "--", "set", "Bridge", "br-nfvj", "datapath_type=netdev"]
    for name, guest in guests.items():
        args += ["--", "add-port", "br-nfvj", guest["port"], "--", "set", "Interface", guest["port"],
                 "type=dpdkvhostuserclient", "options:vhost-server-path=%s" % specs[name]["nics"][0]["socket"],
                 "mtu_request=9000"]
    ovs_lab.vsctl(*args)
    ports = [guest["port"] for guest in guests.values()]
    try:
        done = wait_for_pings(logs, processes, run_root)
        report = guest_report(logs)
        for name, guest in guests.items():
            assert guest_image.MARK_PING_OK + " " + guest["peer"] in done.get(name, ""), report
            assert "8980 bytes from" in done[name], report  # the echo reply: 8972 bytes of payload + ICMP header
            nic = _guest_line(logs[name], guest_image.MARK_NIC)
            assert " mtu 9000 " in nic, report  # host_mtu: the guest's driver took the MTU from the device
            features = nic.rsplit(" ", 1)[1]
            assert features[VIRTIO_NET_F_MTU] == "1" and features[VIRTIO_F_RING_PACKED] == "1", nic
            counters = _guest_line(logs[name], guest_image.MARK_IP_STATS).split(guest_image.MARK_IP_STATS)[1]
            stats = dict(item.split("=") for item in counters.split())
            assert stats == {"FragCreates": "0", "FragFails": "0", "ReasmReqds": "0"}, report  # nothing fragmented

            # x-query-virtio-queue-status would ask the backend for the ring base, which stops a DPDK vhost
            # device; the vhost view reads QEMU's own copy of the rings.
            paths, = qmp(specs[name]["qmp_socket"], ("x-query-virtio", None))
            path = next(item["path"] for item in paths if item["name"] == "virtio-net")
            queues = qmp(specs[name]["qmp_socket"], *[
                ("x-query-virtio-vhost-queue-status", {"path": path, "queue": queue}) for queue in (0, 1)])
            assert [queue["num"] for queue in queues] == [1024, 1024], queues  # the rx and the tx ring
            # a packed ring has 4-byte event suppression areas where a split ring of 1024 has 2054-byte avail rings
            assert [(queue["avail-size"], queue["used-size"]) for queue in queues] == [(4, 4), (4, 4)], queues
        for row in _ports_up_and_counted(ovs_lab, ports):
            assert (row["mtu"], row["link_state"]) == (9000, "up"), (row["name"], row["status"])
            assert _ovs_map(row["statistics"]).get("rx_packets", 0) > 0, (row["name"], row["statistics"])
    finally:
        ovs_lab.vsctl("--if-exists", "del-br", "br-nfvj")


TAP_GUESTS = {
    "nfvt-a": {"ip": "10.233.0.1/24", "peer": "10.233.0.2", "port": "nfvttap0",
               "nic": {"type": "tap", "ifname": "nfvttap0", "bridge": "br-nfvt"}},
    "nfvt-b": {"ip": "10.233.0.2/24", "peer": "10.233.0.1", "port": "vhu-nfvt-b"},
}


def _fd_targets(pid):
    fds = "/proc/%d/fd" % pid
    return sorted(set(os.readlink(os.path.join(fds, fd)) for fd in os.listdir(fds)))


@pytest.fixture
def tun_like_debian():
    """/dev/net/tun as Debian's udev makes it (0666: any user attaches to a tap it owns), for one test: a container
    may give it 0600, which qemu_vm refuses for a tap guest."""
    mode = os.stat(TUN_DEVICE).st_mode & 0o7777
    os.chmod(TUN_DEVICE, 0o666)
    yield
    os.chmod(TUN_DEVICE, mode)


def test_a_tap_guest_joined_to_a_netdev_bridge_pings_a_vhost_user_guest(ovs_lab, image, run_root, guest_hugepages,
                                                                        processes, tun_like_debian):
    """Issue 30: a tap NIC as the unit makes it (ip tuntap for the service user, up, added to the bridge by
    ExecStartPre=) passes traffic through OVS's userspace datapath to a vhost-user guest on the same bridge."""
    ovs_lab.vsctl("add-br", "br-nfvt", "--", "set", "Bridge", "br-nfvt", "datapath_type=netdev")
    tap = TAP_GUESTS["nfvt-a"]["port"]
    try:
        specs, logs = boot_guests(TAP_GUESTS, image, run_root, guest_hugepages, processes, lab=ovs_lab)
        owner = subprocess.run(["ip", "-n", ovs_lab.netns, "-d", "-j", "link", "show", "dev", tap],
                               capture_output=True, text=True, check=True)
        info = json.loads(owner.stdout)[0]["linkinfo"]["info_data"]
        assert (info["type"], info["user"]) == ("tap", SERVICE_USER), info  # QEMU, as the service user, opened it
        assert "/dev/net/tun" in _fd_targets(processes[0].pid)
        port = TAP_GUESTS["nfvt-b"]["port"]
        ovs_lab.vsctl("add-port", "br-nfvt", port, "--", "set", "Interface", port, "type=dpdkvhostuserclient",
                      "options:vhost-server-path=%s" % specs["nfvt-b"]["nics"][0]["socket"])

        done = wait_for_pings(logs, processes, run_root)
        report = guest_report(logs)
        for name, guest in TAP_GUESTS.items():
            assert guest_image.MARK_PING_OK + " " + guest["peer"] in done.get(name, ""), report
            assert "mac %s" % specs[name]["nics"][0]["mac"] in done[name], report
        rows = _ports_up_and_counted(ovs_lab, [tap, port])
        assert [row["type"] for row in rows] == ["", "dpdkvhostuserclient"], rows  # the tap is a system port
        for row in rows:
            stats = _ovs_map(row["statistics"])
            assert stats.get("rx_packets", 0) > 0 and stats.get("tx_packets", 0) > 0, (row["name"], stats)
    finally:
        ovs_lab.vsctl("--if-exists", "del-br", "br-nfvt")
        for netns in (["-n", ovs_lab.netns], []):  # the tap goes with QEMU; the lab's namespace may hold it still
            subprocess.run(["ip"] + netns + ["tuntap", "del", "dev", tap, "mode", "tap"], capture_output=True,
                           check=False)


def test_unit_text_passes_systemd_analyze_verify(image, run_root):
    runner = ProcessRunner()
    if not runner.has("systemd-analyze"):
        pytest.skip("no systemd-analyze")
    spec = guest_spec({
        "name": "verify1", "memory": "256M", "hugepages": {"size": "2M"}, "kernel": image["kernel"],
        "initrd": image["initrd"], "append": 'console=ttyS0 quote="a b" dollar=$HOME pct=100%',
        "nics": [{"type": "vhost-user", "socket": "/run/vhost/verify1/net0.sock", "queues": 4},
                 {"type": "tap", "ifname": "tap-v1", "bridge": "br-mgmt"},
                 {"type": "user", "forwards": [{"host_port": 2222, "guest_port": 22}]}],
        "user": SERVICE_USER, "group": SERVICE_GROUP, "cpu_affinity": "0-1", "numa_node": 0,
    })
    tools = dict((tool, runner.find(tool)) for tool in ("ip", "ovs-vsctl"))
    argv = qemu_argv(spec, runner.find("qemu-system-x86_64"), "kvm")
    prestart = prestart_commands(spec, tools, sys.executable)
    text = unit_text(spec, argv, prestart, helper_argv(spec, sys.executable), "kvm")
    result = verify_unit(runner, spec["unit"], text)
    assert result["ran"]
    assert "ignoring" not in result["output"], result["output"]
    assert unit_exec_start(text) == argv


# ---- the module through ansible-playbook -------------------------------------------------------


@pytest.fixture
def dirs(run_root, tmp_path):
    units = tmp_path / "units"
    helper = tmp_path / "libexec"
    units.mkdir()
    run_dir = tempfile.mkdtemp(prefix="nfvq-mod-", dir="/run")
    yield {"unit_dir": str(units), "helper_dir": str(helper), "run_dir": run_dir}
    shutil.rmtree(run_dir, ignore_errors=True)


def _args(image, dirs, **extra):
    name = extra.get("name", "modvm")  # its sockets are in a directory named after it
    args = {"name": name, "state": "present", "memory": "256M", "user": SERVICE_USER, "group": SERVICE_GROUP,
            "kernel": image["kernel"], "initrd": image["initrd"], "append": "console=ttyS0",
            "nics": [{"type": "vhost-user", "socket": os.path.join(dirs["run_dir"], "vhost", name, "net0.sock")},
                     {"type": "user", "forwards": [{"host_port": 2222, "guest_port": 22}]}]}
    args.update(dirs)
    args.update(extra)
    return args


def _listing(dirs):
    out = []
    for key in ("unit_dir", "helper_dir"):
        if os.path.isdir(dirs[key]):
            out += sorted(os.listdir(dirs[key]))
    return out


def test_module_check_mode_diff_then_install_idempotent_and_remove(image, dirs):
    args = _args(image, dirs)
    checked = run_module("qemu_vm", args, check=True)
    assert not checked.get("failed"), checked
    assert checked["changed"] is True
    assert _listing(dirs) == []  # check mode wrote nothing
    unit_diff = [d for d in checked["diff"] if d.get("after_header", "").endswith("nfv-qemu-modvm.service")]
    assert unit_diff and "ExecStart=" in unit_diff[0]["after"] and unit_diff[0]["before"] == ""
    assert unit_diff[0]["after"] == checked["unit_text"]
    assert checked["accel"] in ("kvm", "tcg")
    assert checked["systemd"] is False and any("unit file only" in w for w in checked.get("warnings", []))

    done = run_module("qemu_vm", args)
    assert not done.get("failed"), done
    assert done["changed"] is True
    unit_path = os.path.join(dirs["unit_dir"], "nfv-qemu-modvm.service")
    with open(unit_path) as handle:
        written = handle.read()
    assert written == checked["unit_text"]  # check mode predicted the real run
    assert unit_exec_start(written) == done["argv"]
    helper = os.path.join(dirs["helper_dir"], "nfv-qemu-powerdown")
    assert os.stat(helper).st_mode & 0o777 == 0o755
    with open(helper) as f:
        assert "system_powerdown" in f.read()
    assert done["macs"] == macs_in_unit(written) and len(done["macs"]) == 2

    again = run_module("qemu_vm", args)
    assert again["changed"] is False, again.get("changes")
    assert again["restart_required"] is False

    bigger = run_module("qemu_vm", _args(image, dirs, memory="512M"), check=True)
    assert bigger["changed"] is True
    unit_diff = next(d for d in bigger["diff"] if d.get("after_header") == unit_path)
    assert "-m 256M" in unit_diff["before"] and "-m 512M" in unit_diff["after"]
    with open(unit_path) as handle:
        assert handle.read() == written  # still the old unit

    removed = run_module("qemu_vm", {"name": "modvm", "state": "absent", "unit_dir": dirs["unit_dir"]})
    assert removed["changed"] is True and not os.path.exists(unit_path)
    assert run_module("qemu_vm", {"name": "modvm", "state": "absent", "unit_dir": dirs["unit_dir"]})["changed"] is False


@pytest.mark.parametrize("extra, message", [
    ({"nics": [{"type": "vhost-user", "socket": "/run/vhost/modvm/a.sock", "mac": "52:54:00:00:00:01"},
               {"type": "user", "mac": "52:54:00:00:00:01"}]}, "duplicates nics[0].mac"),
    ({"nics": [{"type": "vhost-user", "socket": "/run/" + "v" * 110 + "/a.sock"}]}, "107-byte limit"),
    ({"hugepages": {"size": "1G"}, "memory": "1536M"}, "not a multiple of the 1G page size"),
    ({"nics": [{"type": "macvtap"}]}, "macvtap"),
    ({"nics": [{"type": "user", "mac": "01:00:5e:00:00:01"}]}, "multicast"),
    ({"name": "bad/name"}, "not usable as a unit"),
    ({"nics": [{"type": "vhost-user", "socket": "/tmp/vhost/a.sock"}]}, "PrivateTmp"),
    # issue 15
    ({"nics": [{"type": "vhost-user", "socket": "/usr/local/bin/a.sock"}]}, "nics[0].socket /usr/local/bin/a.sock is "
                                                                            "not below /run"),
    ({"disks": [{"path": "/var/lib/nfv-qemu/vm.img /"}]}, "disks[0].path '/var/lib/nfv-qemu/vm.img /' contains"),
    ({"run_dir": "/run/nfv qemu"}, "run_dir '/run/nfv qemu' contains whitespace"),
    ({"user": "root"}, "user root is refused"),
    ({"memory": "100000T"}, "memory 100000T is more than the 64T"),
    ({"memory": "64T"}, "memory 64T is more than this host has"),
    ({"nics": [{"type": "vhost-user", "socket": "/run/systemd/a.sock"}]}, "runtime directory of other software"),
    # issue 17: per-vCPU pinning
    ({"vcpus": 2, "vcpu_pins": [0]}, "vcpu_pins has 1 entry but vcpus is 2"),
    ({"vcpus": 1, "vcpu_pins": ["0-"]}, "vcpu_pins[0] '0-' is not a host CPU"),
    ({"vcpus": 1, "vcpu_pins": [4095]}, "vcpu_pins[0] CPUs 4095 are not online"),
    ({"vcpus": 1, "vcpu_pins": [0], "emulator_cpus": "4095"}, "emulator_cpus CPUs 4095 are not online"),
    ({"emulator_cpus": "0"}, "emulator_cpus needs vcpu_pins"),
])
def test_module_rejects_bad_input_and_writes_nothing(image, dirs, extra, message):
    result = run_module("qemu_vm", _args(image, dirs, **extra))
    assert result.get("failed") is True, result
    assert message in result["msg"], result["msg"]
    assert _listing(dirs) == []


def test_module_rejects_mac_used_by_another_guest(image, dirs):
    first = run_module("qemu_vm", _args(image, dirs, name="vmone"))
    assert first["changed"] is True
    mac = first["macs"][0]
    second = run_module("qemu_vm", _args(image, dirs, name="vmtwo", nics=[{"type": "user", "mac": mac}]))
    assert second.get("failed") is True
    assert "already used by nfv-qemu-vmone.service" in second["msg"]
    assert _listing(dirs) == ["nfv-qemu-vmone.service", "nfv-qemu-powerdown"]


@pytest.mark.parametrize("state", ["started", "stopped"])
def test_module_refuses_started_stopped_without_systemd(image, dirs, state):
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("this host runs systemd")
    result = run_module("qemu_vm", _args(image, dirs, state=state))
    assert result.get("failed") is True
    assert "needs systemd" in result["msg"] and "state=present" in result["msg"]
    assert _listing(dirs) == []


def test_accel_probe_is_cached_per_host_and_explains(image, dirs, tmp_path):
    cache = str(tmp_path / "kvm-probe.json")
    # check mode probes once and keeps the verdict: the next check run and the real run reuse it
    first = run_module("qemu_vm", _args(image, dirs, accel_probe_cache=cache), check=True)
    second = run_module("qemu_vm", _args(image, dirs, accel_probe_cache=cache), check=True)
    real = run_module("qemu_vm", _args(image, dirs, accel_probe_cache=cache))
    assert first["accel_probe"]["cached"] is False
    assert second["accel_probe"]["cached"] is True and real["accel_probe"]["cached"] is True
    assert first["accel_probe"]["usable"] == second["accel_probe"]["usable"] == real["accel_probe"]["usable"]
    assert first["accel"] == real["accel"] == ("kvm" if first["accel_probe"]["usable"] else "tcg")
    with open(cache) as handle:
        entries = json.load(handle)
    assert [e["usable"] for e in entries.values()] == [first["accel_probe"]["usable"]]
    device = kvm_probe.stat_or_none()
    reason = first["accel_probe"]["reason"]
    if device is None:
        assert "/dev/kvm does not exist" in reason
    elif not kvm_probe.device_access(device, pwd.getpwnam(SERVICE_USER).pw_uid,
                                     os.getgrouplist(SERVICE_USER, grp.getgrnam(SERVICE_GROUP).gr_gid))[0]:
        assert "cannot open read-write" in reason  # e.g. root:root 0600 here
    if not first["accel_probe"]["usable"]:
        assert any("accel=auto chose TCG" in w and reason in w for w in real.get("warnings", []))
        assert "SupplementaryGroups" not in real["unit_text"] and "/dev/kvm" not in real["unit_text"]


def test_probe_payload_really_runs_as_the_service_user():
    """The payload and the setpriv path, proven under TCG on any machine: QEMU exits with the payload's code."""
    runner = ProcessRunner()
    verdict = kvm_probe.probe(lambda argv: runner.run(argv[0], argv[1:], check=False),
                              runner.find("qemu-system-x86_64"), user=SERVICE_USER, group=SERVICE_GROUP,
                              accel="tcg")
    assert verdict["usable"] is True, verdict
    assert "as user %s" % SERVICE_USER in verdict["reason"] and verdict["seconds"] < kvm_probe.PROBE_SECONDS


def test_probe_with_kvm_on_this_host_explains_itself():
    """Whatever KVM does here (absent, closed to the user, aborts, hangs, works) the verdict says which."""
    runner = ProcessRunner()
    verdict = kvm_probe.probe(lambda argv: runner.run(argv[0], argv[1:], check=False),
                              runner.find("qemu-system-x86_64"), device_stat=kvm_probe.stat_or_none())
    if verdict["usable"]:
        assert verdict["seconds"] <= kvm_probe.PROBE_SECONDS and "ran the probe payload" in verdict["reason"]
    else:
        assert any(text in verdict["reason"] for text in (
            "/dev/kvm does not exist", "cannot run a KVM guest here", "did not finish the probe payload")), verdict


# ---- issue 15: faults ------------------------------------------------------------------------------


def _run_exec_start_pre(text):
    """Run a unit's ExecStartPre= lines as systemd does for '+' (as root) and '-' (failure ignored)."""
    for line in text.replace("\\\n", " ").splitlines():
        if not line.startswith("ExecStartPre="):
            continue
        value = line[len("ExecStartPre="):]
        prefix = value[:len(value) - len(value.lstrip("-+@!:"))]
        proc = subprocess.run(unescape_exec(value[len(prefix):]), capture_output=True, text=True, check=False)
        if proc.returncode != 0 and "-" not in prefix:
            raise AssertionError("ExecStartPre %s failed: %s" % (value, proc.stderr))


def _ip_link_exists(name):
    return os.path.exists("/sys/class/net/%s" % name)


@pytest.fixture
def taps():
    names = ["nfvqtap0", "nfvqtap1"]
    yield names
    for name in names:
        subprocess.run(["ip", "tuntap", "del", "dev", name, "mode", "tap"], capture_output=True, check=False)


def test_absent_removes_the_units_tap_devices_and_the_last_helper(image, dirs, taps):
    # nfvqtap1 exists before the guest, made by someone else (root, no owner): the unit only brings it up
    subprocess.run(["ip", "tuntap", "add", "dev", taps[1], "mode", "tap"], check=True)
    args = _args(image, dirs, nics=[{"type": "tap", "ifname": taps[0]}, {"type": "tap", "ifname": taps[1]}])
    done = run_module("qemu_vm", args)
    assert not done.get("failed"), done
    _run_exec_start_pre(done["unit_text"])  # what systemd runs before QEMU: creates nfvqtap0 for nobody
    with open("/sys/class/net/%s/owner" % taps[0]) as handle:
        assert int(handle.read()) == pwd.getpwnam(SERVICE_USER).pw_uid

    absent = {"name": "modvm", "state": "absent", "unit_dir": dirs["unit_dir"], "helper_dir": dirs["helper_dir"]}
    predicted = run_module("qemu_vm", absent, check=True)
    assert [(c["key"], c["action"]) for c in predicted["changes"]] == [
        ("unit", "delete"), ("tap nfvqtap0", "delete_tap"), ("helper", "delete_helper")], predicted
    assert _ip_link_exists(taps[0]) and _listing(dirs) == ["nfv-qemu-modvm.service", "nfv-qemu-powerdown"]
    removed = run_module("qemu_vm", absent)
    assert removed["changes"] == predicted["changes"]
    assert not _ip_link_exists(taps[0]) and _listing(dirs) == []
    assert _ip_link_exists(taps[1])  # not the unit's: left, with a warning
    assert any("tap device nfvqtap1 is left in place" in w for w in removed.get("warnings", []))
    assert run_module("qemu_vm", absent)["changed"] is False


def test_unit_creates_a_missing_socket_directory_and_never_re_modes_an_existing_one(image, dirs):
    vhost = os.path.join(dirs["run_dir"], "vhost", "modvm")
    done = run_module("qemu_vm", _args(image, dirs))
    assert not done.get("failed"), done
    _run_exec_start_pre(done["unit_text"])
    info = os.stat(vhost)
    assert (info.st_mode & 0o7777, info.st_uid, info.st_gid) == (0o770, 0, grp.getgrnam(SERVICE_GROUP).gr_gid)
    os.chmod(vhost, 0o750)  # the operator tightened it: a later start must not undo that
    _run_exec_start_pre(done["unit_text"])
    assert os.stat(vhost).st_mode & 0o7777 == 0o750


def test_the_units_argv_failing_in_real_qemu_gives_the_cause(image, dirs):
    """A guest that cannot start: the unit's exact argv in real QEMU, its stderr as the journal carries it."""
    os.chmod(dirs["run_dir"], 0o755)
    bogus = os.path.join(dirs["run_dir"], "not-a-kernel")  # readable by the service user, unlike tmp_path
    with open(bogus, "w") as handle:
        handle.write("not a kernel\n")
    runner = ProcessRunner()
    spec = guest_spec(dict(_args(image, dirs, kernel=bogus, initrd=None, nics=[]), state="started"))
    uid, gid = pwd.getpwnam(SERVICE_USER).pw_uid, grp.getgrnam(SERVICE_GROUP).gr_gid
    os.makedirs(spec["run_subdir"], 0o750)  # RuntimeDirectory=, owned by the service user
    os.chown(spec["run_subdir"], uid, gid)
    serial = os.path.join(spec["run_subdir"], "serial.log")
    argv = qemu_argv(spec, runner.find("qemu-system-x86_64"), "tcg", serial=serial)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, user=uid, group=gid)
    assert proc.returncode != 0  # Restart=on-failure restarts it: bounded by StartLimitBurst=
    journal = ["2026-11-29T06:00:00+0000 host systemd[1]: Started nfv-qemu-modvm.service"]
    journal += ["2026-11-29T06:00:01+0000 host qemu-system-x86_64[42]: " + line for line in proc.stderr.splitlines()]
    journal += ["2026-11-29T06:00:01+0000 host systemd[1]: nfv-qemu-modvm.service: Main process exited, "
                "code=exited, status=1/FAILURE"]
    assert failure_cause(journal) == proc.stderr.strip() == "qemu: invalid kernel header"


def test_the_units_console_writer_bounds_real_qemus_serial_log(image, dirs, processes):
    """ExecStart= as the unit runs it: the helper's console writer execs real QEMU (TCG) as the service user.
    QEMU stays the helper's own process with the module's argv (the unit's MainPID, running_argv); the guest's
    serial output reaches LOG through the writer, which keeps LOG within its bound (small here, so that the boot
    log passes it) and ending with the guest's latest output, its last words after ExecStop='s powerdown."""
    os.chmod(dirs["run_dir"], 0o755)
    runner = ProcessRunner()
    python = system_python(runner, "the guest unit's helper")  # the interpreter of the unit's helper lines
    spec = guest_spec(dict(_args(image, dirs, nics=[], helper_dir=os.path.join(dirs["run_dir"], "libexec")),
                           state="started"))
    uid, gid = pwd.getpwnam(SERVICE_USER).pw_uid, grp.getgrnam(SERVICE_GROUP).gr_gid
    os.makedirs(spec["helper_dir"])  # written by the module
    helper = os.path.join(spec["helper_dir"], "nfv-qemu-powerdown")
    with open(helper, "w") as handle:
        handle.write(helper_text(python))
    os.chmod(helper, 0o755)
    os.makedirs(spec["run_subdir"], 0o750)  # RuntimeDirectory= (LogsDirectory= on a host), the service user's
    os.chown(spec["run_subdir"], uid, gid)
    log, limit = os.path.join(spec["run_subdir"], "console.log"), 8192
    argv = qemu_argv(spec, runner.find("qemu-system-x86_64"), "tcg")
    start = console_argv(spec, python, argv, log=log)
    text = unit_text(spec, argv, [], helper_argv(spec, python), "tcg")
    assert unescape_exec(_unit_line(text, "ExecStart")) == console_argv(spec, python, argv)
    assert unit_exec_start(text) == argv
    start[4] = str(limit)  # the unit's bound is CONSOLE_LOG_BYTES (4 MiB); a guest's boot log passes 8 KiB
    proc = subprocess.Popen(start, user=uid, group=gid, umask=0o007, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    processes.append(proc)
    systemd, deadline = systemd_unit.Systemd(runner), time.time() + 10
    while systemd.process_argv(proc.pid) != argv and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)  # the helper execs QEMU once the writer runs
    assert systemd.process_argv(proc.pid) == argv  # the module's running_argv: QEMU's own argv, same PID
    deadline, sizes = time.time() + BOOT_TIMEOUT, set()
    while "nfv-guest: acpid started" not in serial(log) and proc.poll() is None and time.time() < deadline:
        sizes.add(os.path.getsize(log))
        time.sleep(0.2)
    assert "nfv-guest: acpid started" in serial(log), (proc.poll(), serial(log)[-2000:])
    assert max(sizes) <= limit
    stop = subprocess.run(helper_argv(spec, python), user=uid, group=gid, capture_output=True, text=True,
                          timeout=90, check=False)  # ExecStop=
    assert stop.returncode == 0 and "QEMU exited" in stop.stdout, stop
    out, err = proc.communicate(timeout=30)  # returns once the writer too has closed the helper's stdout and stderr
    assert proc.returncode == 0 and out == "" and "nfv-qemu-console" not in err, err
    data = serial(log)
    assert 0 < os.path.getsize(log) <= limit and guest_image.MARK_POWEROFF in data[-1000:], data
    assert "Linux version" not in data  # the start of the boot is gone: LOG holds the latest output only
    assert "console.log.tmp" not in os.listdir(spec["run_subdir"])
    info = os.stat(log)
    assert (info.st_uid, info.st_mode & 0o777) == (uid, 0o640)


def _unit_line(text, key):
    joined = text.replace("\\\n", " ")
    return next(line.split("=", 1)[1] for line in joined.splitlines() if line.startswith(key + "="))


def test_module_vcpu_pins_in_the_unit_idempotent_and_changed_pins_change_it(image, dirs):
    pins = dict(vcpus=2, vcpu_pins=[1, "0"], emulator_cpus="0")
    done = run_module("qemu_vm", _args(image, dirs, **pins))
    assert not done.get("failed"), done
    text = done["unit_text"]
    assert "\nCPUAffinity=0-1\n" in text
    post = [line for line in text.splitlines() if line.startswith("ExecStartPost=")]
    helper = os.path.join(dirs["helper_dir"], "nfv-qemu-powerdown")
    assert unescape_exec(post[0][len("ExecStartPost="):])[1:] == [helper, "pin", os.path.join(
        dirs["run_dir"], "modvm", "qmp.sock"), "75", "0", "1", "0"]
    again = run_module("qemu_vm", _args(image, dirs, **pins))
    assert again["changed"] is False, again["changes"]
    swapped_args = _args(image, dirs, **pins)
    swapped_args["vcpu_pins"] = [0, 1]
    swapped = run_module("qemu_vm", swapped_args, check=True)
    assert swapped["changed"] is True and [c["key"] for c in swapped["changes"]] == ["unit"]
    unit_diff = next(d for d in swapped["diff"] if d.get("after_header", "").endswith("nfv-qemu-modvm.service"))
    assert unit_diff["before"] == text and "qmp.sock 75 0 0 1\n" in unit_diff["after"]
