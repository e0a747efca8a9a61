"""The lab VM: a Debian QEMU guest with a vIOMMU, two NUMA nodes, e1000 NICs and an SR-IOV NIC for DPDK.

    scripts/lab-vm build              build the golden disk image (cached), print its path
    scripts/lab-vm up [--timeout N]   boot a fresh copy, wait for SSH, print the instance as JSON
    scripts/lab-vm down               power it off, leave nothing behind
    scripts/lab-vm status             print the instance as JSON, or exit 1 when it is not running
    scripts/lab-vm ssh -- CMD...      run a command in the guest

NFV_LAB_SUITE names its release: trixie (Debian 13, kernel 6.12, the default) or
bookworm (Debian 12, kernel 6.1). The disk image (.cache/labvm/disk-<suite>-<key>.img, msdos label, one ext4 partition,
GRUB on the MBR) is built once with debootstrap; <key> hashes everything that
goes into it. It stays read-only: `up` boots it with a throw-away qcow2
overlay (QEMU's snapshot=on, kept under .cache/labvm/run), so every `up`
starts from a bare host while reboots inside one `up` keep their changes.
The guest boots with a plain Debian GRUB setup (no IOMMU or hugepage
arguments): the collection adds those itself.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid

from lab_common import SOURCES, TOP, Lab, alive, free_port, lab_release, mirror, release_table, run

sys.path.insert(0, os.path.join(TOP, "plugins", "module_utils", "qemu"))
import kvm_probe  # the collection's probe, plain Python (after the path above)

CACHE = os.environ.get("NFV_LABVM_CACHE", os.path.join(TOP, ".cache", "labvm"))
RUN = os.environ.get("NFV_LABVM_RUN", "/run/nfv-labvm")
QEMU = os.environ.get("NFV_LABVM_QEMU", "qemu-system-x86_64")
NAME = "nfv-labvm"
RELEASE = lab_release()
SUITE = RELEASE["codename"]
DISK_GIB = 8
# debootstrap --include: enough for a booting, reachable host
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "udev", "kmod", "openssh-server", "python3", "iproute2",
                 "procps", "pciutils", "ca-certificates"]
# apt-get install in the chroot: kernel, boot loader, and what the roles would otherwise install under TCG
# (the DPDK libraries with the release's ABI number: librte-net-e1000-23 on Debian 12, -25 on Debian 13)
PACKAGES = (["linux-image-amd64", "grub-pc", "openvswitch-switch-dpdk", "driverctl"]
            + release_table().dpdk_packages(RELEASE, ["mempool-ring", "net-vhost", "net-e1000", "net-virtio"]))
# The guest's PCI layout (bus 0 of q35, fixed slots so it is the same after every boot).
# Endpoints on the root complex each get an IOMMU group of their own; the two
# functions of one multi-function device (no ACS) share one.
MGMT = {"pci": "0000:00:02.0", "mac": "52:54:00:4e:00:10", "model": "virtio-net-pci", "ifname": "enp0s2"}
E1000 = [
    {"pci": "0000:00:03.0", "mac": "52:54:00:4e:00:01", "model": "e1000", "ifname": "enp0s3", "hub": 0},
    {"pci": "0000:00:04.0", "mac": "52:54:00:4e:00:02", "model": "e1000", "ifname": "enp0s4", "hub": 0},
]
MULTIFUNCTION = [
    {"pci": "0000:00:06.0", "mac": "52:54:00:4e:00:03", "model": "e1000", "ifname": "enp0s6f0", "hub": 1},
    {"pci": "0000:00:06.1", "mac": "52:54:00:4e:00:04", "model": "e1000", "ifname": "enp0s6f1", "hub": 1},
]
# An SR-IOV NIC (QEMU's igb, an 82576 with up to 7 VFs) behind a PCIe root port at 00:07.0:
# the PF and its VFs sit on bus 1.
SRIOV = {"pci": "0000:01:00.0", "mac": "52:54:00:4e:00:05", "model": "igb", "ifname": "enp1s0",
         "root_port": "0x7", "hub": 2}
# A NIC on NUMA node 1: an e1000e (82574L) behind a root port of a PCIe expander bridge (pxb-pcie) that the
# ACPI tables place on node 1, so the guest reads numa_node 1 for it (the NICs on bus 0 have none).
NODE1_NIC = {"pci": "0000:81:00.0", "mac": "52:54:00:4e:00:06", "model": "e1000e", "ifname": "enp129s0",
             "pxb": "0x8", "bus_nr": "0x80", "node": 1, "hub": 0}
DISK_ADDR = "0x5"
NODE_MEM_MIB = 2048  # per NUMA node; node 1 then spans 4-6 GiB, with a free aligned 1G page at boot
LAB = Lab("lab-vm", NAME, CACHE, RUN)
log, key_path, ensure_key, state_path, read_state, ssh_argv = (
    LAB.log, LAB.key_path, LAB.ensure_key, LAB.state_path, LAB.read_state, LAB.ssh_argv)


def guest_sources():
    """The guest's apt sources: the host's deb822 file when it names the guest's release, else the host's mirror."""
    if os.path.exists(SOURCES):
        with open(SOURCES) as handle:
            text = handle.read()
        if re.search(r"(?m)^Suites:.*\b%s\b" % SUITE, text):
            return text
    return ("Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" % (mirror(), SUITE, SUITE))


def image_key():
    with open(__file__) as handle:
        # between the two marker lines (the marker in this line's string is not a line of its own)
        configure = re.split(r"^# -- configure --$", handle.read(), flags=re.M)[1]
    recipe = json.dumps({"suite": SUITE, "base": BASE_PACKAGES, "packages": PACKAGES, "mirror": mirror(),
                         "sources": guest_sources(), "size": DISK_GIB,
                         "configure": configure})
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


# -- configure --
def write_mbr(path, size):
    """An msdos label with one bootable Linux partition from 1 MiB to the end."""
    start, count = 2048, size // 512 - 2048
    entry = (bytes([0x80, 0xFE, 0xFF, 0xFF, 0x83, 0xFE, 0xFF, 0xFF])
             + start.to_bytes(4, "little") + count.to_bytes(4, "little"))
    with open(path, "r+b") as handle:
        handle.seek(440)
        handle.write(os.urandom(4) + b"\0\0" + entry + bytes(48) + b"\x55\xaa")


def private_dev(root, disk, part):
    """A minimal /dev for the chroot (tmpfs, devpts), so the host's /dev is never touched.

    The image's loop devices appear under their names and as vda and vda1
    (see configure_image).
    """
    dev = os.path.join(root, "dev")
    run(["mount", "-t", "tmpfs", "-o", "mode=755,size=16m", "nfv-labvm-dev", dev])
    nodes = [(name, name) for name in ("null", "zero", "full", "random", "urandom", "tty")]
    for name, host in nodes + [(disk, disk), (part, part), ("vda", disk), ("vda1", part)]:
        info = os.stat(os.path.join("/dev", host))
        kind = stat.S_IFBLK if stat.S_ISBLK(info.st_mode) else stat.S_IFCHR
        os.mknod(os.path.join(dev, name), kind | 0o666, info.st_rdev)
        os.chmod(os.path.join(dev, name), 0o666)  # mknod honours the umask
    os.makedirs(os.path.join(dev, "pts"))
    run(["mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666", "devpts", os.path.join(dev, "pts")])
    os.symlink("pts/ptmx", os.path.join(dev, "ptmx"))
    os.makedirs(os.path.join(dev, "shm"))


def configure_image(root, disk, part, root_uuid, public_key):
    """Kernel, GRUB, packages and settings in a debootstrapped tree on the image's partition.

    disk and part are loop devices of the image and its partition (this machine's
    kernel has no partition table support), so grub-install cannot relate them: GRUB
    is set up the way grub-install would, step by step. grub-bios-setup wants the loop
    names; update-grub must see vda1 instead (its 10_linux skips /dev/loopN roots).
    """
    def write(path, text, mode=0o644):
        full = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as handle:
            handle.write(text)
        os.chmod(full, mode)

    def chroot(*argv, **kwargs):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8",
               "HOME": "/root"}
        return run(["chroot", root] + list(argv), env=env, **kwargs)

    # no daemons started by package scripts while building
    write("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0o755)
    write("/etc/apt/apt.conf.d/90nfv-labvm", 'APT::Install-Recommends "false";\nAcquire::Retries "3";\n')
    write("/etc/apt/sources.list.d/debian.sources", guest_sources())
    if os.path.exists(os.path.join(root, "etc/apt/sources.list")):
        os.unlink(os.path.join(root, "etc/apt/sources.list"))
    write("/etc/fstab", "UUID=%s / ext4 errors=remount-ro 0 1\n" % root_uuid)
    write("/etc/hostname", NAME + "\n")
    write("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 %s\n" % NAME)
    write("/etc/default/grub",
          'GRUB_DEFAULT=0\nGRUB_TIMEOUT=1\nGRUB_DISTRIBUTOR="Debian"\n'
          'GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0,115200"\nGRUB_CMDLINE_LINUX=""\n'
          'GRUB_TERMINAL="serial console"\nGRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"\n')
    # grub-mkconfig writes root=UUID=... only when the by-uuid link exists
    os.makedirs(os.path.join(root, "dev/disk/by-uuid"))
    os.symlink("../../vda1", os.path.join(root, "dev/disk/by-uuid", root_uuid))
    chroot("debconf-set-selections", input=b"grub-pc grub-pc/install_devices multiselect \n"
           b"grub-pc grub-pc/install_devices_empty boolean true\n")
    # the root disk is virtio-blk: no probe of q35's built-in SATA controller at boot (a boot under TCG was seen
    # to stop in it); written before the kernel is installed, so the initramfs has it too
    write("/etc/modprobe.d/nfv-labvm.conf", "# the lab VM's disk is virtio-blk\nblacklist ahci\n")
    chroot("apt-get", "update", "-q", stdout=subprocess.DEVNULL)
    chroot("apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES, stdout=subprocess.DEVNULL)
    # grub-install --target=i386-pc by hand: modules, core.img finding / by UUID, boot sector + MBR gap
    shutil.copytree(os.path.join(root, "usr/lib/grub/i386-pc"), os.path.join(root, "boot/grub/i386-pc"))
    write("/boot/grub/i386-pc/load.cfg", "search.fs_uuid %s root\nset prefix=($root)'/boot/grub'\n" % root_uuid)
    chroot("grub-mkimage", "-O", "i386-pc", "-d", "/usr/lib/grub/i386-pc", "-o", "/boot/grub/i386-pc/core.img",
           "-c", "/boot/grub/i386-pc/load.cfg", "-p", "/boot/grub", "biosdisk", "part_msdos", "ext2",
           "search_fs_uuid")
    chroot("grub-bios-setup", "--skip-fs-probe", "-d", "/boot/grub/i386-pc", "/dev/" + disk)
    for loop, name in ((disk, "vda"), (part, "vda1")):
        os.unlink(os.path.join(root, "dev", loop))
        os.symlink(name, os.path.join(root, "dev", loop))
    chroot("update-grub")
    # grub-probe finds no GRUB drive for vda1 here, so update-grub wrote root=/dev/vda1
    # (right in the VM too); root=UUID as update-grub inside the VM writes it
    grub_cfg = os.path.join(root, "boot/grub/grub.cfg")
    with open(grub_cfg) as handle:
        text = handle.read()
    if "root=/dev/vda1 " not in text:
        raise RuntimeError("update-grub wrote no kernel entry for the root partition")
    with open(grub_cfg, "w") as handle:
        handle.write(text.replace("root=/dev/vda1 ", "root=UUID=%s " % root_uuid))
    # later grub-pc upgrades inside the VM reinstall to its disk
    chroot("debconf-set-selections", input=b"grub-pc grub-pc/install_devices multiselect /dev/vda\n")
    write("/root/.ssh/authorized_keys", public_key, 0o600)
    os.chmod(os.path.join(root, "root/.ssh"), 0o700)
    write("/etc/ssh/sshd_config.d/nfv-labvm.conf",
          "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n")
    # DHCP on the management NIC only (matched by its MAC); QEMU user networking's DNS
    write("/etc/systemd/network/10-mgmt.network",
          "[Match]\nMACAddress=%s\n\n[Network]\nDHCP=ipv4\n" % MGMT["mac"])
    write("/etc/resolv.conf", "nameserver 10.0.2.3\n")
    wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants/systemd-networkd.service")
    if not os.path.lexists(wants):
        os.symlink("/lib/systemd/system/systemd-networkd.service", wants)
    for unit in ("apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "e2scrub_reap.service",
                 "fstrim.timer", "man-db.timer", "systemd-networkd-wait-online.service"):
        link = os.path.join(root, "etc/systemd/system", unit)
        if not os.path.lexists(link):
            os.symlink("/dev/null", link)
    chroot("apt-get", "clean")
    os.unlink(os.path.join(root, "usr/sbin/policy-rc.d"))
    # a new machine-id on every first boot
    write("/etc/machine-id", "")
    if os.path.lexists(os.path.join(root, "var/lib/dbus/machine-id")):
        os.unlink(os.path.join(root, "var/lib/dbus/machine-id"))
# -- configure --


def golden_path():
    return os.path.join(CACHE, "disk-%s-%s.img" % (SUITE, image_key()))


def build():
    """The cached golden disk image, built when missing."""
    public_key = ensure_key()
    golden = golden_path()
    if os.path.exists(golden):
        return golden
    # older images of this release go (and those of before the release was in the name); the other release's stay
    for stale in (glob.glob(os.path.join(CACHE, "disk-%s-*.img*" % SUITE))
                  + glob.glob(os.path.join(CACHE, "disk-????????????.img*"))):
        os.unlink(stale)
    partial = golden + ".partial"
    size = DISK_GIB << 30
    with open(partial, "wb") as handle:
        handle.truncate(size)
    write_mbr(partial, size)
    root = os.path.join(CACHE, "mnt-build")
    os.makedirs(root, exist_ok=True)
    root_uuid = str(uuid.uuid4())
    started = time.time()
    loops = []
    mounts = []
    try:
        # one loop device for the disk, one for its partition (at 1 MiB)
        for extra in ([], ["--offset", str(1 << 20)]):
            loops.append(run(["losetup", "-f", "--show"] + extra + [partial], stdout=subprocess.PIPE,
                             universal_newlines=True).stdout.strip())
        part = loops[1]
        run(["mkfs.ext4", "-q", "-L", "nfv-labvm-root", "-U", root_uuid, part])
        run(["mount", part, root])
        mounts.append(root)
        log("debootstrap %s (%s, minbase, about two minutes)" % (SUITE, RELEASE["name"]))
        run(["debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES), SUITE, root, mirror()],
            stdout=subprocess.DEVNULL)
        for api, fstype in (("proc", "proc"), ("sys", "sysfs"), ("run", "tmpfs")):
            run(["mount", "-t", fstype, api, os.path.join(root, api)])
            mounts.append(os.path.join(root, api))
        mounts.append(os.path.join(root, "dev"))
        mounts.append(os.path.join(root, "dev/pts"))
        private_dev(root, *[os.path.basename(loop) for loop in loops])
        log("installing the kernel, GRUB and the DPDK packages in the image")
        configure_image(root, *[os.path.basename(loop) for loop in loops], root_uuid, public_key)
    finally:
        for mount in reversed(mounts):
            if subprocess.run(["umount", mount], check=False, stderr=subprocess.DEVNULL).returncode:
                subprocess.run(["umount", "-l", mount], check=False)
        for loop in loops:
            subprocess.run(["losetup", "-d", loop], check=False)
    os.rmdir(root)
    os.chmod(partial, 0o444)
    os.rename(partial, golden)
    log("built %s in %d s" % (golden, time.time() - started))
    return golden


def nics():
    strip = ("hub",)
    return {"management": MGMT,
            "e1000": [{k: v for k, v in nic.items() if k not in strip} for nic in E1000],
            "multifunction": [{k: v for k, v in nic.items() if k not in strip} for nic in MULTIFUNCTION],
            "sriov": {k: v for k, v in SRIOV.items() if k not in strip + ("root_port",)},
            "node1": {k: v for k, v in NODE1_NIC.items() if k not in strip + ("pxb", "bus_nr")}}


def instance(state):
    return {"instance": NAME, "address": "127.0.0.1", "user": "root", "port": state["port"],
            "identity_file": key_path(), "pid": state["pid"], "accel": state["accel"], "nics": nics(),
            "suite": state.get("suite", "bookworm")}


def kvm_usable():
    """KVM only when a guest really ran code under it here (the collection's own probe, as root like the VM)."""
    if os.environ.get("NFV_LABVM_ACCEL"):
        return os.environ["NFV_LABVM_ACCEL"] == "kvm"
    qemu = shutil.which(QEMU) or QEMU

    def run_probe(argv):
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    verdict = kvm_probe.probe(run_probe, qemu, device_stat=kvm_probe.stat_or_none())
    log("KVM probe: %s" % verdict["reason"])
    if not verdict["usable"]:
        log("using TCG (software emulation): boot and converge take several times longer")
    return verdict["usable"]


def qemu_argv(golden, port, kvm):
    def slot(pci):
        return "0x%s.%s" % (pci[8:10], pci[11])

    argv = [QEMU, "-name", NAME, "-nodefaults", "-display", "none", "-vga", "none",
            "-M", "q35,kernel-irqchip=split" if kvm else "q35",
            "-accel", "kvm" if kvm else "tcg", "-cpu", "host" if kvm else "max",
            "-smp", "2,sockets=2,cores=1,threads=1", "-m", "%dM" % (2 * NODE_MEM_MIB)]
    for node in (0, 1):
        argv += ["-object", "memory-backend-ram,id=m%d,size=%dM" % (node, NODE_MEM_MIB),
                 "-numa", "node,nodeid=%d,cpus=%d,memdev=m%d" % (node, node, node)]
    # the vIOMMU before every PCI device
    argv += ["-device", "intel-iommu,intremap=on,caching-mode=on",
             "-drive", "if=none,id=disk,file=%s,format=raw,snapshot=on,cache=unsafe" % golden,
             "-device", "virtio-blk-pci,drive=disk,addr=%s" % DISK_ADDR,
             "-netdev", "user,id=mgmt,hostfwd=tcp:127.0.0.1:%d-:22" % port,
             "-device", "virtio-net-pci,netdev=mgmt,mac=%s,addr=%s,romfile=" % (MGMT["mac"], slot(MGMT["pci"]))]
    for index, nic in enumerate(E1000 + MULTIFUNCTION):
        # hub 0 wires the two single e1000s together, hub 1 the two functions
        argv += ["-netdev", "hubport,id=n%d,hubid=%d" % (index, nic["hub"])]
        device = "e1000,netdev=n%d,mac=%s,addr=%s,romfile=" % (index, nic["mac"], slot(nic["pci"]))
        if nic["pci"].endswith(".0") and nic in MULTIFUNCTION:
            device += ",multifunction=on"
        argv += ["-device", device]
    argv += ["-netdev", "hubport,id=sriov,hubid=%d" % SRIOV["hub"],
             "-device", "pcie-root-port,id=rp-sriov,chassis=1,addr=%s" % SRIOV["root_port"],
             "-device", "igb,netdev=sriov,mac=%s,bus=rp-sriov,romfile=" % SRIOV["mac"]]
    argv += ["-netdev", "hubport,id=node1,hubid=%d" % NODE1_NIC["hub"],
             "-device", "pxb-pcie,id=pxb-n1,bus=pcie.0,addr=%s,bus_nr=%s,numa_node=%d"
             % (NODE1_NIC["pxb"], NODE1_NIC["bus_nr"], NODE1_NIC["node"]),
             "-device", "pcie-root-port,id=rp-n1,bus=pxb-n1,chassis=2,addr=0x0",
             "-device", "%s,netdev=node1,mac=%s,bus=rp-n1,romfile=" % (NODE1_NIC["model"], NODE1_NIC["mac"])]
    argv += ["-serial", "file:" + os.path.join(RUN, "console.log"),
             "-qmp", "unix:%s,server=on,wait=off" % os.path.join(RUN, "qmp.sock"),
             "-pidfile", os.path.join(RUN, "qemu.pid"), "-daemonize"]
    return argv


def console_size():
    try:
        return os.path.getsize(os.path.join(RUN, "console.log"))
    except OSError:
        return 0


def wait_ssh(state, timeout, stall):
    """"ssh" when SSH answers; "exited", "stalled" (the console silent for `stall` s before SSH came) or
    "timeout" otherwise, each logged with the console's last lines."""
    deadline = time.time() + timeout
    size, quiet_since = console_size(), time.time()
    verdict = "timeout"
    while time.time() < deadline:
        if not alive(state["pid"]):
            verdict = "exited"
            break
        if subprocess.run(ssh_argv(state, "true"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0:
            return "ssh"
        if console_size() != size:
            size, quiet_since = console_size(), time.time()
        elif time.time() - quiet_since > stall:
            verdict = "stalled"
            break
        time.sleep(2)
    why = {"exited": "QEMU exited", "stalled": "the console was silent for %d s and SSH did not answer" % stall,
           "timeout": "no SSH within %d s" % timeout}[verdict]
    log("%s; console log: %s%s" % (why, os.path.join(RUN, "console.log"), console_tail()))
    return verdict


def console_tail(lines=25):
    """The console's last lines, without terminal escapes (down removes the log with the run directory)."""
    try:
        with open(os.path.join(RUN, "console.log"), "rb") as handle:
            text = handle.read()[-20000:].decode("utf-8", "replace")
    except OSError:
        return ""
    text = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|.)", "", text).replace("\r", "")
    return "; its last lines:\n" + "\n".join(text.splitlines()[-lines:])


def up(args):
    state = read_state()
    if state and alive(state["pid"]):
        running = state.get("suite", "bookworm")
        if running != SUITE:
            log("already running %s, not %s (NFV_LAB_SUITE): 'scripts/lab-vm down' first" % (running, SUITE))
            return 1
        log("already running %s (pid %d, ssh port %d)" % (running, state["pid"], state["port"]))
        print(json.dumps(instance(state)))
        return 0
    golden = build()
    shutil.rmtree(RUN, ignore_errors=True)
    os.makedirs(RUN)
    overlay_dir = os.path.join(CACHE, "run")  # QEMU's snapshot=on overlay goes to $TMPDIR
    shutil.rmtree(overlay_dir, ignore_errors=True)
    os.makedirs(overlay_dir)
    port = args.port or free_port()
    kvm = kvm_usable()
    argv = qemu_argv(golden, port, kvm)
    with open(os.path.join(RUN, "qemu.argv"), "w") as handle:
        json.dump(argv, handle)
    started = time.time()
    # A boot under TCG on a loaded machine was once seen to stop for good in the guest kernel (the console
    # silent for 15 min after the SATA probe): a silent console is a hung boot, booted once more.
    for attempt in (1, 2):
        state = boot(argv, golden, port, kvm, overlay_dir)
        if state is None:
            return 1
        verdict = wait_ssh(state, args.timeout - (time.time() - started), args.stall)
        if verdict == "ssh":
            log("SSH answers after %d s" % (time.time() - started))
            print(json.dumps(instance(state)))
            return 0
        if verdict != "stalled" or attempt == 2:
            return 1
        log("booting once more (attempt 2 of 2); the hung boot's console stays in %s" % hung_console())
        kill(state["pid"])
    return 1


def boot(argv, golden, port, kvm, overlay_dir):
    """Start QEMU daemonized and record its state; None (logged) when it did not start."""
    with open(os.path.join(RUN, "qemu.log"), "w") as qemu_log:
        result = run(argv, check=False, stdin=subprocess.DEVNULL, stdout=qemu_log, stderr=subprocess.STDOUT,
                     env=dict(os.environ, TMPDIR=overlay_dir))
    if result.returncode:
        with open(os.path.join(RUN, "qemu.log")) as handle:
            log("QEMU failed (%d): %s" % (result.returncode, handle.read().strip()))
        return None
    with open(os.path.join(RUN, "qemu.pid")) as handle:
        pid = int(handle.read())
    state = {"pid": pid, "port": port, "accel": "kvm" if kvm else "tcg", "overlay_dir": overlay_dir, "suite": SUITE}
    with open(state_path(), "w") as handle:
        json.dump(state, handle)
    log("booting %s (pid %d, %s), ssh on 127.0.0.1:%d" % (os.path.basename(golden), pid, state["accel"], port))
    return state


def hung_console():
    """Move the console log aside (QEMU's file: chardev truncates it on the next start)."""
    kept = os.path.join(RUN, "console-hung.log")
    os.replace(os.path.join(RUN, "console.log"), kept)
    return kept


def kill(pid):
    os.kill(pid, signal.SIGKILL)
    wait_gone(pid, 10)


def qmp(command):
    """Send one QMP command; False when the socket is gone."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(os.path.join(RUN, "qmp.sock"))
            stream = sock.makefile("rwb")
            stream.readline()  # greeting
            for cmd in ("qmp_capabilities", command):
                stream.write(json.dumps({"execute": cmd}).encode() + b"\n")
                stream.flush()
                stream.readline()
        return True
    except OSError:
        return False


def wait_gone(pid, seconds):
    deadline = time.time() + seconds
    while alive(pid) and time.time() < deadline:
        time.sleep(0.5)
    return not alive(pid)


def down(args):
    state = read_state()
    if state:
        pid = state["pid"]
        if alive(pid):
            log("powering off (pid %d)" % pid)
            if not (qmp("system_powerdown") and wait_gone(pid, args.timeout)):
                log("still running: terminating")
                os.kill(pid, signal.SIGTERM)
                if not wait_gone(pid, 10):
                    os.kill(pid, signal.SIGKILL)
                    wait_gone(pid, 10)
        shutil.rmtree(state.get("overlay_dir", os.path.join(CACHE, "run")), ignore_errors=True)
    else:
        log("not running")
    shutil.rmtree(RUN, ignore_errors=True)
    return 0


def status(args):
    state = read_state()
    if state and alive(state["pid"]):
        print(json.dumps(instance(state)))
        return 0
    log("not running")
    return 1


def ssh(args):
    state = read_state()
    if not (state and alive(state["pid"])):
        log("not running")
        return 1
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    return subprocess.run(ssh_argv(state, *command), check=False).returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("--port", type=int, default=0, help="ssh port (default: a free one)")
    p_up.add_argument("--timeout", type=int, default=600, help="seconds to wait for SSH")
    p_up.add_argument("--stall", type=int, default=240,
                      help="seconds of a silent console before SSH after which the boot counts as hung")
    p_down = sub.add_parser("down")
    p_down.add_argument("--timeout", type=int, default=90, help="seconds to wait for the guest to power off")
    sub.add_parser("status")
    sub.add_parser("build")
    p_ssh = sub.add_parser("ssh")
    p_ssh.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.command == "build":
        print(build())
        return 0
    return {"up": up, "down": down, "status": status, "ssh": ssh}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
