"""Real QEMU guests for component tests, started the way their systemd unit starts them.

This machine has no systemd as PID 1, so a guest is not started through systemctl: `boot_guests` builds the
argv with the same module_utils code that writes the unit's ExecStart= (`guest_spec` -> `qemu_argv`), checks
that the unit carries exactly that argv, runs the unit's privileged ExecStartPre= steps (`prestart_commands`),
and starts QEMU with it as an unprivileged user (nobody/nogroup, umask 0007, like User=, Group= and UMask= of
the unit), its serial console in a file. Each guest (Debian kernel + busybox initramfs, tests/guest_image.py)
has one vhost-user NIC served by QEMU at VHOST_DIR/NAME/net0.sock, sets its address and pings its peer;
`wait_for_pings` reads the serial logs for the verdict.

    specs, logs = boot_guests({"g1": {"ip": "10.0.0.1/24", "peer": "10.0.0.2"}}, image, run_root, mount, processes)

A guest may also give `nic` (more nfv.dpdk.qemu_vm NIC fields: rx_queue_size, packed, mtu...; or a whole tap NIC,
{type: tap, ifname, bridge}, which the unit's ExecStartPre= steps create and add to the bridge), `size` (the
pings' payload), `iommu` (qemu_vm's vIOMMU) and `kernel_args` (more of the guest's command line). `qmp` asks a
running guest's QEMU over its QMP socket.
"""

import grp
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import pytest

import guest_image
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import kvm_probe
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.argv import qemu_argv
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_spec
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_commands import (
    helper_argv,
    helper_text,
    prestart_commands,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_reader import macs_in_unit, unit_exec_start
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_text import unit_text

POOL_2M = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
GUEST_MB = 128
SERVICE_USER, SERVICE_GROUP = "nobody", "nogroup"
BOOT_TIMEOUT = 240


class ProcessRunner:
    """The Runner interface (argv lists, LC_ALL=C) over subprocess, for module_utils outside a module."""

    def find(self, name):
        return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

    def has(self, name):
        return self.find(name) is not None

    def run(self, name, args, check=True, data=None, env=None):
        environ = dict(os.environ, LC_ALL="C")
        environ.update(env or {})
        proc = subprocess.run([self.find(name)] + [str(a) for a in args], input=data, capture_output=True,
                              text=True, env=environ, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError("%s failed: %s" % (name, proc.stderr))
        return proc.returncode, proc.stdout, proc.stderr


def read_int(path):
    with open(path) as handle:
        return int(handle.read())


def write_value(path, value):
    with open(path, "w") as handle:
        handle.write(str(value))


@contextmanager
def hugepage_mount(run_root, guests):
    """A private hugetlbfs of exactly the guests' 2M pages, added to the pool and given back."""
    pages = guests * GUEST_MB // 2
    mount = os.path.join(run_root, "hugepages")
    os.mkdir(mount)
    before = read_int(POOL_2M)
    write_value(POOL_2M, before + pages)
    added = max(0, read_int(POOL_2M) - before)
    mounted = False
    try:
        if added < pages:
            pytest.fail("could not add %d 2M pages (got %d)" % (pages, added))
        subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M,size=%dM" % (pages * 2), "nodev", mount],
                       check=True)
        mounted = True
        yield mount
    finally:
        if mounted:
            for _attempt in range(50):
                if subprocess.run(["umount", mount], check=False).returncode == 0:
                    break
                time.sleep(0.2)
        if added:
            write_value(POOL_2M, read_int(POOL_2M) - added)


def serial(path):
    try:
        with open(path, errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def serial_to_file(argv, log):
    """The unit's QEMU argv with the serial console in `log` (QEMU's file chardev) instead of on stdout, which the
    unit's console writer reads: the argv of a guest run outside systemd."""
    at = argv.index("-chardev")
    assert argv[at:at + 4] == ["-chardev", "stdio,id=serial0,signal=off", "-serial", "chardev:serial0"]
    return argv[:at] + ["-serial", "file:" + log] + argv[at + 4:]


def accel_here(runner, qemu, run_root):
    """(accel, kvm group or None): KVM only where a guest really ran under it as the service user (the module's
    own decision)."""
    device = kvm_probe.stat_or_none()
    probe = kvm_probe.cached_verdict(runner, qemu, SERVICE_USER, SERVICE_GROUP,
                                     os.path.join(run_root, "kvm-probe.json"), device)
    accel = kvm_probe.choose_accel("auto", probe)
    return accel, (kvm_probe.device_group(device) if accel == "kvm" else None)


def helper_path(run_root):
    """The stop helper as the module installs it in helper_dir."""
    helper = os.path.join(run_root, "nfv-qemu-powerdown")
    if not os.path.exists(helper):
        with open(helper, "w") as handle:
            handle.write(helper_text(sys.executable))
        os.chmod(helper, 0o755)
    return helper


def join_lab_bridge(lab, vsctl_argv, timeout=30):
    """The unit's `ovs-vsctl add-port BRIDGE TAP` step, run against `lab` (an ovs_lab.OvsLab), once QEMU holds
    the tap: the lab's ovs-vswitchd runs in a network namespace of its own, so the tap QEMU opened in this one
    moves there first (a tap keeps its queues across namespaces) and the step gets the lab's database."""
    tap = vsctl_argv[-1]
    deadline = time.time() + timeout
    while serial("/sys/class/net/%s/carrier" % tap).strip() != "1":  # carrier: a queue is attached
        if time.time() > deadline:
            pytest.fail("QEMU did not attach to tap %s" % tap)
        time.sleep(0.2)
    if lab.netns:
        subprocess.run(["ip", "link", "set", "dev", tap, "netns", lab.netns], check=True)
        subprocess.run(["ip", "-n", lab.netns, "link", "set", "dev", tap, "up"], check=True)
    subprocess.run(vsctl_argv[:1] + ["--db=" + lab.db] + vsctl_argv[1:], check=True)


def boot_guests(guests, image, run_root, hugepages, processes, lab=None):
    """Start every guest of `guests` ({name: {ip, peer}}); -> ({name: spec}, {name: serial log}).

    `lab` (an ovs_lab.OvsLab) is the Open vSwitch a tap NIC's bridge is in (join_lab_bridge)."""
    runner = ProcessRunner()
    qemu = runner.find("qemu-system-x86_64")
    accel, kvm_group = accel_here(runner, qemu, run_root)
    extra_groups = [grp.getgrnam(kvm_group).gr_gid] if kvm_group else []  # the unit's SupplementaryGroups=
    vhost_dir = os.path.join(run_root, "vhost")
    tools = dict((tool, runner.find(tool)) for tool in ("ip", "ovs-vsctl"))
    helper_path(run_root)
    uid = pwd.getpwnam(SERVICE_USER).pw_uid
    gid = grp.getgrnam(SERVICE_GROUP).gr_gid
    specs, logs = {}, {}
    for name, guest in guests.items():
        nic = dict({"type": "vhost-user"}, **(guest.get("nic") or {}))
        if nic["type"] == "vhost-user":
            nic["socket"] = os.path.join(vhost_dir, name, "net0.sock")
        spec = guest_spec({
            "name": name, "state": "started", "memory": "%dM" % GUEST_MB, "vcpus": 1,
            "hugepages": {"size": "2M", "path": hugepages},
            "kernel": image["kernel"], "initrd": image["initrd"],
            "append": guest_image.append(guest["ip"], guest["peer"], size=guest.get("size"),
                                         extra=guest.get("kernel_args", "")),
            "nics": [nic], "iommu": guest.get("iommu", False),
            "user": SERVICE_USER, "group": SERVICE_GROUP, "run_dir": run_root, "helper_dir": run_root,
        })
        argv = qemu_argv(spec, qemu, accel)
        prestart = prestart_commands(spec, tools, sys.executable)
        # the unit carries exactly this argv
        text = unit_text(spec, argv, prestart, helper_argv(spec, sys.executable), accel, kvm_group=kvm_group)
        assert unit_exec_start(text) == argv
        assert macs_in_unit(text) == [spec["nics"][0]["mac"]]
        # ExecStartPre=+ steps as root, RuntimeDirectory= owned by the service user
        joins = [cmd for cmd, _ignore in prestart if lab and os.path.basename(cmd[0]) == "ovs-vsctl"]
        for cmd, ignore in prestart:
            if cmd not in joins:
                subprocess.run(cmd, check=not ignore)
        os.makedirs(spec["run_subdir"], 0o750)
        os.chown(spec["run_subdir"], uid, gid)
        logs[name] = os.path.join(spec["run_subdir"], "serial.log")
        run_argv = qemu_argv(spec, qemu, accel, serial=logs[name])
        assert run_argv == serial_to_file(argv, logs[name])
        with open(os.path.join(run_root, name + ".qemu.out"), "w") as out:
            processes.append(subprocess.Popen(run_argv, user=uid, group=gid, extra_groups=extra_groups, umask=0o007,
                                              stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT))
        for cmd in joins:
            join_lab_bridge(lab, cmd)
        specs[name] = spec
    return specs, logs


def qmp(path, *commands):
    """The `return` of each (command, arguments) asked of QEMU over its QMP socket, in one session."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        conn.connect(path)
        stream = conn.makefile("rw")

        def ask(command, arguments=None):
            stream.write(json.dumps(dict({"execute": command}, **({"arguments": arguments} if arguments else {}))))
            stream.flush()
            while True:
                reply = json.loads(stream.readline())
                if "error" in reply:
                    raise AssertionError("QMP %s %s: %s" % (command, arguments, reply["error"]))
                if "return" in reply:
                    return reply["return"]

        json.loads(stream.readline())  # the greeting
        ask("qmp_capabilities")
        return [ask(command, arguments) for command, arguments in commands]


def wait_for_pings(logs, processes, run_root, timeout=BOOT_TIMEOUT):
    """{name: serial log} once every guest has said whether it reached its peer; fails when QEMU exits early."""
    deadline = time.time() + timeout
    done = {}
    while time.time() < deadline and len(done) < len(logs):
        for name, log in logs.items():
            text = serial(log)
            if guest_image.MARK_PING_OK in text or guest_image.MARK_PING_FAIL in text:
                done[name] = text
        for proc in processes:
            if proc.poll() is not None:
                pytest.fail("QEMU exited early (rc=%s):\n%s" % (proc.returncode, "\n".join(
                    serial(os.path.join(run_root, n + ".qemu.out")) for n in logs)))
        time.sleep(1)
    return done


def report(logs):
    return "\n".join("--- %s\n%s" % (n, serial(log)[-3000:]) for n, log in logs.items())


@contextmanager
def run_root_under_run(prefix):
    """A private directory under /run (the module requires run_dir under /run), removed afterwards."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/run")
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def guest_pings_through(name, ip, peer, port, add_port, processes):
    """Boot one guest (`ip`, pinging `peer`) whose vhost-user NIC becomes the OVS port `port` (a ports entry
    without its vhost-server-path) through `add_port(port entry)` -> a module result; the guest must reach
    `peer`. The guest is stopped afterwards. Returns add_port's result."""
    with run_root_under_run("nfvg-") as run_root, hugepage_mount(run_root, 1) as mount:
        specs, logs = boot_guests({name: {"ip": ip, "peer": peer}}, guest_image.build(), run_root, mount, processes)
        entry = dict(port, type="dpdkvhostuserclient",
                     options={"vhost-server-path": specs[name]["nics"][0]["socket"]})
        added = add_port(entry)
        assert not added.get("failed"), added.get("msg")
        done = wait_for_pings(logs, processes, run_root)
        assert guest_image.MARK_PING_OK + " " + peer in done.get(name, ""), report(logs)
        for proc in processes:
            proc.kill()
            proc.wait(timeout=30)
    return added
