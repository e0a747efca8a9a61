# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QEMU's command line for one guest spec: memory backend, NICs, disks, boot source, QMP and serial console.

Pure (no host access): ExecStart= of the unit runs exactly this argv through the helper's console writer
(unit_commands.console_argv), and the component tests start QEMU with it directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hugepages import format_mb
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.sandbox import sandbox_argv


def qemu_opt(value):
    """A value inside a QEMU -opts string: commas are doubled."""
    return str(value).replace(",", ",,")


def memory_backend(spec):
    """The -object value for guest memory, or None for plain anonymous memory."""
    size = format_mb(spec["memory_mb"])
    vhost = any(n["type"] == "vhost-user" for n in spec["nics"])
    node = spec["numa_node"]
    if spec["hugepages"]:
        opts = ["memory-backend-file", "id=mem0", "size=" + size,
                "mem-path=" + qemu_opt(spec["hugepages"]["mem_dir"]), "share=on", "prealloc=on"]
    elif vhost:
        opts = ["memory-backend-memfd", "id=mem0", "size=" + size, "share=on"]
    elif node is not None:
        opts = ["memory-backend-ram", "id=mem0", "size=" + size]
    else:
        return None
    if node is not None:
        opts += ["host-nodes=%d" % node, "policy=bind"]
    return ",".join(opts)


def virtio_net_device(nic, extra=""):
    """The -device value of a virtio-net NIC: its netdev and MAC, `extra` (multiqueue, the vIOMMU's root port),
    then the ring sizes, packed ring, host MTU and mergeable buffers asked for (QEMU's defaults otherwise)."""
    device = "virtio-net-pci,netdev=%s,mac=%s%s" % (nic["id"], nic["mac"], extra)
    for field in ("rx_queue_size", "tx_queue_size"):
        if nic.get(field):
            device += ",%s=%d" % (field, nic[field])
    for field in ("packed", "mrg_rxbuf"):
        if nic.get(field) is not None:
            device += ",%s=%s" % (field, "on" if nic[field] else "off")
    if nic.get("mtu"):
        device += ",host_mtu=%d" % nic["mtu"]
    return device


# The guest vIOMMU (iommu: true): interrupt remapping, caching mode (which vfio devices behind it need) and a
# device IOTLB that the virtio NICs' ATS uses. With KVM, interrupt remapping needs the split irqchip.
VIOMMU_DEVICE = "intel-iommu,intremap=on,caching-mode=on,device-iotlb=on"
VIOMMU_MACHINE_OPTIONS = ",kernel-irqchip=split"
# Behind a vIOMMU a virtio NIC translates its DMA (iommu_platform) and caches translations (ats). Both need a
# modern PCIe device, which q35 gives on a root port of its own (on pcie.0 it would be transitional, no ATS).
VIOMMU_NIC_OPTIONS = ",iommu_platform=on,ats=on"


def nic_port(spec, nic):
    """(args, device options) placing a virtio NIC: behind a vIOMMU, on its own PCIe root port."""
    if not spec["iommu"]:
        return [], ""
    port = "nicport%d" % nic["index"]
    return (["-device", "pcie-root-port,id=%s,chassis=%d" % (port, nic["index"] + 1)],
            ",bus=%s%s" % (port, VIOMMU_NIC_OPTIONS))


def nic_args(spec, nic):
    ntype = nic["type"]
    if ntype == "vfio":
        return ["-device", "vfio-pci,host=%s" % nic["host"]]
    args, placement = nic_port(spec, nic)
    if ntype == "vhost-user":
        args += ["-chardev", "socket,id=%s,path=%s,server=on,wait=off" % (nic["chardev"], qemu_opt(nic["socket"]))]
        netdev = "type=vhost-user,id=%s,chardev=%s,vhostforce=on" % (nic["id"], nic["chardev"])
        multiqueue = ""
        if nic["queues"] > 1:
            netdev += ",queues=%d" % nic["queues"]
            multiqueue = ",mq=on,vectors=%d" % (2 * nic["queues"] + 2)
        return args + ["-netdev", netdev, "-device", virtio_net_device(nic, multiqueue + placement)]
    if ntype == "tap":
        return args + ["-netdev", "tap,id=%s,ifname=%s,script=no,downscript=no" % (nic["id"], nic["ifname"]),
                       "-device", virtio_net_device(nic, placement)]
    if ntype == "user":
        netdev = "user,id=%s" % nic["id"] + ("" if nic["host_access"] else ",restrict=on")
        for fwd in nic["forwards"]:
            netdev += ",hostfwd=%s:%s:%d-:%d" % (fwd["protocol"], fwd["host_address"], fwd["host_port"],
                                                 fwd["guest_port"])
        return args + ["-netdev", netdev, "-device", virtio_net_device(nic, placement)]
    raise NfvError("unknown NIC type %r" % (ntype,))


def qemu_argv(spec, qemu="/usr/bin/qemu-system-x86_64", accel="tcg", serial=None):
    """QEMU's argv: ExecStart= runs it through the helper's console writer (console_argv).

    `serial` makes QEMU write the serial console to that file itself (component tests outside systemd);
    everything else is what the unit runs.
    """
    argv = [qemu, "-name", "guest=%s,debug-threads=on" % spec["name"],
            "-machine", spec["machine"] + (VIOMMU_MACHINE_OPTIONS if spec["iommu"] else ""),
            "-accel", accel,
            "-cpu", "host" if accel == "kvm" else "max",
            "-smp", str(spec["vcpus"]),
            "-m", format_mb(spec["memory_mb"])]
    backend = memory_backend(spec)
    if backend:
        argv += ["-object", backend, "-numa", "node,memdev=mem0"]
    if spec["iommu"]:  # before any PCI device, so that each gets its address space behind the vIOMMU
        argv += ["-device", VIOMMU_DEVICE]
    argv += sandbox_argv()
    argv += ["-nodefaults", "-no-user-config", "-display", "none"]
    # the console on stdout, written to serial_log (bounded) by ExecStart='s helper (console_argv)
    argv += ["-serial", "file:" + serial] if serial else ["-chardev", "stdio,id=serial0,signal=off",
                                                          "-serial", "chardev:serial0"]
    argv += ["-qmp", "unix:%s,server=on,wait=off" % qemu_opt(spec["qmp_socket"])]
    if spec["kernel"]:
        argv += ["-kernel", spec["kernel"]]
        if spec["initrd"]:
            argv += ["-initrd", spec["initrd"]]
        if spec["append"]:
            argv += ["-append", spec["append"]]
    for index, disk in enumerate(spec["disks"]):
        drive = "file=%s,format=%s,if=virtio,id=disk%d" % (qemu_opt(disk["path"]), disk["format"], index)
        if disk["readonly"]:
            drive += ",readonly=on"
        argv += ["-drive", drive]
    for nic in spec["nics"]:
        argv += nic_args(spec, nic)
    return argv
