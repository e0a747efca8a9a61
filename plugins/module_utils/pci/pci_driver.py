# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Binding PCI devices to a driver: resolution, safety checks, planning, bind/rollback, persistence.

Order of one run:
  parse `devices` (addresses or interface names) -> resolve them against sysfs and the
  interface-name memory -> devices a process holds through vfio-pci -> management guard -> IOMMU on
  -> IOMMU group viability -> driver available -> plan (module load, bindings, persistence) -> apply
  (bind every device, verify each by reading the driver link back, roll every device of the run back
  on any failure) -> persist -> remember interface names.

Every sysfs read and write goes through HostFS, every command through the Runner, so the
same code runs against a fixture tree in unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text, write_atomic
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import program_text, system_python
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import output_text
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import enable_wants_link
from ansible_collections.nfv.dpdk.plugins.module_utils.host import netdev, pci
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import boot_pci_bind
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.mgmt_guard import read_network
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.pci_guard import (
    group_blockers,
    guard_reasons,
    iommu_enabled,
    iommu_error,
    vfio_users,
    viability_error,
)

KERNEL = "kernel"  # the `driver` value that hands a device back to its default kernel driver
VFIO = "vfio-pci"
# drivers that hand a device to user space: a device on one of them is not "on its kernel driver"
USERSPACE_DRIVERS = ("vfio-pci", "uio_pci_generic", "igb_uio", "pci-stub")

DRIVERS_ROOT = "/sys/bus/pci/drivers"
PROBE = "/sys/bus/pci/drivers_probe"
NOIOMMU_PARAM = "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
STATE_FILE = "/var/lib/nfv-dpdk/pci-driver.json"
CONF_FILE = "/etc/nfv-dpdk/pci-driver-overrides.conf"
BIND_SCRIPT = "/usr/local/sbin/nfv-dpdk-pci-bind"
UNIT_NAME = "nfv-dpdk-pci-bind.service"
UNIT_FILE = "/etc/systemd/system/" + UNIT_NAME
UNIT_WANTS_LINK = "/etc/systemd/system/sysinit.target.wants/" + UNIT_NAME
DRIVERCTL_DIR = "/etc/driverctl.d"  # driverctl's saved overrides: one file pci-ADDR holding the driver

# patterns used with fullmatch: "$" also matches before a final newline ("vfio-pci\n")
DRIVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
IFNAME = re.compile(r"[^/\s:]{1,15}")

CONF_HEADER = ("# Managed by nfv.dpdk.pci_driver. Applied at boot by %s before networking and\n"
               "# Open vSwitch start. One device per line: PCI-ADDRESS DRIVER IDS (a device with other ids\n"
               "# at the address is left alone)\n" % UNIT_NAME)


def bind_script_text(python):
    """The boot-time binding program (module_utils/boot_pci_bind.py) as installed at BIND_SCRIPT."""
    return program_text(boot_pci_bind, python, "-IS")


UNIT_TEXT = """# Managed by nfv.dpdk.pci_driver
[Unit]
Description=Bind PCI devices to the drivers set by nfv.dpdk.pci_driver
DefaultDependencies=no
After=systemd-modules-load.service local-fs.target
Wants=network-pre.target
Before=network-pre.target openvswitch-switch.service ovs-vswitchd.service sysinit.target shutdown.target
Conflicts=shutdown.target
ConditionPathExists={conf}

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=120
ExecStart={script} {conf}

[Install]
WantedBy=sysinit.target
""".format(conf=CONF_FILE, script=BIND_SCRIPT)


# -- input -----------------------------------------------------------------------------------
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


# -- interface-name memory ---------------------------------------------------------------------
def read_state(fs):
    """{'devices': {address: {'interface', 'original_driver'}}} from the state file (empty if none)."""
    text = fs.read(STATE_FILE)
    if not text:
        return {"devices": {}}
    try:
        data = json.loads(text)
    except ValueError:
        return {"devices": {}}
    if not isinstance(data, dict) or not isinstance(data.get("devices"), dict):
        return {"devices": {}}
    return data


def updated_state(state, devices):
    """The state with interface names and original kernel drivers of `devices` remembered."""
    memory = dict((addr, dict(entry)) for addr, entry in state.get("devices", {}).items())
    for device in devices:
        entry = memory.setdefault(device["address"], {})
        if device.get("interface"):
            entry["interface"] = device["interface"]
        driver = device.get("driver")
        if driver and driver not in USERSPACE_DRIVERS:
            entry["original_driver"] = driver
    return {"devices": memory}


def write_file_atomic(fs, path, text, mode=0o644):
    """Write `text` atomically to host path `path` (under fs.root)."""
    write_atomic(fs.path(path), text, mode=mode)


# -- resolution ----------------------------------------------------------------------------------
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


# -- persistence -------------------------------------------------------------------------------------
def parse_overrides(text):
    """Lines 'ADDR DRIVER' (comments and blanks skipped) -> {address: driver}."""
    result = {}
    for line in (text or "").splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            result[fields[0]] = fields[1]
    return result


def parse_identities(text):
    """{address: 'vendor:device[:subvendor:subdevice]'} of the overrides lines that record them."""
    result = {}
    for line in (text or "").splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 3:
            result[fields[0]] = fields[2]
    return result


def format_overrides(entries, identities=None):
    identities = identities or {}
    return CONF_HEADER + "".join(("%s %s %s\n" % (addr, entries[addr], identities[addr]) if identities.get(addr)
                                  else "%s %s\n" % (addr, entries[addr])) for addr in sorted(entries))


def driverctl_file(address):
    return "%s/pci-%s" % (DRIVERCTL_DIR, address)


def read_driverctl_overrides(fs, addresses):
    """{address: driver} saved by driverctl for `addresses` (what the next boot applies)."""
    result = {}
    for address in addresses:
        driver = fs.read(driverctl_file(address))
        if driver:
            result[address] = driver
    return result


# -- the module -----------------------------------------------------------------------------------
class PciDriver(PlannedModule):
    diff_header = "PCI driver bindings"
    connection = None  # the guarded addresses of an explicit connection_address (set by validate)

    absent = False  # state=absent: every device of the module's files back to its kernel driver, the files gone

    def validate(self):
        self.absent = self.params.get("state") == "absent"
        if self.absent:
            self.params.update(driver=KERNEL, persistent=True)
        validate_driver(self.params["driver"])
        if not self.params["devices"] and not self.absent:
            raise NfvError("devices is empty: name at least one PCI address or interface")
        for spec in self.params["devices"]:
            parse_device_spec(spec)
        given = self.params.get("connection_address")
        self.connection = netdev.resolve_connection_address(given) if given not in (None, "") else None

    # -- read
    def read(self):
        fs = self.fs
        state = read_state(fs)
        conf = read_text(fs.path(CONF_FILE))  # the overrides file, read once
        specs = list(self.params["devices"])
        if self.absent:
            specs += self.owned_devices(state, conf)
        targets = resolve_devices(fs, specs, state)
        netdevs = pci.netdevs_by_address(fs)
        devices = []
        for target in targets:
            info = pci.read_device(fs, target["address"], netdevs.get(target["address"]))
            info["interface"] = target["interface"]
            info["requested"] = target["requested"]
            devices.append(info)
        driver = self.params["driver"]
        current = {
            "state": state,
            "devices": devices,
            "driver_loaded": driver == KERNEL or fs.isdir("%s/%s" % (DRIVERS_ROOT, driver)),
            "iommu": iommu_enabled(fs),
            "noiommu": fs.read(NOIOMMU_PARAM) in ("Y", "1"),
        }
        if self.params["persistent"]:
            current["persistence"] = "driverctl" if self.runner.has("driverctl") else "unit"
            if current["persistence"] == "driverctl":
                current["overrides"] = read_driverctl_overrides(fs, [d["address"] for d in devices])
            else:
                current["overrides"] = parse_overrides(conf)
                # the ids the boot program checks: those recorded, and those of this run's devices now
                current["identities"] = parse_identities(conf)
                current["identities"].update((d["address"], pci.identity(fs, d["address"])) for d in devices)
            if current["persistence"] == "unit" or self.absent:
                current["files"] = dict((path, conf if path == CONF_FILE else read_text(fs.path(path)))
                                        for path in (CONF_FILE, BIND_SCRIPT, UNIT_FILE, STATE_FILE))
                current["unit_enabled"] = os.path.lexists(fs.path(UNIT_WANTS_LINK))
            if current["persistence"] == "unit" and not self.absent:
                current["python"] = system_python(self.runner, "the boot-time binding program " + BIND_SCRIPT)
        else:
            current["persistence"] = "none"
        current["moving"] = [d for d in devices if self.needs_change(d)]
        current["checks"] = self.read_checks(current, current["moving"])
        return current

    def read_checks(self, current, moving):
        """What the refusals of plan need from the host, in their order, up to the first one that refuses:
        holders of vfio groups, the management guard, the IOMMU's state, group viability and modprobe's
        answer for a driver not loaded yet."""
        fs, driver = self.fs, self.params["driver"]
        checks = {"held": [], "refused": [], "iommu_error": None, "blockers": {}, "driver_problem": None}
        for device in moving:
            if device["driver"] == VFIO and device["iommu_group"] is not None:
                users = vfio_users(fs, device["iommu_group"])
                if users:
                    checks["held"].append("%s: IOMMU group %s (/dev/vfio/%s) is open by %s" % (
                        device["address"], device["iommu_group"], device["iommu_group"], ", ".join(users)))
        if not moving or checks["held"]:
            return checks
        if driver != KERNEL and not self.params["force"]:
            network = read_network(fs, self.runner, self.connection or netdev.connection_address())
            for device in moving:
                reasons = guard_reasons(fs, device, network)
                if reasons:
                    checks["refused"].append("%s: %s" % (device["address"], "; ".join(reasons)))
            if checks["refused"]:
                return checks
        if driver == VFIO:
            if not current["iommu"]:
                checks["iommu_error"] = iommu_error(fs)
                if not self.params["vfio_noiommu"]:
                    return checks
            elif all(d["iommu_group"] is not None for d in moving):
                targets = set(d["address"] for d in current["devices"])
                checks["blockers"] = group_blockers(fs, current["devices"], targets)
            if checks["blockers"] or (current["iommu"] and any(d["iommu_group"] is None for d in moving)):
                return checks
        if driver != KERNEL and not current["driver_loaded"]:
            checks["driver_problem"] = self.driver_problem(driver)
        return checks

    def driver_problem(self, driver):
        """Why a driver that is not loaded cannot be (no modprobe, no such module), or None."""
        if not self.runner.has("modprobe"):
            return "driver %s is not loaded (no %s/%s) and the host has no modprobe" % (driver, DRIVERS_ROOT, driver)
        rc, _out, err = self.runner.run("modprobe", ["--dry-run", "--quiet", driver], check=False)
        if rc == 0:
            return None
        why = (": " + output_text(err).strip()) if output_text(err).strip() else ""
        kernel_release = self.fs.read("/proc/sys/kernel/osrelease", "?")
        return ("unknown driver %s: it is not loaded (no %s/%s) and modprobe finds no module of that name for "
                "kernel %s%s" % (driver, DRIVERS_ROOT, driver, kernel_release, why))

    def owned_devices(self, state, conf):
        """state=absent: the devices of the overrides file (its text `conf`) and the remembered ones on a
        user-space driver (those that still exist: a VF removed by hand has nothing left to hand back)."""
        owned = list(parse_overrides(conf))
        owned += [address for address in sorted(state.get("devices", {}))
                  if current_driver(self.fs, address) in USERSPACE_DRIVERS]
        return [address for address in owned if self.fs.exists("%s/%s" % (pci.PCI_ROOT, address))]

    # -- checks
    def needs_change(self, device):
        driver = self.params["driver"]
        if driver == KERNEL:
            return (device["driver_override"] is not None or device["driver"] is None
                    or device["driver"] in USERSPACE_DRIVERS)
        return device["driver"] != driver

    def check(self, current, moving):
        """Refuse before anything changes (from what read_checks read): guard, IOMMU, viability, driver."""
        driver, checks = self.params["driver"], current["checks"]
        bridges = [d["address"] for d in moving if d["is_bridge"]]
        if bridges and driver != KERNEL:
            raise NfvError("%s: PCI bridges are not bound to %s; name the devices behind them"
                           % (", ".join(bridges), driver), devices=bridges)
        held = checks["held"]
        if held:  # the kernel's unbind waits for the process to let go, however long: never start it
            raise NfvError("refusing to unbind devices a process holds through vfio-pci (the unbind would block "
                           "until it lets go; stop the guest or delete the OVS port first, force does not "
                           "override this): " + " | ".join(held), held=held)
        if checks["refused"]:
            raise NfvError("refusing to take these devices from the host (force=true overrides): "
                           + " | ".join(checks["refused"]), refused=checks["refused"])
        if driver == VFIO and moving:
            if not current["iommu"]:
                if not self.params["vfio_noiommu"]:
                    raise checks["iommu_error"]
            else:
                missing = [d["address"] for d in moving if d["iommu_group"] is None]
                if missing:
                    raise NfvError("no IOMMU group for %s: the IOMMU does not cover these devices"
                                   % ", ".join(missing), devices=missing)
                if checks["blockers"]:
                    raise viability_error(current["devices"], checks["blockers"])
        if checks["driver_problem"]:
            raise NfvError(checks["driver_problem"], driver=driver)

    def predicted_driver(self, device, state):
        driver = self.params["driver"]
        if driver != KERNEL:
            return driver
        if device["driver"] and device["driver"] not in USERSPACE_DRIVERS:
            return device["driver"]
        remembered = state.get("devices", {}).get(device["address"], {}).get("original_driver")
        return remembered or "(kernel default)"

    # -- plan
    def plan(self, current):
        driver = self.params["driver"]
        moving = current["moving"]
        self.check(current, moving)
        plan = Plan()
        if moving and driver != KERNEL and not current["driver_loaded"]:
            plan.add("module " + driver, "not loaded", "loaded", action="load", driver=driver)
        if moving and driver == VFIO and not current["iommu"] and not current["noiommu"]:
            plan.add("vfio no-IOMMU mode", "off", "on", action="noiommu")
        for device in moving:
            before = device["driver"] or "(none)"
            if device["driver_override"]:
                before += " (override %s)" % device["driver_override"]
            plan.add(device["address"], before, self.predicted_driver(device, current["state"]),
                     action="bind", device=device)
        self.plan_persistence(plan, current, set(d["address"] for d in moving))
        return plan

    def plan_persistence(self, plan, current, moving):
        kind = current["persistence"]
        if kind == "none":
            return
        driver = self.params["driver"]
        overrides = current["overrides"]
        wanted = dict(overrides)
        for device in current["devices"]:
            if driver == KERNEL:
                wanted.pop(device["address"], None)
            else:
                wanted[device["address"]] = driver
        if kind == "driverctl":
            for device in current["devices"]:
                addr = device["address"]
                if overrides.get(addr) != wanted.get(addr):
                    plan.add("driverctl override " + addr, overrides.get(addr), wanted.get(addr),
                             action="driverctl", address=addr, moving=addr in moving)
        if self.absent:
            self.plan_removal(plan, current)
        if kind == "driverctl" or self.absent:
            return
        files = current["files"]
        if not wanted and files[CONF_FILE] is None:
            return  # nothing to persist and never was: no boot unit either
        text = format_overrides(wanted, current["identities"])
        if files[CONF_FILE] != text:
            plan.add(CONF_FILE, files[CONF_FILE], text, action="file", path=CONF_FILE, mode=0o644)
        script = bind_script_text(current["python"])
        if files[BIND_SCRIPT] != script:
            plan.add(BIND_SCRIPT, files[BIND_SCRIPT], script, action="file", path=BIND_SCRIPT, mode=0o755)
        if files[UNIT_FILE] != UNIT_TEXT:
            plan.add(UNIT_FILE, files[UNIT_FILE], UNIT_TEXT, action="file", path=UNIT_FILE, mode=0o644)
        if not current["unit_enabled"]:
            plan.add(UNIT_NAME, "disabled", "enabled (sysinit.target)", action="enable")

    def plan_removal(self, plan, current):
        """state=absent: the boot unit off, then its program, the overrides and the interface memory gone."""
        if current["unit_enabled"]:
            plan.add(UNIT_NAME, "enabled (sysinit.target)", "disabled", action="disable")
        for path in (UNIT_FILE, BIND_SCRIPT, CONF_FILE, STATE_FILE):
            if current["files"][path] is not None:
                plan.add(path, current["files"][path], None, action="remove", path=path,
                         mode=0o755 if path == BIND_SCRIPT else 0o644)

    # -- apply
    def apply(self, plan, current):
        for change in plan.by_action("load"):
            self.runner.run("modprobe", [change.data["driver"]])
            if not self.fs.isdir("%s/%s" % (DRIVERS_ROOT, change.data["driver"])):
                raise NfvError("modprobe %s succeeded but %s/%s did not appear"
                               % (change.data["driver"], DRIVERS_ROOT, change.data["driver"]))
        noiommu = bool(plan.by_action("noiommu"))
        bindings = [(c.data["device"], self.params["driver"]) for c in plan.by_action("bind")]
        touched = []
        # a device leaving its override: driverctl's saved one goes first, so that nothing driverctl
        # starts (its udev rule, driverctl@.service) binds it back while it moves
        released = [c for c in plan.by_action("driverctl") if c.after is None and c.data["moving"]]
        try:
            for change in released:
                self.write_driverctl_file(change.data["address"], None)
            if noiommu:
                self.fs.write(NOIOMMU_PARAM, "Y")
            for device, driver in bindings:
                touched.append(device)
                bind_device(self.fs, device["address"], driver, device["driver"])
            self.persist(plan, skip=released)
        except NfvError as exc:
            report = rollback(self.fs, touched)
            report.extend("%s restored" % key for key in self.undo_persistence(released))
            if noiommu:
                # the unsafe mode was this run's doing: a failed run must not leave it on
                report.append(noiommu_off(self.fs))
            details = dict(exc.details)
            details["rollback"] = report
            raise NfvError("%s; rolled back every device of this run: %s"
                           % (exc.msg, "; ".join(report) or "nothing was bound yet"), **details) from exc

    def persist(self, plan, skip=()):
        """Apply the persistence changes (but `skip`, made already); on failure undo the ones made here,
        then re-raise."""
        done = []
        try:
            for change in plan.by_action("driverctl"):
                if change in skip:
                    continue
                if change.data["moving"]:
                    self.set_driverctl(change.data["address"], change.after)
                else:
                    # `driverctl set-override` always unbinds and re-probes: for a device that is on
                    # its driver already (maybe in use by a guest) record the override in driverctl's
                    # own file instead, which its udev rule applies at boot.
                    self.write_driverctl_file(change.data["address"], change.after)
                done.append(change)
            unit_changed = False
            for change in plan.by_action("file"):
                write_file_atomic(self.fs, change.data["path"], change.after, change.data["mode"])
                done.append(change)
                unit_changed = unit_changed or change.data["path"] == UNIT_FILE
            for change in plan.by_action("enable"):
                enable_wants_link(self.fs, UNIT_FILE, UNIT_WANTS_LINK)
                done.append(change)
            systemd = self.fs.isdir("/run/systemd/system") and self.runner.has("systemctl")
            for change in plan.by_action("disable"):
                if systemd:  # a oneshot without ExecStop: stopping only ends its "active (exited)"
                    self.runner.run("systemctl", ["stop", UNIT_NAME])
                os.unlink(self.fs.path(UNIT_WANTS_LINK))
                done.append(change)
            for change in plan.by_action("remove"):
                os.unlink(self.fs.path(change.data["path"]))
                done.append(change)
                unit_changed = unit_changed or change.data["path"] == UNIT_FILE
            if unit_changed and systemd:
                self.runner.run("systemctl", ["daemon-reload"])
        except (NfvError, IOError, OSError) as exc:
            undone = self.undo_persistence(done)
            msg = exc.msg if isinstance(exc, NfvError) else str(exc)
            raise NfvError("making the bindings persistent failed: %s (persistence changes undone: %s)"
                           % (msg, ", ".join(undone) or "none had been made")) from exc

    def set_driverctl(self, address, driver):
        if driver is None:
            self.runner.run("driverctl", ["unset-override", address])
        else:
            self.runner.run("driverctl", ["set-override", address, driver])

    def write_driverctl_file(self, address, driver):
        path = driverctl_file(address)
        if driver is None:
            if os.path.lexists(self.fs.path(path)):
                os.unlink(self.fs.path(path))
        else:
            write_file_atomic(self.fs, path, driver + "\n", 0o644)

    def undo_persistence(self, done):
        undone = []
        for change in reversed(done):
            try:
                if change.action == "driverctl":
                    self.write_driverctl_file(change.data["address"], change.before)
                elif change.action in ("file", "remove"):
                    if change.before is None:
                        os.unlink(self.fs.path(change.data["path"]))
                    else:
                        write_file_atomic(self.fs, change.data["path"], change.before, change.data["mode"])
                elif change.action == "enable":
                    os.unlink(self.fs.path(UNIT_WANTS_LINK))
                elif change.action == "disable":
                    enable_wants_link(self.fs, UNIT_FILE, UNIT_WANTS_LINK)
                undone.append(change.key)
            except (NfvError, IOError, OSError):
                pass
        return undone

    def remember(self, current):
        state = updated_state(current["state"], current["devices"])
        if state != current["state"]:
            write_file_atomic(self.fs, STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n", 0o644)
            current["state"] = state

    # -- report
    def report(self, current, plan):
        if not self.check_mode and not self.absent:
            self.remember(current)
        bound = dict((c.key, c.after) for c in plan.by_action("bind"))
        netdevs = pci.netdevs_by_address(self.fs) if not self.check_mode else {}
        devices = []
        for device in current["devices"]:
            addr = device["address"]
            if self.check_mode:
                after = bound.get(addr, device["driver"])
            else:
                after = pci.read_device(self.fs, addr)["driver"]
            names = netdevs.get(addr) or []
            devices.append({
                "address": addr,
                "requested": device["requested"],
                "interface": device["interface"] or (names[0] if names else None),
                "driver_before": device["driver"],
                "driver_after": after,
                "changed": addr in bound,
                "iommu_group": device["iommu_group"],
                "numa_node": device["numa_node"],
                "vendor_device": device["vendor_device"],
            })
        persistence = {"driverctl": "driverctl", "unit": UNIT_NAME}.get(current["persistence"], "none")
        return {"devices": devices, "persistence": persistence}


# -- binding -------------------------------------------------------------------------------------------
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
