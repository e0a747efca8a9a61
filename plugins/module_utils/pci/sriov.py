# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nfv.dpdk.sriov_vfs: the SR-IOV virtual functions of one PF, the module's read, checks, plan, apply and report.

Order of one run:
  validate the input -> resolve the PF (address or interface) -> read sriov_totalvfs/numvfs, the VFs
  (virtfnN links) and their settings (`ip -d -j link show PF`) -> refuse a count change while a VF is
  in use (vfio group open, OVS dpdk-devargs) or the PF carries management traffic, unless forced ->
  plan (count, settings, boot file) -> apply (count through 0, settings one `ip link set` each, read
  back) -> persist.

The kernel refuses to change a non-zero VF count to another non-zero one: it goes through 0, which
destroys every VF (and its settings). A run that changes the count therefore applies every listed
setting again. The settings are checked and read in sriov_vf_settings, made persistent (a file per PF
that nfv-dpdk-sriov.service replays at boot) in sriov_persistence.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import output_text
from ansible_collections.nfv.dpdk.plugins.module_utils.host import netdev, pci
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import dpdk_ports_of
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import sriov_fail_closed
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.mgmt_guard import read_network
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.pci_guard import guard_reasons, vfio_users
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.requested_devices import parse_device_spec
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.sriov_persistence import (
    UNIT_NAME,
    persist,
    plan_persistence,
    read_persistence,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.sriov_vf_settings import (
    SETTINGS,
    as_int,
    ip_args,
    normalize_vfs,
    parse_vfinfo,
    show,
)

VF_APPEAR_SECONDS = 10


class SriovVfs(PlannedModule):
    diff_header = "SR-IOV virtual functions"

    def validate(self):
        parse_device_spec(self.params["pf"])
        self.count = as_int("count", self.params["count"], 0, 65535)
        self.vfs = normalize_vfs(self.params["vfs"], self.count)

    # -- read
    def resolve_pf(self):
        kind, value = parse_device_spec(self.params["pf"])
        if kind == "address":
            if not self.fs.exists("%s/%s" % (pci.PCI_ROOT, value)):
                raise NfvError("unknown PF: no PCI device at %s" % value, pf=value)
            return value
        real = self.fs.realpath("%s/%s/device" % (pci.NET_ROOT, value))
        address = os.path.basename(real) if real else None
        if not address or not pci.FULL_ADDRESS.fullmatch(address):
            raise NfvError("unknown PF: no network interface %s backed by a PCI device (ip -br link lists them)"
                           % value, pf=value)
        return address

    def read(self):
        address = self.resolve_pf()
        device = pci.read_device(self.fs, address, pci.netdevs_by_address(self.fs).get(address))
        if device["physfn"]:
            raise NfvError("%s is a VF of %s, not a PF: name the PF" % (address, device["physfn"]), pf=address)
        if device["sriov_totalvfs"] is None:
            raise NfvError("%s (%s, driver %s) has no SR-IOV capability (no sriov_totalvfs in sysfs)"
                           % (address, device["vendor_device"], device["driver"] or "none"), pf=address)
        if not device["netdevs"]:
            raise NfvError("%s has no network interface (driver %s): VFs are set up through the PF's kernel driver"
                           % (address, device["driver"] or "none"), pf=address)
        if self.count > device["sriov_totalvfs"]:
            raise NfvError("%s supports at most %d VFs (sriov_totalvfs); count %d is more"
                           % (address, device["sriov_totalvfs"], self.count), pf=address)
        ifname = device["netdevs"][0]
        settings = self.vf_settings(ifname)
        vfs = []
        for index, vf_address in enumerate(device["vfs"]):
            info = pci.read_device(self.fs, vf_address)
            vfs.append({"index": index, "address": vf_address, "driver": info["driver"],
                        "iommu_group": info["iommu_group"], "settings": settings.get(index, {})})
        current = {"address": address, "ifname": ifname, "device": device, "numvfs": device["sriov_numvfs"] or 0,
                   "vfs": vfs, "identity": pci.identity(self.fs, address)}
        if self.params["persistent"]:
            current.update(read_persistence(self.fs, self.runner, address))
        # a count change destroys every VF on the way: what stands in its way is read here, refused in plan
        destroys = current["numvfs"] and current["numvfs"] != self.count
        current["refused"] = self.count_change_refusals(current) if destroys and not self.params["force"] else []
        return current

    # -- checks
    def in_use(self, current):
        """Why the VFs that a count change destroys may not go: ['VF 0 (0000:..): in use by ...']."""
        vfs = current["vfs"]
        ovs = dpdk_ports_of(self.runner, [vf["address"] for vf in vfs]) if vfs else {}
        reasons = []
        for vf in vfs:
            why = []
            if vf["driver"] == "vfio-pci" and vf["iommu_group"] is not None:
                why += ["vfio group %s open by %s" % (vf["iommu_group"], user)
                        for user in vfio_users(self.fs, vf["iommu_group"])]
            if vf["address"] in ovs:
                why.append(ovs[vf["address"]])
            if why:
                reasons.append("VF %d (%s): %s" % (vf["index"], vf["address"], "; ".join(why)))
        return reasons

    def count_change_refusals(self, current):
        """Why the VF count may not change: VFs in use, a PF carrying management traffic (read phase)."""
        refused = self.in_use(current)
        given = self.params.get("connection_address")
        conn = netdev.resolve_connection_address(given) if given else netdev.connection_address()
        network = read_network(self.fs, self.runner, conn)
        refused += ["PF %s: %s" % (current["address"], why)
                    for why in guard_reasons(self.fs, current["device"], network)
                    if "management" in why]
        return refused

    def check_count_change(self, current):
        refused = current["refused"]
        if refused:
            raise NfvError("refusing to change the VF count of %s from %d to %d (the kernel destroys every VF on "
                           "the way; force=true overrides): %s"
                           % (current["address"], current["numvfs"], self.count, " | ".join(refused)),
                           refused=refused)

    # -- plan
    def plan(self, current):
        plan = Plan()
        recreate = current["numvfs"] != self.count
        if recreate:
            if current["numvfs"]:
                self.check_count_change(current)
            plan.add("%s sriov_numvfs" % current["ifname"], str(current["numvfs"]), str(self.count), action="count")
        for vf in self.vfs:
            have = {} if recreate else current["vfs"][vf["index"]]["settings"]
            for name in SETTINGS:
                if name not in vf:
                    continue
                before = have.get(name)
                if before is None and name in have and not recreate:
                    raise NfvError("VF %d: the driver of %s does not report %s, so it cannot be checked; leave it out"
                                   % (vf["index"], current["address"], name))
                if recreate or before != vf[name]:
                    plan.add("vf %d %s" % (vf["index"], name), show(name, before), show(name, vf[name]),
                             action="setting", index=vf["index"], name=name, value=vf[name], old=before)
        if self.params["persistent"]:
            plan_persistence(plan, current, self.count, self.vfs)
        return plan

    # -- apply
    def apply(self, plan, current):
        done = []
        try:
            if plan.by_action("count"):
                self.set_count(current)
            for change in plan.by_action("setting"):
                self.set_vf(current["ifname"], change.data["index"], change.data["name"], change.data["value"])
                done.append(change)
            self.verify(current, plan)
        except NfvError as exc:  # the VFs left without their MAC/VLAN/trust/spoofchk setup are disabled
            raise sriov_fail_closed.failed_run(self, current, plan, done, exc) from exc
        persist(self.fs, self.runner, plan)

    def set_count(self, current):
        path = "%s/%s/sriov_numvfs" % (pci.PCI_ROOT, current["address"])
        if current["numvfs"]:
            self.fs.write(path, "0")
        try:
            self.fs.write(path, str(self.count))
        except NfvError as exc:
            restored = "no VFs are left"
            if current["numvfs"]:
                try:
                    self.fs.write(path, str(current["numvfs"]))
                    restored = "the previous %d VFs were created again, without their settings" % current["numvfs"]
                except NfvError:
                    restored = "restoring %d VFs failed too, so no VFs are left" % current["numvfs"]
            raise NfvError("creating %d VFs on %s failed: %s; %s" % (self.count, current["address"], exc.msg, restored),
                           pf=current["address"]) from exc
        deadline = time.time() + VF_APPEAR_SECONDS
        while len(pci.virtfns(self.fs, current["address"])) != self.count and time.time() < deadline:
            time.sleep(0.2)
        found = len(pci.virtfns(self.fs, current["address"]))
        if found != self.count:
            raise NfvError("%s: wrote %d to sriov_numvfs but %d VFs appeared (sriov_numvfs reads %s)"
                           % (current["address"], self.count, found, self.fs.read(path)), pf=current["address"])

    def set_vf(self, ifname, index, name, value):
        rc, out, err = self.runner.run("ip", ["link", "set", "dev", ifname, "vf", str(index)] + ip_args(name, value),
                                       check=False)
        if rc != 0:
            detail = (output_text(err) or output_text(out)).strip()
            raise NfvError("VF %d %s %s on %s failed: %s"
                           % (index, name, show(name, value), ifname, detail or "rc=%d" % rc), vf=index, setting=name)

    def vf_settings(self, ifname):
        return parse_vfinfo(self.runner.output("ip", ["-d", "-j", "link", "show", "dev", ifname]))

    def verify(self, current, plan):
        after = self.vf_settings(current["ifname"])
        wrong, unapplied = [], []
        for change in plan.by_action("setting"):
            index, name = change.data["index"], change.data["name"]
            got = after.get(index, {}).get(name)
            if got != change.data["value"]:
                wrong.append("VF %d %s reads %s, not %s" % (index, name, show(name, got), change.after))
                unapplied.append({"vf": index, "setting": name})
        if wrong:
            raise NfvError("the PF driver accepted but did not apply: " + "; ".join(wrong), wrong=wrong,
                           unapplied=unapplied)

    # -- report
    def report(self, current, plan):
        address = current["address"]
        if self.check_mode:
            count = self.count
            addresses = [vf["address"] for vf in current["vfs"]] if count == current["numvfs"] else []
        else:
            addresses = pci.virtfns(self.fs, address)
            count = len(addresses)
        settings = {}
        if not self.check_mode and count:
            settings = self.vf_settings(current["ifname"])
        netdevs = pci.netdevs_by_address(self.fs)
        vfs = []
        for index in range(count):
            vf_address = addresses[index] if index < len(addresses) else None
            info = pci.read_device(self.fs, vf_address, netdevs.get(vf_address)) if vf_address else {}
            entry = {"index": index, "address": vf_address, "driver": info.get("driver"),
                     "iommu_group": info.get("iommu_group"), "netdevs": info.get("netdevs", [])}
            entry.update(dict((name, show(name, value)) for name, value in settings.get(index, {}).items()))
            vfs.append(entry)
        return {"pf": address, "interface": current["ifname"], "totalvfs": current["device"]["sriov_totalvfs"],
                "numvfs_before": current["numvfs"], "numvfs": count, "vfs": vfs,
                "persistence": UNIT_NAME if self.params["persistent"] else "none"}
