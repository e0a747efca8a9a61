# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QEMU guests as systemd units: the command line, the unit, the module logic.

The pieces are pure where they can be, so that unit tests and the component
tests use the very code the unit runs:

- `qemu_spec.guest_spec(params)` validates and normalizes the module options (no host access; the NICs
  are qemu_nic_spec's);
- `qemu_argv(spec, qemu, accel)` is QEMU's exact argv, which ExecStart= runs through the helper's
  bounded console writer (`console_argv`);
- `prestart_commands(spec, tools)` are the privileged ExecStartPre=+ steps
  (hugepage and socket directories when missing, tap devices);
- the ExecStop= helper runs with a system python3 (module_utils/programs), never the module's own
  (a venv or /tmp path that the unit's PrivateTmp can hide);
- `unit_text(...)` renders the unit; `kvm_probe.cached_verdict(...)` decides KVM or TCG from a tiny
  guest that really ran under KVM as the service user (module_utils/kvm_probe);
- `QemuVm` is the PlannedModule behind nfv.dpdk.qemu_vm.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import time

from ansible_collections.nfv.dpdk.plugins.module_utils.core import accounts
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text, tail_lines, write_atomic
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import program_text, system_python
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import output_text
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import (
    SYSTEMD_BOOTED_MARKER,
    Systemd,
    exec_line,
    render_unit,
    verify_unit,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist, parse_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hugepages import (
    format_mb,
    kb_to_text,
    read_mounts,
    resolve_size,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.host.numa import memory_total_kb, node_ids
from ansible_collections.nfv.dpdk.plugins.module_utils.host.pci import PCI_ROOT
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import account as qemu_account
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import kvm_probe, qcow2
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import sriov_deps as qemu_sriov_deps
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import unit_helper as qemu_unit_helper
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.sandbox import sandbox_argv, sandbox_settings
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import HELPER_NAME, UNIT_PREFIX, guest_spec
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_reader import (
    resource_clashes,
    unit_helper_path,
    unit_resources,
    unit_taps,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.unit_paths import SOCKET_BASES

# mode of the guest's own hugepage and socket directories the unit makes when they are missing
# (root:<the guest's group>)
DIR_MODE = "0770"
# ExecStartPre=+ that creates each missing directory root:<group> DIR_MODE (a missing parent root 0755, not
# the unit's UMask) and leaves an existing one (made by an earlier start or anyone else) exactly as it is.
# A fixed script: its inputs (install's path, the group, the directories) are positional arguments.
MKDIR_SCRIPT = ('install="$1"; group="$2"; shift 2; for d in "$@"; do '
                'if [ ! -e "$d" ] && [ ! -L "$d" ]; then p="${d%/*}"; '
                'if [ ! -e "$p" ]; then "$install" -d -m 0755 "$p" || exit 1; fi; '
                '"$install" -d -o root -g "$group" -m ' + DIR_MODE + ' "$d" || exit 1; fi; done')
MKDIR_ARGV0 = "nfv-qemu-mkdir"  # $0 of the script: names it in error messages
# a guest that keeps failing is restarted at most START_LIMIT_BURST times within START_LIMIT_INTERVAL
# seconds, RESTART_SEC apart; then systemd leaves it failed (each start re-preallocates hugepages)
RESTART_SEC = 10
START_LIMIT_BURST = 3
START_LIMIT_INTERVAL = 300
LOG_DIR = "/var/log/nfv-qemu"
KEPT_CONSOLE_BYTES = 1024 * 1024  # of the previous run's console, kept as serial.log.1
CONSOLE_LOG_BYTES = 4 * 1024 * 1024  # bound of the current run's console serial.log (its latest output)


# ---------------------------------------------------------------------------------------------
# the command line


def qemu_opt(value):
    """A value inside a QEMU -opts string: commas are doubled."""
    return str(value).replace(",", ",,")


def memory_backend(spec):
    """The -object value for guest memory, or None for plain anonymous memory."""
    size = format_mb(spec["memory_mb"])
    vhost = any(n["type"] == "vhost-user" for n in spec["nics"])
    node = spec["numa_node"]
    if spec["hugepages"]:
        opts = ["memory-backend-file", "id=mem0", "size=" + size,
                "mem-path=" + qemu_opt(spec["hugepages"]["mem_dir"]), "share=on", "prealloc=on"]
    elif vhost:
        opts = ["memory-backend-memfd", "id=mem0", "size=" + size, "share=on"]
    elif node is not None:
        opts = ["memory-backend-ram", "id=mem0", "size=" + size]
    else:
        return None
    if node is not None:
        opts += ["host-nodes=%d" % node, "policy=bind"]
    return ",".join(opts)


def nic_args(spec, nic):
    ntype = nic["type"]
    if ntype == "vhost-user":
        args = ["-chardev", "socket,id=%s,path=%s,server=on,wait=off" % (nic["chardev"], qemu_opt(nic["socket"]))]
        netdev = "type=vhost-user,id=%s,chardev=%s,vhostforce=on" % (nic["id"], nic["chardev"])
        device = "virtio-net-pci,netdev=%s,mac=%s" % (nic["id"], nic["mac"])
        if nic["queues"] > 1:
            netdev += ",queues=%d" % nic["queues"]
            device += ",mq=on,vectors=%d" % (2 * nic["queues"] + 2)
        return args + ["-netdev", netdev, "-device", device]
    if ntype == "tap":
        return ["-netdev", "tap,id=%s,ifname=%s,script=no,downscript=no" % (nic["id"], nic["ifname"]),
                "-device", "virtio-net-pci,netdev=%s,mac=%s" % (nic["id"], nic["mac"])]
    if ntype == "user":
        netdev = "user,id=%s" % nic["id"] + ("" if nic["host_access"] else ",restrict=on")
        for fwd in nic["forwards"]:
            netdev += ",hostfwd=%s:%s:%d-:%d" % (fwd["protocol"], fwd["host_address"], fwd["host_port"],
                                                 fwd["guest_port"])
        return ["-netdev", netdev, "-device", "virtio-net-pci,netdev=%s,mac=%s" % (nic["id"], nic["mac"])]
    if ntype == "vfio":
        return ["-device", "vfio-pci,host=%s" % nic["host"]]
    raise NfvError("unknown NIC type %r" % (ntype,))


def log_dir(spec):
    """The guest's own log directory (LogsDirectory=, the guest's account's)."""
    return os.path.join(LOG_DIR, spec["name"])


def serial_log(spec):
    return os.path.join(log_dir(spec), "serial.log")


def qemu_argv(spec, qemu="/usr/bin/qemu-system-x86_64", accel="tcg", serial=None):
    """QEMU's argv: ExecStart= runs it through the helper's console writer (console_argv).

    `serial` makes QEMU write the serial console to that file itself (component tests outside systemd);
    everything else is what the unit runs.
    """
    argv = [qemu, "-name", "guest=%s,debug-threads=on" % spec["name"],
            "-machine", spec["machine"],
            "-accel", accel,
            "-cpu", "host" if accel == "kvm" else "max",
            "-smp", str(spec["vcpus"]),
            "-m", format_mb(spec["memory_mb"])]
    backend = memory_backend(spec)
    if backend:
        argv += ["-object", backend, "-numa", "node,memdev=mem0"]
    argv += sandbox_argv()
    argv += ["-nodefaults", "-no-user-config", "-display", "none"]
    # the console on stdout, written to serial_log (bounded) by ExecStart='s helper (console_argv)
    argv += ["-serial", "file:" + serial] if serial else ["-chardev", "stdio,id=serial0,signal=off",
                                                          "-serial", "chardev:serial0"]
    argv += ["-qmp", "unix:%s,server=on,wait=off" % qemu_opt(spec["qmp_socket"])]
    if spec["kernel"]:
        argv += ["-kernel", spec["kernel"]]
        if spec["initrd"]:
            argv += ["-initrd", spec["initrd"]]
        if spec["append"]:
            argv += ["-append", spec["append"]]
    for index, disk in enumerate(spec["disks"]):
        drive = "file=%s,format=%s,if=virtio,id=disk%d" % (qemu_opt(disk["path"]), disk["format"], index)
        if disk["readonly"]:
            drive += ",readonly=on"
        argv += ["-drive", drive]
    for nic in spec["nics"]:
        argv += nic_args(spec, nic)
    return argv


def socket_dirs(spec):
    return sorted(set(os.path.dirname(n["socket"]) for n in spec["nics"] if n["type"] == "vhost-user"))


def managed_dirs(spec):
    """The directories the unit creates when missing: the hugepage directory, then the socket directories."""
    dirs = [spec["hugepages"]["mem_dir"]] if spec["hugepages"] else []
    return dirs + socket_dirs(spec)


def prestart_commands(spec, tools):
    """Privileged preparation (ExecStartPre=+ in the unit), as argv lists.

    `tools` maps sh/install/ip/ovs-vsctl to absolute paths. Each entry is
    (argv, ignore_failure). Directories are created only when missing (MKDIR_SCRIPT): an
    existing one is never re-owned or re-moded.
    """
    cmds = []
    group = spec["group"]
    dirs = managed_dirs(spec)
    if dirs:
        cmds.append(([tools["sh"], "-c", MKDIR_SCRIPT, MKDIR_ARGV0, tools["install"], group] + dirs, False))
    for nic in spec["nics"]:
        if nic["type"] != "tap":
            continue
        cmds.append(([tools["ip"], "tuntap", "add", "dev", nic["ifname"], "mode", "tap", "user", spec["user"],
                      "group", group], True))
        cmds.append(([tools["ip"], "link", "set", "dev", nic["ifname"], "up"], False))
        if nic["bridge"]:
            cmds.append(([tools["ovs-vsctl"], "--timeout=30", "--may-exist", "add-port", nic["bridge"],
                          nic["ifname"]], False))
    return cmds


def needed_tools(spec):
    tools = set()
    if managed_dirs(spec):
        tools.update(("sh", "install"))
    for nic in spec["nics"]:
        if nic["type"] == "tap":
            tools.add("ip")
            if nic["bridge"]:
                tools.add("ovs-vsctl")
    return sorted(tools)


def device_allow(spec, accel, vfio_groups):
    devices = []
    if accel == "kvm":
        devices.append("/dev/kvm")
    if any(n["type"] == "tap" for n in spec["nics"]):
        devices.append("/dev/net/tun")
    if vfio_groups:
        devices.append("/dev/vfio/vfio")
        devices.extend("/dev/vfio/%s" % g for g in sorted(set(vfio_groups), key=int))
    return devices


def unit_text(spec, argv, prestart, helper_argv, accel, vfio_groups=None, kvm_group=None, sriov_unit=None):
    """The unit file of one guest; kvm_group is the group of a root:GROUP 0660 /dev/kvm (for KVM)."""
    vfio_groups = vfio_groups or []
    vhost = bool(socket_dirs(spec))
    bridged = any(n["type"] == "tap" and n["bridge"] for n in spec["nics"])
    after = ["network.target"]
    if vhost or bridged:
        after += ["ovs-vswitchd.service", "openvswitch-switch.service"]
    service = [
        ("Type", "simple"),
        ("User", spec["user"]),
        ("Group", spec["group"]),
    ]
    groups = [spec["service_group"]] if spec["own_account"] else []
    if accel == "kvm" and kvm_group:
        groups.append(kvm_group)
    if groups:  # the shared service group opens the /dev/vfio groups; DeviceAllow= keeps each guest to its own
        service.append(("SupplementaryGroups", " ".join(groups)))
    service.append(("UMask", "0077"))
    for argv_pre, ignore in prestart:
        service.append(("ExecStartPre", exec_line(argv_pre, prefix="-+" if ignore else "+", group_options=False)))
    service += [
        ("ExecStartPre", exec_line(keep_console_argv(spec, helper_argv[0]), prefix="-", group_options=False)),
        ("ExecStart", exec_line(console_argv(spec, helper_argv[0], argv))),
    ]
    pin = pin_argv(spec, helper_argv[0])
    if pin:  # after QEMU started: each vCPU thread to its vcpu_pins entry, the others to emulator_cpus
        service.append(("ExecStartPost", exec_line(pin, group_options=False)))
    service += [
        ("ExecStop", exec_line(helper_argv, group_options=False)),
        ("TimeoutStopSec", "%ds" % (spec["stop_timeout"] + 15)),
        ("Restart", "on-failure"),
        ("RestartSec", "%ds" % RESTART_SEC),
        ("RuntimeDirectory", os.path.relpath(spec["run_subdir"], "/run")),
        ("RuntimeDirectoryMode", "0750"),
        ("LogsDirectory", os.path.relpath(log_dir(spec), "/var/log")),
        ("LogsDirectoryMode", "0750"),
    ]
    if spec["cpu_affinity"]:
        service.append(("CPUAffinity", format_cpulist(spec["cpu_affinity"])))
    if spec["numa_node"] is not None:
        service += [("NUMAPolicy", "bind"), ("NUMAMask", str(spec["numa_node"]))]
    rw = list(socket_dirs(spec))
    if spec["hugepages"]:
        rw.append(spec["hugepages"]["mem_dir"])
    rw += [d["path"] for d in spec["disks"] if not d["readonly"]]
    service += [
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("ProtectSystem", "strict"),
    ]
    for path in rw:
        service.append(("ReadWritePaths", "-" + path))
    if spec["hugepages"]:  # /dev is not read-only under ProtectSystem: the mount root is, its own directory not
        service.append(("ReadOnlyPaths", "-" + spec["hugepages"]["path"]))
    service += [
        ("ProtectHome", "read-only"),
        ("PrivateTmp", "yes"),
        ("DevicePolicy", "closed"),
    ]
    for dev in device_allow(spec, accel, vfio_groups):
        service.append(("DeviceAllow", "%s rw" % dev))
    service += sandbox_settings(spec, vfio_groups)
    sections = [
        ("Unit", [("Description", "QEMU guest %s (nfv.dpdk)" % spec["name"]),
                  *qemu_sriov_deps.unit_ordering(after, sriov_unit),  # a VF passed through: its unit first
                  # bounded restarts: a guest that keeps failing ends failed, not in a loop
                  ("StartLimitIntervalSec", "%ds" % START_LIMIT_INTERVAL),
                  ("StartLimitBurst", str(START_LIMIT_BURST))]),
        ("Service", service),
        ("Install", [("WantedBy", "multi-user.target")]),
    ]
    header = ("Managed by nfv.dpdk.qemu_vm: local changes are overwritten.\n"
              "Guest %s, accel %s, QMP %s" % (spec["name"], accel, spec["qmp_socket"]))
    return render_unit(sections, header=header)


# ---------------------------------------------------------------------------------------------
# the ExecStop= and ExecStartPost= helper: module_utils/qemu_unit_helper.py, a program of its own.
# Importing it here puts it in the module's payload; its source is read from there.

# seconds the ExecStartPost= pin step waits for QEMU's QMP greeting (hugepage preallocation comes first);
# below systemd's default TimeoutStartSec= of 90 s, which bounds ExecStartPost= too
PIN_TIMEOUT = 75


def helper_text(python):
    return program_text(qemu_unit_helper, python)


def helper_argv(spec, python):
    return [python, os.path.join(spec["helper_dir"], HELPER_NAME), spec["qmp_socket"], str(spec["stop_timeout"])]


def keep_console_argv(spec, python):
    """ExecStartPre= as the service user: the previous run's console kept as serial.log.1 (bounded)."""
    return [python, os.path.join(spec["helper_dir"], HELPER_NAME), "keep-console", serial_log(spec),
            str(KEPT_CONSOLE_BYTES)]


def console_argv(spec, python, argv, log=None):
    """ExecStart=: the helper's console writer (serial_log, or `log`, at most CONSOLE_LOG_BYTES), then exec QEMU."""
    return [python, os.path.join(spec["helper_dir"], HELPER_NAME), "console", log or serial_log(spec),
            str(CONSOLE_LOG_BYTES), "--"] + argv


def pin_argv(spec, python):
    """ExecStartPost= of a guest with vcpu_pins: the helper's pin subcommand; None without vcpu_pins."""
    if not spec.get("vcpu_pins"):
        return None
    return ([python, os.path.join(spec["helper_dir"], HELPER_NAME), "pin", spec["qmp_socket"], str(PIN_TIMEOUT),
             format_cpulist(spec["emulator_cpus"]) if spec["emulator_cpus"] else "-"]
            + [format_cpulist(cpus) for cpus in spec["vcpu_pins"]])


def failure_cause(journal, err=None, unit=None):
    """The cause of a failed start in one line: the guest's own journal lines (QEMU's stderr, the
    ExecStartPre= steps), without timestamps and repeats, the last three; else systemctl's stderr."""
    messages = []
    for line in journal or []:
        if " systemd[1]: " in line or line.startswith("-- "):
            continue
        text = line.split("]: ", 1)[1] if "]: " in line else line
        text = text.strip()
        if text in messages:
            messages.remove(text)
        if text:
            messages.append(text)
    if messages:
        return " | ".join(messages[-3:])
    err = output_text(err).strip()
    if err:
        return err
    return "no output from the guest; see journalctl -u %s" % unit


# ---------------------------------------------------------------------------------------------
# acceleration


def is_running(active_state, sub_state):
    """A unit counts as running unless it is inactive, failed or waiting to be restarted after a crash."""
    if active_state in ("active", "reloading"):
        return True
    return active_state == "activating" and sub_state != "auto-restart"


# ---------------------------------------------------------------------------------------------
# the module


class QemuVm(PlannedModule):
    """nfv.dpdk.qemu_vm: read -> plan -> diff -> apply -> report."""

    systemd_marker = SYSTEMD_BOOTED_MARKER  # what says systemd runs this host (a fixture dir in tests)

    def validate(self):
        self.spec = guest_spec(self.params)
        self.systemd = Systemd(self.runner, booted_marker=self.systemd_marker)
        self.unit_path = os.path.join(self.spec["unit_dir"], self.spec["unit"])
        self.helper_path = os.path.join(self.spec["helper_dir"], HELPER_NAME)

    # -- read ----------------------------------------------------------------------------------
    def read(self):
        spec = self.spec
        state = spec["state"]
        ok, why = self.systemd.available()
        if state in ("started", "stopped") and not ok:
            raise NfvError("state=%s needs systemd to manage the unit %s, but %s; use state=present to only "
                           "install the unit file" % (state, spec["unit"], why), unit=spec["unit"])
        current = {
            "unit_text": read_text(self.unit_path),
            "helper_text": read_text(self.helper_path),
            "systemd": ok,
            "systemd_problem": why,
            "active": None,
            "enabled": None,
            "running_argv": None,
            # the guest's own account (None with a user of the description's choice)
            "account": qemu_account.read_account(spec["user"], spec["name"]) if spec["own_account"] else None,
        }
        if ok:
            st = self.systemd.state(spec["unit"])
            current["active"] = st["active"]
            current["sub"] = st["sub"]
            current["enabled"] = st["enabled"]
            # what the running guest was started with: a unit written earlier without a restart
            # still differs from it on later runs
            current["running_argv"] = self.systemd.process_argv(st["main_pid"])
        if state == "absent":
            current.update(self._leftovers(current["unit_text"], current["account"]))
            return current
        if not os.path.isdir(spec["unit_dir"]):
            raise NfvError("unit_dir %s does not exist" % spec["unit_dir"])
        qemu = self.params.get("qemu_binary") or "qemu-system-x86_64"
        qemu_path = qemu if os.path.isabs(qemu) else self.runner.find(qemu)
        if not qemu_path or not os.path.exists(qemu_path):
            raise NfvError("QEMU (%s) is not installed on this host; install qemu-system-x86 (the role "
                           "nfv.dpdk.qemu_vms does)" % qemu)
        current["qemu"] = qemu_path
        current["probe"] = None
        current["kvm_device"] = kvm_probe.stat_or_none()  # os.stat of /dev/kvm, None when absent
        requested = self.params.get("accel", "auto")
        if requested == "auto":
            # a guest's own account reaches /dev/kvm only through its groups: probed once per host as nobody
            user, group = ("nobody", spec["service_group"]) if spec["own_account"] else (spec["user"], spec["group"])
            current["probe"] = kvm_probe.cached_verdict(self.runner, qemu_path, user, group,
                                                        self.params["accel_probe_cache"], current["kvm_device"])
            if not current["probe"]["usable"]:
                self.warn("accel=auto chose TCG (slow emulation) for guest %s: %s"
                          % (spec["name"], current["probe"]["reason"]))
        current["accel"] = kvm_probe.choose_accel(requested, current["probe"])
        current["kvm_group"] = None
        if current["accel"] == "kvm":
            current["kvm_group"] = kvm_probe.device_group(current["kvm_device"])
        tools = {}
        for tool in needed_tools(spec):
            path = self.runner.find(tool)
            if not path:
                raise NfvError("the guest needs '%s' on the host (for %s)" % (
                    tool, "tap devices" if tool == "ip" else "OVS bridges" if tool == "ovs-vsctl" else "directories"))
            tools[tool] = path
        current["tools"] = tools
        current["python"] = system_python(self.runner, "the guest unit's stop helper (ExecStop=)")
        current["vfio_groups"] = self._vfio_groups()
        current["sriov_unit"] = qemu_sriov_deps.sriov_unit_of(self.fs, spec["nics"])  # Requires= for a VF
        self._host_checks(current)
        current["disk_owners"] = qemu_account.disk_owner_changes(
            [d["path"] for d in spec["disks"]], "%s:%s" % (spec["user"], spec["group"])) if spec["own_account"] else []
        # the unit this host gets, and its systemd's verdict on it (systemd-analyze verify): plan stays off the host
        current["desired"] = self.desired(current)
        current["verify"] = verify_unit(self.runner, spec["unit"], current["desired"][1])
        return current

    def _leftovers(self, text, account):
        """What state=absent removes beside the unit: the tap devices the unit created and the stop helper
        its ExecStop= names when no other guest unit in unit_dir uses it. Without the unit (removed
        already) nothing else is touched: a helper elsewhere may serve guests of another unit_dir."""
        spec = self.spec
        helper = unit_helper_path(text)
        users = []
        if helper and os.path.isdir(spec["unit_dir"]):
            for entry in sorted(os.listdir(spec["unit_dir"])):
                mine = entry.startswith(UNIT_PREFIX) and entry.endswith(".service") and entry != spec["unit"]
                if mine and unit_helper_path(read_text(os.path.join(spec["unit_dir"], entry))) == helper:
                    users.append(entry)
        helper_text_now = read_text(helper) if helper and not users else None
        owned = []  # the guest's disks its account owns: given back to root
        if account and account["exists"] and account["ours"]:
            owned = qemu_account.owned_files(unit_resources(text)["disk"], account["uid"])
        owners = qemu_account.disk_owner_changes(owned, qemu_account.ROOT_OWNER)
        taps = []
        for tap in unit_taps(text):
            base = "/sys/class/net/%s" % tap["ifname"]
            if not self.fs.exists(base + "/tun_flags"):
                continue  # gone already, or not a tap device
            owner, group = self.fs.read_int(base + "/owner"), self.fs.read_int(base + "/group")
            uid, gid = accounts.uid_of(tap["user"]), accounts.gid_of(tap["group"])
            if uid is None or owner != uid or gid is None or group != gid:
                self.warn("tap device %s is left in place: it is owned by %s:%s, not %s:%s as the unit "
                          "creates it, so the unit did not create it"
                          % (tap["ifname"], owner, group, tap["user"], tap["group"]))
                continue
            taps.append(tap)
        return {"helper_path": helper, "helper_text": helper_text_now, "taps": taps, "disk_owners": owners}

    def _kvm_access(self, device, kvm_group):
        """Why the unit's credentials cannot open /dev/kvm (accel=kvm), or None."""
        try:
            uid, _gid, gids = kvm_probe.credentials(self.spec["user"], self.spec["group"],
                                                    [kvm_group] if kvm_group else [])
        except KeyError:
            return None  # reported above as a missing user or group
        ok, reason = kvm_probe.device_access(device, uid, gids)
        return None if ok else "accel=kvm, but the guest cannot use KVM: %s" % reason

    def _vfio_groups(self):
        groups = []
        for nic in self.spec["nics"]:
            if nic["type"] != "vfio":
                continue
            base = "%s/%s" % (PCI_ROOT, nic["host"])
            if not self.fs.exists(base):
                raise NfvError("vfio device %s does not exist on this host" % nic["host"])
            group = self.fs.link_name(base + "/iommu_group")
            if group is None:
                raise NfvError("vfio device %s has no IOMMU group: enable the IOMMU (intel_iommu=on / "
                               "amd_iommu=on) first" % nic["host"])
            driver = self.fs.link_name(base + "/driver")
            if driver != "vfio-pci":
                msg = "vfio device %s is bound to %s, not vfio-pci (nfv.dpdk.pci_driver binds it)" % (
                    nic["host"], driver or "no driver")
                if self.spec["state"] == "started":
                    raise NfvError(msg)
                self.warn(msg)
            groups.append(group)
        return groups

    def _host_checks(self, current):
        spec = self.spec
        problems, gid = qemu_account.credential_problems(spec, current["account"], self.check_mode, self.warn)
        problems += self._size_problems()
        problems += self._directory_problems(gid)
        problems += self._tap_problems()
        if self.params.get("accel") == "kvm":
            problem = self._kvm_access(current["kvm_device"], current["kvm_group"])
            if problem and spec["state"] == "started":
                problems.append(problem)
            elif problem:
                self.warn(problem)
        if spec["hugepages"]:
            try:
                resolve_size(self.fs, spec["hugepages"]["size"])
            except NfvError as exc:
                problems.append(exc.msg)
            mounts = [m for m in read_mounts(self.fs) if m["path"] == spec["hugepages"]["path"]]
            if not mounts:
                msg = "hugepages.path %s is not a hugetlbfs mount" % spec["hugepages"]["path"]
                if spec["state"] == "started":
                    problems.append(msg)
                else:
                    self.warn(msg)
            elif mounts[0]["size_kb"] != spec["hugepages"]["size_kb"]:
                problems.append("hugepages.path %s holds %s pages, not %s" % (
                    spec["hugepages"]["path"], mounts[0]["size"], spec["hugepages"]["size"]))
        if spec["numa_node"] is not None:
            nodes = node_ids(self.fs)
            if nodes and spec["numa_node"] not in nodes:
                problems.append("numa_node %d does not exist; this host has nodes %s" % (
                    spec["numa_node"], ", ".join(str(n) for n in nodes)))
        if spec["cpu_affinity"]:
            online = parse_cpulist(self.fs.read("/sys/devices/system/cpu/online") or "")
            fields = [("cpu_affinity", self.params.get("cpu_affinity") and spec["cpu_affinity"])]
            fields += [("vcpu_pins[%d]" % i, cpus) for i, cpus in enumerate(spec["vcpu_pins"])]
            fields.append(("emulator_cpus", spec["emulator_cpus"]))
            for field, cpus in fields:
                missing = [c for c in cpus or [] if online and c not in online]
                if missing:
                    problems.append("%s CPUs %s are not online (online: %s)" % (
                        field, format_cpulist(missing), format_cpulist(online)))
        for path in [spec["kernel"], spec["initrd"]] + [d["path"] for d in spec["disks"]]:
            if path and not os.path.exists(path):
                msg = "%s does not exist" % path
                if spec["state"] == "started":
                    problems.append(msg)
                else:
                    self.warn(msg)
        problems += qcow2.disk_problems(spec["disks"])  # backing chains stay in the disk's directory
        # MACs, sockets, tap devices, vfio devices and runtime directories of the other guests
        # this module manages
        for entry in sorted(os.listdir(spec["unit_dir"])):
            if not entry.startswith(UNIT_PREFIX) or not entry.endswith(".service") or entry == spec["unit"]:
                continue
            other = read_text(os.path.join(spec["unit_dir"], entry)) or ""
            problems += resource_clashes(spec, entry, unit_resources(other))
        problems = [p for p in problems if p]
        if problems:
            raise NfvError("guest %s cannot be set up on this host: %s" % (spec["name"], "; ".join(problems)),
                           problems=problems)

    def _size_problems(self):
        """memory against the host's (or the NUMA node's) memory; vcpus above the online CPUs warn."""
        spec = self.spec
        problems = []
        online = parse_cpulist(self.fs.read("/sys/devices/system/cpu/online") or "")
        if online and spec["vcpus"] > len(online):
            self.warn("vcpus %d is more than the %d CPUs online on this host: the guest's vCPUs share "
                      "host CPUs" % (spec["vcpus"], len(online)))
        if not spec["memory_mb"]:
            return problems
        memory_kb = spec["memory_mb"] * 1024
        if spec["numa_node"] is not None:
            node_kb = memory_total_kb(self.fs, spec["numa_node"])
            if node_kb and memory_kb > node_kb:
                problems.append("memory %s is more than NUMA node %d has (MemTotal %s)"
                                % (kb_to_text(memory_kb), spec["numa_node"], kb_to_text(node_kb)))
                return problems
        total_kb = memory_total_kb(self.fs)
        if total_kb and memory_kb > total_kb:
            problems.append("memory %s is more than this host has (MemTotal %s)"
                            % (kb_to_text(memory_kb), kb_to_text(total_kb)))
        return problems

    def _managed_dirs(self):
        """(field, directory, base) of every directory the unit creates and owns at start."""
        spec = self.spec
        dirs = []
        if spec["hugepages"]:
            dirs.append(("hugepages.path", spec["hugepages"]["mem_dir"], spec["hugepages"]["path"]))
        seen = set()
        for nic in spec["nics"]:
            if nic["type"] != "vhost-user" or os.path.dirname(nic["socket"]) in seen:
                continue
            directory = os.path.dirname(nic["socket"])
            seen.add(directory)
            base = next(b for b in SOCKET_BASES if directory.startswith(b + "/"))
            dirs.append(("nics[%d].socket" % nic["index"], directory, base))
        return dirs

    def _directory_problems(self, gid):
        """A directory the unit uses must be missing (the unit creates it) or already root:<group>.

        The unit never re-owns or re-modes an existing directory, so the guest (running as
        user:group) could not create its socket or memory file in one of someone else; and a
        path through a symbolic link would make the unit create a directory elsewhere. Both are
        refused here, before a unit is written.
        """
        problems = []
        for field, directory, base in self._managed_dirs():
            real_base = self.fs.realpath(base) or base
            expected = os.path.normpath(os.path.join(real_base, os.path.relpath(directory, base)))
            real = self.fs.realpath(directory)
            if real != expected:
                problems.append("%s: the directory %s leads through a symbolic link to %s; the unit would create "
                                "that directory there" % (field, directory, real or "outside"))
                continue
            try:
                info = os.lstat(self.fs.path(directory))
            except OSError:
                continue  # missing: the unit creates it
            if not stat.S_ISDIR(info.st_mode):
                problems.append("%s: %s exists and is not a directory" % (field, directory))
            elif info.st_uid != 0 or gid is None or info.st_gid != gid:
                owner = "%s:%s" % (accounts.user_name(info.st_uid), accounts.group_name(info.st_gid))
                problems.append("%s: the directory %s exists owned by %s, not root:%s; the unit creates it root:%s "
                                "mode %s only when it is missing and never re-owns a directory, so the guest could "
                                "not use this one: remove it, or fix its owner" % (
                                    field, directory, owner, self.spec["group"], self.spec["group"], DIR_MODE))
        return problems

    def _tap_problems(self):
        """A tap NIC's ifname must be free or a tap device: the unit brings it up and may add it to a bridge."""
        problems = []
        for nic in self.spec["nics"]:
            if nic["type"] != "tap":
                continue
            base = "/sys/class/net/%s" % nic["ifname"]
            if self.fs.exists(base) and not self.fs.exists(base + "/tun_flags"):
                problems.append("nics[%d].ifname %s is an existing network interface that is not a tap device: "
                                "the unit would bring it up%s; choose a name of its own"
                                % (nic["index"], nic["ifname"],
                                   " and add it to bridge %s" % nic["bridge"] if nic["bridge"] else ""))
        return problems

    # -- plan ----------------------------------------------------------------------------------
    def desired(self, current):
        spec = self.spec
        python = current["python"]
        argv = qemu_argv(spec, current["qemu"], current["accel"])
        prestart = prestart_commands(spec, current["tools"])
        text = unit_text(spec, argv, prestart, helper_argv(spec, python), current["accel"],
                         current["vfio_groups"], current["kvm_group"], current["sriov_unit"])
        return argv, text, helper_text(python)

    def plan(self, current):
        self._plan = self._make_plan(current)
        return self._plan

    def _make_plan(self, current):
        spec = self.spec
        plan = Plan()
        self.restart_required = False
        self.argv = None
        self.verify = None
        active = is_running(current["active"], current.get("sub"))
        enabled = current["enabled"] in ("enabled", "enabled-runtime")
        want_enabled = self.params.get("enabled")
        if spec["state"] == "absent":
            if active:
                plan.add("state", "running", "stopped", action="stop")
            if enabled:
                plan.add("enabled", True, False, action="disable")
            if current["unit_text"] is not None:
                plan.add("unit", current["unit_text"], None, action="delete")
            for tap in current["taps"]:
                plan.add("tap " + tap["ifname"], "present" + (" (port of %s)" % tap["bridge"] if tap["bridge"] else ""),
                         None, action="delete_tap", tap=tap)
            if current["helper_text"] is not None:
                plan.add("helper", current["helper_text"], None, action="delete_helper")
            for path, before, after in current["disk_owners"]:  # given back to root
                plan.add("disk " + path, before, after, action="own_disk", path=path, owner=qemu_account.ROOT_OWNER)
            account = current["account"]
            if account and account["exists"] and account["ours"]:
                plan.add("account", account["name"], None, action="delete_account")
            return plan

        argv, text, helper = current["desired"]
        self.argv = argv
        self.unit_text = text
        self.verify = current["verify"]
        if spec["own_account"] and not current["account"]["exists"]:
            plan.add("account", None, spec["user"], action="create_account")
        for path, before, after in current["disk_owners"]:  # given to the guest's own account
            plan.add("disk " + path, before, after, action="own_disk", path=path,
                     owner="%s:%s" % (spec["user"], spec["group"]))
        if current["helper_text"] != helper:
            plan.add("helper", current["helper_text"], helper, action="write_helper")
        unit_change = plan.add_if_differs("unit", current["unit_text"], text, action="write_unit")
        running = current["running_argv"]
        stale = unit_change is not None or (running is not None and running != argv)

        if spec["state"] == "started" and want_enabled is None:
            want_enabled = True
        if current["systemd"] and want_enabled is not None and want_enabled != enabled:
            plan.add("enabled", enabled, want_enabled, action="enable" if want_enabled else "disable")
        if spec["state"] == "started":
            if not active:
                plan.add("state", current["active"], "running", action="start")
            elif stale:
                if self.params.get("restart_on_change"):
                    plan.add("state", "running (old definition)", "running", action="restart")
                else:
                    self.restart_required = True
        elif spec["state"] == "stopped" and active:
            plan.add("state", "running", "stopped", action="stop")
        elif spec["state"] == "present" and active and stale:
            self.restart_required = True
        return plan

    # -- apply ---------------------------------------------------------------------------------
    def apply(self, plan, current):
        spec = self.spec
        unit = spec["unit"]
        actions = dict((c.action, c) for c in plan)
        if "create_account" in actions:
            qemu_account.create(self.runner, spec["user"], spec["name"])
        if "stop" in actions:
            self.systemd.stop(unit)
        if "disable" in actions:
            self.systemd.disable(unit)
        if "delete" in actions:
            os.unlink(self.unit_path)
            if current["systemd"]:
                self.systemd.daemon_reload()
                # a unit that had failed stays loaded as "not-found failed" until this: leave no trace
                self.systemd.reset_failed(unit)
        for change in plan.by_action("delete_tap"):
            self._delete_tap(change.data["tap"])
        if "delete_helper" in actions:
            os.unlink(current["helper_path"])
        for change in plan.by_action("own_disk"):
            qemu_account.give(change.data["path"], change.data["owner"])
        if "delete_account" in actions:
            qemu_account.remove(self.runner, actions["delete_account"].before)
        if "write_helper" in actions:
            if not os.path.isdir(spec["helper_dir"]):
                os.makedirs(spec["helper_dir"], 0o755)
            write_atomic(self.helper_path, actions["write_helper"].after, self.module, mode=0o755)
        if "write_unit" in actions:
            write_atomic(self.unit_path, actions["write_unit"].after, self.module, mode=0o644)
            if current["systemd"]:
                self.systemd.daemon_reload()
        if "enable" in actions:
            self.systemd.enable(unit)
        if "start" in actions or "restart" in actions:
            self.systemd.reset_failed(unit)
            self.started_at = int(time.time())
            rc, _out, err = (self.systemd.start(unit) if "start" in actions else self.systemd.restart(unit))
            self._wait_running(rc, err)

    def _delete_tap(self, tap):
        """Remove a tap device the unit created, and its port on the OVS bridge the unit added it to."""
        if tap["bridge"] and self.runner.has("ovs-vsctl"):
            rc, _out, err = self.runner.run("ovs-vsctl", ["--timeout=30", "--if-exists", "del-port", tap["bridge"],
                                                          tap["ifname"]], check=False)
            if rc != 0:
                self.warn("removing port %s from bridge %s failed (%s); remove it with ovs-vsctl "
                          "del-port" % (tap["ifname"], tap["bridge"], output_text(err).strip()))
        self.runner.run("ip", ["tuntap", "del", "dev", tap["ifname"], "mode", "tap"])

    @staticmethod
    def _stays_up(st, pid):
        """Active, never restarted automatically, and still the process that started."""
        return st["active"] == "active" and st["n_restarts"] == 0 and (not pid or st["main_pid"] == pid)

    def _wait_running(self, rc, err):
        """The guest must stay up for start_check_seconds; otherwise stop it and fail with the cause.

        The safe state after a failed start: the unit is stopped (no automatic restart pending, so no
        loop re-preallocating hugepages), stays installed and keeps its enablement; the error quotes
        the guest's journal (QEMU's stderr) and the end of its serial log.
        """
        unit = self.spec["unit"]
        settle = int(self.params.get("start_check_seconds") or 0)
        deadline = time.time() + settle
        st = self.systemd.state(unit)
        pid = st["main_pid"]
        while rc == 0 and time.time() < deadline and self._stays_up(st, pid):
            time.sleep(0.5)
            st = self.systemd.state(unit)
        if rc == 0 and self._stays_up(st, pid):
            return
        self.systemd.stop(unit, check=False)
        after = self.systemd.state(unit)
        journal = self.systemd.journal_tail(unit, 40, since=getattr(self, "started_at", None))
        serial = tail_lines(serial_log(self.spec))
        raise NfvError(
            "guest %s failed to start (unit %s was %s/%s, result %s, %d automatic restarts): %s. The unit was "
            "stopped (now %s/%s, no restart pending) and stays %s; fix the cause and run again"
            % (self.spec["name"], unit, st["active"], st["sub"], st["result"] or "unknown", st["n_restarts"],
               failure_cause(journal, err, unit), after["active"], after["sub"], after["enabled"]),
            unit=unit, journal=journal, serial_tail=serial, unit_state=after)

    # -- report --------------------------------------------------------------------------------
    def report(self, current, plan):
        spec = self.spec
        result = {
            "name": spec["name"],
            "unit": spec["unit"],
            "unit_path": self.unit_path,
            "restart_required": bool(getattr(self, "restart_required", False)),
            "systemd": current["systemd"],
        }
        if spec["state"] != "absent":
            result.update({
                "argv": self.argv,
                "accel": current["accel"],
                "accel_probe": current["probe"],
                "qmp_socket": spec["qmp_socket"],
                "serial_log": serial_log(spec),
                "macs": [n["mac"] for n in spec["nics"] if n.get("mac")],
                "unit_text": self.unit_text,
                "verify": self.verify,
            })
        if not current["systemd"]:
            self.warn("unit file only: %s" % current["systemd_problem"])
        if current["systemd"] and not self.check_mode:
            st = self.systemd.state(spec["unit"])
            result["active_state"] = st["active"]
            result["enabled_state"] = st["enabled"]
        return result

    def run(self):
        result = PlannedModule.run(self)
        if self.module._diff:
            result["diff"] = self._diff()
        return result

    def _diff(self):
        """Ansible diffs: the unit (and helper) text as files, state changes as small dicts."""
        diffs = []
        for change in self._plan.changes:
            if change.key in ("unit", "helper"):
                path = self.unit_path if change.key == "unit" else self.helper_path
                diffs.append({"before_header": path if change.before is not None else "%s (absent)" % path,
                              "after_header": path if change.after is not None else "%s (absent)" % path,
                              "before": change.before or "", "after": change.after or ""})
            else:
                diffs.append({"before": {change.key: change.before}, "after": {change.key: change.after}})
        return diffs
