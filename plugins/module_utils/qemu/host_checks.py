# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What qemu_vm checks on the host before it changes anything (its read phase): the guest's account, memory
and CPUs against the host's, the directories the unit creates, tap names, /dev/kvm, the hugepage mount, boot
files and disks, the vfio devices, and the resources of the other guests' units.

`check_host` raises one NfvError naming every problem; a problem that a run creating things first (or a guest
left stopped) would not meet only warns.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.nfv.dpdk.plugins.module_utils.core import accounts
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist, parse_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hugepages import kb_to_text, read_mounts, resolve_size
from ansible_collections.nfv.dpdk.plugins.module_utils.host.numa import memory_total_kb, node_ids
from ansible_collections.nfv.dpdk.plugins.module_utils.host.pci import PCI_ROOT
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import account as qemu_account
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import kvm_probe, qcow2
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.nic_spec import TUN_DEVICE
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import UNIT_PREFIX
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_commands import DIR_MODE
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_reader import resource_clashes, unit_resources
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.unit_paths import SOCKET_BASES


def check_host(fs, spec, params, current, check_mode, warn):
    """Every problem of this host for the guest `spec`, raised as one NfvError; `current` is what read found."""
    problems, gid = qemu_account.credential_problems(spec, current["account"], check_mode, warn)
    problems += size_problems(fs, spec, warn)
    problems += directory_problems(fs, spec, gid)
    problems += tap_problems(fs, spec)
    problem = tun_problem(fs, spec)
    if problem and spec["state"] == "started":
        problems.append(problem)
    elif problem:
        warn(problem)
    if params.get("accel") == "kvm":
        problem = kvm_access_problem(spec, current["kvm_device"], current["kvm_group"])
        if problem and spec["state"] == "started":
            problems.append(problem)
        elif problem:
            warn(problem)
    problems += hugepage_problems(fs, spec, warn)
    problems += placement_problems(fs, spec, params)
    problems += missing_file_problems(spec, warn)
    problems += qcow2.disk_problems(spec["disks"])  # backing chains stay in the disk's directory
    problems += clash_problems(spec)
    problems = [p for p in problems if p]
    if problems:
        raise NfvError("guest %s cannot be set up on this host: %s" % (spec["name"], "; ".join(problems)),
                       problems=problems)


def vfio_groups(fs, spec, warn):
    """The IOMMU groups of the guest's vfio devices; a device missing or without a group is refused, one not
    bound to vfio-pci too when the guest is to run (else it warns)."""
    groups = []
    for nic in spec["nics"]:
        if nic["type"] != "vfio":
            continue
        base = "%s/%s" % (PCI_ROOT, nic["host"])
        if not fs.exists(base):
            raise NfvError("vfio device %s does not exist on this host" % nic["host"])
        group = fs.link_name(base + "/iommu_group")
        if group is None:
            raise NfvError("vfio device %s has no IOMMU group: enable the IOMMU (intel_iommu=on / "
                           "amd_iommu=on) first" % nic["host"])
        driver = fs.link_name(base + "/driver")
        if driver != "vfio-pci":
            msg = "vfio device %s is bound to %s, not vfio-pci (nfv.dpdk.pci_driver binds it)" % (
                nic["host"], driver or "no driver")
            if spec["state"] == "started":
                raise NfvError(msg)
            warn(msg)
        groups.append(group)
    return groups


def kvm_access_problem(spec, device, kvm_group):
    """Why the unit's credentials cannot open /dev/kvm (accel=kvm), or None."""
    try:
        uid, _gid, gids = kvm_probe.credentials(spec["user"], spec["group"], [kvm_group] if kvm_group else [])
    except KeyError:
        return None  # reported by credential_problems as a missing user or group
    ok, reason = kvm_probe.device_access(device, uid, gids)
    return None if ok else "accel=kvm, but the guest cannot use KVM: %s" % reason


def size_problems(fs, spec, warn):
    """memory against the host's (or the NUMA node's) memory; vcpus above the online CPUs warn."""
    problems = []
    online = parse_cpulist(fs.read("/sys/devices/system/cpu/online") or "")
    if online and spec["vcpus"] > len(online):
        warn("vcpus %d is more than the %d CPUs online on this host: the guest's vCPUs share "
             "host CPUs" % (spec["vcpus"], len(online)))
    if not spec["memory_mb"]:
        return problems
    memory_kb = spec["memory_mb"] * 1024
    if spec["numa_node"] is not None:
        node_kb = memory_total_kb(fs, spec["numa_node"])
        if node_kb and memory_kb > node_kb:
            problems.append("memory %s is more than NUMA node %d has (MemTotal %s)"
                            % (kb_to_text(memory_kb), spec["numa_node"], kb_to_text(node_kb)))
            return problems
    total_kb = memory_total_kb(fs)
    if total_kb and memory_kb > total_kb:
        problems.append("memory %s is more than this host has (MemTotal %s)"
                        % (kb_to_text(memory_kb), kb_to_text(total_kb)))
    return problems


def managed_dir_fields(spec):
    """(field, directory, base) of every directory the unit creates and owns at start."""
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


def directory_problems(fs, spec, gid):
    """A directory the unit uses must be missing (the unit creates it) or already root:<group>.

    The unit never re-owns or re-modes an existing directory, so the guest (running as
    user:group) could not create its socket or memory file in one of someone else; and a
    path through a symbolic link would make the unit create a directory elsewhere. Both are
    refused here, before a unit is written.
    """
    problems = []
    for field, directory, base in managed_dir_fields(spec):
        real_base = fs.realpath(base) or base
        expected = os.path.normpath(os.path.join(real_base, os.path.relpath(directory, base)))
        real = fs.realpath(directory)
        if real != expected:
            problems.append("%s: the directory %s leads through a symbolic link to %s; the unit would create "
                            "that directory there" % (field, directory, real or "outside"))
            continue
        try:
            info = os.lstat(fs.path(directory))
        except OSError:
            continue  # missing: the unit creates it
        if not stat.S_ISDIR(info.st_mode):
            problems.append("%s: %s exists and is not a directory" % (field, directory))
        elif info.st_uid != 0 or gid is None or info.st_gid != gid:
            owner = "%s:%s" % (accounts.user_name(info.st_uid), accounts.group_name(info.st_gid))
            problems.append("%s: the directory %s exists owned by %s, not root:%s; the unit creates it root:%s "
                            "mode %s only when it is missing and never re-owns a directory, so the guest could "
                            "not use this one: remove it, or fix its owner" % (
                                field, directory, owner, spec["group"], spec["group"], DIR_MODE))
    return problems


def tap_problems(fs, spec):
    """A tap NIC's ifname must be free or a tap device: the unit brings it up and may add it to a bridge."""
    problems = []
    for nic in spec["nics"]:
        if nic["type"] != "tap":
            continue
        base = "/sys/class/net/%s" % nic["ifname"]
        if fs.exists(base) and not fs.exists(base + "/tun_flags"):
            problems.append("nics[%d].ifname %s is an existing network interface that is not a tap device: "
                            "the unit would bring it up%s; choose a name of its own"
                            % (nic["index"], nic["ifname"],
                               " and add it to bridge %s" % nic["bridge"] if nic["bridge"] else ""))
    return problems


def tun_problem(fs, spec):
    """Why the unit's QEMU, as the guest's user, cannot open /dev/net/tun for its tap NICs, or None."""
    if not any(nic["type"] == "tap" for nic in spec["nics"]):
        return None
    st = fs.stat(TUN_DEVICE)
    if st is None:
        return "tap NICs need %s, which this host lacks (modprobe tun)" % TUN_DEVICE
    try:
        uid, _gid, gids = kvm_probe.credentials(spec["user"], spec["group"])
    except KeyError:
        return None  # reported by credential_problems as a missing user or group
    if kvm_probe.opens_read_write(st, uid, gids):
        return None
    return ("tap NICs: %s is %s, which the guest's user %s cannot open read-write, so QEMU could not attach its "
            "taps; give it the usual 0666 (Debian's udev rule) or a group of the guest's"
            % (TUN_DEVICE, accounts.owner_mode(st), spec["user"]))


def hugepage_problems(fs, spec, warn):
    """hugepages.size must be a size of this host, hugepages.path a hugetlbfs mount of pages of that size (a
    missing mount only warns unless the guest is to run)."""
    if not spec["hugepages"]:
        return []
    problems = []
    try:
        resolve_size(fs, spec["hugepages"]["size"])
    except NfvError as exc:
        problems.append(exc.msg)
    mounts = [m for m in read_mounts(fs) if m["path"] == spec["hugepages"]["path"]]
    if not mounts:
        msg = "hugepages.path %s is not a hugetlbfs mount" % spec["hugepages"]["path"]
        if spec["state"] == "started":
            problems.append(msg)
        else:
            warn(msg)
    elif mounts[0]["size_kb"] != spec["hugepages"]["size_kb"]:
        problems.append("hugepages.path %s holds %s pages, not %s" % (
            spec["hugepages"]["path"], mounts[0]["size"], spec["hugepages"]["size"]))
    return problems


def placement_problems(fs, spec, params):
    """numa_node must be a node of this host; cpu_affinity, vcpu_pins and emulator_cpus CPUs online."""
    problems = []
    if spec["numa_node"] is not None:
        nodes = node_ids(fs)
        if nodes and spec["numa_node"] not in nodes:
            problems.append("numa_node %d does not exist; this host has nodes %s" % (
                spec["numa_node"], ", ".join(str(n) for n in nodes)))
    if spec["cpu_affinity"]:
        online = parse_cpulist(fs.read("/sys/devices/system/cpu/online") or "")
        fields = [("cpu_affinity", params.get("cpu_affinity") and spec["cpu_affinity"])]
        fields += [("vcpu_pins[%d]" % i, cpus) for i, cpus in enumerate(spec["vcpu_pins"])]
        fields.append(("emulator_cpus", spec["emulator_cpus"]))
        for field, cpus in fields:
            missing = [c for c in cpus or [] if online and c not in online]
            if missing:
                problems.append("%s CPUs %s are not online (online: %s)" % (
                    field, format_cpulist(missing), format_cpulist(online)))
    return problems


def missing_file_problems(spec, warn):
    """The kernel, the initrd and the disks must exist (only a warning unless the guest is to run)."""
    problems = []
    for path in [spec["kernel"], spec["initrd"]] + [d["path"] for d in spec["disks"]]:
        if path and not os.path.exists(path):
            msg = "%s does not exist" % path
            if spec["state"] == "started":
                problems.append(msg)
            else:
                warn(msg)
    return problems


def clash_problems(spec):
    """MACs, sockets, tap devices, vfio devices and runtime directories of the other guests this module manages
    (the other nfv-qemu-*.service units in unit_dir)."""
    problems = []
    for entry in sorted(os.listdir(spec["unit_dir"])):
        if not entry.startswith(UNIT_PREFIX) or not entry.endswith(".service") or entry == spec["unit"]:
            continue
        other = read_text(os.path.join(spec["unit_dir"], entry)) or ""
        problems += resource_clashes(spec, entry, unit_resources(other))
    return problems
