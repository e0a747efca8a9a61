"""A tiny test guest: a Debian kernel and a busybox initramfs that pings a peer.

The kernel comes from Debian's linux-image-amd64 (its current dependency, fetched
with `apt-get download` and unpacked with `dpkg -x`); the initramfs holds the
static busybox of the host, the virtio-net modules of that kernel (loaded in
dependency order), the ACPI power-button modules with busybox acpid (so that a
QMP `system_powerdown` really powers the guest off) and an init script.

The init reads its network setup from the kernel command line (see `append`),
brings eth0 up, pings the peer until it answers and writes every step to the
console, so `-serial file:LOG` gives the test a log to read (see MARK_*): the
NIC's MTU and negotiated virtio features, its IOMMU group, the pings, and the
guest's IP fragmentation counters after them.

Images are cached under .cache/guest/<key>/ where the key hashes every input
(kernel package and version, busybox version, module list, init script), so a
new Debian kernel or a changed init builds a new image and an unchanged one is
reused. Used by the component tests and the Molecule scenarios:

    python tests/guest_image.py            # build (or reuse) and print the paths as JSON
"""

import fcntl
import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import stat
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE_ROOT = os.path.join(REPO, ".cache", "guest")
KERNEL_META = "linux-image-amd64"
BUSYBOX = "/bin/busybox"
FORMAT = 3  # bump when the layout of the image changes in a way the inputs do not show

# insmod order: each module after the ones it depends on (checked against the kernel's
# modules.dep by `_module_order_ok`).
NET_MODULES = ["virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
               "failover", "net_failover", "virtio_net"]
# the ACPI power button (+ evdev for busybox acpid) so that system_powerdown powers the guest off
POWER_MODULES = ["button", "evdev"]

MARK_READY = "nfv-guest: net up"
MARK_PING_OK = "nfv-guest: ping ok"
MARK_PING_FAIL = "nfv-guest: ping failed"
MARK_POWEROFF = "nfv-guest: power button"
# the NIC as the guest sees it: its MTU and the virtio feature bits its driver negotiated ('0'/'1' by bit number)
MARK_NIC = "nfv-guest: nic"
# the guest's IP fragmentation counters after its pings (/proc/net/snmp): 0 means no packet was fragmented
MARK_IP_STATS = "nfv-guest: ip"
# the guest's IOMMU: its number of IOMMU groups, the group of the NIC's PCI device, whether the kernel remaps
# interrupts (DMAR-IR), and the NIC's PCI address (behind a vIOMMU, on a root port of its own: not bus 00)
MARK_IOMMU = "nfv-guest: iommu"

INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /var/run /var/log
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
log() { echo "nfv-guest: $*"; }
log "init started on $(uname -r)"
for m in __MODULES__; do
  if insmod /lib/modules/$m.ko; then log "loaded $m"; else log "module $m failed"; fi
done
if [ -d /lib/modules/power ]; then
  for m in __POWER__; do insmod /lib/modules/power/$m.ko 2>/dev/null; done
  mkdir -p /etc/acpi/PWRF
  printf '#!/bin/sh\necho "__MARK_POWEROFF__: powering off" >/dev/console\nsync\npoweroff -f\n' > /etc/acpi/PWRF/00000080
  chmod 755 /etc/acpi/PWRF/00000080
  acpid -l /tmp/acpid.log && log "acpid started"
fi
IP=""; PEER=""; DEV="eth0"; COUNT=180; SIZE=""
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    nfv_ip=*) IP="${arg#nfv_ip=}" ;;
    nfv_peer=*) PEER="${arg#nfv_peer=}" ;;
    nfv_dev=*) DEV="${arg#nfv_dev=}" ;;
    nfv_tries=*) COUNT="${arg#nfv_tries=}" ;;
    nfv_size=*) SIZE="-s ${arg#nfv_size=}" ;;
  esac
done
i=0
while [ ! -e /sys/class/net/$DEV ] && [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done
ip link set lo up
if [ -n "$IP" ] && [ -e /sys/class/net/$DEV ]; then
  ip link set $DEV up
  ip addr add $IP dev $DEV
  log "__MARK_READY__ $DEV $IP mac $(cat /sys/class/net/$DEV/address)"
  log "__MARK_NIC__ $DEV mtu $(cat /sys/class/net/$DEV/mtu) features $(cat /sys/class/net/$DEV/device/features 2>/dev/null)"
  PCIDEV=$(readlink -f /sys/class/net/$DEV/device/..)
  log "__MARK_IOMMU__ groups $(ls /sys/kernel/iommu_groups 2>/dev/null | wc -l) nic-group $(basename "$(readlink $PCIDEV/iommu_group 2>/dev/null)") irq-remapping $(dmesg | grep -c 'Enabled IRQ remapping') pci $(basename $PCIDEV)"
else
  log "no network: nfv_ip=$IP device $DEV present: $([ -e /sys/class/net/$DEV ] && echo yes || echo no)"
fi
if [ -n "$PEER" ]; then
  n=0; ok=0
  while [ $n -lt $COUNT ]; do
    if ping -c 1 -W 1 $SIZE $PEER >/tmp/ping.out 2>&1; then ok=1; break; fi
    n=$((n+1))
  done
  if [ $ok = 1 ]; then
    log "__MARK_PING_OK__ $PEER after $n failed tries: $(grep 'bytes from' /tmp/ping.out)"
    ping -c 5 -i 0.2 -W 1 $SIZE $PEER | grep -E 'transmitted|bytes from' | while read line; do log "$line"; done
    log "__MARK_IP_STATS__ $(awk '/^Ip:/ { if (!h) { for (i = 2; i <= NF; i++) k[i] = $i; h = 1 } else { for (i = 2; i <= NF; i++) if (k[i] ~ /^(FragCreates|FragFails|ReasmReqds)$/) printf "%s=%s ", k[i], $i } }' /proc/net/snmp)"
  else
    log "__MARK_PING_FAIL__ $PEER after $n tries: $(tail -n 2 /tmp/ping.out | tr '\n' ' ')"
  fi
fi
log "idle"
while true; do sleep 3600; done
"""  # noqa: E501 (a shell line of the guest init script; the text is hashed into the image cache key)


def _init_text():
    return (INIT.replace("__MODULES__", " ".join(NET_MODULES))
            .replace("__POWER__", " ".join(POWER_MODULES))
            .replace("__MARK_READY__", MARK_READY.split(": ", 1)[1])
            .replace("__MARK_PING_OK__", MARK_PING_OK.split(": ", 1)[1])
            .replace("__MARK_PING_FAIL__", MARK_PING_FAIL.split(": ", 1)[1])
            .replace("__MARK_POWEROFF__", MARK_POWEROFF)
            .replace("__MARK_NIC__", MARK_NIC.split(": ", 1)[1])
            .replace("__MARK_IP_STATS__", MARK_IP_STATS.split(": ", 1)[1])
            .replace("__MARK_IOMMU__", MARK_IOMMU.split(": ", 1)[1]))


def append(ip, peer=None, dev="eth0", tries=180, extra="", size=None):
    """Kernel command line for one guest: its address (CIDR), the peer it pings and the pings' payload size."""
    parts = ["console=ttyS0", "loglevel=4", "panic=-1", "nfv_ip=%s" % ip, "nfv_dev=%s" % dev,
             "nfv_tries=%d" % tries]
    if size:
        parts.append("nfv_size=%d" % size)
    if peer:
        parts.append("nfv_peer=%s" % peer)
    if extra:
        parts.append(extra)
    return " ".join(parts)


def _run(argv, cwd=None):
    return subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True).stdout


def kernel_package():
    """(package, version) that linux-image-amd64 currently depends on."""
    out = _run(["apt-cache", "depends", KERNEL_META])
    deps = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("Depends:")]
    images = [d for d in deps if d.startswith("linux-image-")]
    if not images:
        raise RuntimeError("apt-cache depends %s names no linux-image package:\n%s" % (KERNEL_META, out))
    package = images[0]
    policy = _run(["apt-cache", "policy", package])
    version = None
    for line in policy.splitlines():
        if line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
    if not version or version == "(none)":
        raise RuntimeError("no installable version of %s:\n%s" % (package, policy))
    return package, version


def busybox_version():
    out = _run(["dpkg-query", "-W", "-f=${Package} ${Version}", "busybox-static"])
    return out.strip()


def cache_key(package, version):
    digest = hashlib.sha256()
    for part in (str(FORMAT), package, version, busybox_version(), " ".join(NET_MODULES),
                 " ".join(POWER_MODULES), _init_text()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


class _Cpio:
    """A newc cpio archive written in Python (deterministic: fixed mtimes, owner root)."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name, mode, data=b"", nlink=1):
        name_b = name.encode() + b"\0"
        header = "070701" + "".join("%08X" % v for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        self.ino += 1
        self.buf.write(header.encode() + name_b)
        self.buf.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * ((4 - len(data) % 4) % 4))

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return self.buf.getvalue()


def _module_files(moddir, names):
    """name -> path of name.ko(.xz) under the kernel's module tree."""
    found = {}
    for top, _dirs, files in os.walk(moddir):
        for fname in files:
            for suffix in (".ko", ".ko.xz"):
                if fname.endswith(suffix):
                    mod = fname[:-len(suffix)].replace("-", "_")
                    if mod in names:
                        found[mod] = os.path.join(top, fname)
    return found


def _module_order_ok(moddir, order):
    """Every dependency listed in modules.dep (when present) comes earlier in `order`."""
    dep_file = os.path.join(moddir, "modules.dep")
    if not os.path.exists(dep_file):
        return

    def base(path):
        return os.path.basename(path).split(".ko")[0].replace("-", "_")
    with open(dep_file) as handle:
        for line in handle:
            target, _sep, deps = line.partition(":")
            mod = base(target)
            if mod not in order:
                continue
            for name in deps.split():
                dep = base(name)
                if dep not in order or order.index(dep) > order.index(mod):
                    raise RuntimeError("module %s needs %s before it; fix the order in guest_image.py"
                                       % (mod, dep))


def _read_module(path):
    with open(path, "rb") as handle:
        data = handle.read()
    return lzma.decompress(data) if path.endswith(".xz") else data


def _build(dest, package, version):
    with tempfile.TemporaryDirectory(prefix="nfv-guest-") as tmp:
        os.chmod(tmp, 0o755)
        _run(["apt-get", "download", "-q", "%s=%s" % (package, version)], cwd=tmp)
        debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
        if len(debs) != 1:
            raise RuntimeError("apt-get download left %r" % debs)
        root = os.path.join(tmp, "root")
        _run(["dpkg", "-x", os.path.join(tmp, debs[0]), root])
        kernels = sorted(f for f in os.listdir(os.path.join(root, "boot")) if f.startswith("vmlinuz-"))
        if not kernels:
            raise RuntimeError("%s has no /boot/vmlinuz-*" % package)
        release = kernels[0][len("vmlinuz-"):]
        moddir = os.path.join(root, "lib", "modules", release)
        wanted = NET_MODULES + POWER_MODULES
        found = _module_files(moddir, set(wanted))
        missing = [m for m in NET_MODULES if m not in found]
        if missing:
            raise RuntimeError("kernel %s lacks modules %s (built in? check its config)" % (release, missing))
        _module_order_ok(moddir, NET_MODULES)

        archive = _Cpio()
        for directory in ("bin", "dev", "etc", "lib", "lib/modules", "lib/modules/power", "proc", "sys",
                          "tmp", "run", "var", "var/run", "var/log"):
            archive.dir(directory)
        with open(BUSYBOX, "rb") as handle:
            archive.file("bin/busybox", handle.read(), 0o755)
        archive.symlink("bin/sh", "busybox")
        archive.file("init", _init_text().encode(), 0o755)
        for mod in NET_MODULES:
            archive.file("lib/modules/%s.ko" % mod, _read_module(found[mod]))
        for mod in POWER_MODULES:
            if mod in found:
                archive.file("lib/modules/power/%s.ko" % mod, _read_module(found[mod]))
        initrd = gzip.compress(archive.finish(), compresslevel=6, mtime=0)

        staging = tempfile.mkdtemp(prefix=".build-", dir=os.path.dirname(dest))
        try:
            os.chmod(staging, 0o755)  # guests run as an unprivileged service user
            shutil.copyfile(os.path.join(root, "boot", kernels[0]), os.path.join(staging, "vmlinuz"))
            with open(os.path.join(staging, "initrd.gz"), "wb") as handle:
                handle.write(initrd)
            manifest = {"package": package, "version": version, "release": release,
                        "busybox": busybox_version(), "modules": NET_MODULES,
                        "power_modules": [m for m in POWER_MODULES if m in found]}
            with open(os.path.join(staging, "manifest.json"), "w") as handle:
                json.dump(manifest, handle, indent=2)
            os.rename(staging, dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def build(cache_root=CACHE_ROOT):
    """Build or reuse the guest image; return {kernel, initrd, key, release, ...}."""
    package, version = kernel_package()
    key = cache_key(package, version)
    dest = os.path.join(cache_root, key)
    os.makedirs(cache_root, exist_ok=True)
    with open(os.path.join(cache_root, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(dest, "manifest.json")):
            _build(dest, package, version)
    with open(os.path.join(dest, "manifest.json")) as handle:
        manifest = json.load(handle)
    manifest.update({"key": key, "dir": dest, "kernel": os.path.join(dest, "vmlinuz"),
                     "initrd": os.path.join(dest, "initrd.gz")})
    return manifest


def main():
    print(json.dumps(build(), indent=2))


if __name__ == "__main__":
    sys.exit(main())
