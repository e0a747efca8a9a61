# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nfv.dpdk.pci_driver: binding PCI devices to a driver, the module's read, checks, plan, apply and report.

Order of one run:
  parse `devices` (addresses or interface names) -> resolve them against sysfs and the
  interface-name memory -> devices a process holds through vfio-pci -> management guard -> IOMMU on
  -> IOMMU group viability -> driver available -> plan (module load, bindings, persistence) -> apply
  (bind every device, verify each by reading the driver link back, roll every device of the run back
  on any failure) -> persist -> remember interface names.

The requested devices are checked and resolved in requested_devices, bound and rolled back in
driver_binding, made persistent in pci_driver_persistence. Every sysfs read and write goes through
HostFS, every command through the Runner, so the same code runs against a fixture tree in unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import output_text
from ansible_collections.nfv.dpdk.plugins.module_utils.host import netdev, pci
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.driver_binding import (
    DRIVERS_ROOT,
    KERNEL,
    NOIOMMU_PARAM,
    USERSPACE_DRIVERS,
    VFIO,
    bind_device,
    current_driver,
    noiommu_off,
    rollback,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.mgmt_guard import read_network
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.pci_driver_persistence import (
    CONF_FILE,
    UNIT_NAME,
    parse_overrides,
    persist,
    plan_persistence,
    read_persistence,
    read_state,
    undo_persistence,
    updated_state,
    write_driverctl_file,
    write_state,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.pci_guard import (
    group_blockers,
    guard_reasons,
    iommu_enabled,
    iommu_error,
    vfio_users,
    viability_error,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.requested_devices import (
    parse_device_spec,
    resolve_devices,
    validate_driver,
)


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
            current.update(read_persistence(fs, self.runner, conf, devices, self.absent))
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
        plan_persistence(plan, current, driver, set(d["address"] for d in moving), self.absent)
        return plan

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
                write_driverctl_file(self.fs, change.data["address"], None)
            if noiommu:
                self.fs.write(NOIOMMU_PARAM, "Y")
            for device, driver in bindings:
                touched.append(device)
                bind_device(self.fs, device["address"], driver, device["driver"])
            persist(self.fs, self.runner, plan, skip=released)
        except NfvError as exc:
            report = rollback(self.fs, touched)
            report.extend("%s restored" % key for key in undo_persistence(self.fs, released))
            if noiommu:
                # the unsafe mode was this run's doing: a failed run must not leave it on
                report.append(noiommu_off(self.fs))
            details = dict(exc.details)
            details["rollback"] = report
            raise NfvError("%s; rolled back every device of this run: %s"
                           % (exc.msg, "; ".join(report) or "nothing was bound yet"), **details) from exc

    def remember(self, current):
        state = updated_state(current["state"], current["devices"])
        if state != current["state"]:
            write_state(self.fs, state)
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
