# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Binding one PCI device to a driver through sysfs, and putting it back.

bind_device writes driver_override, unbinds, asks drivers_probe and reads the driver link back; rollback puts
every device of a failed run back on its driver and override; noiommu_off turns vfio's unsafe no-IOMMU mode
off again. Every read and write goes through HostFS.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host import pci

KERNEL = "kernel"  # the `driver` value that hands a device back to its default kernel driver
VFIO = "vfio-pci"
# drivers that hand a device to user space: a device on one of them is not "on its kernel driver"
USERSPACE_DRIVERS = ("vfio-pci", "uio_pci_generic", "igb_uio", "pci-stub")

DRIVERS_ROOT = "/sys/bus/pci/drivers"
PROBE = "/sys/bus/pci/drivers_probe"
NOIOMMU_PARAM = "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"


def current_driver(fs, address):
    return fs.link_name("%s/%s/driver" % (pci.PCI_ROOT, address))


def bind_device(fs, address, driver, original):
    """driver_override, unbind, drivers_probe, then read the driver link back.

    `driver` KERNEL clears driver_override so the kernel's own match decides.
    """
    base = "%s/%s" % (pci.PCI_ROOT, address)
    fs.write(base + "/driver_override", "\n" if driver == KERNEL else driver)
    now = current_driver(fs, address)
    if driver == KERNEL:
        keep = now is not None and now not in USERSPACE_DRIVERS
    else:
        keep = now == driver
    if not keep:
        if now:
            fs.write("%s/%s/unbind" % (DRIVERS_ROOT, now), address)
        fs.write(PROBE, address)
    after = current_driver(fs, address)
    if driver == KERNEL and after in USERSPACE_DRIVERS and drop_dynamic_id(fs, address, after):
        fs.write("%s/%s/unbind" % (DRIVERS_ROOT, after), address)
        fs.write(PROBE, address)
        after = current_driver(fs, address)
    if driver == KERNEL:
        if after is None or after in USERSPACE_DRIVERS:
            hint = "" if after else " (no loaded kernel driver claims it: is its module installed, or blacklisted?)"
            override = fs.read(base + "/driver_override")
            if after and override not in (None, "", "(null)"):
                hint = " (its driver_override reads %s again: another tool, such as driverctl, set it)" % override
            raise NfvError("handing %s back to its kernel driver failed: after probing it is on %s%s"
                           % (address, after or "no driver", hint), address=address)
    elif after != driver:
        raise NfvError("binding %s to %s failed: after probing it is on %s (was %s)"
                       % (address, driver, after or "no driver", original or "no driver"), address=address)
    return after


def drop_dynamic_id(fs, address, driver):
    """Remove the device's vendor:device from `driver`'s dynamic ids (new_id); True when it had it.

    driverctl (0.115, Debian 13) writes every device it binds to vfio-pci into vfio-pci's new_id, so
    after a boot that applied its overrides, vfio-pci claims every device with that id and no
    driver_override, ahead of the kernel driver when vfio-pci registered first (igbvf, loaded when
    the VFs appear). The kernel keeps no list to read: remove_id answers ENODEV for an id it lacks.
    """
    base = "%s/%s" % (pci.PCI_ROOT, address)
    ids = [pci.hex_id(fs.read(base + "/" + name)) for name in ("vendor", "device")]
    if not all(ids):
        return False
    try:
        fs.write("%s/%s/remove_id" % (DRIVERS_ROOT, driver), " ".join(ids))
    except NfvError:
        return False
    return True


def noiommu_off(fs):
    """Turn vfio's unsafe no-IOMMU mode off again (rollback of action noiommu); one report line."""
    try:
        fs.write(NOIOMMU_PARAM, "N")
    except NfvError as exc:
        return "vfio no-IOMMU mode NOT turned off: %s" % exc.msg
    now = fs.read(NOIOMMU_PARAM)
    if now in ("N", "0"):
        return "vfio no-IOMMU mode back off"
    return "vfio no-IOMMU mode NOT turned off: %s reads %s" % (NOIOMMU_PARAM, now)


def rollback(fs, devices):
    """Put every device back on its original driver and override; one line per device."""
    report = []
    for device in reversed(devices):
        address, original = device["address"], device["driver"]
        base = "%s/%s" % (pci.PCI_ROOT, address)
        try:
            fs.write(base + "/driver_override", device["driver_override"] or "\n")
            now = current_driver(fs, address)
            if now != original:
                if now:
                    fs.write("%s/%s/unbind" % (DRIVERS_ROOT, now), address)
                if original:
                    fs.write(PROBE, address)
                    if current_driver(fs, address) != original:
                        fs.write("%s/%s/bind" % (DRIVERS_ROOT, original), address)
            now = current_driver(fs, address)
            if now == original:
                report.append("%s back on %s" % (address, original or "no driver"))
            else:
                report.append("%s NOT restored: on %s instead of %s"
                              % (address, now or "no driver", original or "no driver"))
        except NfvError as exc:
            report.append("%s NOT restored: %s" % (address, exc.msg))
    return report
