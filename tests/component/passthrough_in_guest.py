"""Run inside the vIOMMU guest of tests/component/vfio_guest.py, as root in the chroot of this machine's / (so with
its Python, QEMU and the collection): nested guests that get a whole NIC and an SR-IOV VF by vfio passthrough.

    passthrough_in_guest.py COLLECTIONS PYTHON NIC PF VF_MAC VF_VLAN

1. nfv.dpdk.pci_driver binds NIC to vfio-pci; a nested guest (the QEMU argv nfv.dpdk.qemu_vm writes into its
   unit's ExecStart=, with `-device vfio-pci,host=NIC`) boots PCI_SCAN, a boot sector that reads the vendor and
   device id of every device on its PCI bus 0 from its own configuration space (ports 0xCF8/0xCFC) and writes
   them to its serial port. While it runs, the QEMU process holds /dev/vfio/GROUP.
2. nfv.dpdk.sriov_vfs makes one VF on PF with VF_MAC and VF_VLAN (set before any guest has it), pci_driver binds
   the VF to vfio-pci, and a second nested guest gets and scans it.
3. The guests stopped, nothing holds the groups any more, and pci_driver hands both devices back to the kernel.

Everything it saw goes to stdout as one JSON document, base64-encoded on lines "pt-b64: CHUNK" (console lines
interleave with kernel messages).
"""

import base64
import json
import os
import subprocess
import sys
import time

COLLECTIONS, PYTHON, NIC, PF, VF_MAC, VF_VLAN = sys.argv[1:7]
sys.path.insert(0, COLLECTIONS)

from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.argv import qemu_argv  # noqa: E402 (after the path)
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_spec  # noqa: E402

MODULES = os.path.join(COLLECTIONS, "ansible_collections", "nfv", "dpdk", "plugins", "modules")
QEMU = "/usr/bin/qemu-system-x86_64"
PCI = "/sys/bus/pci/devices"
DISK = "/tmp/nfv-pci-scan.img"
SCAN_MARK = "nfv-pci "
SCAN_DONE = "nfv-pci done"
BOOT_TIMEOUT = 300

# The boot sector (loaded by the BIOS at 0x7c00, real mode): for device 0-31 of bus 0, function 0, read config
# dword 0; when the vendor is not 0xffff print "nfv-pci DD DEVIVEND" (hex) to COM1, then "nfv-pci done", halt.
PCI_SCAN = (
    ("fa fc 31c0 8ed8 8ed0 bc007c", "cli; cld; ds = ss = 0; sp = 0x7c00"),
    ("31db", "bx = 0: the device number"),
    ("660fb7c3 66c1e00b 660d00000080", "0x0d: eax = 0x80000000 | bx << 11 (bus 0, function 0, register 0)"),
    ("baf80c 66ef b2fc 66ed", "out 0xcf8, eax; eax = in 0xcfc"),
    ("83f8ff 742b", "vendor 0xffff: no device, jmp 0x54"),
    ("6689c7 be8d7c e85000", "edi = eax; puts 'nfv-pci '"),
    ("660fb7c3 66c1e018 b90200 e82300", "hex(bx << 24, 2 digits)"),
    ("b020 e83600", "putc ' '"),
    ("6689f8 b90800 e81500", "hex(edi, 8 digits)"),
    ("be967c e82e00", "puts CRLF"),
    ("43 83fb20 72b3", "0x54: bx += 1; below 32: jmp 0x0d"),
    ("be997c e82200", "puts 'nfv-pci done'"),
    ("f4 ebfd", "0x60: hlt; jmp 0x60"),
    ("66c1c004 6650 240f 0430 3c39 7602 0407 e80500 6658 e2e9 c3",
     "0x63 hex: cx digits of eax, high first (rol 4, to ASCII, putc)"),
    ("52 baf803 ee 5a c3", "0x7b putc: out 0x3f8, al"),
    ("ac 84c0 7405 e8f1ff ebf6 c3", "0x82 puts: al = [si++] until 0, putc"),
    ("6e66762d70636920 00 0d0a00 6e66762d7063692064 6f6e650d0a00", "0x8d: 'nfv-pci ', CRLF, 'nfv-pci done' CRLF"),
)


def disk_image():
    """PCI_SCAN as the boot sector of a 1 MiB raw disk (SeaBIOS reads no smaller one)."""
    code = bytes.fromhex("".join(entry[0] for entry in PCI_SCAN).replace(" ", ""))
    with open(DISK, "wb") as handle:
        handle.write(code.ljust(510, b"\0") + b"\x55\xaa")
        handle.truncate(1 << 20)


def module(name, args):
    """One run of the collection's module `name` with `args`: its JSON result."""
    path = "/tmp/args-%s.json" % name
    with open(path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    proc = subprocess.run([PYTHON, os.path.join(MODULES, name + ".py"), path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=dict(os.environ, PYTHONPATH=COLLECTIONS),
                          check=False)
    out = proc.stdout
    if "{" not in out:
        return {"failed": True, "msg": out + proc.stderr}
    return json.loads(out[out.find("{"):])


def device(address):
    base = os.path.join(PCI, address)

    def link(name):
        path = os.path.join(base, name)
        return os.path.basename(os.readlink(path)) if os.path.islink(path) else None

    def read(name):
        with open(os.path.join(base, name)) as handle:
            return handle.read().strip()

    return {"driver": link("driver"), "group": link("iommu_group"), "ids": "%s:%s" % (read("vendor"), read("device")),
            "group_devices": sorted(os.listdir(os.path.join(base, "iommu_group", "devices")))}


def holders(group):
    """PIDs with /dev/vfio/GROUP open."""
    target = "/dev/vfio/%s" % group
    pids = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
            if any(os.readlink("/proc/%s/fd/%s" % (pid, fd)) == target for fd in fds):
                pids.append(int(pid))
        except OSError:
            continue
    return pids


def serial(path):
    try:
        with open(path, errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def boot(name, host):
    """A nested guest with `host` passed through, booting PCI_SCAN: what it printed and who held the group."""
    spec = guest_spec({"name": name, "memory": "16M", "disks": [{"path": DISK, "format": "raw", "readonly": True}],
                       "nics": [{"type": "vfio", "host": host}], "user": "nobody", "group": "nogroup"})
    log = "/tmp/%s.serial" % name
    os.makedirs(spec["run_subdir"], exist_ok=True)
    argv = qemu_argv(spec, QEMU, "tcg", serial=log)
    started = time.time()
    with open("/tmp/%s.qemu.out" % name, "w") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    while SCAN_DONE not in serial(log) and proc.poll() is None and time.time() < started + BOOT_TIMEOUT:
        time.sleep(0.5)
    seconds = round(time.time() - started, 1)
    group = device(host)["group"]
    held = holders(group)
    proc.terminate()
    proc.wait(timeout=60)
    return {"argv": argv, "seconds": seconds, "qemu_pid": proc.pid, "held_by": held, "held_after": holders(group),
            "scan": [line.strip() for line in serial(log).splitlines() if line.startswith(SCAN_MARK)],
            "qemu_output": serial("/tmp/%s.qemu.out" % name)[-2000:]}


def pf_ifname():
    names = os.listdir(os.path.join(PCI, PF, "net"))
    return names[0] if names else None


def main():
    disk_image()
    seen = {"nic_before": device(NIC)}
    seen["bind_nic"] = module("pci_driver", {"devices": [NIC], "persistent": False})
    seen["nic_bound"] = device(NIC)
    seen["guest_nic"] = boot("ptnic", NIC)

    seen["vfs"] = module("sriov_vfs", {"pf": PF, "count": 1, "persistent": False,
                                       "vfs": [{"index": 0, "mac": VF_MAC, "vlan": int(VF_VLAN)}]})
    vf = os.path.basename(os.readlink(os.path.join(PCI, PF, "virtfn0")))
    link = subprocess.run(["ip", "-j", "link", "show", "dev", pf_ifname()], stdout=subprocess.PIPE,
                          universal_newlines=True, check=False).stdout
    seen["vf"] = vf
    seen["vf_before"] = device(vf)
    seen["vf_info"] = (json.loads(link or "[{}]")[0].get("vfinfo_list") or [{}])[0]
    seen["bind_vf"] = module("pci_driver", {"devices": [vf], "persistent": False})
    seen["vf_bound"] = device(vf)
    seen["guest_vf"] = boot("ptvf", vf)

    seen["release"] = module("pci_driver", {"devices": [NIC, vf], "driver": "kernel", "persistent": False})
    seen["after"] = {NIC: device(NIC), vf: device(vf)}
    text = base64.b64encode(json.dumps(seen).encode()).decode()
    for at in range(0, len(text), 76):
        print("pt-b64: " + text[at:at + 76], flush=True)


if __name__ == "__main__":
    main()
