# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The text of a guest's systemd unit (pure, no host access): its ordering, service account, the commands it runs
(QEMU's argv from qemu/argv.py, the others from qemu/unit_commands.py), bounded restarts, its directories and its
confinement (devices here, the sandbox from qemu/sandbox.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import exec_line, render_unit
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import sriov_deps as qemu_sriov_deps
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.nic_spec import TUN_DEVICE
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.sandbox import sandbox_settings
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_commands import (
    console_argv,
    keep_console_argv,
    log_dir,
    pin_argv,
    socket_dirs,
)

# a guest that keeps failing is restarted at most START_LIMIT_BURST times within START_LIMIT_INTERVAL
# seconds, RESTART_SEC apart; then systemd leaves it failed (each start re-preallocates hugepages)
RESTART_SEC = 10
START_LIMIT_BURST = 3
START_LIMIT_INTERVAL = 300


def device_allow(spec, accel, vfio_groups):
    devices = []
    if accel == "kvm":
        devices.append("/dev/kvm")
    if any(n["type"] == "tap" for n in spec["nics"]):
        devices.append(TUN_DEVICE)
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
