"""The vIOMMU guest of component tests: q35 with intel-iommu, a Debian kernel with its vfio modules, busybox, and
this machine's / shared read-only over virtio-9p (under a writable overlay, chroot /host), so that the host's
Python, QEMU and the collection run against the guest kernel's sysfs, IOMMU groups and /dev/vfio.

    image = build_vfio_guest({"init": GUEST_START + HOST_ROOT_MOUNT + "...", ...}, GUEST_MODULES + HOST_ROOT_MODULES)
    text = run_vfio_guest(image, tmp_path / "console.log", extra=HOST_ROOT_DEVICE, done="...: done")

The guest has two e1000 NICs, GUEST_NIC and GUEST_OTHER_NIC, each in an IOMMU group of its own; `extra` adds more
QEMU options (devices). Images are cached under .cache/ by content.
"""

import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest

import guest_image

GUEST_NIC = "0000:00:03.0"
GUEST_OTHER_NIC = "0000:00:04.0"
EXECUTABLES = ("init", "nfv-dpdk-pci-bind")

GUEST_MODULES = ["e1000", "irqbypass", "vfio", "vfio_iommu_type1", "vfio_virqfd", "vfio-pci-core", "vfio-pci"]
# what mounts the host's / (read-only, over virtio-9p) in the guest: the boot program runs with its Python
HOST_ROOT_MODULES = ["virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "netfs",
                     "fscache", "9pnet", "9pnet_virtio", "9p", "overlay"]
HOST_ROOT_DEVICE = ["-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
                    "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot,addr=5"]

GUEST_START = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /host
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in __MODULES__; do insmod /lib/modules/$m.ko || echo "pcidrv: insmod $m failed"; done
"""

# the host's / read-only, under a writable overlay kept in guest memory, with the guest's kernel file systems
HOST_ROOT_MOUNT = r"""mkdir -p /lower /rw
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /lower || echo "pcidrv: 9p failed"
mount -t tmpfs tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /host || echo "pcidrv: overlay failed"
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
# /run fresh; /tmp stays on the overlay (already writable): a repository under /tmp must stay visible
mount -t tmpfs tmpfs /host/run
"""


def build_vfio_guest(files, modules=None, cache="pci-driver-guest"):
    """Kernel + initramfs (busybox, kernel modules, `files` at its root: `init` first); cached by content under
    .cache/CACHE."""
    package, version = guest_image.kernel_package()
    modules = modules or GUEST_MODULES + HOST_ROOT_MODULES
    digest = hashlib.sha256()
    for part in [package, version, guest_image.busybox_version(), " ".join(modules)] + \
            [k + files[k] for k in sorted(files)]:
        digest.update(part.encode() + b"\0")
    dest = os.path.join(guest_image.REPO, ".cache", cache, digest.hexdigest()[:16])
    if os.path.exists(os.path.join(dest, "initrd.gz")):
        return dest
    with tempfile.TemporaryDirectory(prefix="nfv-pcidrv-") as tmp:
        os.chmod(tmp, 0o755)
        subprocess.run(["apt-get", "download", "-q", "%s=%s" % (package, version)], cwd=tmp, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deb = next(f for f in os.listdir(tmp) if f.endswith(".deb"))
        root = os.path.join(tmp, "root")
        subprocess.run(["dpkg", "-x", os.path.join(tmp, deb), root], check=True)
        kernel = sorted(f for f in os.listdir(os.path.join(root, "boot")) if f.startswith("vmlinuz-"))[0]
        moddir = os.path.join(root, "lib", "modules", kernel[len("vmlinuz-"):])
        found = {}
        for top, _dirs, names in os.walk(moddir):
            for name in names:
                for suffix in (".ko", ".ko.xz"):
                    if name.endswith(suffix) and name[:-len(suffix)] in modules:
                        found[name[:-len(suffix)]] = os.path.join(top, name)
        missing = [m for m in modules if m not in found]
        if missing:
            pytest.skip("kernel %s has no modules %s" % (kernel, missing))
        archive = guest_image._Cpio()
        for directory in ("bin", "dev", "lib", "lib/modules", "proc", "sys", "tmp"):
            archive.dir(directory)
        with open(guest_image.BUSYBOX, "rb") as handle:
            archive.file("bin/busybox", handle.read(), 0o755)
        archive.symlink("bin/sh", "busybox")
        for name, text in files.items():
            archive.file(name, text.encode(), 0o755 if name in EXECUTABLES else 0o644)
        for mod in modules:
            archive.file("lib/modules/%s.ko" % mod, guest_image._read_module(found[mod]))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".build-", dir=os.path.dirname(dest))
        shutil.copyfile(os.path.join(root, "boot", kernel), os.path.join(staging, "vmlinuz"))
        with open(os.path.join(staging, "initrd.gz"), "wb") as handle:
            handle.write(gzip.compress(archive.finish(), compresslevel=6, mtime=0))
        try:
            os.rename(staging, dest)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # built concurrently by another run
    return dest


def run_vfio_guest(image, log, extra=(), memory="512", timeout=240, done="pcidrv: done"):
    """Boot the q35 + intel-iommu guest with two e1000 NICs (GUEST_NIC, GUEST_OTHER_NIC) and `extra` until it
    powers off; its console text, which must hold `done`."""
    qemu = "/usr/bin/qemu-system-x86_64"
    if not os.path.exists(qemu):
        pytest.skip("no qemu-system-x86_64")
    argv = [qemu, "-M", "q35", "-accel", "tcg", "-cpu", "max", "-m", memory, "-smp", "1",
            "-device", "intel-iommu,intremap=on,caching-mode=on",
            "-netdev", "user,id=n1", "-device", "e1000,netdev=n1,addr=3",
            "-netdev", "user,id=n2", "-device", "e1000,netdev=n2,addr=4"]
    argv += list(extra)
    argv += ["-kernel", os.path.join(image, "vmlinuz"), "-initrd", os.path.join(image, "initrd.gz"),
             "-append", "console=ttyS0 loglevel=3 panic=-1 intel_iommu=on iommu=pt",
             "-display", "none", "-serial", "file:%s" % log, "-no-reboot", "-nodefaults"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    try:
        out, _err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _err = proc.communicate()
    text = log.read_text(errors="replace") if log.exists() else ""
    assert done in text, "guest did not finish:\n%s\n%s" % (out, text[-4000:])
    return text
