"""qemu_vm: validation, the QEMU command line for each NIC type and memory setup, the unit text."""

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core import programs
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import python_problem, system_python
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import exec_line, unescape_exec
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import kvm_probe
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.argv import qemu_argv
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.nic_spec import generate_mac
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_spec
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.start_check import failure_cause, is_running
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_commands import (
    CONSOLE_LOG_BYTES,
    console_argv,
    helper_argv,
    prestart_commands,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_reader import (
    macs_in_unit,
    unit_exec_start,
    unit_helper_path,
    unit_taps,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_text import unit_text

TOOLS = {"ip": "/usr/sbin/ip", "ovs-vsctl": "/usr/bin/ovs-vsctl"}
QEMU = "/usr/bin/qemu-system-x86_64"


def spec_of(**params):
    base = {"name": "vm1", "state": "started", "memory": "1G", "kernel": "/boot/vmlinuz", "nics": []}
    base.update(params)
    return guest_spec(base)


def options(argv, flag):
    """Every value following `flag` in argv."""
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def parse_opts(text):
    """'type,a=b,c' -> ('type', {'a': 'b', 'c': 'on'}); QEMU's implicit booleans made explicit."""
    parts = re.split(r"(?<!,),(?!,)", text)
    head, rest = parts[0], parts[1:]
    if "=" in head:
        rest, head = parts, None
    out = {}
    for part in rest:
        key, _sep, value = part.partition("=")
        out[key] = value if _sep else "on"
    return head, out


# ---- the seed's lines ---------------------------------------------------------------------------

def test_seed_hugepage_memory_line():
    # -object memory-backend-file,id=mem,size=4G,mem-path=/dev/hugepages,share=on -numa node,memdev=mem -mem-prealloc
    argv = qemu_argv(spec_of(memory="4G", hugepages={"size": "1G", "path": "/dev/hugepages"}), QEMU, "kvm")
    kind, backend = parse_opts(options(argv, "-object")[0])
    assert kind == "memory-backend-file"
    assert backend["size"] == "4G" and backend["share"] == "on"
    assert backend["prealloc"] == "on"  # the seed's -mem-prealloc, on the backend
    assert backend["mem-path"] == "/dev/hugepages/nfv-qemu-vm1"  # a group-writable directory on that mount
    assert options(argv, "-numa") == ["node,memdev=%s" % backend["id"]]
    assert options(argv, "-m") == ["4G"]


def test_seed_vhost_user_lines():
    # -chardev socket,id=char1,path=...,server -netdev type=vhost-user,id=mynet1,chardev=char1,vhostforce
    # -device virtio-net-pci,mac=...,netdev=mynet1
    spec = spec_of(nics=[{"type": "vhost-user", "socket": "/run/vhost/vm1/vm1.sock", "mac": "52:54:00:00:00:01"}])
    argv = qemu_argv(spec, QEMU, "tcg")
    kind, chardev = parse_opts(options(argv, "-chardev")[1])  # [0] is the serial console's stdio
    assert kind == "socket"
    assert chardev == {"id": "char0", "path": "/run/vhost/vm1/vm1.sock", "server": "on", "wait": "off"}
    _kind, netdev = parse_opts(options(argv, "-netdev")[0])
    assert netdev == {"type": "vhost-user", "id": "net0", "chardev": "char0", "vhostforce": "on"}
    kind, device = parse_opts(options(argv, "-device")[0])
    assert kind == "virtio-net-pci" and device == {"netdev": "net0", "mac": "52:54:00:00:00:01"}


def test_seed_tap_and_vfio_lines():
    # -netdev type=tap,ifname=...,script=...  and  -device vfio-pci,host=0c:00.3
    spec = spec_of(nics=[{"type": "tap", "ifname": "tap0"}, {"type": "vfio", "host": "0c:00.3"}])
    argv = qemu_argv(spec, QEMU, "tcg")
    kind, netdev = parse_opts(options(argv, "-netdev")[0])
    assert kind == "tap" and netdev == {"id": "net0", "ifname": "tap0", "script": "no", "downscript": "no"}
    devices = options(argv, "-device")
    assert devices == ["virtio-net-pci,netdev=net0,mac=%s" % generate_mac("vm1", 0), "vfio-pci,host=0000:0c:00.3"]


# ---- memory setups ------------------------------------------------------------------------------

def test_memory_without_backend_is_plain():
    argv = qemu_argv(spec_of(memory="512M", nics=[{"type": "user"}]), QEMU, "tcg")
    assert "-object" not in argv and "-numa" not in argv
    assert options(argv, "-m") == ["512M"]


def test_vhost_user_without_hugepages_uses_shared_memfd():
    spec = spec_of(memory="1G", nics=[{"type": "vhost-user", "socket": "/run/vhost/vm1/a.sock"}])
    _kind, backend = parse_opts(options(qemu_argv(spec, QEMU, "tcg"), "-object")[0])
    assert options(qemu_argv(spec, QEMU, "tcg"), "-object")[0].startswith("memory-backend-memfd,")
    assert backend["share"] == "on" and backend["size"] == "1G"


def test_numa_node_binds_the_backend():
    argv = qemu_argv(spec_of(memory="2G", numa_node=1, hugepages={"size": "2M"}), QEMU, "kvm")
    _kind, backend = parse_opts(options(argv, "-object")[0])
    assert backend["host-nodes"] == "1" and backend["policy"] == "bind"
    assert backend["mem-path"] == "/dev/hugepages/nfv-qemu-vm1"
    argv = qemu_argv(spec_of(memory="2G", numa_node=0), QEMU, "kvm")
    assert options(argv, "-object")[0].startswith("memory-backend-ram,")


def test_default_hugepage_paths():
    assert spec_of(memory="2G", hugepages={"size": "1G"})["hugepages"]["path"] == "/dev/hugepages1G"
    assert spec_of(memory="2G", hugepages={"size": "2M"})["hugepages"]["path"] == "/dev/hugepages"


# ---- NICs ---------------------------------------------------------------------------------------

def test_vhost_user_multiqueue_vectors():
    spec = spec_of(nics=[{"type": "vhost-user", "socket": "/run/vhost/vm1/a.sock", "queues": 4}])
    argv = qemu_argv(spec, QEMU, "tcg")
    _kind, netdev = parse_opts(options(argv, "-netdev")[0])
    _kind, device = parse_opts(options(argv, "-device")[0])
    assert netdev["queues"] == "4"
    assert device["mq"] == "on" and device["vectors"] == "10"


def test_virtio_net_rings_packed_mtu_and_mergeable_buffers():
    spec = spec_of(nics=[{"type": "vhost-user", "socket": "/run/vhost/vm1/a.sock", "queues": 2, "rx_queue_size": 1024,
                          "tx_queue_size": 1024, "packed": True, "mtu": 9000, "mrg_rxbuf": False},
                         {"type": "tap", "ifname": "tap0", "rx_queue_size": 512, "tx_queue_size": 256}])
    devices = [parse_opts(d)[1] for d in options(qemu_argv(spec, QEMU, "tcg"), "-device")]
    assert devices[0] == {"netdev": "net0", "mac": spec["nics"][0]["mac"], "mq": "on", "vectors": "6",
                          "rx_queue_size": "1024", "tx_queue_size": "1024", "packed": "on", "mrg_rxbuf": "off",
                          "host_mtu": "9000"}
    assert devices[1] == {"netdev": "net1", "mac": spec["nics"][1]["mac"], "rx_queue_size": "512",
                          "tx_queue_size": "256"}


def test_iommu_gives_q35_an_intel_iommu_and_each_virtio_nic_a_root_port_with_ats():
    # libvirt's <iommu model='intel'><driver intremap='on' caching_mode='on' iotlb='on'/></iommu>
    spec = spec_of(iommu=True, nics=[{"type": "vhost-user", "socket": "/run/vhost/vm1/a.sock", "queues": 2},
                                     {"type": "tap", "ifname": "tap0"}, {"type": "vfio", "host": "0c:00.3"}])
    argv = qemu_argv(spec, QEMU, "kvm")
    assert options(argv, "-machine") == ["q35,kernel-irqchip=split"]
    devices = options(argv, "-device")
    assert devices == [
        "intel-iommu,intremap=on,caching-mode=on,device-iotlb=on",
        "pcie-root-port,id=nicport0,chassis=1",
        "virtio-net-pci,netdev=net0,mac=%s,mq=on,vectors=6,bus=nicport0,iommu_platform=on,ats=on"
        % spec["nics"][0]["mac"],
        "pcie-root-port,id=nicport1,chassis=2",
        "virtio-net-pci,netdev=net1,mac=%s,bus=nicport1,iommu_platform=on,ats=on" % spec["nics"][1]["mac"],
        "vfio-pci,host=0000:0c:00.3"]  # a passed-through device is behind the vIOMMU as it is
    # the vIOMMU exists before any device that DMAs: the first NIC's socket comes after it
    assert argv.index(devices[0]) < argv.index("-chardev")
    assert "-device" not in argv[:argv.index(devices[0]) - 1]
    assert spec_of(iommu=True, machine="pc-q35-9.2")["iommu"] is True


def test_no_iommu_leaves_machine_and_nics_as_before():
    argv = qemu_argv(spec_of(nics=[{"type": "tap", "ifname": "tap0"}]), QEMU, "kvm")
    assert options(argv, "-machine") == ["q35"]
    assert [d.split(",")[0] for d in options(argv, "-device")] == ["virtio-net-pci"]


def test_virtio_net_options_not_given_leave_the_device_line_as_before():
    spec = spec_of(nics=[{"type": "user"}, {"type": "vhost-user", "socket": "/run/vhost/vm1/a.sock"}])
    assert options(qemu_argv(spec, QEMU, "tcg"), "-device") == [
        "virtio-net-pci,netdev=net0,mac=%s" % generate_mac("vm1", 0),
        "virtio-net-pci,netdev=net1,mac=%s" % generate_mac("vm1", 1)]


def test_user_networking_forwards():
    spec = spec_of(nics=[{"type": "user", "forwards": [
        {"host_port": 2222, "guest_port": 22},
        {"protocol": "udp", "host_address": "0.0.0.0", "host_port": 5353, "guest_port": 53}]}])
    netdev = options(qemu_argv(spec, QEMU, "tcg"), "-netdev")[0]
    assert netdev == "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:0.0.0.0:5353-:53"
    open_spec = spec_of(nics=[{"type": "user", "host_access": True,
                               "forwards": [{"host_port": 2222, "guest_port": 22}]}])
    assert options(qemu_argv(open_spec, QEMU, "tcg"), "-netdev") == ["user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22"]


def test_commas_in_paths_are_doubled():
    spec = spec_of(nics=[{"type": "vhost-user", "socket": "/run/vh,ost/vm1/a.sock"}],
                   disks=[{"path": "/var/lib/a,b.img"}], kernel=None)
    argv = qemu_argv(spec, QEMU, "tcg")
    assert "path=/run/vh,,ost/vm1/a.sock" in options(argv, "-chardev")[1]
    assert options(argv, "-drive") == ["file=/var/lib/a,,b.img,format=raw,if=virtio,id=disk0"]


def test_accel_and_cpu():
    assert options(qemu_argv(spec_of(), QEMU, "kvm"), "-cpu") == ["host"]
    argv = qemu_argv(spec_of(), QEMU, "tcg")
    assert options(argv, "-accel") == ["tcg"] and options(argv, "-cpu") == ["max"]


def test_the_serial_console_is_stdout_which_the_units_helper_writes_bounded():
    spec = spec_of()
    argv = qemu_argv(spec, QEMU, "tcg")
    assert options(argv, "-serial") == ["chardev:serial0"]
    assert options(argv, "-chardev") == ["stdio,id=serial0,signal=off"]  # stdin is /dev/null under systemd
    assert console_argv(spec, "/usr/bin/python3", argv) == [
        "/usr/bin/python3", "/usr/local/libexec/nfv-dpdk/nfv-qemu-powerdown", "console",
        "/var/log/nfv-qemu/vm1/serial.log", str(4 * 1024 * 1024), "--"] + argv
    assert CONSOLE_LOG_BYTES == 4 * 1024 * 1024 and console_argv(spec, "/py", argv, log="/x/c.log")[3] == "/x/c.log"


def test_direct_boot_and_serial_override():
    spec = spec_of(initrd="/boot/initrd", append="console=ttyS0 root=/dev/vda")
    argv = qemu_argv(spec, QEMU, "tcg", serial="/tmp/x.log")
    assert options(argv, "-kernel") == ["/boot/vmlinuz"] and options(argv, "-initrd") == ["/boot/initrd"]
    assert options(argv, "-append") == ["console=ttyS0 root=/dev/vda"]
    assert options(argv, "-serial") == ["file:/tmp/x.log"]
    assert options(argv, "-qmp") == ["unix:/run/nfv-qemu/vm1/qmp.sock,server=on,wait=off"]


# ---- MACs ---------------------------------------------------------------------------------------

def test_generated_macs_are_stable_unique_and_locally_administered():
    spec = spec_of(nics=[{"type": "user"}, {"type": "vhost-user", "socket": "/run/vhost/vm1/a.sock"}])
    macs = [n["mac"] for n in spec["nics"]]
    assert macs == [generate_mac("vm1", 0), generate_mac("vm1", 1)]
    nics = [{"type": "user"}, {"type": "vhost-user", "socket": "/run/vhost/vm1/a.sock"}]
    assert macs == [n["mac"] for n in spec_of(nics=nics)["nics"]]
    assert len(set(macs)) == 2 and all(m.startswith("52:54:00:") for m in macs)
    assert generate_mac("vm2", 0) != generate_mac("vm1", 0)


# ---- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("params, message", [
    ({"name": "bad name"}, "not usable as a unit"),
    ({"name": "../x"}, "not usable as a unit"),
    ({"memory": "lots"}, "is not a size"),
    ({"memory": "1536M", "hugepages": {"size": "1G"}}, "not a multiple of the 1G page size"),
    ({"memory": "3M", "hugepages": {"size": "2M"}}, "too small"),
    ({"hugepages": {"size": "3X"}}, "not a page size"),
    ({"nics": [{"type": "macvtap"}]}, "nics[0].type 'macvtap' is unknown"),
    ({"nics": [{"type": "user", "mac": "52:54:00:zz:00:01"}]}, "not a MAC address"),
    ({"nics": [{"type": "user", "mac": "03:00:00:00:00:01"}]}, "multicast"),
    ({"nics": [{"type": "user", "mac": "52:54:00:00:00:01"}, {"type": "tap", "ifname": "t0",
                                                              "mac": "52-54-00-00-00-01"}]},
     "nics[1].mac 52:54:00:00:00:01 duplicates nics[0].mac"),
    ({"nics": [{"type": "vhost-user", "socket": "/run/vhost/vm1/" + "s" * 100 + ".sock"}]}, "107-byte limit"),
    ({"nics": [{"type": "vhost-user", "socket": "relative.sock"}]}, "absolute path"),
    ({"nics": [{"type": "vhost-user", "socket": "/tmp/x/a.sock"}]}, "PrivateTmp"),
    ({"nics": [{"type": "vhost-user", "socket": "/run/a.sock"}]}, "directory of its own"),
    ({"nics": [{"type": "vhost-user", "socket": "/run/v/a.sock"},
               {"type": "vhost-user", "socket": "/run/v/a.sock"}]}, "also used by nics[0]"),
    ({"nics": [{"type": "vhost-user", "socket": "/run/v/a.sock", "queues": 0}]}, "queues must be between"),
    ({"nics": [{"type": "tap", "ifname": "a-much-too-long-name"}]}, "not an interface name"),
    ({"nics": [{"type": "tap", "ifname": "t0", "rx_queue_size": 1000}]},
     "nics[0].rx_queue_size must be a power of two from 256 to 1024, got 1000"),
    ({"nics": [{"type": "user", "rx_queue_size": 2048}]}, "rx_queue_size must be a power of two from 256 to 1024"),
    ({"nics": [{"type": "vhost-user", "socket": "/run/vhost/vm1/a.sock", "tx_queue_size": 128}]},
     "nics[0].tx_queue_size must be a power of two from 256 to 1024, got 128"),
    ({"nics": [{"type": "tap", "ifname": "t0", "tx_queue_size": 1024}]},
     "nics[0].tx_queue_size must be 256 on a tap NIC (QEMU takes a larger tx ring only from a vhost-user backend), "
     "got 1024"),
    ({"nics": [{"type": "user", "mtu": 65536}]}, "nics[0].mtu must be from 68 to 65535, got 65536"),
    ({"nics": [{"type": "user", "mtu": True}]}, "nics[0].mtu must be from 68 to 65535"),
    ({"nics": [{"type": "vfio", "host": "0c:00.3", "mtu": 9000, "packed": True}]},
     "nics[0].packed is an option of virtio-net NICs (vhost-user, tap, user), not of vfio passthrough"),
    ({"nics": [{"type": "vfio", "host": "zz:00.0"}]}, "not a PCI address"),
    ({"nics": [{"type": "vfio", "host": "0c:00.3", "mac": "52:54:00:00:00:09"}]}, "cannot be set for vfio"),
    ({"nics": [{"type": "user", "forwards": [{"host_port": 0, "guest_port": 22}]}]}, "between 1 and 65535"),
    ({"iommu": True, "machine": "pc"}, "iommu needs the q35 machine (QEMU's intel-iommu is a q35 device"),
    ({"iommu": True, "machine": "microvm"}, "got machine 'microvm'"),
    ({"kernel": None, "append": "x"}, "need kernel"),
    ({"kernel": None}, "kernel (direct boot) or disks"),
    ({"run_dir": "/var/lib/x"}, "under /run"),
    ({"run_dir": "/run/systemd/nfv"}, "run_dir /run/systemd/nfv is inside /run/systemd, the runtime directory of"),
    ({"run_dir": "/run/openvswitch"}, "run_dir /run/openvswitch is inside /run/openvswitch"),
    ({"run_dir": "/run/" + "r" * 100}, "QMP socket path"),
    ({"cpu_affinity": "a-b"}, "not a CPU list"),
    ({"group": "root"}, "group root is refused"),  # the shared service group, supplementary to the guest's own
    ({"user": "root"}, "user root is refused"),
    ({"group": "Bad Group"}, "group 'Bad Group' is not a valid user/group name"),
])
def test_validation_errors(params, message):
    with pytest.raises(NfvError) as info:
        spec_of(**params)
    assert message in info.value.msg


def test_validation_lists_every_problem():
    with pytest.raises(NfvError) as info:
        spec_of(name="x y", memory="nope", nics=[{"type": "foo"}])
    assert len(info.value.details["problems"]) == 3


def test_absent_needs_no_boot_source():
    assert guest_spec({"name": "vm1", "state": "absent"})["unit"] == "nfv-qemu-vm1.service"


# ---- the unit -----------------------------------------------------------------------------------

def render(spec, accel="tcg", vfio_groups=None, sriov_unit=None):
    argv = qemu_argv(spec, QEMU, accel)
    python = "/usr/bin/python3"
    return argv, unit_text(spec, argv, prestart_commands(spec, TOOLS, python), helper_argv(spec, python),
                           accel, vfio_groups, sriov_unit=sriov_unit)


def lines(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def test_unit_exec_start_is_the_exact_argv():
    spec = spec_of(append='console=ttyS0 x="a b" $HOME 100%', nics=[{"type": "user"}])
    argv, text = render(spec)
    assert unit_exec_start(text) == argv
    assert "$$HOME 100%%" in text
    # ExecStart= runs QEMU through the helper's console writer, which execs it: QEMU keeps the unit's MainPID
    joined = text.replace("\\\n", " ")
    assert unescape_exec(lines(joined, "ExecStart")[0]) == console_argv(spec, "/usr/bin/python3", argv)


def test_unit_hardening_and_service_user():
    spec = spec_of(user="qemu1", group="qemu1")
    _first, text = render(spec)
    for setting in ("User=qemu1", "Group=qemu1", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                    "DevicePolicy=closed", "CapabilityBoundingSet=", "AmbientCapabilities=", "Restart=on-failure",
                    "RuntimeDirectory=nfv-qemu/vm1", "WantedBy=multi-user.target"):
        assert setting + "\n" in text, setting
    assert lines(text, "DeviceAllow") == []  # TCG, no tap, no vfio: no device at all
    assert lines(text, "ExecStop") == ["/usr/bin/python3 /usr/local/libexec/nfv-dpdk/nfv-qemu-powerdown "
                                       "/run/nfv-qemu/vm1/qmp.sock 60"]
    assert lines(text, "TimeoutStopSec") == ["75s"]


def test_unit_device_allow_follows_the_guest():
    spec = spec_of(nics=[{"type": "tap", "ifname": "tap1", "bridge": "br-mgmt"}, {"type": "vfio", "host": "0c:00.3"}])
    _first, text = render(spec, accel="kvm", vfio_groups=["12"])
    assert lines(text, "DeviceAllow") == ["/dev/kvm rw", "/dev/net/tun rw", "/dev/vfio/vfio rw", "/dev/vfio/12 rw"]
    assert lines(text, "LimitMEMLOCK") == ["%dM" % (spec["memory_mb"] + 1024)]  # guest RAM + 1 GiB, as libvirt
    pre = lines(text, "ExecStartPre")
    assert pre == ["-+/usr/sbin/ip tuntap add dev tap1 mode tap user nfv-qemu-vm1 group nfv-qemu-vm1",
                   "+/usr/sbin/ip link set dev tap1 up",
                   "+/usr/bin/ovs-vsctl --timeout=30 --may-exist add-port br-mgmt tap1", KEEP_CONSOLE]


# as the service user (no '+'), failure ignored: the previous run's console, its last MiB, as serial.log.1
KEEP_CONSOLE = ("-/usr/bin/python3 /usr/local/libexec/nfv-dpdk/nfv-qemu-powerdown keep-console "
                "/var/log/nfv-qemu/vm1/serial.log 1048576")


def test_unit_prepares_hugepage_and_socket_directories():
    spec = spec_of(memory="2G", hugepages={"size": "1G"}, cpu_affinity=[3, 2], numa_node=0,
                   nics=[{"type": "vhost-user", "socket": "/run/vhost/vm1/vm1.sock"}])
    _first, text = render(spec)
    pre = lines(text, "ExecStartPre")
    assert len(pre) == 2 and pre[0].startswith("+") and pre[1] == KEEP_CONSOLE
    # the helper's mkdir as root: the group, then the directories (the program's own tests run it)
    assert unescape_exec(pre[0][1:]) == ["/usr/bin/python3", "/usr/local/libexec/nfv-dpdk/nfv-qemu-powerdown", "mkdir",
                                         "nfv-qemu-vm1", "/dev/hugepages1G/nfv-qemu-vm1", "/run/vhost/vm1"]
    assert lines(text, "ReadWritePaths") == ["-/run/vhost/vm1", "-/dev/hugepages1G/nfv-qemu-vm1"]
    assert lines(text, "ReadOnlyPaths") == ["-/dev/hugepages1G"]  # no guest makes entries beside its own
    assert lines(text, "CPUAffinity") == ["2-3"]
    assert lines(text, "NUMAMask") == ["0"]
    assert "ovs-vswitchd.service" in lines(text, "After")[0]


def test_macs_in_unit():
    spec = spec_of(nics=[{"type": "user", "mac": "52:54:00:00:00:0a"}, {"type": "tap", "ifname": "t1"}])
    _first, text = render(spec)
    assert macs_in_unit(text) == ["52:54:00:00:00:0a", generate_mac("vm1", 1)]


# ---- acceleration -------------------------------------------------------------------------------

def test_choose_accel():
    choose_accel = kvm_probe.choose_accel
    assert choose_accel("auto", {"usable": True}) == "kvm"
    assert choose_accel("auto", {"usable": False}) == "tcg"
    assert choose_accel("kvm", {"usable": False}) == "kvm" and choose_accel("tcg", {"usable": True}) == "tcg"


def test_kvm_unit_opens_a_group_owned_device_through_supplementary_groups():
    spec = spec_of()
    argv = qemu_argv(spec, QEMU, "kvm")
    text = unit_text(spec, argv, [], helper_argv(spec, "/usr/bin/python3"), "kvm", kvm_group="kvm")
    assert lines(text, "SupplementaryGroups") == ["nfv-qemu kvm"] and "/dev/kvm rw" in lines(text, "DeviceAllow")
    tcg = unit_text(spec, qemu_argv(spec, QEMU, "tcg"), [], helper_argv(spec, "/usr/bin/python3"), "tcg",
                    kvm_group="kvm")
    assert lines(tcg, "SupplementaryGroups") == ["nfv-qemu"] and "/dev/kvm rw" not in lines(tcg, "DeviceAllow")
    shared = spec_of(user="nobody", group="nogroup")  # a user of the description's choice: Group= is the group
    text = unit_text(shared, argv, [], helper_argv(shared, "/usr/bin/python3"), "kvm", kvm_group="kvm")
    assert (lines(text, "User"), lines(text, "Group"), lines(text, "SupplementaryGroups")) == (
        ["nobody"], ["nogroup"], ["kvm"])


@pytest.mark.parametrize("active, sub, running", [
    ("active", "running", True), ("activating", "start-pre", True), ("activating", "auto-restart", False),
    ("failed", "failed", False), ("inactive", "dead", False)])
def test_is_running(active, sub, running):
    assert is_running(active, sub) is running


# ---- the module's plan (read -> plan -> apply) with systemctl answers given as data -------------

from ansible_collections.nfv.dpdk.plugins.module_utils.core import systemd_unit  # noqa: E402
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS  # noqa: E402
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.vm import QemuVm  # noqa: E402
from ansible_collections.nfv.dpdk.plugins.modules.qemu_vm import ARGUMENT_SPEC  # noqa: E402


def defaults(spec):
    out = {}
    for key, value in spec.items():
        out[key] = value.get("default")
    return out


class FakeModule:
    def __init__(self, params, check_mode=False):
        self.params = defaults(ARGUMENT_SPEC)
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = True
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)

    def atomic_move(self, src, dest):
        os.replace(src, dest)


class SystemctlRunner:
    """systemctl/journalctl answers as data; records every command."""

    def __init__(self, active="inactive", sub="dead", enabled="disabled", main_pid=0, after_start="active",
                 after_start_sub="running", after_start_restarts=0, later=None, tools=("systemctl", "journalctl")):
        self.show = {"ActiveState": active, "SubState": sub, "UnitFileState": enabled, "MainPID": str(main_pid),
                     "NRestarts": "0", "Result": "success"}
        self.after_start = {"ActiveState": after_start, "SubState": after_start_sub, "MainPID": "4242",
                            "NRestarts": str(after_start_restarts),
                            "Result": "success" if after_start == "active" else "exit-code"}
        self.later = later  # what `show` answers from the second read after a start on (a crash later)
        self.shows_since_start = None
        self.tools = set(tools)
        self.calls = []

    def find(self, name):
        return "/usr/bin/" + name

    def has(self, name):
        return name in self.tools

    def run(self, name, args, check=True, data=None, env=None):
        self.calls.append([name] + list(args))
        if name == "systemctl" and args[0] == "show":
            if self.shows_since_start is not None:
                self.shows_since_start += 1
                if self.later and self.shows_since_start == 2:
                    self.show.update(self.later)
            text = "".join("%s=%s\n" % kv for kv in sorted(self.show.items()))
            return 0, text.encode(), b""
        if name == "systemctl" and args[0] in ("start", "restart"):
            self.show.update(self.after_start)
            self.shows_since_start = 0
        if name == "systemctl" and args[0] == "enable":
            self.show["UnitFileState"] = "enabled"
        if name == "systemctl" and args[0] == "stop":
            self.show.update({"ActiveState": "inactive", "SubState": "dead", "MainPID": "0"})
        if name == "journalctl":
            return 0, (b"t host systemd[1]: Starting\nt host qemu-system-x86_64[9]: cannot open /x\n"
                       b"t host systemd[1]: nfv-qemu-vm1.service: Scheduled restart job, restart counter is at 1.\n"
                       b"t host qemu-system-x86_64[10]: cannot open /x\n"), b""
        return 0, b"", b""

    def systemctl(self):
        return [c[1] for c in self.calls if c[0] == "systemctl" and c[1] != "show"]


@pytest.fixture
def host(tmp_path):
    (tmp_path / "units").mkdir()
    (tmp_path / "booted").mkdir()
    (tmp_path / "kernel").write_text("k")
    tun_device(tmp_path, 0o666)
    return tmp_path


def tun_device(host, mode):
    """/dev/net/tun of the fake host (a file: only its owner and mode are read), or none for mode None."""
    tun = host / "dev" / "net" / "tun"
    tun.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        tun.unlink()
    else:
        tun.touch()
        tun.chmod(mode)


def make(host, runner, check_mode=False, running_argv=None, monkeypatch=None, **params):
    base = {"name": "vm1", "state": "started", "memory": "256M", "kernel": str(host / "kernel"),
            "nics": [{"type": "user"}], "accel": "tcg", "user": "nobody", "group": "nogroup",
            "unit_dir": str(host / "units"), "helper_dir": str(host / "libexec"), "start_check_seconds": 0}
    base.update(params)
    handler = QemuVm(FakeModule(base, check_mode), fs=HostFS(str(host)), runner=runner)
    handler.systemd_marker = str(host / "booted")
    if monkeypatch is not None:
        monkeypatch.setattr(systemd_unit.Systemd, "process_argv", lambda self, pid: running_argv if pid else None)
    return handler


def actions(result):
    return [c["action"] for c in result["changes"]]


def test_plan_fresh_guest_check_mode_writes_nothing(host):
    runner = SystemctlRunner()
    result = make(host, runner, check_mode=True).run()
    assert actions(result) == ["write_helper", "write_unit", "enable", "start"]
    assert os.listdir(str(host / "units")) == [] and not (host / "libexec").exists()
    assert runner.systemctl() == []
    unit = next(d for d in result["diff"] if d.get("after_header", "").endswith("nfv-qemu-vm1.service"))
    assert unit["before"] == "" and unit["after"] == result["unit_text"]


def test_apply_fresh_guest_installs_reloads_enables_starts(host):
    runner = SystemctlRunner()
    result = make(host, runner).run()
    assert result["changed"] and result["active_state"] == "active"
    assert runner.systemctl() == ["daemon-reload", "enable", "reset-failed", "start"]
    assert (host / "units" / "nfv-qemu-vm1.service").read_text() == result["unit_text"]


def test_running_guest_with_changed_unit_reports_restart_required(host, monkeypatch):
    first = make(host, SystemctlRunner()).run()
    runner = SystemctlRunner(active="active", sub="running", enabled="enabled", main_pid=77)
    result = make(host, runner, running_argv=first["argv"], monkeypatch=monkeypatch, memory="512M").run()
    assert actions(result) == ["write_unit"] and result["restart_required"] is True
    assert runner.systemctl() == ["daemon-reload"]
    # the unit is now written; the process still runs the old argv: a later run still says so
    runner = SystemctlRunner(active="active", sub="running", enabled="enabled", main_pid=77)
    again = make(host, runner, running_argv=first["argv"], monkeypatch=monkeypatch, memory="512M").run()
    assert again["changed"] is False and again["restart_required"] is True
    # and restart_on_change restarts it
    runner = SystemctlRunner(active="active", sub="running", enabled="enabled", main_pid=77)
    restarted = make(host, runner, running_argv=first["argv"], monkeypatch=monkeypatch, memory="512M",
                     restart_on_change=True).run()
    assert actions(restarted) == ["restart"] and restarted["restart_required"] is False
    assert runner.systemctl() == ["reset-failed", "restart"]


def test_unchanged_running_guest_is_left_alone(host, monkeypatch):
    first = make(host, SystemctlRunner()).run()
    runner = SystemctlRunner(active="active", sub="running", enabled="enabled", main_pid=77)
    result = make(host, runner, running_argv=first["argv"], monkeypatch=monkeypatch).run()
    assert result["changed"] is False and result["restart_required"] is False
    assert runner.systemctl() == []


def test_crash_looping_guest_is_started_and_failure_quotes_its_journal(host):
    make(host, SystemctlRunner()).run()
    runner = SystemctlRunner(active="activating", sub="auto-restart", enabled="enabled", after_start="failed")
    with pytest.raises(NfvError) as info:
        make(host, runner).run()
    assert "failed to start" in info.value.msg and "cannot open /x" in info.value.msg
    assert info.value.details["journal"][-1].endswith("cannot open /x")


# ---- issue 15: bounded restarts; a guest that does not stay up ends stopped, with the cause -------

def test_unit_bounds_automatic_restarts():
    _argv, text = render(spec_of())
    unit_section = text.split("[Service]", maxsplit=1)[0]
    assert "\nStartLimitIntervalSec=300s\n" in unit_section and "\nStartLimitBurst=3\n" in unit_section
    assert lines(text, "Restart") == ["on-failure"] and lines(text, "RestartSec") == ["10s"]


def test_guest_crashing_at_start_is_stopped_and_the_cause_reported(host):
    (host / "units").mkdir(exist_ok=True)
    # QEMU exits at once: systemd waits RestartSec before the next attempt (activating/auto-restart)
    runner = SystemctlRunner(after_start="activating", after_start_sub="auto-restart", after_start_restarts=1)
    with pytest.raises(NfvError) as info:
        make(host, runner).run()
    msg = info.value.msg
    assert runner.systemctl() == ["daemon-reload", "enable", "reset-failed", "start", "stop"]
    assert "guest vm1 failed to start (unit nfv-qemu-vm1.service was activating/auto-restart, result exit-code, " \
           "1 automatic restarts): cannot open /x." in msg
    assert "The unit was stopped (now inactive/dead, no restart pending) and stays enabled" in msg
    assert info.value.details["unit_state"]["active"] == "inactive"
    assert info.value.details["serial_tail"] == []  # no serial log on this host for vm1
    # the unit stays installed: the definition is what was asked for
    assert os.listdir(str(host / "units")) == ["nfv-qemu-vm1.service"]


def test_guest_restarted_behind_our_back_during_the_check_fails(host):
    # active at the first look, then a new process after an automatic restart
    runner = SystemctlRunner(later={"MainPID": "4343", "NRestarts": "1"})
    with pytest.raises(NfvError) as info:
        make(host, runner, start_check_seconds=2).run()
    assert "1 automatic restarts" in info.value.msg and runner.systemctl()[-1] == "stop"


def test_guest_that_stays_up_is_not_stopped(host):
    runner = SystemctlRunner()
    result = make(host, runner, start_check_seconds=1).run()
    assert result["active_state"] == "active" and "stop" not in runner.systemctl()


def test_failure_cause_is_the_guests_own_lines_without_repeats():
    journal = ["2026-11-29T06:00:00+0000 h systemd[1]: Starting nfv-qemu-vm1.service",
               "2026-11-29T06:00:01+0000 h qemu-system-x86_64[9]: qemu: invalid kernel header",
               "2026-11-29T06:00:01+0000 h systemd[1]: nfv-qemu-vm1.service: Main process exited",
               "2026-11-29T06:00:11+0000 h qemu-system-x86_64[12]: qemu: invalid kernel header"]
    assert failure_cause(journal) == "qemu: invalid kernel header"
    assert failure_cause(["h python3[3]: nfv-qemu-mkdir: cannot create the directory /run/x: Permission denied",
                          "h qemu[4]: a", "h qemu[4]: b", "h qemu[4]: c"]) == "a | b | c"
    assert failure_cause([], b"Job for x failed.\n") == "Job for x failed."
    assert "journalctl -u u1" in failure_cause([], None, "u1")


# ---- issue 15: the stop helper runs under a system python3, not the module's interpreter ----------

def test_unit_stop_helper_uses_the_system_python_not_the_modules(host):
    result = make(host, SystemctlRunner(), check_mode=True).run()
    python = system_python(SystemctlRunner(), "a test")
    assert python == "/usr/bin/python3" and python != sys.executable  # the tests run in a venv
    assert lines(result["unit_text"], "ExecStop")[0].startswith("/usr/bin/python3 ")
    helper = next(d for d in result["diff"] if d.get("after_header", "").endswith("nfv-qemu-powerdown"))
    assert helper["after"].startswith("#!/usr/bin/python3\n")


def test_python_in_a_venv_or_private_tmp_is_refused(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    os.symlink("/usr/bin/python3", str(venv / "bin" / "python3"))
    assert python_problem(str(venv / "bin" / "python3")).startswith("is the interpreter of a virtualenv")
    (tmp_path / "plain").mkdir()
    os.symlink("/usr/bin/python3", str(tmp_path / "plain" / "python3"))
    assert python_problem(str(tmp_path / "plain" / "python3")).startswith("is below /tmp, which the unit hides")
    assert python_problem("/usr/bin/python3") is None


def test_no_system_python_fails_naming_what_was_tried(host, monkeypatch, tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    os.symlink("/usr/bin/python3", str(venv / "bin" / "python3"))
    monkeypatch.setattr(programs, "PYTHON_CANDIDATES", (str(tmp_path / "nowhere" / "python3"),))

    class VenvFirst(SystemctlRunner):
        def find(self, name):
            return str(venv / "bin" / "python3") if name == "python3" else SystemctlRunner.find(self, name)

    for check_mode in (True, False):
        runner = VenvFirst()
        with pytest.raises(NfvError) as info:
            make(host, runner, check_mode=check_mode).run()
        assert "no system python3 for the guest unit's stop helper" in info.value.msg
        assert "%s is the interpreter of a virtualenv" % (venv / "bin" / "python3") in info.value.msg
        assert runner.systemctl() == [] and os.listdir(str(host / "units")) == []


def test_changed_module_interpreter_does_not_rewrite_the_unit(host, monkeypatch):
    first = make(host, SystemctlRunner()).run()
    monkeypatch.setattr(sys, "executable", "/opt/other-venv/bin/python3.12")
    runner = SystemctlRunner(active="active", sub="running", enabled="enabled", main_pid=77)
    again = make(host, runner, running_argv=first["argv"], monkeypatch=monkeypatch).run()
    assert again["changed"] is False and again["changes"] == []


# ---- issue 15: state=absent removes the stop helper with the last guest and the unit's tap devices --

def test_helper_stays_while_another_guest_uses_it(host):
    make(host, SystemctlRunner(), state="present").run()
    make(host, SystemctlRunner(), state="present", name="vm2",
         nics=[{"type": "user", "mac": "52:54:00:00:00:02"}]).run()
    first = make(host, SystemctlRunner(), state="absent").run()
    assert actions(first) == ["delete"] and os.listdir(str(host / "libexec")) == ["nfv-qemu-powerdown"]
    last = make(host, SystemctlRunner(), state="absent", name="vm2")
    predicted = make(host, SystemctlRunner(), state="absent", name="vm2", check_mode=True).run()
    assert actions(predicted) == ["delete", "delete_helper"] and os.listdir(str(host / "libexec"))
    assert actions(last.run()) == ["delete", "delete_helper"] and os.listdir(str(host / "libexec")) == []


def tap_device(host, ifname, owner, group):
    base = host / "sys" / "class" / "net" / ifname
    base.mkdir(parents=True)
    (base / "tun_flags").write_text("0x1002\n")
    (base / "owner").write_text("%d\n" % owner)
    (base / "group").write_text("%d\n" % group)


def test_absent_removes_the_tap_devices_the_unit_created(host):
    nobody, nogroup = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
    nics = [{"type": "tap", "ifname": "tapvm1", "bridge": "br-mgmt"}, {"type": "tap", "ifname": "tapmine"},
            {"type": "tap", "ifname": "tapgone"}]
    tools = ("systemctl", "journalctl", "ip", "ovs-vsctl")
    make(host, SystemctlRunner(tools=tools), state="present", nics=nics).run()
    tap_device(host, "tapvm1", nobody, nogroup)  # made by the unit: ip tuntap add ... user nobody group nogroup
    tap_device(host, "tapmine", 0, 0)  # made by someone else before the guest: not the unit's to remove
    checked = make(host, SystemctlRunner(tools=tools), state="absent", check_mode=True).run()
    assert [(c["key"], c["action"]) for c in checked["changes"]] == [
        ("unit", "delete"), ("tap tapvm1", "delete_tap"), ("helper", "delete_helper")]
    runner = SystemctlRunner(tools=tools)
    handler = make(host, runner, state="absent")
    result = handler.run()
    assert result["changes"] == checked["changes"]
    assert [c for c in runner.calls if c[0] in ("ip", "ovs-vsctl")] == [
        ["ovs-vsctl", "--timeout=30", "--if-exists", "del-port", "br-mgmt", "tapvm1"],
        ["ip", "tuntap", "del", "dev", "tapvm1", "mode", "tap"]]
    assert any("tap device tapmine is left in place" in w for w in handler.module.warnings)


def test_unit_taps_reads_back_what_the_unit_creates():
    spec = spec_of(user="qemu1", group="kvm1", nics=[{"type": "tap", "ifname": "t1", "bridge": "br0"},
                                                     {"type": "tap", "ifname": "t2"}])
    _argv, text = render(spec)
    assert unit_taps(text) == [{"ifname": "t1", "user": "qemu1", "group": "kvm1", "bridge": "br0"},
                               {"ifname": "t2", "user": "qemu1", "group": "kvm1", "bridge": None}]
    assert unit_helper_path(text) == "/usr/local/libexec/nfv-dpdk/nfv-qemu-powerdown"


def test_started_and_stopped_need_systemd(host):
    runner = SystemctlRunner()
    for state in ("started", "stopped"):
        handler = make(host, runner, state=state)
        handler.systemd_marker = str(host / "not-booted")
        with pytest.raises(NfvError, match="needs systemd"):
            handler.run()
    assert os.listdir(str(host / "units")) == [] and runner.calls == []


def test_absent_stops_disables_and_removes(host):
    make(host, SystemctlRunner()).run()
    runner = SystemctlRunner(active="active", sub="running", enabled="enabled", main_pid=77)
    result = make(host, runner, state="absent").run()
    assert actions(result) == ["stop", "disable", "delete", "delete_helper"]  # the last guest: helper goes too
    assert runner.systemctl() == ["stop", "disable", "daemon-reload", "reset-failed"]  # no failed unit left loaded
    assert os.listdir(str(host / "units")) == [] and os.listdir(str(host / "libexec")) == []
    again = make(host, SystemctlRunner(), state="absent").run()
    assert again["changed"] is False


# ---- issue 15: bad input is refused naming the field, before anything is written ----------------

from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_reader import resource_clashes, unit_resources  # noqa: E402
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import one_node_host, two_node_host  # noqa: E402


def vhost(sock, **extra):
    return dict({"type": "vhost-user", "socket": sock}, **extra)


@pytest.mark.parametrize("params, message", [
    # directories the unit creates root:<group> 0770 at every start
    ({"nics": [vhost("/usr/local/bin/a.sock")]}, "nics[0].socket /usr/local/bin/a.sock is not below /run"),
    ({"nics": [vhost("/etc/a.sock")]}, "nics[0].socket /etc/a.sock is not below /run"),
    ({"nics": [vhost("/var/lib/x/a.sock")]}, "nics[0].socket /var/lib/x/a.sock is not below /run"),
    ({"nics": [vhost("/var/run/a.sock")]}, "nics[0].socket /var/run/a.sock must be in a directory of its own"),
    ({"nics": [vhost("/run/systemd/a.sock")]}, "nics[0].socket /run/systemd/a.sock is in /run/systemd, the runtime"),
    ({"nics": [vhost("/var/run/openvswitch/a.sock")]}, "is in /var/run/openvswitch, the runtime directory of other"),
    ({"nics": [vhost("/run/user/0/a.sock")]}, "is in /run/user, the runtime directory of other software"),
    ({"nics": [vhost("/run/nfv-qemu/vm1/qmp.sock")]}, "nics[0].socket /run/nfv-qemu/vm1/qmp.sock is the guest's QMP"),
    # values that reach systemd's space-separated lists (ReadWritePaths=, RuntimeDirectory=)
    ({"nics": [vhost("/run/vhost/a b.sock")]}, "nics[0].socket '/run/vhost/a b.sock' contains whitespace"),
    ({"nics": [vhost("/run/vhost/%h.sock")]}, "nics[0].socket '/run/vhost/%h.sock' contains whitespace"),
    ({"nics": [vhost("/run/vho\tst/a.sock")]}, "nics[0].socket '/run/vho\\tst/a.sock' contains whitespace"),
    ({"nics": [vhost("/run/vhost/../../etc/a.sock")]},
     "nics[0].socket '/run/vhost/../../etc/a.sock' is not a normalized path"),
    ({"nics": [vhost("/run//vhost/a.sock")]}, "nics[0].socket '/run//vhost/a.sock' is not a normalized path"),
    ({"disks": [{"path": "/var/lib/vm.img /"}]}, "disks[0].path '/var/lib/vm.img /' contains whitespace"),
    ({"disks": [{"path": "/var/lib/vm.img/"}]}, "disks[0].path '/var/lib/vm.img/' is not a normalized path"),
    ({"disks": [{"path": "/var/lib/./vm.img"}]}, "disks[0].path '/var/lib/./vm.img' is not a normalized path"),
    ({"disks": [{"path": '/var/lib/"vm".img'}]}, "disks[0].path '/var/lib/\"vm\".img' contains whitespace"),
    ({"disks": [{"path": "/var/lib/vm\\x.img"}]}, "disks[0].path '/var/lib/vm\\\\x.img' contains"),
    ({"disks": [{"path": "/var/lib/$vm.img"}]}, "disks[0].path '/var/lib/$vm.img' contains"),
    ({"disks": [{"path": "/var/lib/v%im.img"}]}, "disks[0].path '/var/lib/v%im.img' contains whitespace, a control "
                                                 "character, a quote, a backslash, '%' or '$'"),
    ({"disks": [{"path": "vm.img"}]}, "disks[0].path must be an absolute path, got 'vm.img'"),
    ({"run_dir": "/run/nfv qemu"}, "run_dir '/run/nfv qemu' contains whitespace"),
    ({"run_dir": "/run/nfv-qemu/"}, "run_dir '/run/nfv-qemu/' is not a normalized path"),
    ({"run_dir": "/run/../etc"}, "run_dir '/run/../etc' is not a normalized path"),
    ({"hugepages": {"size": "2M", "path": "/dev/huge pages"}}, "hugepages.path '/dev/huge pages' contains"),
    ({"hugepages": {"size": "2M", "path": "/dev/hugepages/"}}, "hugepages.path '/dev/hugepages/' is not a normalized"),
    ({"hugepages": {"size": "2M", "path": "/"}}, "hugepages.path must be the hugetlbfs mount"),
    ({"kernel": "/boot/../vmlinuz"}, "kernel '/boot/../vmlinuz' is not a normalized path"),
    ({"initrd": "boot/initrd"}, "initrd must be an absolute path"),
    ({"unit_dir": "/etc/systemd//system"}, "unit_dir '/etc/systemd//system' is not a normalized path"),
    ({"helper_dir": "libexec"}, "helper_dir must be an absolute path"),
    # collisions inside one guest
    ({"nics": [{"type": "tap", "ifname": "tap0"}, {"type": "tap", "ifname": "tap0"}]},
     "nics[1].ifname tap0 is also used by nics[0]"),
    ({"nics": [{"type": "vfio", "host": "0c:00.3"}, {"type": "vfio", "host": "0000:0c:00.3"}]},
     "nics[1].host 0000:0c:00.3 is also passed through by nics[0]"),
    # bounds
    ({"vcpus": 0}, "vcpus must be an integer from 1 to 1024, got 0"),
    ({"vcpus": 1025}, "vcpus must be an integer from 1 to 1024, got 1025"),
    ({"vcpus": "many"}, "vcpus must be an integer from 1 to 1024"),
    ({"memory": "100000T"}, "memory 100000T is more than the 64T a guest may have"),
    ({"memory": "65537G"}, "memory 65537G is more than the 64T"),
    ({"user": "root"}, "user root is refused: the guest runs under a non-root service user"),
    ({"group": "root"}, "group root is refused: the guest runs under a non-root service group"),
    ({"nics": [{"type": "user", "forwards": [{"host_address": "1.2.3.4.5", "host_port": 1, "guest_port": 2}]}]},
     "nics[0].forwards[0].host_address '1.2.3.4.5' is not an IPv4 address"),
])
def test_bad_input_names_the_field(params, message):
    with pytest.raises(NfvError) as info:
        spec_of(**params)
    assert message in info.value.msg


@pytest.mark.parametrize("params", [
    {"nics": [vhost("/run/vhost/vm1/a.sock"), vhost("/var/run/vhost2/vm1/b.sock"), vhost("/run/nfvq-1/vm1/c.sock")]},
    {"disks": [{"path": "/var/lib/nfv-qemu/vm,1.img"}], "kernel": None},
    {"vcpus": 1024, "memory": "64T"},
    {"run_dir": "/run/nfv-qemu-2"},
    {"nics": [{"type": "tap", "ifname": "tap0"}, {"type": "tap", "ifname": "tap1"}]},
])
def test_clean_input_is_accepted(params):
    assert spec_of(**params)["name"] == "vm1"


def test_unit_lists_hold_one_clean_path_each():
    spec = spec_of(disks=[{"path": "/var/lib/nfv-qemu/a.img"}, {"path": "/var/lib/nfv-qemu/b.img", "readonly": True}],
                   hugepages={"size": "2M"}, nics=[vhost("/run/vhost/vm1/a.sock")])
    _argv, text = render(spec)
    assert lines(text, "ReadWritePaths") == ["-/run/vhost/vm1", "-/dev/hugepages/nfv-qemu-vm1",
                                             "-/var/lib/nfv-qemu/a.img"]
    assert lines(text, "RuntimeDirectory") == ["nfv-qemu/vm1"]


def test_unit_resources_read_back_what_the_unit_claims():
    spec = spec_of(nics=[vhost("/run/vh,ost/vm1/a.sock", mac="52:54:00:00:00:0a"), {"type": "tap", "ifname": "tap7"},
                         {"type": "vfio", "host": "0c:00.3"}])
    _argv, text = render(spec)
    res = unit_resources(text)
    assert res == {"mac": ["52:54:00:00:00:0a", generate_mac("vm1", 1)], "socket": ["/run/vh,ost/vm1/a.sock"],
                   "qmp": ["/run/nfv-qemu/vm1/qmp.sock"], "tap": ["tap7"], "vfio": ["0000:0c:00.3"],
                   "disk": [], "runtime_dir": "/run/nfv-qemu/vm1"}


def previous_version_unit(spec):
    """The unit as the previous version wrote it: ExecStart= is QEMU itself, its console a -serial file:."""
    argv = qemu_argv(spec, QEMU, "tcg")
    _argv, text = render(spec)
    old_argv = qemu_argv(spec, QEMU, "tcg", serial="/var/log/nfv-qemu/%s.log" % spec["name"])
    new_line = "ExecStart=" + exec_line(console_argv(spec, "/usr/bin/python3", argv))
    assert new_line in text
    return old_argv, text.replace(new_line, "ExecStart=" + exec_line(old_argv))


def test_the_reader_takes_qemus_argv_from_new_and_previous_units():
    spec = spec_of(nics=[vhost("/run/vhost/vm1/a.sock", mac="52:54:00:00:00:0a"), {"type": "tap", "ifname": "tap7"}])
    argv, text = render(spec)
    old_argv, old_text = previous_version_unit(spec)
    assert "console" not in lines(old_text, "ExecStart")[0] and "-serial file:/var/log/nfv-qemu/vm1.log" in old_text
    assert unit_exec_start(text) == argv and unit_exec_start(old_text) == old_argv
    assert unit_resources(text) == unit_resources(old_text) == {
        "mac": ["52:54:00:00:00:0a", generate_mac("vm1", 1)], "socket": ["/run/vhost/vm1/a.sock"],
        "qmp": ["/run/nfv-qemu/vm1/qmp.sock"], "tap": ["tap7"], "vfio": [], "disk": [],
        "runtime_dir": "/run/nfv-qemu/vm1"}
    # a console line edited by hand (no `--`): read whole, so nothing it names escapes the clash checks
    edited = text.replace(" \\\n    -- ", " \\\n    ")
    assert unit_exec_start(edited)[:5] == ["/usr/bin/python3", "/usr/local/libexec/nfv-dpdk/nfv-qemu-powerdown",
                                           "console", "/var/log/nfv-qemu/vm1/serial.log", "4194304"]
    assert unit_resources(edited) == unit_resources(text)


@pytest.mark.parametrize("mine, message", [
    ({"disks": [{"path": "/var/lib/nfv-qemu/vm2.img"}]},
     "disks[0].path /var/lib/nfv-qemu/vm2.img is already a disk of nfv-qemu-vm2.service"),
    ({"nics": [{"type": "tap", "ifname": "tap-o"}]}, "nics[0].ifname tap-o is already the tap device of nfv-qemu-vm2"),
    ({"nics": [{"type": "vfio", "host": "0000:0c:00.3"}]},
     "nics[0].host 0000:0c:00.3 is already passed through by nfv-qemu-vm2.service"),
    ({"nics": [{"type": "user", "mac": "52:54:00:00:00:02"}]}, "nics[0].mac 52:54:00:00:00:02 is already used by"),
    ({"run_dir": "/run/nfv-qemu/vm2"}, "run_dir: the runtime directory /run/nfv-qemu/vm2/vm1 overlaps"),
])
def test_resources_of_other_guests_are_not_taken(mine, message):
    other = spec_of(name="vm2", disks=[{"path": "/var/lib/nfv-qemu/vm2.img"}],
                    nics=[vhost("/run/vhost/vm2/other.sock", mac="52:54:00:00:00:02"),
                          {"type": "tap", "ifname": "tap-o"}, {"type": "vfio", "host": "0c:00.3"}])
    _argv, text = render(other)
    problems = resource_clashes(spec_of(**mine), "nfv-qemu-vm2.service", unit_resources(text))
    assert any(message in p for p in problems), problems
    assert resource_clashes(spec_of(nics=[vhost("/run/vhost/vm1/mine.sock")]), "nfv-qemu-vm2.service",
                            unit_resources(text)) == []


def refused(host, message, **params):
    """The run fails naming the field, in check mode and for real, and writes and changes nothing."""
    before = sorted(os.listdir(str(host / "units")))
    for check_mode in (True, False):
        runner = SystemctlRunner()
        with pytest.raises(NfvError) as info:
            make(host, runner, check_mode=check_mode, **params).run()
        assert message in info.value.msg, info.value.msg
        assert sorted(os.listdir(str(host / "units"))) == before
        assert not (host / "libexec").exists()
        assert runner.systemctl() == []
    return info.value


def test_foreign_socket_directory_is_not_taken_over(host):
    (host / "run" / "vhost" / "vm1").mkdir(parents=True)  # root:root, like a directory made by hand
    refused(host, "nics[0].socket: the directory /run/vhost/vm1 exists owned by root:root, not root:nogroup",
            nics=[vhost("/run/vhost/vm1/a.sock")])
    os.chown(str(host / "run" / "vhost" / "vm1"), 0, 65534)  # root:<group>: as the unit makes it
    result = make(host, SystemctlRunner(), check_mode=True, nics=[vhost("/run/vhost/vm1/a.sock")]).run()
    assert "write_unit" in actions(result)


def test_socket_directory_behind_a_symlink_is_refused(host):
    (host / "etc").mkdir()
    (host / "run").mkdir()
    os.symlink("../etc", str(host / "run" / "vhost"))
    refused(host, "nics[0].socket: the directory /run/vhost/vm1 leads through a symbolic link to /etc/vm1",
            nics=[vhost("/run/vhost/vm1/a.sock")])


def test_foreign_hugepage_directory_is_not_taken_over(host):
    tree = one_node_host(host)
    tree.write("/proc/mounts", "hugetlbfs /dev/hugepages hugetlbfs rw,pagesize=2M 0 0\n")
    (host / "dev" / "hugepages" / "nfv-qemu-vm1").mkdir(parents=True)
    refused(host, "hugepages.path: the directory /dev/hugepages/nfv-qemu-vm1 exists owned by root:root",
            hugepages={"size": "2M"})


def test_existing_interface_is_not_a_tap_device(host):
    one_node_host(host)  # eth0 carries the default route
    refused(host, "nics[0].ifname eth0 is an existing network interface that is not a tap device: the unit would "
                  "bring it up and add it to bridge br0", nics=[{"type": "tap", "ifname": "eth0", "bridge": "br0"}])
    (host / "sys" / "class" / "net" / "tap9").mkdir(parents=True)
    (host / "sys" / "class" / "net" / "tap9" / "tun_flags").write_text("0x1002\n")
    make(host, SystemctlRunner(), check_mode=True, nics=[{"type": "tap", "ifname": "tap9"}]).run()


def test_a_tap_nic_needs_a_tun_device_the_guests_user_opens(host):
    tap = {"nics": [{"type": "tap", "ifname": "tap9"}]}
    tun_device(host, 0o600)  # owned by the test's user, not by nobody
    refused(host, "tap NICs: /dev/net/tun is %s:%s 0600, which the guest's user nobody cannot open read-write"
            % (pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name), **tap)
    present = make(host, SystemctlRunner(), check_mode=True, state="present", **tap)
    present.run()  # a guest not to run now only warns
    assert any("cannot open read-write" in w for w in present.module.warnings)
    tun_device(host, None)
    refused(host, "tap NICs need /dev/net/tun, which this host lacks (modprobe tun)", **tap)


@pytest.mark.parametrize("params, message", [
    ({"memory": "64G"}, "memory 64G is more than this host has (MemTotal 32G)"),
    ({"memory": "8G", "numa_node": 0}, "memory 8G is more than NUMA node 0 has (MemTotal 4.6G)"),
])
def test_memory_beyond_the_host_is_refused(host, params, message):
    one_node_host(host)
    refused(host, message, **params)


def test_more_vcpus_than_host_cpus_warns(host):
    one_node_host(host)  # CPUs 0-1 online
    handler = make(host, SystemctlRunner(), check_mode=True, vcpus=4)
    handler.run()
    assert any("vcpus 4 is more than the 2 CPUs online" in w for w in handler.module.warnings)


@pytest.mark.parametrize("other, mine, message", [
    ({"disks": [{"path": "/var/lib/nfv-qemu/shared.img"}]}, {"disks": [{"path": "/var/lib/nfv-qemu/shared.img"}]},
     "disks[0].path /var/lib/nfv-qemu/shared.img is already a disk of nfv-qemu-vm2.service"),
    ({"nics": [{"type": "tap", "ifname": "tap5"}]}, {"nics": [{"type": "user"}, {"type": "tap", "ifname": "tap5"}]},
     "nics[1].ifname tap5 is already the tap device of nfv-qemu-vm2.service"),
    ({"nics": [{"type": "vfio", "host": "03:00.0"}]}, {"nics": [{"type": "vfio", "host": "0000:03:00.0"}]},
     "nics[0].host 0000:03:00.0 is already passed through by nfv-qemu-vm2.service"),
])
def test_second_guest_on_the_same_resource_is_refused(host, other, mine, message):
    two_node_host(host)  # 0000:03:00.0 is on vfio-pci in IOMMU group 20
    make(host, SystemctlRunner(), state="present", name="vm2", **other).run()
    assert os.listdir(str(host / "units")) == ["nfv-qemu-vm2.service"]
    (host / "libexec" / "nfv-qemu-powerdown").unlink()
    (host / "libexec").rmdir()
    refused(host, message, **mine)


@pytest.mark.parametrize("params, message", [
    ({"nics": [vhost("/usr/local/bin/a.sock")]}, "nics[0].socket /usr/local/bin/a.sock is not below /run"),
    ({"disks": [{"path": "/var/lib/vm.img /"}]}, "disks[0].path '/var/lib/vm.img /' contains whitespace"),
    ({"run_dir": "/run/nfv qemu"}, "run_dir '/run/nfv qemu' contains whitespace"),
    ({"nics": [{"type": "tap", "ifname": "t0"}, {"type": "tap", "ifname": "t0"}]}, "nics[1].ifname t0 is also used"),
    ({"vcpus": 5000}, "vcpus must be an integer from 1 to 1024"),
    ({"memory": "100000T"}, "memory 100000T is more than the 64T"),
    ({"user": "root"}, "user root is refused"),
])
def test_invalid_definition_writes_nothing(host, params, message):
    refused(host, message, **params)


def test_absent_without_the_unit_leaves_any_helper_alone(host):
    # a helper at the default place, serving guests of another unit_dir: not this run's to remove
    make(host, SystemctlRunner(), state="present").run()
    (host / "units" / "nfv-qemu-vm1.service").unlink()
    result = make(host, SystemctlRunner(), state="absent").run()
    assert result["changed"] is False and os.listdir(str(host / "libexec")) == ["nfv-qemu-powerdown"]


# ---- issue 17: per-vCPU pinning (vcpu_pins, emulator_cpus) --------------------------------------

def test_vcpu_pins_reach_the_unit_as_execstartpost_and_the_union_as_cpuaffinity():
    spec = spec_of(vcpus=3, vcpu_pins=[4, "5", "6-7"], emulator_cpus="0,8")
    _argv, text = render(spec)
    assert lines(text, "CPUAffinity") == ["0,4-8"]
    post = lines(text, "ExecStartPost")
    assert len(post) == 1
    assert unescape_exec(post[0]) == ["/usr/bin/python3", "/usr/local/libexec/nfv-dpdk/nfv-qemu-powerdown", "pin",
                                      "/run/nfv-qemu/vm1/qmp.sock", "75", "0,8", "4", "5", "6-7"]
    # after ExecStart=, before ExecStop=; the stop helper's line is unchanged
    keys = [line.split("=", 1)[0] for line in text.splitlines()]
    assert keys.index("ExecStart") < keys.index("ExecStartPost") < keys.index("ExecStop")
    assert lines(text, "ExecStop") == ["/usr/bin/python3 /usr/local/libexec/nfv-dpdk/nfv-qemu-powerdown "
                                       "/run/nfv-qemu/vm1/qmp.sock 60"]


def test_without_emulator_cpus_the_other_threads_are_left_and_without_pins_no_post_step():
    spec = spec_of(vcpus=2, vcpu_pins=[2, 3])
    _argv, text = render(spec)
    assert unescape_exec(lines(text, "ExecStartPost")[0])[5:] == ["-", "2", "3"]
    assert lines(text, "CPUAffinity") == ["2-3"]
    _argv, plain = render(spec_of(vcpus=2, cpu_affinity="2-3"))
    assert lines(plain, "ExecStartPost") == [] and lines(plain, "CPUAffinity") == ["2-3"]


def test_explicit_cpu_affinity_must_hold_the_pins():
    spec = spec_of(vcpus=2, vcpu_pins=[2, 3], emulator_cpus=0, cpu_affinity="0-7")
    assert spec["cpu_affinity"] == list(range(8))
    with pytest.raises(NfvError) as info:
        spec_of(vcpus=2, vcpu_pins=[2, 9], emulator_cpus=0, cpu_affinity="0-3")
    assert "vcpu_pins/emulator_cpus name CPUs 9 outside cpu_affinity 0-3" in info.value.msg


@pytest.mark.parametrize("params, message", [
    ({"vcpus": 2, "vcpu_pins": [2]}, "vcpu_pins has 1 entry but vcpus is 2"),
    ({"vcpus": 1, "vcpu_pins": [2, 3]}, "vcpu_pins has 2 entries but vcpus is 1"),
    ({"vcpus": 2, "vcpu_pins": [2, "x"]}, "vcpu_pins[1] 'x' is not a host CPU"),
    ({"vcpus": 2, "vcpu_pins": [2, ""]}, "vcpu_pins[1] '' is not a host CPU"),
    ({"vcpus": 1, "vcpu_pins": "2"}, "vcpu_pins must be a list"),
    ({"vcpus": 1, "vcpu_pins": [2], "emulator_cpus": "a"}, "emulator_cpus 'a' is not a CPU list"),
    ({"vcpus": 1, "emulator_cpus": "0"}, "emulator_cpus needs vcpu_pins"),
])
def test_pin_validation_names_the_field(params, message):
    with pytest.raises(NfvError) as info:
        spec_of(**params)
    assert message in info.value.msg


def test_changed_pins_change_the_unit_and_restart_only_when_asked(host, monkeypatch):
    (host / "sys/devices/system/cpu").mkdir(parents=True)
    (host / "sys/devices/system/cpu/online").write_text("0-3\n")
    first = make(host, SystemctlRunner(), vcpus=2, vcpu_pins=[1, 2], emulator_cpus="0").run()
    assert "ExecStartPost=" in first["unit_text"] and "CPUAffinity=0-2\n" in first["unit_text"]
    running = dict(active="active", sub="running", enabled="enabled", main_pid=77)
    same = make(host, SystemctlRunner(**running), running_argv=first["argv"], monkeypatch=monkeypatch, vcpus=2,
                vcpu_pins=[1, 2], emulator_cpus="0").run()
    assert same["changed"] is False and same["restart_required"] is False
    checked = make(host, SystemctlRunner(**running), check_mode=True, running_argv=first["argv"],
                   monkeypatch=monkeypatch, vcpus=2, vcpu_pins=[2, 1], emulator_cpus="0").run()
    assert actions(checked) == ["write_unit"] and checked["restart_required"] is True
    assert "pin /run/nfv-qemu/vm1/qmp.sock 75 0 2 1" in checked["unit_text"]
    runner = SystemctlRunner(**running)
    restarted = make(host, runner, running_argv=first["argv"], monkeypatch=monkeypatch, vcpus=2, vcpu_pins=[2, 1],
                     emulator_cpus="0", restart_on_change=True).run()
    assert actions(restarted) == ["write_unit", "restart"]


def test_offline_pin_cpus_are_refused_before_any_change(host):
    (host / "sys/devices/system/cpu").mkdir(parents=True)
    (host / "sys/devices/system/cpu/online").write_text("0-1\n")
    with pytest.raises(NfvError) as info:
        make(host, SystemctlRunner(), vcpus=2, vcpu_pins=[1, 3], emulator_cpus="5").run()
    assert "vcpu_pins[1] CPUs 3 are not online (online: 0-1)" in info.value.msg
    assert "emulator_cpus CPUs 5 are not online" in info.value.msg
    assert os.listdir(str(host / "units")) == []


# ---- issue 27 item 6: a guest on an SR-IOV VF starts only after the SR-IOV boot unit succeeded ----------

from ansible_collections.nfv.dpdk.plugins.module_utils.pci import sriov_persistence  # noqa: E402
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import sriov_pf  # noqa: E402

SRIOV_PF, SRIOV_VF = "0000:03:00.1", "0000:03:02.0"


def vf_host(host, unit_installed=True):
    """two_node_host with 03:00.1 as a PF whose VF 03:02.0 is on vfio-pci; the SR-IOV unit installed or not."""
    sriov_pf(two_node_host(host), SRIOV_PF, "ens3f1", 8, [SRIOV_VF], vf_driver="vfio-pci")
    if unit_installed:
        unit = host / sriov_persistence.UNIT_FILE.lstrip("/")
        unit.parent.mkdir(parents=True, exist_ok=True)
        unit.write_text(sriov_persistence.UNIT_TEXT)


def test_unit_of_a_guest_with_a_vf_requires_the_sriov_unit_and_without_it_does_not():
    spec = spec_of(nics=[{"type": "vfio", "host": SRIOV_VF}])
    _argv, text = render(spec, vfio_groups=["60"], sriov_unit=sriov_persistence.UNIT_NAME)
    assert lines(text, "Requires") == [sriov_persistence.UNIT_NAME]
    assert lines(text, "After") == ["network.target " + sriov_persistence.UNIT_NAME]
    _argv, text = render(spec, vfio_groups=["60"])
    assert lines(text, "Requires") == [] and lines(text, "After") == ["network.target"]


@pytest.mark.parametrize("nic, installed, requires", [
    (SRIOV_VF, True, [sriov_persistence.UNIT_NAME]),
    ("0000:03:00.0", True, []),  # a whole NIC on vfio-pci: no physfn, nothing new
    (SRIOV_VF, False, []),  # VFs made another way: Requires= on a missing unit would fail the guest's start
])
def test_module_reads_the_vf_from_sysfs_and_writes_the_dependency(host, nic, installed, requires):
    vf_host(host, unit_installed=installed)
    result = make(host, SystemctlRunner(), check_mode=True, state="present",
                  nics=[{"type": "vfio", "host": nic}]).run()
    assert lines(result["unit_text"], "Requires") == requires
    assert lines(result["unit_text"], "After") == [" ".join(["network.target"] + requires)]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_a_vf_guest_unit_beside_the_sriov_unit_passes_systemd_analyze_verify(tmp_path):
    spec = spec_of(nics=[{"type": "vfio", "host": SRIOV_VF}])
    _argv, text = render(spec, vfio_groups=["60"], sriov_unit=sriov_persistence.UNIT_NAME)
    (tmp_path / sriov_persistence.UNIT_NAME).write_text(sriov_persistence.UNIT_TEXT)
    (tmp_path / spec["unit"]).write_text(text)
    proc = subprocess.run(["systemd-analyze", "verify", str(tmp_path / spec["unit"])], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False,
                          env=dict(os.environ, SYSTEMD_LOG_COLOR="0"))
    assert proc.returncode == 0 and spec["unit"] not in proc.stdout, proc.stdout
    # without the SR-IOV unit beside it, systemd refuses the dependency: why it is added only when installed
    (tmp_path / sriov_persistence.UNIT_NAME).unlink()
    proc = subprocess.run(["systemd-analyze", "verify", str(tmp_path / spec["unit"])], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode != 0 and "Unit %s not found" % sriov_persistence.UNIT_NAME in proc.stdout
