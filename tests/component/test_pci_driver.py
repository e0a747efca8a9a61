"""nfv.dpdk.pci_driver against this machine's real PCI devices, without changing any of them.

This machine's PCI devices carry its own disk, network and control channel: every call here is
either check mode or bad input that must fail before anything is touched. Each test snapshots
every device's driver link and driver_override and asserts them unchanged afterwards. Real
binding (vfio-pci and back, rollback, reboot persistence) is proven in the lab VM scenario.
"""

import json
import os
import subprocess
import sys

import pytest

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
    expected = "amd_iommu=on iommu=pt" if cpu_vendor() == "AuthenticAMD" else "intel_iommu=on iommu=pt"
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


def run_role_check(tmp_path, role_vars):
    """The nfv.dpdk.vfio role in check mode on localhost; returns (rc, output)."""
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                      else sys.executable},
             "roles": [{"role": "nfv.dpdk.vfio"}]}]
    playbook = tmp_path / "vfio.yml"
    playbook.write_text(json.dumps(play))
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(role_vars))
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "--check", "--diff",
                           str(playbook), "-e", "@" + str(extra)], env=ansible_env(), stdout=subprocess.PIPE,
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


def test_role_rejects_bad_variables(tmp_path):
    rc, out = run_role_check(tmp_path, {"vfio_reboot_timeout": "soon", "vfio_kernel_cmdline_backend": "lilo"})
    assert rc != 0
    assert "Validation of arguments failed" in out
    assert "vfio_reboot_timeout" in out and "vfio_kernel_cmdline_backend" in out
