# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The devices and the driver a run asks for: entries checked, then resolved against the host.

An entry of `devices` (sriov_vfs' `pf` too) is a PCI address, long or short, or a network interface name;
resolve_devices turns the entries into addresses through sysfs and, for an interface that is gone (a NIC
bound to vfio-pci has none), the interface-name memory of earlier runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host import pci
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.driver_binding import KERNEL

# patterns used with fullmatch: "$" also matches before a final newline ("vfio-pci\n")
DRIVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
IFNAME = re.compile(r"[^/\s:]{1,15}")


def parse_device_spec(text):
    """One `devices` entry -> ('address', '0000:03:00.0') or ('interface', 'ens3f1').

    Raises NfvError for an address that is malformed and for strings that are neither.
    """
    text = (str(text) if text is not None else "").strip(" \t")
    address = pci.normalize_address(text)
    if address:
        return ("address", address)
    if ":" in text or pci.looks_like_address(text):
        raise NfvError("malformed PCI address %r: expected DDDD:BB:DD.F or BB:DD.F in hex, "
                       "for example 0000:03:00.0 or 03:00.0" % text, device=text)
    if not IFNAME.fullmatch(text) or text in (".", ".."):
        raise NfvError("%r is neither a PCI address (0000:03:00.0, 03:00.0) nor a network "
                       "interface name" % text, device=text)
    return ("interface", text)


def validate_driver(name):
    if name == KERNEL:
        return
    if not name or not DRIVER_NAME.fullmatch(name):
        raise NfvError("malformed driver name %r" % name, driver=name)


def resolve_devices(fs, specs, state):
    """Entries of `devices` -> [{'address', 'interface', 'requested'}] in order, duplicates merged.

    An interface name is looked up in /sys/class/net first, then in the memory of earlier runs
    (a NIC bound to vfio-pci has no interface any more). All unknown entries are reported at once.
    """
    by_address = pci.netdevs_by_address(fs)
    by_name = dict((name, addr) for addr, names in by_address.items() for name in names)
    remembered = dict((entry.get("interface"), addr) for addr, entry in state.get("devices", {}).items()
                      if entry.get("interface"))
    resolved, unknown, seen = [], [], set()
    for spec in specs:
        kind, value = parse_device_spec(spec)
        if kind == "address":
            if not fs.exists("%s/%s" % (pci.PCI_ROOT, value)):
                unknown.append("no PCI device at %s" % value)
                continue
            address = value
        else:
            address = by_name.get(value) or remembered.get(value)
            if address is None:
                if fs.exists("%s/%s" % (pci.NET_ROOT, value)):
                    unknown.append("interface %s is not a PCI device" % value)
                else:
                    unknown.append("no interface %s (a NIC already bound to a user-space driver has no "
                                   "interface: name it by PCI address)" % value)
                continue
            if not fs.exists("%s/%s" % (pci.PCI_ROOT, address)):
                unknown.append("interface %s was remembered at %s, which no longer exists" % (value, address))
                continue
        if address in seen:
            continue
        seen.add(address)
        names = by_address.get(address) or []
        interface = names[0] if names else state.get("devices", {}).get(address, {}).get("interface")
        resolved.append({"address": address, "interface": interface, "requested": str(spec)})
    if unknown:
        raise NfvError("unknown devices: " + "; ".join(unknown), unknown=unknown)
    return resolved
