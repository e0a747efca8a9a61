# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What pci_driver leaves on a host so that its bindings survive a reboot, and the memory of its devices.

With driverctl on the host, its saved overrides (DRIVERCTL_DIR/pci-ADDR) carry the bindings; without it, the
overrides file CONF_FILE, applied at boot by the unit UNIT_NAME running the program BIND_SCRIPT
(module_utils/pci/boot_pci_bind.py). STATE_FILE remembers the interface name and the kernel driver of every
device a run bound, since a NIC on vfio-pci has neither. state=absent removes all of it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text, write_atomic
from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import program_text, system_python
from ansible_collections.nfv.dpdk.plugins.module_utils.host import pci
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import boot_pci_bind, boot_unit
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.driver_binding import KERNEL, USERSPACE_DRIVERS

STATE_FILE = "/var/lib/nfv-dpdk/pci-driver.json"
CONF_FILE = "/etc/nfv-dpdk/pci-driver-overrides.conf"
BIND_SCRIPT = "/usr/local/sbin/nfv-dpdk-pci-bind"
UNIT_NAME = "nfv-dpdk-pci-bind.service"
UNIT = boot_unit.sysinit_unit(UNIT_NAME)
UNIT_FILE = UNIT.file
UNIT_WANTS_LINK = UNIT.wants_link
DRIVERCTL_DIR = "/etc/driverctl.d"  # driverctl's saved overrides: one file pci-ADDR holding the driver
# state=absent: what goes, in this order
REMOVED = ((UNIT_FILE, 0o644), (BIND_SCRIPT, 0o755), (CONF_FILE, 0o644), (STATE_FILE, 0o644))

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


def write_state(fs, state):
    write_atomic(fs.path(STATE_FILE), json.dumps(state, indent=2, sort_keys=True) + "\n", mode=0o644)


# -- overrides ---------------------------------------------------------------------------------------
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


def read_persistence(fs, runner, conf, devices, absent):
    """How the bindings of `devices` persist and what the next boot applies: persistence ('driverctl' or
    'unit'), overrides; for the unit the identities, for the unit and state=absent the files and the unit's
    state. `conf` is the text of the overrides file, read once by the caller."""
    found = {"persistence": "driverctl" if runner.has("driverctl") else "unit"}
    if found["persistence"] == "driverctl":
        found["overrides"] = read_driverctl_overrides(fs, [d["address"] for d in devices])
    else:
        found["overrides"] = parse_overrides(conf)
        # the ids the boot program checks: those recorded, and those of this run's devices now
        found["identities"] = parse_identities(conf)
        found["identities"].update((d["address"], pci.identity(fs, d["address"])) for d in devices)
    if found["persistence"] == "unit" or absent:
        found["files"] = dict((path, conf if path == CONF_FILE else read_text(fs.path(path)))
                              for path in (CONF_FILE, BIND_SCRIPT, UNIT_FILE, STATE_FILE))
        found["unit_enabled"] = boot_unit.is_enabled(fs, UNIT)
    if found["persistence"] == "unit" and not absent:
        found["python"] = system_python(runner, "the boot-time binding program " + BIND_SCRIPT)
    return found


# -- plan ----------------------------------------------------------------------------------------------
def plan_persistence(plan, current, driver, moving, absent):
    """The changes that make `driver` the boot-time driver of the devices of `current` (`moving`: the
    addresses this run binds); with `absent`, the removal of the unit and its files."""
    kind = current["persistence"]
    if kind == "none":
        return
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
    if absent:
        # the boot unit off, then its program, the overrides and the interface memory gone
        boot_unit.plan_removal(plan, UNIT, current["files"], REMOVED, current["unit_enabled"])
    if kind == "driverctl" or absent:
        return
    files = current["files"]
    if not wanted and files[CONF_FILE] is None:
        return  # nothing to persist and never was: no boot unit either
    boot_unit.plan_install(plan, UNIT, files, ((CONF_FILE, format_overrides(wanted, current["identities"]), 0o644),
                                               (BIND_SCRIPT, bind_script_text(current["python"]), 0o755),
                                               (UNIT_FILE, UNIT_TEXT, 0o644)), current["unit_enabled"])


# -- apply ---------------------------------------------------------------------------------------------
def persist(fs, runner, plan, skip=()):
    """Apply the persistence changes (but `skip`, made already); on failure undo the ones made here, then
    raise NfvError."""
    done = []
    try:
        for change in plan.by_action("driverctl"):
            if change in skip:
                continue
            if change.data["moving"]:
                set_driverctl(runner, change.data["address"], change.after)
            else:
                # `driverctl set-override` always unbinds and re-probes: for a device that is on
                # its driver already (maybe in use by a guest) record the override in driverctl's
                # own file instead, which its udev rule applies at boot.
                write_driverctl_file(fs, change.data["address"], change.after)
            done.append(change)
        boot_unit.install(fs, runner, plan, UNIT, done)
    except (NfvError, IOError, OSError) as exc:
        undone = undo_persistence(fs, done)
        msg = exc.msg if isinstance(exc, NfvError) else str(exc)
        raise NfvError("making the bindings persistent failed: %s (persistence changes undone: %s)"
                       % (msg, ", ".join(undone) or "none had been made")) from exc


def set_driverctl(runner, address, driver):
    if driver is None:
        runner.run("driverctl", ["unset-override", address])
    else:
        runner.run("driverctl", ["set-override", address, driver])


def write_driverctl_file(fs, address, driver):
    path = driverctl_file(address)
    if driver is None:
        if os.path.lexists(fs.path(path)):
            os.unlink(fs.path(path))
    else:
        write_atomic(fs.path(path), driver + "\n", mode=0o644)


def undo_persistence(fs, done):
    """Take the changes `done` back, last first; the keys of those undone."""
    undone = []
    for change in reversed(done):
        try:
            if change.action == "driverctl":
                write_driverctl_file(fs, change.data["address"], change.before)
            else:
                boot_unit.undo(fs, UNIT, change)
            undone.append(change.key)
        except (NfvError, IOError, OSError):
            pass
    return undone
