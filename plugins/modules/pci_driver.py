#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pci_driver
short_description: Bind PCI devices to a driver (vfio-pci first of all) safely and persistently
version_added: "0.1.0"
description:
  - Binds PCI devices, named by PCI address or network interface, to a driver through
    C(driver_override), unbind and C(drivers_probe), and verifies each binding by reading the
    device's driver link back.
  - Before anything changes it checks that the devices exist, that no device carries management
    traffic (unless O(force)), that the IOMMU is on and every IOMMU group involved is viable (for
    C(vfio-pci)), and that the driver exists (its kernel module is loaded with C(modprobe) when
    needed).
  - When one binding fails, every device of the run is put back on its original driver and the
    error says what happened to each.
  - The interface name of each device is remembered in C(/var/lib/nfv-dpdk/pci-driver.json), so a
    later run that names the device by its interface still finds it after the interface vanished
    (a NIC on vfio-pci has no interface).
  - With O(persistent=true) the binding survives a reboot, through C(driverctl) when the host has
    it, otherwise through C(/etc/nfv-dpdk/pci-driver-overrides.conf) applied at boot by the
    C(nfv-dpdk-pci-bind.service) oneshot unit, ordered before C(network-pre.target) and Open vSwitch.
author:
  - nfv.dpdk contributors (@nfv-dpdk)
extends_documentation_fragment:
  - nfv.dpdk.attributes
  - nfv.dpdk.attributes.full
  - nfv.dpdk.common_options.connection_address
attributes:
  check_mode:
    details: Runs every check and returns the plan; changes nothing. C(modprobe --dry-run) checks
      a driver that is not loaded yet.
  diff_mode:
    details: The diff shows each device's driver before and after and the persistence files.
  platform:
    details: Linux with sysfs.
options:
  devices:
    description:
      - PCI devices to bind. Each entry is a PCI address, full (C(0000:03:00.0)) or short
        (C(03:00.0)), or a network interface name (C(ens3f1)).
      - An interface name is resolved through C(/sys/class/net), then through the names remembered
        by earlier runs.
      - With O(state=absent), the devices to hand back besides those the module finds in its own files.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) binds O(devices) to O(driver).
      - V(absent) takes back what this module set up, as C(playbooks/decommission.yml) does. Every device
        of O(devices), of the module's overrides file and of its interface-name memory that is on a user-space
        driver goes back to its kernel driver (driverctl overrides of these devices are unset), then the
        boot unit is disabled and it, its program, the overrides file and the memory are removed.
        O(driver) and O(persistent) are not used.
    type: str
    choices: [present, absent]
    default: present
  driver:
    description:
      - Driver to bind the devices to, for example C(vfio-pci) or C(uio_pci_generic).
      - V(kernel) hands the devices back to their default kernel driver, which the kernel picks
        when C(driver_override) is cleared and the device is probed again.
    type: str
    default: vfio-pci
  persistent:
    description:
      - Keep the binding across reboots (C(driverctl set-override), or the module's own
        overrides file and boot unit when C(driverctl) is not installed).
      - With V(false) only the running kernel is changed and existing persistence is left alone.
      - With O(driver=kernel) the devices' persistent overrides are removed.
    type: bool
    default: true
  force:
    description:
      - Bind devices even when they carry the default route, the address Ansible is connected
        through, an interface that is up with addresses (other than link-local ones), or a disk.
        This can cut the host off.
      - Without it a device is also refused when its interface is a port of an Open vSwitch bridge that
        carries management traffic (found through OVSDB; when OVSDB cannot be read, a port of the OVS kernel
        datapath while management rides that datapath), when it is a slave or port of a bond, bridge or VLAN
        that is up with addresses or routes (other than link-local ones), and when it carries a default
        route of any routing table (VRFs, policy routing; C(ip route show table all)), not only the main one.
      - It does not override the refusal to unbind a device from vfio-pci while a process (OVS-DPDK, a
        guest) holds its IOMMU group open, since the kernel's unbind would wait for that process, however long.
      - Nor does it switch off the check of O(connection_address) - a value that is neither an IP address nor a
        host name that resolves fails before anything is read or changed.
    type: bool
    default: false
  vfio_noiommu:
    description:
      - On a host without an IOMMU, use vfio's unsafe no-IOMMU mode
        (C(enable_unsafe_noiommu_mode)) instead of failing. The device can then DMA anywhere in
        memory; only for hosts where that is understood and accepted.
      - Sets the runtime parameter only; make it persistent with
        C(options vfio enable_unsafe_noiommu_mode=1) in C(/etc/modprobe.d) (the nfv.dpdk.vfio
        role does).
      - When this run turned the mode on and a binding then fails, the rollback turns it off again
        (the devices go back to their drivers and the host is left as it was); the C(rollback) result
        says whether that worked.
    type: bool
    default: false
notes:
  - Never point this module at the NIC or disk controller the host itself depends on; the guard
    catches default routes, the connection address, interfaces up with addresses or stacked under
    devices up with addresses or routes, Open vSwitch bridges carrying management traffic and disks,
    not every possible dependency.
  - The binding runs with SIGHUP ignored, so a dropped SSH session does not stop it before its rollback.
  - Handing a device that a running QEMU guest or DPDK process holds back to the kernel blocks in
    the kernel until the process releases the device.
  - With C(driverctl), a device bound in this run gets C(driverctl set-override) (or
    C(unset-override)), which re-binds it once more to the same driver. For a device that is on the
    wanted driver already, the module writes driverctl's own file C(/etc/driverctl.d/pci-ADDRESS)
    instead, because C(set-override) always unbinds the device, which would disrupt a guest or a
    DPDK process using it.
seealso:
  - module: nfv.dpdk.host_facts
  - module: nfv.dpdk.kernel_cmdline
"""

EXAMPLES = r"""
- name: Bind two NICs to vfio-pci, persistently
  nfv.dpdk.pci_driver:
    devices:
      - "0000:03:00.0"
      - ens3f1
    driver: vfio-pci

- name: Bind the NICs selected from host facts (NUMA node 0, no management traffic)
  nfv.dpdk.pci_driver:
    devices: >-
      {{ ansible_facts.nfv_dpdk.nics
         | selectattr('numa_node', 'equalto', 0)
         | rejectattr('management')
         | map(attribute='address') | list }}

- name: Hand a NIC back to its kernel driver and drop its persistent override
  nfv.dpdk.pci_driver:
    devices: ["03:00.1"]
    driver: kernel

- name: Runtime only, for a test
  nfv.dpdk.pci_driver:
    devices: ["0000:81:00.0"]
    persistent: false

- name: Take back every binding the module made (decommission), and these devices too
  nfv.dpdk.pci_driver:
    state: absent
    devices: ["0000:03:00.0"]
"""

RETURN = r"""
devices:
  description: One entry per device of the run.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: Full PCI address.
      type: str
      sample: "0000:03:00.1"
    requested:
      description: The O(devices) entry that named it.
      type: str
      sample: ens3f1
    interface:
      description: Network interface name it has or had (remembered), null for other devices.
      type: str
      sample: ens3f1
    driver_before:
      description: Driver before the run, null when none.
      type: str
      sample: i40e
    driver_after:
      description: Driver after the run, read back from sysfs (in check mode, the planned one;
        C((kernel default)) when handing back to a kernel driver that is not known yet).
      type: str
      sample: vfio-pci
    changed:
      description: Whether this device's binding changed.
      type: bool
    iommu_group:
      description: IOMMU group number, null without an IOMMU.
      type: int
      sample: 21
    numa_node:
      description: NUMA node of the device, null on hosts without NUMA.
      type: int
      sample: 0
    vendor_device:
      description: PCI vendor and device id.
      type: str
      sample: "8086:1572"
persistence:
  description: How bindings persist, V(driverctl), V(nfv-dpdk-pci-bind.service) or V(none).
  returned: always
  type: str
  sample: driverctl
changes:
  description: The plan, one entry per change (C(key), C(action), C(before), C(after)).
  returned: always
  type: list
  elements: dict
refused:
  description: Devices the management guard refused, each with its reasons.
  returned: when the guard refused devices
  type: list
  elements: str
  sample: ["0000:01:00.0: eno1 carries management traffic: default route (via bond0)"]
kernel_args:
  description: Kernel arguments that turn the IOMMU on for this CPU vendor.
  returned: when the IOMMU is off
  type: list
  elements: str
  sample: ["intel_iommu=on", "iommu=pt"]
groups:
  description: Per IOMMU group that is not viable, the other devices in it and their drivers.
  returned: when a group is not viable
  type: dict
  sample: {"41": [{"address": "0000:82:00.1", "driver": "igb"}]}
unknown:
  description: Entries of O(devices) that name no PCI device.
  returned: when devices are unknown
  type: list
  elements: str
rollback:
  description:
    - What the rollback did for each device of the run after a binding failed.
    - The last line reports the vfio no-IOMMU mode when this run had turned it on.
  returned: when a binding failed
  type: list
  elements: str
  sample: ["0000:00:1f.3 back on no driver", "0000:00:03.0 back on vfio-pci", "vfio no-IOMMU mode back off"]
"""

from ansible_collections.nfv.dpdk.plugins.module_utils.core.common_options import CONNECTION_ADDRESS, merged
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import run_module
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.pci_driver import PciDriver

ARGUMENT_SPEC = merged({
    "devices": {"type": "list", "elements": "str", "default": []},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "driver": {"type": "str", "default": "vfio-pci"},
    "persistent": {"type": "bool", "default": True},
    "force": {"type": "bool", "default": False},
    "vfio_noiommu": {"type": "bool", "default": False},
}, CONNECTION_ADDRESS)


def main():
    run_module(PciDriver, ARGUMENT_SPEC)


if __name__ == "__main__":
    main()
