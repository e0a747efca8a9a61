# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What may not leave its kernel driver, and why: the management guard, processes holding a vfio group, the
IOMMU's state and IOMMU group viability. Readers only (pci_driver and sriov_vfs refuse from their answers)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host import kernel, pci

# drivers the kernel's vfio accepts beside vfio-pci for the other devices of a group
GROUP_SAFE_DRIVERS = ("vfio-pci", "pci-stub")


def block_devices(fs, address):
    """Block devices (disks) that live under the PCI device."""
    base = fs.realpath("%s/%s" % (pci.PCI_ROOT, address))
    if not base:
        return []
    names = []
    for name in fs.listdir("/sys/class/block"):
        real = fs.realpath("/sys/class/block/%s" % name)
        if real and real.startswith(base + "/"):
            names.append(name)
    return names


# -- safety checks ---------------------------------------------------------------------------------
def guard_reasons(fs, device, network):
    """Why binding `device` away from its kernel driver may cut the host off (empty: safe).

    `network` is the guard's reading of the host network (mgmt_guard.read_network, read phase)."""
    reasons = network.reasons(device)
    for name in block_devices(fs, device["address"]):
        reasons.append("it holds block device %s" % name)
    return reasons


def vfio_users(fs, group):
    """'comm (pid N)' of every process holding /dev/vfio/<group> open."""
    target = "/dev/vfio/%s" % group
    users = []
    for pid in fs.listdir("/proc"):
        if not pid.isdigit():
            continue
        for fd in fs.listdir("/proc/%s/fd" % pid):
            try:
                link = os.readlink(fs.path("/proc/%s/fd/%s" % (pid, fd)))
            except (IOError, OSError):
                continue
            if link == target:
                users.append("%s (pid %s)" % (fs.read("/proc/%s/comm" % pid, "?"), pid))
                break
    return users


def is_link_local(address):
    """Link-local addresses (fe80::/10, 169.254/16) come with an interface that is up, not with a configuration."""
    try:
        return ipaddress.ip_address((address or "").split("%", 1)[0]).is_link_local
    except ValueError:
        return False


def iommu_kernel_args(cpu_vendor, hardware=None):
    return [kernel.iommu_on_arg(cpu_vendor, hardware), "iommu=pt"]


def iommu_enabled(fs):
    return any(g.isdigit() for g in fs.listdir("/sys/kernel/iommu_groups"))


def iommu_error(fs):
    params = kernel.parse_cmdline(fs.read("/proc/cmdline", ""))
    vendor = kernel.read_cpu(fs)["vendor"]
    hardware = kernel.iommu_hardware(fs)
    args = iommu_kernel_args(vendor, hardware)
    present = [p["key"] + ("=" + p["value"] if p["value"] is not None else "") for p in params
               if p["key"] in ("intel_iommu", "amd_iommu", "iommu")]
    reason = ("%s IOMMU in the ACPI tables" % hardware) if hardware else ("CPU vendor %s" % (vendor or "unknown"))
    msg = ("the IOMMU is off (no IOMMU groups in /sys/kernel/iommu_groups): vfio-pci needs it. "
           "Add the kernel arguments %s (%s), for example with nfv.dpdk.kernel_cmdline "
           "or the nfv.dpdk.vfio role, and reboot" % (" ".join(args), reason))
    if present:
        msg += ("; the command line already has %s, so the IOMMU is missing or disabled in the "
                "firmware (VT-d / AMD-Vi) or, in a VM, the VM has no virtual IOMMU" % " ".join(present))
    msg += ". Without an IOMMU only vfio's unsafe no-IOMMU mode works (option vfio_noiommu)."
    return NfvError(msg, kernel_args=args, cpu_vendor=vendor)


def group_blockers(fs, devices, targets):
    """{group: [(address, driver)]} of group members that make the groups of `devices` not viable.

    A group is viable for vfio when every other member is a PCI bridge, has no driver, or is on
    vfio-pci / pci-stub, or is itself part of this run (`targets`: addresses going to vfio-pci).
    """
    blockers = {}
    for device in devices:
        group = device.get("iommu_group")
        if group is None:
            continue
        for member in pci.iommu_group_members(fs, group):
            if member == device["address"] or member in targets:
                continue
            info = pci.read_device(fs, member)
            if info["is_bridge"] or info["driver"] is None or info["driver"] in GROUP_SAFE_DRIVERS:
                continue
            entry = (member, info["driver"])
            if entry not in blockers.setdefault(group, []):
                blockers[group].append(entry)
    return blockers


def viability_error(devices, blockers):
    parts = []
    for group in sorted(blockers):
        ours = [d["address"] for d in devices if d.get("iommu_group") == group]
        others = ", ".join("%s (%s)" % (addr, drv) for addr, drv in blockers[group])
        parts.append("IOMMU group %d of %s is not viable: it also holds %s" % (group, ", ".join(ours), others))
    return NfvError("; ".join(parts) + ". Every device of a group must be on vfio-pci or have no driver "
                    "(bridges aside): add those devices to `devices` as well, or unbind them first",
                    groups=dict((str(g), [{"address": a, "driver": d} for a, d in m]) for g, m in blockers.items()))
