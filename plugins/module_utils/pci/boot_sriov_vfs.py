# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Managed by nfv.dpdk.sriov_vfs: creates the SR-IOV VFs of every PF listed in a directory of
# <PF-ADDRESS>.conf files and sets them up through the PF, run at boot by nfv-dpdk-sriov.service
# before the PCI binding unit and Open vSwitch start.
# usage: nfv-dpdk-sriov DIRECTORY    (the unit names sriov.CONF_DIR; NFV_DPDK_SYSFS relocates /sys)
#   A file holds "pf VENDOR:DEVICE[:SUBVENDOR:SUBDEVICE]", "numvfs N", then "vf INDEX <ip link vf arguments>"
#   lines; "#" starts a comment. A PF whose ids differ from those recorded (a renumbered bus puts another
#   device at the address) is left alone. A VF whose "vf" line fails is disabled (ip link set ... state disable)
#   so it passes no traffic without its setup. Prints one line per PF whose VF count it changed; exits 1, naming
#   the PF and the cause, when a PF is missing, is another device or a step failed (the others are set up).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import time

NAME = "nfv-dpdk-sriov"
NETDEV_WAIT_SECONDS = 30  # the PF's driver may still be probing when the unit starts


def say(stream, line):
    stream.write("%s: %s\n" % (NAME, line))
    stream.flush()


def read_conf(text):
    """(ids or None, numvfs or None, [(vf index, [ip link arguments])]) of one PF's file."""
    ids, numvfs, vfs = None, None, []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) == 2 and words[0] == "pf":
            ids = words[1].lower()
        elif len(words) == 2 and words[0] == "numvfs" and words[1].isdigit():
            numvfs = int(words[1])
        elif len(words) >= 3 and words[0] == "vf" and words[1].isdigit():
            vfs.append((int(words[1]), words[2:]))
    return ids, numvfs, vfs


def ids_of(device, count):
    """The device's ids as recorded ('8086:10c9' or with the subsystem ids: count 2 or 4), '' if unreadable."""
    ids = []
    for name in ("vendor", "device", "subsystem_vendor", "subsystem_device")[:count]:
        try:
            ids.append(read(os.path.join(device, name)).lower().replace("0x", "").zfill(4))
        except OSError:
            return ""
    return ":".join(ids)


def run(argv):
    """Exit status of a command (127 when it cannot start)."""
    try:
        # a program systemd runs, not a module: there is no AnsibleModule.run_command here
        return os.spawnvp(os.P_WAIT, argv[0], argv)  # pylint: disable=ansible-bad-function
    except OSError:
        return 127


def netdev_of(device, wait_seconds):
    deadline = time.time() + wait_seconds
    while True:
        try:
            names = sorted(os.listdir(os.path.join(device, "net")))
        except OSError:
            names = []
        if names or not os.path.exists(device) or time.time() >= deadline:
            return names[0] if names else None
        time.sleep(0.5)


def read(path):
    with open(path) as handle:
        return handle.read().strip()


def write(path, value):
    with open(path, "w") as handle:
        handle.write(value)


def set_count(pf, ifname, numvfs_path, wanted, out, err):
    have = read(numvfs_path)
    if have == str(wanted):
        return True
    try:
        if have != "0":
            write(numvfs_path, "0")  # the kernel changes a VF count only through zero
        write(numvfs_path, str(wanted))
    except OSError as exc:
        say(err, "%s (%s): creating %d VFs failed: %s" % (pf, ifname, wanted, exc.strerror or exc))
        return False
    say(out, "%s (%s): %s -> %d VFs" % (pf, ifname, have, wanted))
    return True


def set_up_pf(sys_root, pf, text, out, err, wait_seconds):
    """Create one PF's VFs and replay their settings; False, with lines on err, when something failed."""
    device = os.path.join(sys_root, "bus/pci/devices", pf)
    recorded, numvfs, vfs = read_conf(text)
    if recorded and os.path.exists(device):
        found = ids_of(device, len(recorded.split(":")))
        if found != recorded:
            say(err, "%s: is %s, not the %s recorded: left alone (was the bus renumbered?)"
                % (pf, found or "unreadable", recorded))
            return False
    ifname = netdev_of(device, wait_seconds)
    numvfs_path = os.path.join(device, "sriov_numvfs")
    if not ifname or not os.access(numvfs_path, os.W_OK):
        say(err, "%s: no SR-IOV PF with a network interface here" % pf)
        return False
    done = numvfs is None or set_count(pf, ifname, numvfs_path, numvfs, out, err)
    for index, args in vfs:
        if run(["ip", "link", "set", "dev", ifname, "vf", str(index)] + args) != 0:
            done = False
            # fail closed: a VF without its MAC, VLAN, trust or spoof check setup must pass no traffic
            if run(["ip", "link", "set", "dev", ifname, "vf", str(index), "state", "disable"]) == 0:
                outcome = "VF %d disabled (link state disable) until the cause is fixed" % index
            else:
                outcome = "disabling VF %d failed too: it may pass traffic without that setup" % index
            say(err, "%s (%s): vf %d %s failed; %s" % (pf, ifname, index, " ".join(args), outcome))
    return done


def main(argv, environ, out, err, wait_seconds=NETDEV_WAIT_SECONDS):
    if len(argv) != 2:
        say(err, "usage: %s DIRECTORY" % NAME)
        return 2
    directory = argv[1]
    sys_root = environ.get("NFV_DPDK_SYSFS") or "/sys"
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith(".conf"))
    except OSError:
        names = []  # nothing to set up (the unit's ConditionDirectoryNotEmpty= normally says so first)
    failed = []
    for name in names:
        try:
            with open(os.path.join(directory, name)) as handle:
                text = handle.read()
        except OSError as exc:
            say(err, "%s: cannot read it: %s" % (name, exc.strerror or exc))
            failed.append(name)
            continue
        if not set_up_pf(sys_root, name[:-len(".conf")], text, out, err, wait_seconds):
            failed.append(name)
    # let udev finish with the new VFs (driverctl's overrides) before the binding unit and OVS start
    if names and os.path.isdir("/run/udev"):
        run(["udevadm", "settle", "--timeout=30"])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv, os.environ, sys.stdout, sys.stderr))
