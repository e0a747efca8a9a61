# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KVM or TCG for one guest, read on the host: accel=auto takes KVM only after a tiny guest really ran under KVM
with the unit's credentials (the cached verdict of qemu/kvm_probe.py); with KVM the unit joins /dev/kvm's group.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import kvm_probe


def read_accel(runner, spec, params, qemu_path, warn):
    """{probe, kvm_device, accel, kvm_group}: the probe's verdict (None unless accel=auto), os.stat of /dev/kvm
    (None when absent), the accelerator the unit uses and the group of a root:GROUP 0660 /dev/kvm (for KVM)."""
    found = {"probe": None, "kvm_device": kvm_probe.stat_or_none(), "kvm_group": None}
    requested = params.get("accel", "auto")
    if requested == "auto":
        # a guest's own account reaches /dev/kvm only through its groups: probed once per host as nobody
        user, group = ("nobody", spec["service_group"]) if spec["own_account"] else (spec["user"], spec["group"])
        found["probe"] = kvm_probe.cached_verdict(runner, qemu_path, user, group, params["accel_probe_cache"],
                                                  found["kvm_device"])
        if not found["probe"]["usable"]:
            warn("accel=auto chose TCG (slow emulation) for guest %s: %s" % (spec["name"], found["probe"]["reason"]))
    found["accel"] = kvm_probe.choose_accel(requested, found["probe"])
    if found["accel"] == "kvm":
        found["kvm_group"] = kvm_probe.device_group(found["kvm_device"])
    return found
