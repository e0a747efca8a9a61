# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PCI devices from /sys/bus/pci/devices: ids, driver, NUMA node, IOMMU group, netdevs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

PCI_ROOT = "/sys/bus/pci/devices"
NET_ROOT = "/sys/class/net"
# patterns used with fullmatch: "$" also matches before a final newline ("03:00.0\n")
FULL_ADDRESS = re.compile(r"([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-1][0-9a-fA-F])\.([0-7])")
SHORT_ADDRESS = re.compile(r"([0-9a-fA-F]{2}):([0-1][0-9a-fA-F])\.([0-7])")
NETWORK_CLASS = 0x02  # PCI base class "network controller"
BRIDGE_CLASS = 0x06


def normalize_address(text):
    """'03:00.0' or '0000:03:00.0' -> '0000:03:00.0' (lower case); None when malformed."""
    text = (text or "").strip(" \t")
    match = FULL_ADDRESS.fullmatch(text)
    if match:
        return ("%s:%s:%s.%s" % match.groups()).lower()
    match = SHORT_ADDRESS.fullmatch(text)
    if match:
        return ("0000:%s:%s.%s" % match.groups()).lower()
    return None


def looks_like_address(text):
    """True for strings shaped like a PCI address, well formed or not (e.g. '03:00.9')."""
    return bool(re.fullmatch(r"([0-9a-fA-F]+:)?[0-9a-fA-F]+:[0-9a-fA-F]+\.[0-9a-fA-F]+", text or ""))


def hex_id(value):
    """A sysfs id file's text as lowercase hex without 0x: '0x8086' -> '8086'."""
    if value is None:
        return None
    return value.lower().replace("0x", "").zfill(4)


def netdevs_by_address(fs):
    """{pci address: [netdev names]}, following /sys/class/net/*/device up to its PCI device.

    virtio NICs hang their netdev under a virtio child (0000:00:03.0/virtio0/net/eth0),
    so the device link is walked upwards until a PCI address appears.
    """
    result = {}
    for name in fs.listdir(NET_ROOT):
        real = fs.realpath("%s/%s/device" % (NET_ROOT, name))
        while real and real != "/":
            base = real.rsplit("/", 1)[-1]
            if FULL_ADDRESS.fullmatch(base) and fs.exists("%s/%s" % (PCI_ROOT, base)):
                result.setdefault(base, []).append(name)
                break
            real = real.rsplit("/", 1)[0] or "/"
    return result


def read_device(fs, address, netdevs=None):
    device = _read_device(fs, address, netdevs)
    device["vf_index"] = vf_index(fs, address, device["physfn"])
    return device


def _read_device(fs, address, netdevs):
    """A device's sysfs attributes; vf_index is left to the caller (it reads the PF's links)."""
    base = "%s/%s" % (PCI_ROOT, address)
    pci_class = fs.read_int(base + "/class", 0, base=16)
    numa_node = fs.read_int(base + "/numa_node")
    group = fs.link_name(base + "/iommu_group")
    return {
        "address": address,
        "vendor": hex_id(fs.read(base + "/vendor")),
        "device": hex_id(fs.read(base + "/device")),
        "vendor_device": "%s:%s" % (hex_id(fs.read(base + "/vendor")), hex_id(fs.read(base + "/device"))),
        "class": "%06x" % pci_class,
        "is_network": (pci_class >> 16) == NETWORK_CLASS,
        "is_bridge": (pci_class >> 16) == BRIDGE_CLASS,
        "driver": fs.link_name(base + "/driver"),
        "driver_override": _none_if_null(fs.read(base + "/driver_override")),
        "numa_node": numa_node if numa_node is not None and numa_node >= 0 else None,
        "iommu_group": int(group) if group is not None and group.isdigit() else None,
        "netdevs": sorted(netdevs or []),
        "sriov_totalvfs": fs.read_int(base + "/sriov_totalvfs"),
        "sriov_numvfs": fs.read_int(base + "/sriov_numvfs"),
        "physfn": fs.link_name(base + "/physfn"),
        "vf_index": None,
        "vfs": virtfns(fs, address),
    }


def identity(fs, address):
    """'vendor:device' and, where sysfs has them, ':subsystem_vendor:subsystem_device' ('8086:1572:8086:0007'):
    what a boot-time replay checks before it touches the device at an address (a renumbered bus)."""
    base = "%s/%s" % (PCI_ROOT, address)
    ids = [hex_id(fs.read(base + "/" + name)) for name in ("vendor", "device", "subsystem_vendor", "subsystem_device")]
    if not all(ids[:2]):
        return None
    return ":".join(ids if all(ids[2:]) else ids[:2])


def virtfns(fs, address):
    """Addresses of a PF's virtual functions in VF-index order (virtfnN links), [] for other devices."""
    base = "%s/%s" % (PCI_ROOT, address)
    indexes = sorted(int(name[len("virtfn"):]) for name in fs.listdir(base)
                     if name.startswith("virtfn") and name[len("virtfn"):].isdigit())
    return [fs.link_name("%s/virtfn%d" % (base, index)) for index in indexes]


def vf_index(fs, address, physfn):
    """The index of VF `address` on its PF `physfn` (the PF's virtfnN link that points to it)."""
    if not physfn:
        return None
    for index, vf in enumerate(virtfns(fs, physfn)):
        if vf == address:
            return index
    return None


def _none_if_null(value):
    return None if value in (None, "", "(null)") else value


def read_devices(fs):
    """Every PCI device, sorted by address."""
    netdevs = netdevs_by_address(fs)
    devices = [_read_device(fs, address, netdevs.get(address)) for address in fs.listdir(PCI_ROOT)
               if FULL_ADDRESS.fullmatch(address)]
    # each VF's index from its PF's virtfnN links, read once per PF
    indexes = dict(((device["address"], vf), index) for device in devices for index, vf in enumerate(device["vfs"]))
    for device in devices:
        device["vf_index"] = indexes.get((device["physfn"], device["address"]))
    return devices


def iommu_group_members(fs, group):
    return fs.listdir("/sys/kernel/iommu_groups/%d/devices" % group)
