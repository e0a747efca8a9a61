# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SR-IOV virtual functions of one PF: count, per-VF settings through the PF, persistence.

Order of one run:
  validate the input -> resolve the PF (address or interface) -> read sriov_totalvfs/numvfs, the VFs
  (virtfnN links) and their settings (`ip -d -j link show PF`) -> refuse a count change while a VF is
  in use (vfio group open, OVS dpdk-devargs) or the PF carries management traffic, unless forced ->
  plan (count, settings, boot file) -> apply (count through 0, settings one `ip link set` each, read
  back) -> persist.

The kernel refuses to change a non-zero VF count to another non-zero one: it goes through 0, which
destroys every VF (and its settings). A run that changes the count therefore applies every listed
setting again. At boot nfv-dpdk-sriov.service replays /etc/nfv-dpdk/sriov.d/<PF>.conf before the
PCI binding unit and Open vSwitch start.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text, write_atomic
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import program_text, system_python
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import output_text
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import enable_wants_link
from ansible_collections.nfv.dpdk.plugins.module_utils.host import netdev, pci
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import dpdk_ports_of
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import boot_sriov_vfs, sriov_fail_closed
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.mgmt_guard import read_network
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.pci_driver_persistence import UNIT_NAME as PCI_BIND_UNIT
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.pci_guard import guard_reasons, vfio_users
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.requested_devices import parse_device_spec

CONF_DIR = "/etc/nfv-dpdk/sriov.d"
SCRIPT = "/usr/local/sbin/nfv-dpdk-sriov"
UNIT_NAME = "nfv-dpdk-sriov.service"
UNIT_FILE = "/etc/systemd/system/" + UNIT_NAME
UNIT_WANTS_LINK = "/etc/systemd/system/sysinit.target.wants/" + UNIT_NAME
VF_APPEAR_SECONDS = 10

LINK_STATES = ("auto", "enable", "disable")
# the settings a VF can carry, in the order they are applied and shown
SETTINGS = ("mac", "vlan", "trust", "spoofchk", "link_state", "max_tx_rate", "min_tx_rate")
ZERO_MAC = "00:00:00:00:00:00"


def script_text(python):
    """The boot-time VF program (module_utils/boot_sriov_vfs.py) as installed at SCRIPT."""
    return program_text(boot_sriov_vfs, python, "-IS")


UNIT_TEXT = """# Managed by nfv.dpdk.sriov_vfs
[Unit]
Description=Create the SR-IOV VFs set by nfv.dpdk.sriov_vfs
DefaultDependencies=no
After=systemd-modules-load.service systemd-udev-trigger.service local-fs.target
Before={pci_bind} network-pre.target openvswitch-switch.service ovs-vswitchd.service
Before=sysinit.target shutdown.target
Wants=network-pre.target
Conflicts=shutdown.target
ConditionDirectoryNotEmpty={conf}

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=180
ExecStart={script} {conf}

[Install]
WantedBy=sysinit.target
""".format(conf=CONF_DIR, script=SCRIPT, pci_bind=PCI_BIND_UNIT)


# -- input ---------------------------------------------------------------------------------------
def _bool(field, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise NfvError("%s: %r is not a boolean (true/false)" % (field, value))


def _int(field, value, low, high):
    if isinstance(value, bool):
        raise NfvError("%s: %r is not a number" % (field, value))
    try:
        number = int(str(value).strip())
    except ValueError:
        raise NfvError("%s: %r is not a number" % (field, value)) from None
    if not low <= number <= high:
        raise NfvError("%s: %d is out of range %d-%d" % (field, number, low, high))
    return number


def normalize_vf(index, entry):
    """One `vfs` entry -> {'index': N, setting: value} with only the settings it names, validated."""
    if not isinstance(entry, dict):
        raise NfvError("vfs[%d] must be a mapping with an index and settings, not %r" % (index, entry))
    known = set(SETTINGS) | {"index", "qos"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise NfvError("vfs[%d]: unknown setting(s) %s (known: %s)"
                       % (index, ", ".join(unknown), ", ".join(sorted(known))))
    if entry.get("index") is None:
        raise NfvError("vfs[%d]: index is required (the VF number on the PF, from 0)" % index)
    where = "vfs[%d]" % index
    vf = {"index": _int(where + ".index", entry["index"], 0, 255)}
    where = "VF %d" % vf["index"]
    if entry.get("mac") is not None:
        mac = netdev.normalize_mac(entry["mac"])
        if mac is None:
            raise NfvError("%s: invalid MAC %r (expected six hex pairs, 52:54:00:12:34:56)" % (where, entry["mac"]))
        why = netdev.mac_problem(mac)
        if why:
            raise NfvError("%s: MAC %s %s; leave mac out to keep the VF's own" % (where, mac, why))
        vf["mac"] = mac
    if entry.get("qos") is not None and entry.get("vlan") is None:
        raise NfvError("%s: qos needs a vlan (the priority goes into the VLAN tag)" % where)
    if entry.get("vlan") is not None:
        vf["vlan"] = {"vlan": _int(where + " vlan", entry["vlan"], 0, 4095),
                      "qos": _int(where + " qos", entry.get("qos") or 0, 0, 7)}
        if vf["vlan"]["vlan"] == 0 and vf["vlan"]["qos"]:
            raise NfvError("%s: qos %d needs a VLAN other than 0" % (where, vf["vlan"]["qos"]))
    for name in ("trust", "spoofchk"):
        if entry.get(name) is not None:
            vf[name] = _bool("%s %s" % (where, name), entry[name])
    if entry.get("link_state") is not None:
        state = str(entry["link_state"]).strip().lower()
        if state not in LINK_STATES:
            raise NfvError("%s: link_state %r is not one of %s" % (where, entry["link_state"], ", ".join(LINK_STATES)))
        vf["link_state"] = state
    for name in ("max_tx_rate", "min_tx_rate"):
        if entry.get(name) is not None:
            vf[name] = _int("%s %s (Mbit/s)" % (where, name), entry[name], 0, 10000000)
    if vf.get("max_tx_rate") and vf.get("min_tx_rate", 0) > vf["max_tx_rate"]:
        raise NfvError("%s: min_tx_rate %d is above max_tx_rate %d" % (where, vf["min_tx_rate"], vf["max_tx_rate"]))
    return vf


def normalize_vfs(entries, count):
    vfs, seen = [], {}
    for position, entry in enumerate(entries or []):
        vf = normalize_vf(position, entry)
        if vf["index"] in seen:
            raise NfvError("VF %d is listed twice in vfs (entries %d and %d)"
                           % (vf["index"], seen[vf["index"]], position))
        if vf["index"] >= count:
            raise NfvError("VF index %d is out of range: count is %d, so VFs are numbered 0-%d"
                           % (vf["index"], count, count - 1) if count else
                           "VF index %d is out of range: count is 0, there are no VFs to set up" % vf["index"])
        seen[vf["index"]] = position
        vfs.append(vf)
    macs = {}
    for vf in vfs:
        if "mac" in vf:
            if vf["mac"] in macs:
                raise NfvError("VFs %d and %d are given the same MAC %s" % (macs[vf["mac"]], vf["index"], vf["mac"]))
            macs[vf["mac"]] = vf["index"]
    return sorted(vfs, key=lambda v: v["index"])


# -- reading -------------------------------------------------------------------------------------
def setting_of(info, name):
    """One setting of a VF from its `ip -d -j link show` vfinfo_list entry."""
    if name == "mac":
        return (info.get("address") or info.get("mac") or ZERO_MAC).lower()
    if name == "vlan":
        tags = [t for t in info.get("vlan_list") or [] if t]
        first = tags[0] if tags else {}
        return {"vlan": int(first.get("vlan", 0)), "qos": int(first.get("qos", 0))}
    if name in ("trust", "spoofchk"):
        return info.get(name)  # None: the driver does not report it
    if name == "link_state":
        return info.get("link_state")
    rate = info.get("rate") or {}
    if name == "max_tx_rate":
        return int(rate.get("max_tx", info.get("max_tx_rate", 0)) or 0)
    return int(rate.get("min_tx", info.get("min_tx_rate", 0)) or 0)


def parse_vfinfo(text):
    """`ip -d -j link show dev PF` -> {vf index: {setting: value}}."""
    try:
        links = json.loads(text or "[]")
    except ValueError as exc:
        raise NfvError("cannot read `ip -d -j link show` output: %s" % exc) from exc
    result = {}
    for link in links:
        for info in link.get("vfinfo_list") or []:
            result[int(info["vf"])] = dict((name, setting_of(info, name)) for name in SETTINGS)
    return result


def show(name, value):
    """A setting as the diff shows it."""
    if value is None:
        return None
    if name == "vlan":
        return "%d qos %d" % (value["vlan"], value["qos"]) if value["qos"] else str(value["vlan"])
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def ip_args(name, value):
    """`ip link set dev PF vf N ...` arguments for one setting."""
    if name == "mac":
        return ["mac", value]
    if name == "vlan":
        return ["vlan", str(value["vlan"]), "qos", str(value["qos"])]
    if name in ("trust", "spoofchk"):
        return [name, "on" if value else "off"]
    if name == "link_state":
        return ["state", value]
    return [name, str(value)]


def conf_text(count, vfs, identity=None):
    lines = ["# Managed by nfv.dpdk.sriov_vfs; replayed at boot by %s" % UNIT_NAME]
    if identity:
        lines.append("pf %s" % identity)  # a PF with other ids at the address is left alone
    lines.append("numvfs %d" % count)
    for vf in vfs:
        args = []
        for name in SETTINGS:
            if name in vf:
                args += ip_args(name, vf[name])
        if args:
            lines.append("vf %d %s" % (vf["index"], " ".join(args)))
    return "\n".join(lines) + "\n"


def conf_path(address):
    return "%s/%s.conf" % (CONF_DIR, address)


# -- the module ----------------------------------------------------------------------------------
class SriovVfs(PlannedModule):
    diff_header = "SR-IOV virtual functions"

    def validate(self):
        parse_device_spec(self.params["pf"])
        self.count = _int("count", self.params["count"], 0, 65535)
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
            paths = (conf_path(address), SCRIPT, UNIT_FILE)
            current["files"] = dict((path, read_text(self.fs.path(path))) for path in paths)
            current["unit_enabled"] = os.path.lexists(self.fs.path(UNIT_WANTS_LINK))
            current["python"] = system_python(self.runner, "the boot-time VF program " + SCRIPT)
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
            self.plan_persistence(plan, current)
        return plan

    def plan_persistence(self, plan, current):
        files = current["files"]
        path = conf_path(current["address"])
        if self.count == 0:
            if files[path] is not None:
                plan.add(path, files[path], None, action="remove", path=path)
            return
        wanted = conf_text(self.count, self.vfs, current["identity"])
        files_wanted = ((path, wanted, 0o644), (SCRIPT, script_text(current["python"]), 0o755),
                        (UNIT_FILE, UNIT_TEXT, 0o644))
        for target, text, mode in files_wanted:
            if files[target] != text:
                plan.add(target, files[target], text, action="file", path=target, mode=mode)
        if not current["unit_enabled"]:
            plan.add(UNIT_NAME, "disabled", "enabled (sysinit.target)", action="enable")

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
        self.persist(plan)

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

    def persist(self, plan):
        unit_changed = False
        for change in plan.by_action("file"):
            write_atomic(self.fs.path(change.data["path"]), change.after, mode=change.data["mode"])
            unit_changed = unit_changed or change.data["path"] == UNIT_FILE
        for change in plan.by_action("remove"):
            os.unlink(self.fs.path(change.data["path"]))
        if plan.by_action("enable"):
            enable_wants_link(self.fs, UNIT_FILE, UNIT_WANTS_LINK)
        if unit_changed and self.fs.isdir("/run/systemd/system") and self.runner.has("systemctl"):
            self.runner.run("systemctl", ["daemon-reload"])

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
