# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Managed by nfv.dpdk.pci_driver: binds the PCI devices listed in the overrides file to their drivers
# (driver_override, unbind, drivers_probe), run at boot by nfv-dpdk-pci-bind.service.
# usage: nfv-dpdk-pci-bind OVERRIDES-FILE    (the unit names pci_driver.CONF_FILE; NFV_DPDK_SYSFS relocates /sys)
#   The file holds one device a line, "PCI-ADDRESS DRIVER [VENDOR:DEVICE[:SUBVENDOR:SUBDEVICE]]"; "#" starts
#   a comment. A device whose ids differ from those recorded (a renumbered bus puts another device at the
#   address) is left alone. Prints one line per device it moved; exits 1, naming the device and the cause,
#   when a device is missing, is another device or does not land on its driver (the others are still bound).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

NAME = "nfv-dpdk-pci-bind"


def say(stream, line):
    stream.write("%s: %s\n" % (NAME, line))
    stream.flush()


def read_bindings(text):
    """[(address, driver, ids or None)] of an overrides file; blank lines, comments and short lines are skipped."""
    bindings = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2:
            bindings.append((words[0], words[1], words[2] if len(words) > 2 else None))
    return bindings


def ids_of(device, count):
    """The device's ids as recorded ('8086:1572' or with the subsystem ids: count 2 or 4), '' if unreadable."""
    ids = []
    for name in ("vendor", "device", "subsystem_vendor", "subsystem_device")[:count]:
        try:
            with open(os.path.join(device, name)) as handle:
                ids.append(handle.read().strip().lower().replace("0x", "").zfill(4))
        except OSError:
            return ""
    return ":".join(ids)


def driver_of(device):
    link = os.path.join(device, "driver")
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else ""


def write(path, value):
    with open(path, "w") as handle:
        handle.write(value)


def load_driver(driver, err):
    try:
        # a program systemd runs, not a module: there is no AnsibleModule.run_command here
        done = os.spawnvp(os.P_WAIT, "modprobe", ["modprobe", driver]) == 0  # pylint: disable=ansible-bad-function
    except OSError:
        done = False
    if not done:
        say(err, "cannot load driver %s" % driver)


def bind(sys_root, address, driver, out, err, recorded=None):
    """Put one device on its driver; False, with a line on err, when it is not there afterwards."""
    device = os.path.join(sys_root, "bus/pci/devices", address)
    if not os.path.exists(device):
        say(err, "%s: no such PCI device" % address)
        return False
    if recorded:
        found = ids_of(device, len(recorded.split(":")))
        if found != recorded.lower():
            say(err, "%s: is %s, not the %s recorded: left alone (was the bus renumbered?)"
                % (address, found or "unreadable", recorded))
            return False
    drivers = os.path.join(sys_root, "bus/pci/drivers")
    if not os.path.isdir(os.path.join(drivers, driver)):
        load_driver(driver, err)
    current = driver_of(device)
    try:
        write(os.path.join(device, "driver_override"), driver)
        if current == driver:
            return True
        if current:
            write(os.path.join(drivers, current, "unbind"), address)
        write(os.path.join(sys_root, "bus/pci/drivers_probe"), address)
    except OSError as exc:
        say(err, "%s: binding to %s failed: %s" % (address, driver, exc.strerror or exc))
        return False
    now = driver_of(device)
    if now != driver:
        say(err, "%s: binding to %s failed (now: %s)" % (address, driver, now or "no driver"))
        return False
    say(out, "%s: %s -> %s" % (address, current or "no driver", driver))
    return True


def main(argv, environ, out, err):
    if len(argv) != 2:
        say(err, "usage: %s OVERRIDES-FILE" % NAME)
        return 2
    conf = argv[1]
    sys_root = environ.get("NFV_DPDK_SYSFS") or "/sys"
    try:
        with open(conf) as handle:
            text = handle.read()
    except OSError:
        return 0  # nothing to bind (the unit's ConditionPathExists= normally says so first)
    failed = [address for address, driver, ids in read_bindings(text)
              if not bind(sys_root, address, driver, out, err, ids)]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv, os.environ, sys.stdout, sys.stderr))
