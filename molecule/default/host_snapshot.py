"""What the collection can leave on a host, as one flat JSON object, and the comparison of two of them.

    host_snapshot.py take                      on the host (root): print the snapshot as JSON
    host_snapshot.py compare BEFORE AFTER      on the controller: exit 1 and print every difference
                                               that is not deliberately kept (KEPT below, README "Decommission")

A snapshot maps "section key" to a value: the files below the places the roles and modules write
(systemd units and their enablement links, modules-load.d, modprobe.d, udev rules, tmpfiles.d, GRUB
drop-ins, helpers, vhost-user and runtime directories, hugetlbfs mount points), systemd units that
are not inactive, hugepage pools per size and node, the driver of every PCI device, the Open_vSwitch
other_config and bridges, the ovs-vswitchd alternative, hugetlbfs mounts, QEMU and OVS processes and
tun/tap devices (see taps()). Python 3.9+ standard library only: `take` runs on the host's own python3.
"""

import glob
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys

TREES = ["/etc/systemd/system", "/etc/modules-load.d", "/etc/modprobe.d", "/etc/udev/rules.d",
         "/etc/tmpfiles.d", "/etc/default/grub.d", "/etc/kernel/cmdline", "/etc/nfv-dpdk", "/etc/driverctl.d",
         "/etc/apt/sources.list.d", "/usr/local/libexec", "/usr/local/sbin", "/var/lib/nfv-dpdk",
         "/var/lib/nfv-qemu", "/var/log/nfv-qemu", "/run/vhost", "/run/nfv-qemu", "/run/nfv-dpdk"]
# units that come and go with logins and D-Bus activation, whatever Ansible does
TRANSIENT_UNITS = re.compile(r"(user@|user-runtime-dir@|session-|run-user-|systemd-(hostnamed|localed|timedated|"
                             r"logind)|dbus-|getty)")
PROCESSES = re.compile(r"^(qemu|ovs|ovsdb|nfv)")

# What decommission.yml leaves on purpose, as regular expressions over "key = value" of what a
# snapshot after it has beyond (or different from) the one before site.yml. Packages, users and
# groups are not in a snapshot, except the guests' own accounts (nfv.dpdk.qemu_vm removes them).
KEPT = [
    # Open vSwitch as its package sets it up: service enabled and running, an empty database
    # packages enable their own units (shipped in /lib; the collection writes units only in /etc)
    (r"files /etc/systemd/system/[^/]+\.(wants|requires)( = dir |/[^/]+ = link -> (/usr)?/lib/systemd/system/)",
     "packages: enablement of their units"),
    (r"units ((openvswitch-switch|ovsdb-server|ovs-vswitchd|ovs-record-hostname)\.service|uuidd\.socket) = active ",
     "Open vSwitch package: running"),
    (r"units networking\.service = inactive dead$", "Open vSwitch package: its units name networking.service"),
    (r"processes (ovsdb-server|ovs-vswitchd) = 1$", "Open vSwitch package: running"),
    (r"ovs installed = true$", "Open vSwitch package: installed (its other_config and bridges are compared)"),
    (r"alternatives ovs-vswitchd = auto ", "Open vSwitch package: ovs-vswitchd in automatic mode"),
    # QEMU from bookworm-backports (Debian 12) stays installed, and so does the source of its updates
    (r"files /etc/apt/sources\.list\.d/bookworm-backports\.sources = ", "apt source of the kept QEMU"),
    # guest images and serial logs
    (r"files /var/lib/nfv-qemu( |/)", "guest image directory"),
    # the helper's parent, an FHS directory that Debian 13's base-files ships and Debian 12's lacks
    (r"files /usr/local/libexec = dir 0755 0:0$", "FHS directory /usr/local/libexec"),
    (r"files /var/log/nfv-qemu( |/)", "guests' serial logs"),
]


def run(argv):
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True,
                              env=dict(os.environ, LC_ALL="C"), timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def describe(path):
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return "link -> %s" % os.readlink(path)
    mode = "%04o %d:%d" % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    if stat.S_ISDIR(st.st_mode):
        return "dir " + mode
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as handle:
            return "file %s sha256:%s" % (mode, hashlib.sha256(handle.read()).hexdigest()[:16])
    return ("socket " if stat.S_ISSOCK(st.st_mode) else "other ") + mode


def files(snap):
    paths = list(TREES) + sorted(glob.glob("/dev/hugepages*"))
    for top in paths:
        if not os.path.lexists(top):
            continue
        snap["files " + top] = describe(top)
        if (os.path.isdir(top) and not os.path.islink(top) and not os.path.ismount(top)) or top in TREES:
            for root, dirs, names in os.walk(top):
                for name in sorted(dirs + names):
                    path = os.path.join(root, name)
                    snap["files " + path] = describe(path)
                dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(root, d))]


def units(snap):
    out = run(["systemctl", "list-units", "--all", "--plain", "--no-legend", "--no-pager", "--full"]) or ""
    for line in out.splitlines():
        fields = line.split(None, 4)
        if len(fields) < 4 or fields[0].endswith((".scope", ".slice", ".device", ".target")):
            continue
        name, load, active, sub = fields[:4]
        if (active == "inactive" and load != "not-found") or TRANSIENT_UNITS.match(name):
            continue
        snap["units " + name] = "%s %s" % (active, sub)


def pools(snap):
    for path in sorted(glob.glob("/sys/kernel/mm/hugepages/hugepages-*")
                       + glob.glob("/sys/devices/system/node/node*/hugepages/hugepages-*")):
        where = "system" if path.startswith("/sys/kernel") else path.split("/")[5]
        size = os.path.basename(path)[len("hugepages-"):]
        snap["pools %s %s" % (size, where)] = "nr %s surplus %s" % (
            read(path + "/nr_hugepages"), read(path + "/surplus_hugepages"))


def bindings(snap):
    for dev in sorted(glob.glob("/sys/bus/pci/devices/*")):
        driver = os.path.realpath(dev + "/driver") if os.path.exists(dev + "/driver") else None
        snap["pci " + os.path.basename(dev)] = "driver %s override %s" % (
            os.path.basename(driver) if driver else "(none)", read(dev + "/driver_override"))


def ovs(snap):
    if not shutil.which("ovs-vsctl"):
        snap["ovs installed"] = "false"
        return
    snap["ovs installed"] = "true"
    out = run(["ovs-vsctl", "--timeout=5", "--format=json", "--data=json", "--columns=other_config",
               "list", "Open_vSwitch"])
    if out is None:
        snap["ovs database"] = "unreachable"
        return
    for key, value in dict(json.loads(out)["data"][0][0][1]).items():
        snap["ovs other_config:" + key] = value
    for bridge in (run(["ovs-vsctl", "--timeout=5", "list-br"]) or "").split():
        ports = (run(["ovs-vsctl", "--timeout=5", "list-ports", bridge]) or "").split()
        snap["ovs bridge " + bridge] = " ".join(sorted(ports))


def alternatives(snap):
    out = run(["update-alternatives", "--query", "ovs-vswitchd"])
    if out is not None:
        fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        snap["alternatives ovs-vswitchd"] = "%s %s" % (fields.get("Status"), fields.get("Value"))


def mounts(snap):
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            left, _sep, right = line.partition(" - ")
            fstype, _source, options = (right.split() + ["", "", ""])[:3]
            if fstype == "hugetlbfs":
                snap["mounts " + left.split()[4]] = "hugetlbfs " + options


def processes(snap):
    counts = {}
    for path in glob.glob("/proc/[0-9]*/comm"):
        comm = read(path)
        if comm and PROCESSES.match(comm):
            counts[comm] = counts.get(comm, 0) + 1
    for comm, count in counts.items():
        snap["processes " + comm] = str(count)


def taps(snap):
    """tun/tap devices a process of this host holds open, or that belong to the guests' user.

    The lab shares the machine's network namespace (and other tests' taps), not its PID namespace.
    """
    held = set()
    for path in glob.glob("/proc/[0-9]*/fdinfo/*"):
        for line in (read(path) or "").splitlines():
            if line.startswith("iff:"):
                held.add(line.split()[1])
    guest_uids = set(guest_accounts().values())
    for path in sorted(glob.glob("/sys/class/net/*/tun_flags")):
        name = path.split("/")[4]
        owner = read("/sys/class/net/%s/owner" % name)
        if name in held or owner in guest_uids:
            snap["tap " + name] = "tun_flags %s owner %s" % (read(path), owner)


def guest_accounts():
    """{name: uid} of the guests' accounts: those nfv.dpdk.qemu_vm creates (comment 'nfv.dpdk guest ...') and the
    shared service user nfv-qemu."""
    import pwd
    return dict((e.pw_name, str(e.pw_uid)) for e in pwd.getpwall()
                if e.pw_gecos.startswith("nfv.dpdk guest ") or e.pw_name == "nfv-qemu")


def accounts(snap):
    """The guests' own accounts (the service user and other packages' accounts are not compared)."""
    for name, uid in guest_accounts().items():
        if name != "nfv-qemu":
            snap["account " + name] = "uid " + uid


def take():
    snap = {}
    for part in (files, units, pools, bindings, ovs, alternatives, mounts, processes, taps, accounts):
        part(snap)
    return dict(sorted(snap.items()))


def compare(before, after):
    """(differences, kept): lines for what `after` lacks, adds or changes; kept ones go to `kept`."""
    differences, kept = [], []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if new is None:
            differences.append("- %s = %s" % (key, old))
            continue
        line = "%s = %s" % (key, new)
        reason = next((why for pattern, why in KEPT if re.match(pattern, line)), None)
        text = ("+ " if old is None else "~ ") + line + ("" if old is None else "   (was: %s)" % old)
        (kept if reason else differences).append(text + ("   [kept: %s]" % reason if reason else ""))
    return differences, kept


def main(argv):
    if argv[1:] == ["take"]:
        json.dump(take(), sys.stdout, indent=1)
        return 0
    if len(argv) == 4 and argv[1] == "compare":
        with open(argv[2]) as one, open(argv[3]) as two:
            differences, kept = compare(json.load(one), json.load(two))
        if differences:
            print("%d difference(s) from %s (- gone, + new, ~ changed):" % (len(differences), argv[2]))
            for line in differences:
                print(line)
        else:
            print("same as %s (%d kept on purpose)" % (argv[2], len(kept)))
        for line in kept:
            print(line)
        return 1 if differences else 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
