#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: sriov_vfs
short_description: SR-IOV virtual functions of one PF, their settings, persistently
version_added: "0.1.0"
description:
  - Sets the number of SR-IOV virtual functions (VFs) of one physical function (PF) through
    C(sriov_numvfs), and per VF the settings the PF driver applies (MAC, VLAN and priority, trust,
    spoof checking, link state, transmit rates) with C(ip link set dev PF vf N ...). Every setting is
    read back from C(ip -d -j link show dev PF).
  - The kernel changes a non-zero VF count only through 0, which destroys every VF and its settings.
    Before that the module refuses when a VF is in use (bound to vfio-pci with its C(/dev/vfio) group
    open, for example by a guest or DPDK, or named by an Open vSwitch port's C(dpdk-devargs)) or when the
    PF carries management traffic (it holds O(connection_address), for example), unless O(force=true). After a
    count change every listed setting is applied again.
  - With O(persistent=true) the count and settings go to C(/etc/nfv-dpdk/sriov.d/<PF-ADDRESS>.conf), which
    C(nfv-dpdk-sriov.service) replays at boot after the PF's driver is up and before
    C(nfv-dpdk-pci-bind.service) (vfio-pci bindings), networking and Open vSwitch start.
  - The VFs appear in M(nfv.dpdk.host_facts) with C(physfn) and C(vf_index), and the PF lists them in
    C(vfs), so M(nfv.dpdk.pci_driver) can bind chosen VFs to vfio-pci and M(nfv.dpdk.ovs_bridge) or
    M(nfv.dpdk.qemu_vm) can use them.
author:
  - nfv.dpdk contributors (@nfv-dpdk)
extends_documentation_fragment:
  - nfv.dpdk.attributes
  - nfv.dpdk.attributes.full
  - nfv.dpdk.common_options.connection_address
attributes:
  check_mode:
    details: Reads the PF, runs every check (input, in-use VFs, management) and returns the plan; changes
      nothing.
  diff_mode:
    details: The diff shows the VF count, each setting before and after, and the boot files.
  platform:
    details: Linux with sysfs and iproute2.
options:
  pf:
    description:
      - The physical function, as a PCI address (C(0000:03:00.0) or C(03:00.0)) or its network interface name.
    type: str
    required: true
  count:
    description:
      - Number of VFs wanted, at most the PF's C(sriov_totalvfs). V(0) removes every VF.
    type: int
    required: true
  vfs:
    description:
      - Settings of chosen VFs. A VF or setting left out is not managed.
    type: list
    elements: dict
    default: []
    suboptions:
      index:
        description: VF number on the PF, from 0 to O(count) - 1.
        type: int
        required: true
      mac:
        description: MAC address the VF gets (unicast, not all zeros).
        type: str
      vlan:
        description: VLAN the PF tags the VF's traffic with (port VLAN), 0 for none.
        type: int
      qos:
        description: 802.1p priority (0-7) of the VLAN tag; needs O(vfs[].vlan).
        type: int
      trust:
        description: Trusted VF (may set its own MAC, enter promiscuous mode, and so on).
        type: bool
      spoofchk:
        description: MAC and VLAN spoof checking on the VF's transmitted frames.
        type: bool
      link_state:
        description: The VF's link, V(auto) (follows the PF), V(enable) or V(disable). Not every driver
          supports it (C(igb) does not); the error then quotes the driver's answer.
        type: str
        choices: [auto, enable, disable]
      max_tx_rate:
        description: Maximum transmit rate in Mbit/s, 0 for no limit. Some drivers accept it only with the
          PF's link up.
        type: int
      min_tx_rate:
        description: Guaranteed transmit rate in Mbit/s, 0 for none.
        type: int
  persistent:
    description:
      - Replay the count and settings at every boot (C(nfv-dpdk-sriov.service)). With O(count=0) the PF's
        file is removed.
      - With V(false) only the running kernel is changed and existing boot files are left alone.
    type: bool
    default: true
  force:
    description:
      - Change the VF count even when a VF is in use or the PF carries management traffic. Guests and
        DPDK ports on the VFs lose their devices, and the PF's link may bounce.
    type: bool
    default: false
notes:
  - A failed run leaves the VFs fail closed. A VF whose MAC, VLAN, trust or spoof check setting failed (the PF
    driver refused it, or accepted it and reads back another value) is disabled with
    C(ip link set dev PF vf N state disable), keeping what this run set on it before the failure; after a
    count change so is every new VF the run did not reach with such a setting. The error and RV(disabled_vfs)
    name them; a VF the driver cannot disable is named as a risk (RV(disable_failed_vfs)).
  - The other VFs stay as they are. Without a count change, settings this run changed on them are set back; VFs
    that this run created keep the settings made before the failure. Nothing is made persistent. The error
    quotes the PF driver.
  - A later run does not enable a disabled VF on its own. Once the cause is fixed, run again with
    O(vfs[].link_state) (V(auto) or V(enable)) in the VF's entry, or run C(ip link set dev PF vf N state auto).
  - At boot C(nfv-dpdk-sriov.service) disables a VF whose setup line fails in the same way, sets up the other
    VFs and then fails. M(nfv.dpdk.qemu_vm) guests that pass a VF through require that unit (C(Requires=),
    C(After=)), so they do not start while it has failed.
  - VFs bound to vfio-pci with M(nfv.dpdk.pci_driver) lose that binding when the count changes (new
    devices); bind them again afterwards (the C(nfv.dpdk.host) role runs this module first).
seealso:
  - module: nfv.dpdk.host_facts
  - module: nfv.dpdk.pci_driver
"""

EXAMPLES = r"""
- name: Four VFs on ens3f0, two of them set up for guests
  nfv.dpdk.sriov_vfs:
    pf: ens3f0
    count: 4
    vfs:
      - {index: 0, mac: "52:54:00:10:00:01", vlan: 100, qos: 3, trust: true, spoofchk: false}
      - {index: 1, mac: "52:54:00:10:00:02", vlan: 200, max_tx_rate: 1000}

- name: Bind VF 1 of that PF to vfio-pci, selected from the host facts
  nfv.dpdk.pci_driver:
    devices: >-
      {{ ansible_facts.nfv_dpdk.nics | selectattr('physfn', 'equalto', '0000:03:00.0')
         | selectattr('vf_index', 'equalto', 1) | map(attribute='address') | list }}

- name: Remove every VF (refused while one is in use)
  nfv.dpdk.sriov_vfs:
    pf: "0000:03:00.0"
    count: 0
"""

RETURN = r"""
pf:
  description: PCI address of the PF.
  returned: always
  type: str
  sample: "0000:03:00.0"
interface:
  description: The PF's network interface.
  returned: always
  type: str
  sample: ens3f0
totalvfs:
  description: Most VFs the PF supports (C(sriov_totalvfs)).
  returned: always
  type: int
  sample: 64
numvfs_before:
  description: VF count before the run.
  returned: always
  type: int
  sample: 0
numvfs:
  description: VF count after the run, read back (in check mode, the planned one).
  returned: always
  type: int
  sample: 4
vfs:
  description: One entry per VF, read back after the run (in check mode, settings are not read).
  returned: always
  type: list
  elements: dict
  contains:
    index:
      description: VF number on the PF.
      type: int
    address:
      description: PCI address of the VF (null in check mode for VFs the run would create).
      type: str
      sample: "0000:03:02.0"
    driver:
      description: Driver the VF is bound to.
      type: str
      sample: iavf
    iommu_group:
      description: IOMMU group of the VF.
      type: int
    netdevs:
      description: Network interfaces of the VF.
      type: list
      elements: str
    mac:
      description: MAC address set through the PF (C(00:00:00:00:00:00) for none).
      type: str
    vlan:
      description: Port VLAN, with C(qos N) when a priority is set.
      type: str
    trust:
      description: V(on) or V(off).
      type: str
    spoofchk:
      description: V(on) or V(off).
      type: str
    link_state:
      description: V(auto), V(enable) or V(disable).
      type: str
    max_tx_rate:
      description: Mbit/s, 0 for no limit.
      type: str
    min_tx_rate:
      description: Mbit/s, 0 for none.
      type: str
persistence:
  description: V(nfv-dpdk-sriov.service), or V(none) with O(persistent=false).
  returned: always
  type: str
changes:
  description: The plan, one entry per change (C(key), C(action), C(before), C(after)).
  returned: always
  type: list
  elements: dict
disabled_vfs:
  description: The VFs (indexes on the PF) that a failed run disabled (link state V(disable)) because their MAC,
    VLAN, trust or spoof check setup is not in place.
  returned: when a run failed while applying
  type: list
  elements: int
  sample: [1]
disable_failed_vfs:
  description: The VFs that a failed run should have disabled but whose PF driver refused the disable (or
    accepted it and reads another link state); they may pass traffic without their setup.
  returned: when a run failed while applying
  type: list
  elements: int
  sample: []
refused:
  description: Why the count change was refused (VFs in use, management traffic on the PF).
  returned: when the count change was refused
  type: list
  elements: str
  sample: ["VF 0 (0000:03:02.0): vfio group 45 open by qemu-system-x86 (pid 2211)"]
"""

from ansible_collections.nfv.dpdk.plugins.module_utils.core.common_options import CONNECTION_ADDRESS, merged
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import run_module
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.sriov import SriovVfs
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.sriov_vf_settings import LINK_STATES

VF_SPEC = {
    "index": {"type": "int", "required": True},
    "mac": {"type": "str"},
    "vlan": {"type": "int"},
    "qos": {"type": "int"},
    "trust": {"type": "bool"},
    "spoofchk": {"type": "bool"},
    "link_state": {"type": "str", "choices": list(LINK_STATES)},
    "max_tx_rate": {"type": "int"},
    "min_tx_rate": {"type": "int"},
}

ARGUMENT_SPEC = merged({
    "pf": {"type": "str", "required": True},
    "count": {"type": "int", "required": True},
    "vfs": {"type": "list", "elements": "dict", "default": [], "options": VF_SPEC},
    "persistent": {"type": "bool", "default": True},
    "force": {"type": "bool", "default": False},
}, CONNECTION_ADDRESS)


def main():
    run_module(SriovVfs, ARGUMENT_SPEC)


if __name__ == "__main__":
    main()
