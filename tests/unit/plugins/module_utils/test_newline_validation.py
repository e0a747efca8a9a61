"""Issue 15: validated names and values refuse a trailing (or embedded) newline.

Python's "$" also matches before a final newline, so "quiet\\n" used to pass a
"^...$" check. Each validator below accepts the clean value and refuses the same
value with a newline, naming the field in its message.
"""

import os

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.boot import cmdline as cl
from ansible_collections.nfv.dpdk.plugins.module_utils.boot import kernel_params as kp
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import verify_unit
from ansible_collections.nfv.dpdk.plugins.module_utils.host import hugepages, numa, pci
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs import other_config_validation, ovs_config
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import requested_devices
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_spec
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import KB_1G, KB_2M, SysfsTree, one_node_host


# -- kernel_cmdline ----------------------------------------------------------------
@pytest.mark.parametrize("clean, bad, message", [
    ({"key": "quiet"}, {"key": "quiet\n"}, "params[0]: 'quiet\\n' is not a kernel parameter name"),
    ({"key": "quiet"}, {"key": "qu\niet"}, "params[0]: 'qu\\niet' is not a kernel parameter name"),
    ({"key": "iommu", "value": "pt"}, {"key": "iommu\n", "value": "pt"},
     "params[0]: 'iommu\\n' is not a kernel parameter name"),
    ({"key": "iommu", "value": "pt"}, {"key": "iommu", "value": "pt\n"}, "params[0]: the value of iommu contains"),
    ({"key": "iommu", "value": "pt"}, {"key": "iommu", "value": "pt\nroot=/dev/sdb"},
     "params[0]: the value of iommu contains"),
    ({"key": "iommu", "value": "pt"}, {"key": "iommu", "value": "p\x01t"}, "params[0]: the value of iommu contains"),
    ("quiet", "quiet\n", "params[0]: 'quiet\\n' contains whitespace"),
    ("iommu=pt", "iommu=pt\n", "params[0]: 'iommu=pt\\n' contains whitespace"),
    ("iommu=pt", "iommu=p\x7ft", "control character"),
])
def test_kernel_cmdline_param_with_newline_is_refused(clean, bad, message):
    assert kp.normalize_params([clean])
    with pytest.raises(NfvError) as err:
        kp.normalize_params([bad])
    assert message in err.value.msg


class CmdlineModule:
    def __init__(self, **params):
        self.params = dict({"state": "present", "backend": "grub", "root": "/", "update_bootloader": False}, **params)
        self.check_mode = False
        self._diff = True

    def warn(self, text):
        pass

    def atomic_move(self, src, dest):
        os.replace(src, dest)


class NoCommands:
    def has(self, name):
        return False

    def run(self, name, args, **kwargs):
        raise AssertionError("unexpected command %s" % name)


def test_kernel_cmdline_key_with_newline_writes_no_grub_dropin(tmp_path):
    """The issue's example: a two-line drop-in broke this and every later run."""
    root = tmp_path / "image"
    (root / "etc/default/grub.d").mkdir(parents=True)
    tree = SysfsTree(tmp_path / "host")
    tree.cmdline("root=/dev/vda1 ro")
    module = CmdlineModule(params=[{"key": "quiet\n"}], root=str(root))
    with pytest.raises(NfvError) as err:
        cl.KernelCmdline(module, fs=HostFS(str(tmp_path / "host")), runner=NoCommands()).run()
    assert "params[0].key 'quiet\\n'" in err.value.msg and "control character" in err.value.msg
    assert os.listdir(str(root / "etc/default/grub.d")) == []


# -- hugepage sizes and sysfs names ------------------------------------------------
@pytest.mark.parametrize("bad", ["2M\n", "2\nM", "2M\r\n", "\n2M"])
def test_hugepage_size_with_newline_is_refused(tmp_path, bad):
    one_node_host(tmp_path)
    fs = HostFS(str(tmp_path))
    assert hugepages.resolve_size(fs, "2M") == KB_2M
    assert hugepages.resolve_size(fs, " 2M ") == KB_2M  # surrounding spaces stay accepted
    with pytest.raises(NfvError) as err:
        hugepages.resolve_size(fs, bad)
    assert "hugepage size %r is not a size" % bad in err.value.msg
    with pytest.raises(ValueError):
        hugepages.size_to_kb(bad)


def test_sysfs_names_with_newline_are_not_pools_or_nodes(tmp_path):
    tree = one_node_host(tmp_path)
    tree.mkdir("/sys/kernel/mm/hugepages/hugepages-64kB\n")
    tree.mkdir("/sys/devices/system/node/node7\n")
    fs = HostFS(str(tmp_path))
    assert hugepages.supported_sizes_kb(fs) == [KB_2M, KB_1G]
    assert numa.node_ids(fs) == [0]


# -- qemu_vm -------------------------------------------------------------------------
def spec_of(**params):
    base = {"name": "vm1", "state": "started", "memory": "1G", "kernel": "/boot/vmlinuz", "nics": []}
    base.update(params)
    return guest_spec(base)


def nic(**given):
    return {"nics": [given]}


@pytest.mark.parametrize("clean, bad, message", [
    ({"name": "vm1"}, {"name": "vm1\n"}, "name 'vm1\\n' is not usable as a unit"),
    ({"name": "vm1"}, {"name": "vm\n1"}, "name 'vm\\n1' is not usable as a unit"),
    ({"user": "nfv-qemu"}, {"user": "nfv-qemu\n"}, "user 'nfv-qemu\\n' is not a valid user/group name"),
    ({"user": "machine$"}, {"user": "machine$\n"}, "user 'machine$\\n' is not a valid user/group name"),
    ({"group": "kvm"}, {"group": "kvm\n"}, "group 'kvm\\n' is not a valid user/group name"),
    ({"memory": "1G"}, {"memory": "1G\n"}, "memory '1G\\n' is not a size"),
    ({"memory": " 1G "}, {"memory": "1\nG"}, "memory '1\\nG' is not a size"),
    ({"hugepages": {"size": "2M"}}, {"hugepages": {"size": "2M\n"}}, "hugepages.size '2M\\n' is not a page size"),
    (nic(type="user", mac="52:54:00:12:34:56"), nic(type="user", mac="52:54:00:12:34:56\n"),
     "nics[0].mac '52:54:00:12:34:56\\n' is not a MAC address"),
    (nic(type="tap", ifname="tap0"), nic(type="tap", ifname="tap0\n"), "nics[0].ifname 'tap0\\n' is not an interface"),
    (nic(type="tap", ifname="tap0", bridge="br0"), nic(type="tap", ifname="tap0", bridge="br0\n"),
     "nics[0].bridge 'br0\\n' is not a bridge name"),
    (nic(type="vfio", host="0c:00.3"), nic(type="vfio", host="0c:00.3\n"), "nics[0].host '0c:00.3\\n' is not a PCI"),
    (nic(type="vfio", host="0000:0c:00.3"), nic(type="vfio", host="0000:0c:00.3\n"),
     "nics[0].host '0000:0c:00.3\\n' is not a PCI"),
    (nic(type="user", forwards=[{"host_address": "127.0.0.1", "host_port": 2222, "guest_port": 22}]),
     nic(type="user", forwards=[{"host_address": "127.0.0.1\n", "host_port": 2222, "guest_port": 22}]),
     "nics[0].forwards[0].host_address '127.0.0.1\\n' is not an IPv4 address"),
])
def test_qemu_vm_option_with_newline_is_refused(clean, bad, message):
    assert spec_of(**clean)
    with pytest.raises(NfvError) as err:
        spec_of(**bad)
    assert message in err.value.msg


# -- pci and pci_driver ----------------------------------------------------------------
@pytest.mark.parametrize("clean, normalized", [("03:00.0", "0000:03:00.0"), ("0000:03:00.0", "0000:03:00.0")])
def test_pci_address_with_newline_is_refused(clean, normalized):
    assert pci.normalize_address(clean) == normalized
    assert pci.normalize_address(" %s " % clean) == normalized  # surrounding spaces stay accepted
    assert pci.normalize_address(clean + "\n") is None
    assert requested_devices.parse_device_spec(clean) == ("address", normalized)
    with pytest.raises(NfvError) as err:
        requested_devices.parse_device_spec(clean + "\n")
    assert "malformed PCI address %r" % (clean + "\n") in err.value.msg


@pytest.mark.parametrize("bad", ["ens3f1\n", "ens\n3f1"])
def test_pci_driver_interface_with_newline_is_refused(bad):
    assert requested_devices.parse_device_spec("ens3f1") == ("interface", "ens3f1")
    with pytest.raises(NfvError) as err:
        requested_devices.parse_device_spec(bad)
    assert "%r is neither a PCI address" % bad in err.value.msg


@pytest.mark.parametrize("bad", ["vfio-pci\n", "vfio\n-pci"])
def test_pci_driver_driver_name_with_newline_is_refused(bad):
    requested_devices.validate_driver("vfio-pci")
    with pytest.raises(NfvError) as err:
        requested_devices.validate_driver(bad)
    assert "malformed driver name %r" % bad in err.value.msg


# -- ovs_config ------------------------------------------------------------------------
def ovs_options(**given):
    base = dict((k, None) for k in ovs_config.ARGUMENT_SPEC)
    base.update(given)
    return base


@pytest.mark.parametrize("option, key, clean, expected", [
    ("pmd_cpu_mask", "pmd-cpu-mask", "0x6", "0x6"),
    ("lcore_mask", "dpdk-lcore-mask", "1", "0x1"),
])
def test_ovs_config_mask_with_newline_is_refused(option, key, clean, expected):
    assert other_config_validation.wanted_keys(ovs_options(**{option: clean})) == {key: expected}
    for bad in (clean + "\n", "\n" + clean):
        with pytest.raises(NfvError) as err:
            other_config_validation.wanted_keys(ovs_options(**{option: bad}))
        assert "%s must be a non-zero hexadecimal CPU mask such as 0x6, got %r" % (option, bad) in err.value.msg


# -- systemd unit names ------------------------------------------------------------------
class NoSystemdAnalyze:
    def has(self, name):
        return False


@pytest.mark.parametrize("bad", ["nfv-qemu-vm1.service\n", "nfv-qemu-vm1.service\nx", "../nfv-qemu-vm1.service"])
def test_unit_name_with_newline_is_refused(bad):
    assert verify_unit(NoSystemdAnalyze(), "nfv-qemu-vm1.service", "[Service]\n")["ran"] is False
    with pytest.raises(NfvError) as err:
        verify_unit(NoSystemdAnalyze(), bad, "[Service]\n")
    assert "unit name %r is not a systemd unit name" % bad in err.value.msg
