# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest that passes an SR-IOV VF through starts only after the SR-IOV boot unit set the VFs up.

The unit of nfv.dpdk.sriov_vfs creates the VFs at boot and disables a VF whose setup failed, then fails. A
nfv.dpdk.qemu_vm guest with a vfio NIC whose device is a VF (it has a physfn link in sysfs) gets Requires= and
After= on that unit, so systemd starts the guest only when the unit succeeded. Only while the unit is
installed (sriov_vfs with persistent=true): Requires= on a unit that does not exist fails the guest's start
(and systemd-analyze verify), so VFs made another way add nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.host.pci import PCI_ROOT
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.sriov_persistence import UNIT_FILE, UNIT_NAME


def sriov_unit_of(fs, nics):
    """The SR-IOV boot unit the guest's unit requires (read through HostFS), or None."""
    vfs = [nic["host"] for nic in nics if nic["type"] == "vfio" and fs.exists("%s/%s/physfn" % (PCI_ROOT, nic["host"]))]
    return UNIT_NAME if vfs and fs.exists(UNIT_FILE) else None


def unit_ordering(after, sriov_unit=None):
    """The [Unit] After= entry of a guest, with Requires= and After= on the SR-IOV unit when it needs one."""
    if not sriov_unit:
        return [("After", " ".join(after))]
    return [("Requires", sriov_unit), ("After", " ".join(after + [sriov_unit]))]
