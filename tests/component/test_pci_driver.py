"""nfv.dpdk.pci_driver against this machine's real PCI devices, without changing any of them.

This machine's PCI devices carry its own disk, network and control channel: every call here is
either check mode or bad input that must fail before anything is touched. Each test snapshots
every device's driver link and driver_override and asserts them unchanged afterwards. Real
binding (vfio-pci and back, rollback, reboot persistence) is proven in the lab VM scenario.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from vfio_guest import (
    GUEST_MODULES,
    GUEST_NIC,
    GUEST_OTHER_NIC,
    GUEST_START,
    HOST_ROOT_DEVICE,
    HOST_ROOT_MODULES,
    HOST_ROOT_MOUNT,
    build_vfio_guest,
    run_vfio_guest,
)

from module_call import VENV_BIN, ansible_env, run_module

pytestmark = pytest.mark.component

PCI = "/sys/bus/pci/devices"
OUR_FILES = ("/var/lib/nfv-dpdk/pci-driver.json", "/etc/nfv-dpdk/pci-driver-overrides.conf",
             "/etc/systemd/system/nfv-dpdk-pci-bind.service", "/usr/local/sbin/nfv-dpdk-pci-bind",
             "/etc/modules-load.d/vfio-pci.conf", "/etc/udev/rules.d/70-nfv-dpdk-vfio.rules",
             "/etc/modprobe.d/nfv-dpdk-vfio-noiommu.conf")


def snapshot():
    state = {}
    for addr in sorted(os.listdir(PCI)):
        base = os.path.join(PCI, addr)
        driver = os.path.basename(os.readlink(base + "/driver")) if os.path.islink(base + "/driver") else None
        try:
            with open(base + "/driver_override") as handle:
                override = handle.read().strip()
        except OSError:
            override = None
        state[addr] = (driver, override)
    files = dict((path, os.path.exists(path)) for path in OUR_FILES)
    return state, files


@pytest.fixture(autouse=True)
def unchanged():
    before = snapshot()
    yield
    assert snapshot() == before, "a PCI driver binding or a persistence file changed"


def pci_address_of(sys_path):
    real = os.path.realpath(sys_path)
    found = None
    for part in real.split("/"):
        if len(part) == 12 and part[4] == ":" and part[7] == ":" and part[10] == ".":
            found = part
    return found


def default_route_nic():
    with open("/proc/net/route") as handle:
        for line in handle.read().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
                addr = pci_address_of("/sys/class/net/%s/device" % fields[0])
                if addr:
                    return fields[0], addr
    pytest.skip("no PCI NIC carries the default route here")


def disk_controller():
    for name in sorted(os.listdir("/sys/class/block")):
        addr = pci_address_of("/sys/class/block/" + name)
        if addr:
            return name, addr
    pytest.skip("no PCI disk controller here")


def quiet_device():
    """A PCI device with no netdev and no disk (balloon, rng, ...): the IOMMU/driver checks apply."""
    nics = set(default_route_nic()[1:])
    disks = set(pci_address_of("/sys/class/block/" + n) for n in os.listdir("/sys/class/block"))
    for addr in sorted(os.listdir(PCI)):
        base = os.path.join(PCI, addr)
        with open(base + "/class") as handle:
            pci_class = int(handle.read().strip(), 16)
        if addr in nics or addr in disks or (pci_class >> 16) in (0x02, 0x06) or os.path.isdir(base + "/net"):
            continue
        if any(os.path.isdir(os.path.join(base, e, "net")) for e in os.listdir(base) if e.startswith("virtio")):
            continue
        return addr
    pytest.skip("no PCI device without netdev or disk here")


def cpu_vendor():
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("vendor_id"):
                return line.split(":", 1)[1].strip()
    return None


def test_default_route_nic_refused_by_address():
    iface, addr = default_route_nic()
    result = run_module("pci_driver", {"devices": [addr]}, check=True)
    assert result["failed"] and not result["changed"]
    assert "refusing" in result["msg"]
    assert "%s: %s carries management traffic: default route" % (addr, iface) in result["msg"]


def test_default_route_nic_refused_by_interface_name():
    iface, addr = default_route_nic()
    short = addr[5:]
    result = run_module("pci_driver", {"devices": [iface, short]}, check=True)
    assert result["failed"]
    assert result["refused"] == ["%s: %s carries management traffic: default route" % (addr, iface)]


def test_disk_controller_refused():
    disk, addr = disk_controller()
    result = run_module("pci_driver", {"devices": [addr]}, check=True)
    assert result["failed"]
    assert "holds block device %s" % disk in result["msg"]


@pytest.mark.parametrize("spec", ["0000:00:03", "00:03.9", "0000:00:20.0", "eth0:1"])
def test_malformed_address_fails_in_a_real_run(spec):
    result = run_module("pci_driver", {"devices": [spec]})
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith("malformed PCI address %r" % spec)


@pytest.mark.parametrize("address, message", [
    ("10.0.0.300", "is not an IP address and does not resolve"),
    ("mgmt host", "is neither an IP address nor a host name"),
])
@pytest.mark.parametrize("check", [True, False])
def test_bad_connection_address_fails_even_with_force(address, message, check):
    """Issue 15: a typo in connection_address must not silently switch the management guard off."""
    # a device that does not exist: were the address not refused first, the run would fail on the device
    result = run_module("pci_driver", {"devices": ["0000:7f:1f.7"], "connection_address": address, "force": True},
                        check=check)
    assert result["failed"] and not result["changed"]
    assert "connection_address %r %s" % (address, message) in result["msg"], result["msg"]


def test_nonexistent_address_and_interface_fail_in_a_real_run():
    result = run_module("pci_driver", {"devices": ["0000:7f:1f.7", "nfvnosuch0"]})
    assert result["failed"] and not result["changed"]
    assert "no PCI device at 0000:7f:1f.7" in result["msg"]
    assert "no interface nfvnosuch0" in result["msg"]


def test_no_iommu_names_the_kernel_args():
    if any(g.isdigit() for g in os.listdir("/sys/kernel/iommu_groups")):
        pytest.skip("this machine has an IOMMU")
    addr = quiet_device()
    result = run_module("pci_driver", {"devices": [addr]}, check=True)
    assert result["failed"]
    amd = os.path.exists("/sys/firmware/acpi/tables/IVRS") or (
        not os.path.exists("/sys/firmware/acpi/tables/DMAR") and cpu_vendor() == "AuthenticAMD")
    expected = "amd_iommu=on iommu=pt" if amd else "intel_iommu=on iommu=pt"
    assert "the IOMMU is off" in result["msg"]
    assert expected in result["msg"]
    assert result["kernel_args"] == expected.split()


def test_unknown_driver_fails():
    addr = quiet_device()
    result = run_module("pci_driver", {"devices": [addr], "driver": "nfv_no_such_driver"}, check=True)
    assert result["failed"]
    assert "nfv_no_such_driver" in result["msg"]
    assert "unknown driver" in result["msg"] or "no modprobe" in result["msg"]


def test_kernel_on_a_device_already_on_its_kernel_driver_is_ok():
    iface, addr = default_route_nic()
    driver = os.path.basename(os.readlink(os.path.join(PCI, addr, "driver")))
    result = run_module("pci_driver", {"devices": [iface], "driver": "kernel"}, check=True)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    assert result["devices"] == [{
        "address": addr, "requested": iface, "interface": iface, "driver_before": driver,
        "driver_after": driver, "changed": False, "iommu_group": result["devices"][0]["iommu_group"],
        "numa_node": result["devices"][0]["numa_node"], "vendor_device": result["devices"][0]["vendor_device"]}]


def run_role_check(tmp_path, role_vars, check=True):
    """The nfv.dpdk.vfio role (in check mode unless told) on localhost; returns (rc, output)."""
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                      else sys.executable},
             "roles": [{"role": "nfv.dpdk.vfio"}]}]
    playbook = tmp_path / "vfio.yml"
    playbook.write_text(json.dumps(play))
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(role_vars))
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "--diff", str(playbook),
            "-e", "@" + str(extra)] + (["--check"] if check else [])
    proc = subprocess.run(argv, env=ansible_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False)
    return proc.returncode, proc.stdout


def test_role_check_mode_refuses_the_management_nic(tmp_path):
    iface, addr = default_route_nic()
    rc, out = run_role_check(tmp_path, {"vfio_devices": [iface], "vfio_manage_kernel_args": False,
                                        "vfio_qemu_group": "kvm"})
    assert rc != 0
    assert "Bind the devices to vfio-pci" in out
    assert "%s: %s carries management traffic: default route" % (addr, iface) in out
    # the files the role would write show in the diff, and none was written (snapshot fixture)
    assert "+vfio-pci" in out
    assert 'SUBSYSTEM=="vfio", GROUP="kvm", MODE="0660"' in out


def test_role_check_mode_without_devices_passes(tmp_path):
    rc, out = run_role_check(tmp_path, {"vfio_manage_kernel_args": False})
    assert rc == 0, out
    assert "failed=0" in out


def test_role_writes_its_files_and_a_second_run_changes_nothing(tmp_path):
    """A real role run without devices: module loading, no-IOMMU option, udev rule, group; then undone."""
    import grp
    group = "nfvvfiotest"
    paths = ["/etc/modules-load.d", "/etc/modules-load.d/vfio-pci.conf", "/etc/modprobe.d",
             "/etc/modprobe.d/nfv-dpdk-vfio-noiommu.conf", "/etc/udev", "/etc/udev/rules.d",
             "/etc/udev/rules.d/70-nfv-dpdk-vfio.rules"]
    existed = dict((path, os.path.exists(path)) for path in paths)
    try:
        grp.getgrnam(group)
        pytest.skip("group %s exists already" % group)
    except KeyError:
        pass
    role_vars = {"vfio_manage_kernel_args": False, "vfio_qemu_group": group, "vfio_noiommu": True}
    try:
        rc, out = run_role_check(tmp_path, role_vars, check=False)
        assert rc == 0, out
        with open("/etc/modules-load.d/vfio-pci.conf") as handle:
            assert handle.read().splitlines()[-1] == "vfio-pci"
        with open("/etc/modprobe.d/nfv-dpdk-vfio-noiommu.conf") as handle:
            assert "options vfio enable_unsafe_noiommu_mode=1" in handle.read()
        with open("/etc/udev/rules.d/70-nfv-dpdk-vfio.rules") as handle:
            assert 'SUBSYSTEM=="vfio", GROUP="%s", MODE="0660"' % group in handle.read()
        assert grp.getgrnam(group).gr_gid < 1000  # a system group
        rc, out = run_role_check(tmp_path, role_vars, check=False)
        assert rc == 0 and "changed=0" in out, out
        # turning the options off removes what they wrote
        rc, out = run_role_check(tmp_path, {"vfio_manage_kernel_args": False}, check=False)
        assert rc == 0, out
        assert not os.path.exists("/etc/modprobe.d/nfv-dpdk-vfio-noiommu.conf")
        assert not os.path.exists("/etc/udev/rules.d/70-nfv-dpdk-vfio.rules")
    finally:
        for path in sorted(paths, key=len, reverse=True):
            if not existed[path] and os.path.exists(path):
                if os.path.isdir(path):
                    os.rmdir(path)
                else:
                    os.unlink(path)
        subprocess.run(["groupdel", group], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)


def test_role_rejects_bad_variables(tmp_path):
    rc, out = run_role_check(tmp_path, {"vfio_reboot_timeout": "soon", "vfio_kernel_cmdline_backend": "lilo"})
    assert rc != 0
    assert "Validation of arguments failed" in out
    assert "vfio_reboot_timeout" in out and "vfio_kernel_cmdline_backend" in out


# -- the boot program on a real kernel: a TCG guest with a virtual IOMMU -----------------------------
# The module's own bind path is proven in the lab VM scenario; here the program that runs at boot
# (module_utils/boot_pci_bind.py, installed as pci_driver writes it: the same driver_override /
# unbind / drivers_probe / read-back sequence) runs inside a q35 guest with intel-iommu and two
# e1000 NICs, on a Debian kernel with its vfio modules, with this machine's / and Python (chroot).

GUEST_INIT = GUEST_START + HOST_ROOT_MOUNT + r"""dump() {
  for d in /sys/bus/pci/devices/*; do
    a=${d##*/}; drv=-; grp=-
    [ -e $d/driver ] && drv=$(basename $(readlink $d/driver))
    [ -e $d/iommu_group ] && grp=$(basename $(readlink $d/iommu_group))
    echo "pcidrv: $1 dev $a $drv $grp $(cat $d/driver_override)"
  done
  echo "pcidrv: $1 vfio $(ls /dev/vfio 2>/dev/null | tr '\n' ' ')"
}
# the boot program as pci_driver installs it, run by the host's system python3 (its shebang)
mkdir -p /host/tmp/pcidrv
cp /nfv-dpdk-pci-bind /to-vfio.conf /to-e1000.conf /missing.conf /other-ids.conf /host/tmp/pcidrv/
bind() { chroot /host /tmp/pcidrv/nfv-dpdk-pci-bind /tmp/pcidrv/$1; }
dump boot
bind other-ids.conf; echo "pcidrv: rc other-ids $?"
dump other
bind to-vfio.conf; echo "pcidrv: rc to-vfio $?"
dump vfio
bind to-vfio.conf; echo "pcidrv: rc again $?"
dump again
bind to-e1000.conf; echo "pcidrv: rc to-e1000 $?"
dump back
bind missing.conf; echo "pcidrv: rc missing-device $?"
echo "pcidrv: done"
poweroff -f
"""


class Which:
    def find(self, name):
        return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def guest_files():
    from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import system_python
    from ansible_collections.nfv.dpdk.plugins.module_utils.pci import pci_driver_persistence as persistence

    return {
        "init": GUEST_INIT.replace("__MODULES__", " ".join(GUEST_MODULES + HOST_ROOT_MODULES)),
        "nfv-dpdk-pci-bind": persistence.bind_script_text(system_python(Which(), "the boot program")),
        # the ids QEMU's e1000 has (82540EM), as pci_driver records them; then another NIC's at its address
        "to-vfio.conf": persistence.format_overrides({GUEST_NIC: "vfio-pci"}, {GUEST_NIC: "8086:100e"}),
        "other-ids.conf": persistence.format_overrides({GUEST_NIC: "vfio-pci"}, {GUEST_NIC: "15b3:1017"}),
        "to-e1000.conf": persistence.format_overrides({GUEST_NIC: "e1000"}),
        "missing.conf": persistence.format_overrides({"0000:00:1e.7": "vfio-pci"}),
    }


def parse_guest_log(text):
    """{'boot': {'devices': {addr: (driver, group, override)}, 'vfio': [...]}, ..., 'rc': {...}}."""
    phases, rcs = {}, {}
    for line in text.splitlines():
        if not line.startswith("pcidrv: "):
            continue
        fields = line[len("pcidrv: "):].split()
        if len(fields) >= 6 and fields[1] == "dev":
            phases.setdefault(fields[0], {"devices": {}, "vfio": []})["devices"][fields[2]] = tuple(fields[3:6])
        elif len(fields) >= 2 and fields[1] == "vfio":
            phases.setdefault(fields[0], {"devices": {}, "vfio": []})["vfio"] = fields[2:]
        elif fields[0] == "rc" and len(fields) == 3:
            rcs[fields[1]] = int(fields[2])
    return phases, rcs


def test_boot_script_binds_and_returns_a_nic_in_a_vIOMMU_guest(tmp_path):
    text = run_vfio_guest(build_vfio_guest(guest_files()), tmp_path / "console.log", memory="1024",
                          extra=HOST_ROOT_DEVICE)
    phases, rcs = parse_guest_log(text)
    assert [line for line in text.splitlines() if line.startswith("pcidrv: insmod")] == [], text

    driver, group, override = phases["boot"]["devices"][GUEST_NIC]
    assert driver == "e1000" and group != "-" and override == "(null)"
    other = phases["boot"]["devices"][GUEST_OTHER_NIC]
    assert other[0] == "e1000" and other[1] not in ("-", group)   # a group of its own

    assert rcs["other-ids"] == 1                                  # another device at the address: left alone
    assert "nfv-dpdk-pci-bind: %s: is 8086:100e, not the 15b3:1017 recorded: left alone" % GUEST_NIC in text
    assert phases["other"]["devices"][GUEST_NIC] == ("e1000", group, "(null)")

    assert rcs["to-vfio"] == 0
    assert phases["vfio"]["devices"][GUEST_NIC] == ("vfio-pci", group, "vfio-pci")
    assert group in phases["vfio"]["vfio"]                        # /dev/vfio/<group> exists
    assert phases["vfio"]["devices"][GUEST_OTHER_NIC][0] == "e1000"
    assert "nfv-dpdk-pci-bind: %s: e1000 -> vfio-pci" % GUEST_NIC in text

    assert rcs["again"] == 0                                      # already bound: left alone
    assert phases["again"]["devices"][GUEST_NIC] == ("vfio-pci", group, "vfio-pci")

    assert rcs["to-e1000"] == 0
    assert phases["back"]["devices"][GUEST_NIC] == ("e1000", group, "e1000")
    assert group not in phases["back"]["vfio"]
    assert "nfv-dpdk-pci-bind: %s: vfio-pci -> e1000" % GUEST_NIC in text

    assert rcs["missing-device"] == 1
    assert "nfv-dpdk-pci-bind: 0000:00:1e.7: no such PCI device" in text


# -- the module itself on a real kernel: the same guest, with this machine's / shared read-only -----
# The guest mounts the host's root file system read-only over virtio-9p and runs
# plugins/modules/pci_driver.py with the host's Python (chroot), against the guest kernel's sysfs:
# binding, read-back, the interface-name memory, the guard, rollback and handing back.

MODULE_GUEST_MODULES = GUEST_MODULES + HOST_ROOT_MODULES

MODULE_GUEST_INIT = GUEST_START + r"""i=0
while [ ! -e /sys/class/net/eth1 ] && [ $i -lt 20 ]; do sleep 1; i=$((i+1)); done
# eth1 is the guest's "management" NIC: up, with an address and the default route
ip link set eth1 up
ip addr add 192.0.2.2/24 dev eth1
ip route add default via 192.0.2.1 dev eth1
""" + HOST_ROOT_MOUNT + r"""rm -rf /host/var/lib/nfv-dpdk /host/etc/nfv-dpdk
cp /scenario.sh /host/tmp/scenario.sh
chroot /host /bin/sh /tmp/scenario.sh
echo "pcidrv: done"
poweroff -f
"""

MODULE_SCENARIO = r"""#!/bin/sh
export HOME=/root PYTHONPATH=__COLLECTIONS__ PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
step() {
  name=$1; shift
  printf '{"ANSIBLE_MODULE_ARGS": %s}' "$1" > /tmp/args.json
  # console lines can be interleaved with kernel messages: the result goes out base64-encoded
  __PYTHON__ __MODULE__ /tmp/args.json > /tmp/result.json 2>&1
  base64 /tmp/result.json | sed "s/^/pcidrv-b64: $name /"
  for a in 0000:00:03.0 0000:00:04.0 0000:00:1f.3; do
    d=/sys/bus/pci/devices/$a; drv=-
    [ -e $d/driver ] && drv=$(basename $(readlink $d/driver))
    echo "pcidrv: after-$name dev $a $drv $(basename $(readlink $d/iommu_group)) $(cat $d/driver_override)"
  done
  echo "pcidrv: after-$name vfio $(ls /dev/vfio | tr '\n' ' ')"
}
step check '{"devices": ["eth0"], "persistent": false, "_ansible_check_mode": true, "_ansible_diff": true}'
step bind '{"devices": ["eth0"], "persistent": false, "_ansible_diff": true}'
step again '{"devices": ["eth0"], "persistent": false}'
step guard '{"devices": ["eth1"], "persistent": false}'
step rollback '{"devices": ["eth0", "0000:00:1f.3"], "driver": "e1000", "persistent": false}'
step kernel '{"devices": ["eth0"], "driver": "kernel", "persistent": false}'
step kernel-again '{"devices": ["eth0"], "driver": "kernel", "persistent": false}'
step persist '{"devices": ["eth0"], "persistent": true}'
step unbound '{"devices": ["eth0"], "driver": "kernel", "persistent": false}'
# what systemd runs at boot: the unit's ExecStart line
cmd=$(sed -n 's/^ExecStart=//p' /etc/systemd/system/nfv-dpdk-pci-bind.service)
echo "pcidrv: boot-unit $cmd"
$cmd; echo "pcidrv: rc boot-unit $?"
step persist-again '{"devices": ["eth0"], "persistent": true}'
echo "pcidrv: wants $(readlink /etc/systemd/system/sysinit.target.wants/nfv-dpdk-pci-bind.service)"
step released '{"devices": ["eth0"], "driver": "kernel", "persistent": true}'
echo "pcidrv: conf-after-release $(grep -c vfio-pci /etc/nfv-dpdk/pci-driver-overrides.conf)"
cat /var/lib/nfv-dpdk/pci-driver.json | tr -d '\n' | sed 's/^/pcidrv-state: /'; echo
"""


def module_guest_files():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    collections = os.path.join(repo, ".build", "collections")
    module = os.path.join(collections, "ansible_collections", "nfv", "dpdk", "plugins", "modules", "pci_driver.py")
    python = os.path.join(repo, ".venv", "bin", "python")
    files = {
        "init": MODULE_GUEST_INIT.replace("__MODULES__", " ".join(MODULE_GUEST_MODULES)),
        "scenario.sh": MODULE_SCENARIO.replace("__COLLECTIONS__", collections).replace("__MODULE__", module)
        .replace("__PYTHON__", python),
    }
    return files


def test_module_binds_rolls_back_and_hands_back_in_a_vIOMMU_guest(tmp_path):
    if not os.path.exists("/usr/bin/qemu-system-x86_64"):
        pytest.skip("no qemu-system-x86_64")
    image = build_vfio_guest(module_guest_files(), MODULE_GUEST_MODULES)
    text = run_vfio_guest(image, tmp_path / "console.log", memory="1024", timeout=900,
                          extra=HOST_ROOT_DEVICE)
    import base64
    chunks = {}
    for line in text.splitlines():
        if line.startswith("pcidrv-b64: "):
            fields = line.strip().split(" ")
            if len(fields) == 3:
                chunks.setdefault(fields[1], []).append(fields[2])
    results = {}
    for name, parts in chunks.items():
        payload = base64.b64decode("".join(parts)).decode()
        assert "{" in payload, "step %s printed no module result: %r" % (name, payload)
        results[name] = json.loads(payload[payload.find("{"):])
    phases, _rcs = parse_guest_log(text)
    setup_errors = [line for line in text.splitlines()
                    if line.startswith(("pcidrv: insmod", "pcidrv: 9p", "pcidrv: overlay"))]
    assert setup_errors == [], text

    check = results["check"]
    assert check["changed"] and not check.get("failed"), check
    assert check["devices"][0]["address"] == GUEST_NIC and check["devices"][0]["driver_after"] == "vfio-pci"
    assert check["diff"]["before"] == {GUEST_NIC: "e1000"} and check["diff"]["after"] == {GUEST_NIC: "vfio-pci"}
    assert phases["after-check"]["devices"][GUEST_NIC][0] == "e1000"      # check mode changed nothing
    group = phases["after-check"]["devices"][GUEST_NIC][1]

    bind = results["bind"]
    assert bind["changed"] and not bind.get("failed"), bind
    assert bind["devices"][0]["driver_before"] == "e1000"
    assert bind["devices"][0]["driver_after"] == "vfio-pci"             # read back from the kernel
    assert bind["devices"][0]["iommu_group"] == int(group)
    assert phases["after-bind"]["devices"][GUEST_NIC] == ("vfio-pci", group, "vfio-pci")
    assert group in phases["after-bind"]["vfio"]

    again = results["again"]                                             # eth0 is gone: found by memory
    assert not again.get("failed"), again
    assert again["changed"] is False and again["devices"][0]["address"] == GUEST_NIC

    guard = results["guard"]
    assert guard["failed"]
    assert "eth1 carries management traffic: default route" in guard["msg"]
    assert phases["after-guard"]["devices"][GUEST_OTHER_NIC][0] == "e1000"

    rollback = results["rollback"]
    assert rollback["failed"]
    assert "binding 0000:00:1f.3 to e1000 failed" in rollback["msg"]
    assert rollback["rollback"] == ["0000:00:1f.3 back on no driver", "%s back on vfio-pci" % GUEST_NIC]
    assert phases["after-rollback"]["devices"][GUEST_NIC] == ("vfio-pci", group, "vfio-pci")
    assert phases["after-rollback"]["devices"]["0000:00:1f.3"][0] == "-"
    assert phases["after-rollback"]["devices"]["0000:00:1f.3"][2] == "(null)"

    kernel = results["kernel"]
    assert kernel["changed"] and not kernel.get("failed"), kernel
    assert kernel["devices"][0]["driver_after"] == "e1000"
    assert phases["after-kernel"]["devices"][GUEST_NIC] == ("e1000", group, "(null)")
    assert group not in phases["after-kernel"]["vfio"]
    assert results["kernel-again"]["changed"] is False

    persist = results["persist"]
    assert persist["changed"] and persist["persistence"] == "nfv-dpdk-pci-bind.service", persist
    assert phases["after-persist"]["devices"][GUEST_NIC][0] == "vfio-pci"
    assert results["unbound"]["changed"]
    assert phases["after-unbound"]["devices"][GUEST_NIC][0] == "e1000"
    # the boot unit's command puts the device back on vfio-pci, as at the next boot
    assert "pcidrv: rc boot-unit 0" in text
    assert "nfv-dpdk-pci-bind: %s: e1000 -> vfio-pci" % GUEST_NIC in text
    assert results["persist-again"]["changed"] is False, results["persist-again"]
    assert phases["after-persist-again"]["devices"][GUEST_NIC] == ("vfio-pci", group, "vfio-pci")
    assert "pcidrv: wants /etc/systemd/system/nfv-dpdk-pci-bind.service" in text

    assert results["released"]["changed"] and "pcidrv: conf-after-release 0" in text

    state_line = next(line for line in text.splitlines() if line.startswith("pcidrv-state: "))
    state = json.loads(state_line[len("pcidrv-state: "):])
    assert state["devices"][GUEST_NIC] == {"interface": "eth0", "original_driver": "e1000"}
