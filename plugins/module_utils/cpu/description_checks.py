# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of a description against the host and its derived layout: the NUMA nodes of the DPDK NICs and
the PMD CPUs that poll them, explicit isolation arguments, and each guest's CPUs, pins and NICs' nodes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import BadValue, cpus_of, format_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.kernel_isolation import CPU_KERNEL_KEYS, isolcpus_cpus
from ansible_collections.nfv.dpdk.plugins.module_utils.host.pci import normalize_address
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.other_config_keys import VHOST_IOMMU_KEY


def device_node(check, ref):
    """NUMA node of a PCI address or interface name from the host's NICs; None when unknown."""
    address = normalize_address(ref)
    for nic in check.nics:
        if nic.get("address") == address or ref in (nic.get("netdevs") or []):
            return nic.get("numa_node")
    return None


def dpdk_nodes(check):
    """{node: [devices]} of the DPDK NICs whose node is known."""
    refs = list(check.desc.dpdk_devices)
    for _bridge, devargs, _sockets in check.desc.bridge_devargs():
        refs.extend(devargs)
    passed = set(normalize_address(nic.get("host")) for vm in check.desc.vms for nic in vm.get("nics") or []
                 if nic.get("type") == "vfio" and nic.get("host"))
    nodes = {}
    for ref in refs:
        if normalize_address(ref) in passed:
            continue  # a guest's passthrough device, not a NIC OVS polls
        node = device_node(check, ref)
        if node is not None:
            nodes.setdefault(node, [])
            if ref not in nodes[node]:
                nodes[node].append(ref)
    return nodes


def vm_nic_nodes(check, vm, index, bridges):
    """NUMA nodes of a guest's NICs: vfio devices, and the DPDK NICs on the bridge of a vhost-user socket."""
    nodes = set()
    for nic in vm.get("nics") or []:
        if nic.get("type") == "vfio" and nic.get("host"):
            node = device_node(check, nic["host"])
            if node is not None:
                nodes.add(node)
        elif nic.get("type", "vhost-user") == "vhost-user" and nic.get("socket"):
            for _bridge, devargs, sockets in bridges:
                if nic["socket"] in sockets:
                    nodes.update(n for n in (device_node(check, d) for d in devargs) if n is not None)
    return sorted(nodes)


def check_pmd_placement(check, pmd, dpdk, plan):
    desc, topo = check.desc, check.topo
    field = desc.field("ovs.pmd_cpu_mask") if desc.ovs.get("pmd_cpu_mask") else desc.field("cpu.pmd")
    for cpu in pmd:
        for sibling in topo.siblings(cpu):
            if sibling in pmd:
                continue
            for name, others in (("cpu.housekeeping", plan["housekeeping"] if plan else []),
                                 ("cpu.guest", plan["guests"] if plan else [])):
                if sibling in others:
                    check.conflict("%s CPU %d shares its core with CPU %d of %s: keep sibling threads together"
                                   % (field, cpu, sibling, desc.field(name)))
    if not dpdk or not pmd:
        return
    for node in topo.node_list(pmd):
        if node not in dpdk:
            check.conflict("%s puts PMD CPUs %s on NUMA node %d, where no DPDK NIC sits (DPDK NICs: %s)"
                           % (field, format_cpulist(c for c in pmd if topo.node_of.get(c) == node), node,
                              "; ".join("node %d: %s" % (n, ", ".join(d)) for n, d in sorted(dpdk.items()))))
    for node, devices in sorted(dpdk.items()):
        if node not in topo.node_list(pmd):
            check.conflict("%s has no PMD CPU on NUMA node %d, where DPDK NICs %s sit: their queues would be "
                           "polled across nodes" % (field, node, ", ".join(devices)))


def check_kernel_args(check, explicit, derived, pmd, housekeeping):
    """Explicit isolation arguments against the layout; returns the CPUs isolcpus will isolate."""
    desc, topo = check.desc, check.topo
    values = dict(a.split("=", 1) for a in derived)
    values.update(explicit)
    isolated = None
    for key in CPU_KERNEL_KEYS:
        if key not in explicit:
            continue
        try:
            cpus = isolcpus_cpus(explicit[key])[1] if key == "isolcpus" else cpus_of(explicit[key])
        except BadValue:
            check.conflict("%s %s=%s is not a CPU list" % (desc.field("kernel_args"), key, explicit[key]))
            continue
        check.cpu_field("kernel_args %s" % key, format_cpulist(cpus))
        if key == "irqaffinity":
            stray = sorted(set(cpus) & set(pmd))
            if stray:
                check.conflict("%s irqaffinity=%s sends interrupts to PMD CPUs %s"
                               % (desc.field("kernel_args"), explicit[key], format_cpulist(stray)))
            continue
        if set(topo.online) <= set(cpus):
            check.conflict("%s %s=%s covers every online CPU: nothing is left for housekeeping"
                           % (desc.field("kernel_args"), key, explicit[key]))
        if housekeeping and set(cpus) & set(housekeeping):
            check.conflict("%s %s=%s includes housekeeping CPUs %s of %s"
                           % (desc.field("kernel_args"), key, explicit[key],
                              format_cpulist(set(cpus) & set(housekeeping)), desc.field("cpu")))
        if key == "isolcpus":
            isolated = cpus
            missing = [c for c in pmd if c not in cpus]
            if missing:
                check.conflict("%s isolcpus=%s leaves PMD CPUs %s (ovs.pmd_cpu_mask) to the scheduler: "
                               "add them to isolcpus" % (desc.field("kernel_args"), explicit[key],
                                                         format_cpulist(missing)))
    if isolated is None and "isolcpus" in values:
        isolated = isolcpus_cpus(values["isolcpus"])[1]
    return isolated


def vm_pins(check, vm, index):
    """(pins, emulator CPUs) of a guest's explicit vcpu_pins and emulator_cpus; (None, None) without pins."""
    given = vm.get("vcpu_pins")
    if given in (None, []):
        if vm.get("emulator_cpus") not in (None, "", []):
            check.conflict("%s needs %s" % (check.vm_field(vm, index, "emulator_cpus"),
                                            check.vm_field(vm, index, "vcpu_pins")))
        return None, None
    name = vm.get("name") or str(index)
    if not isinstance(given, (list, tuple)):
        check.conflict("%s must be a list with one host CPU or CPU list per vCPU, got %r"
                       % (check.vm_field(vm, index, "vcpu_pins"), given))
        return [], []
    vcpus = vm.get("vcpus") or 1
    if len(given) != vcpus:
        check.conflict("%s has %d entries but %s is %s: give one host CPU (or CPU list) per vCPU"
                       % (check.vm_field(vm, index, "vcpu_pins"), len(given), check.vm_field(vm, index, "vcpus"),
                          vcpus))
    pins = [check.cpu_field("vms[%s].vcpu_pins[%d]" % (name, i), value) or [] for i, value in enumerate(given)]
    emulator = check.cpu_field("vms[%s].emulator_cpus" % name, vm.get("emulator_cpus")) or []
    return pins, emulator


def check_emulator(check, vm, index, emulator, pmd):
    stray = sorted(set(emulator) & set(pmd))
    if stray:
        check.conflict("%s overlaps the PMD CPUs (ovs.pmd_cpu_mask / cpu.pmd) on %s"
                       % (check.vm_field(vm, index, "emulator_cpus"), format_cpulist(stray)))


def check_vm(check, vm, index, cpus, nic_nodes, pmd, plan, isolated):
    desc, topo = check.desc, check.topo
    node = vm.get("numa_node")
    field = check.vm_field(vm, index, "vcpu_pins" if vm.get("vcpu_pins") else "cpu_affinity")
    if node is not None and node not in topo.nodes:
        check.conflict("%s is NUMA node %s, which this host does not have (nodes: %s)"
                       % (check.vm_field(vm, index, "numa_node"), node,
                          ", ".join(str(n) for n in sorted(topo.nodes))))
        return
    stray = sorted(set(cpus) & set(pmd))
    if stray:
        check.conflict("%s overlaps the PMD CPUs (ovs.pmd_cpu_mask / cpu.pmd) on %s"
                       % (field, format_cpulist(stray)))
    if plan is not None:
        outside = sorted(set(cpus) & set(plan["housekeeping"]))
        if outside:
            check.conflict("%s pins the guest to housekeeping CPUs %s of %s"
                           % (field, format_cpulist(outside), desc.field("cpu")))
    if isolated is not None:
        loose = [c for c in cpus if c not in isolated and c not in pmd]
        if loose and (vm.get("cpu_affinity") or vm.get("vcpu_pins")):
            check.conflict("%s pins the guest to CPUs %s that isolcpus does not isolate"
                           % (field, format_cpulist(loose)))
    cpu_nodes = topo.node_list(cpus)
    if node is not None:
        away = [c for c in cpus if topo.node_of.get(c) != node]
        if away:
            check.conflict("%s puts vCPUs on CPUs %s outside NUMA node %d, where %s binds the guest's memory"
                           % (field, format_cpulist(away), node, check.vm_field(vm, index, "numa_node")))
    home = [node] if node is not None else cpu_nodes
    for nic_node in nic_nodes:
        if len(home) == 1 and nic_node != home[0]:
            check.conflict("%s: the guest runs on NUMA node %d but its NIC (vfio host device or the DPDK NIC on "
                           "its vhost-user bridge) sits on node %d"
                           % (check.vm_field(vm, index, "nics"), home[0], nic_node))


def check_nic_mtus(check, vm, index, vhost_ports):
    """A vhost-user NIC's guest MTU (nics[].mtu) must fit the MTU of the OVS port that serves its socket
    (mtu_request, else OVS's 1500): the guest would send frames the port drops."""
    for number, nic in enumerate(vm.get("nics") or []):
        if not isinstance(nic, dict) or nic.get("type", "vhost-user") != "vhost-user":
            continue
        mtu = nic.get("mtu")
        if not isinstance(mtu, int) or nic.get("socket") not in vhost_ports:
            continue
        bridge, port, port_mtu = vhost_ports[nic["socket"]]
        carried = port_mtu if isinstance(port_mtu, int) else 1500
        if mtu > carried:
            check.conflict("%s %d is more than the MTU of OVS port %s on bridge %s (%s), which serves its socket "
                           "%s: set that port's mtu_request to %d or lower the guest's"
                           % (check.vm_field(vm, index, "nics[%d].mtu" % number), mtu, port, bridge,
                              "mtu_request %d" % carried if isinstance(port_mtu, int) else "no mtu_request: 1500",
                              nic["socket"], mtu))


def check_vhost_iommu(check, vm, index, vhost_ports, iommu_support):
    """A guest with a vIOMMU (iommu: true) asks its vhost-user NICs for IOMMU_PLATFORM, which the OVS port that
    serves the socket offers only with OVS's IOMMU support (VHOST_IOMMU_KEY): the NIC would not start."""
    if vm.get("iommu") is not True or iommu_support:
        return
    for number, nic in enumerate(vm.get("nics") or []):
        if isinstance(nic, dict) and nic.get("type", "vhost-user") == "vhost-user" and nic.get("socket") in vhost_ports:
            bridge, port, _mtu = vhost_ports[nic["socket"]]
            check.conflict("%s is true, but Open vSwitch serves its NIC nics[%d] (port %s on bridge %s) without "
                           "%s: the NIC's IOMMU_PLATFORM would not be negotiated and it would not start; set %s to "
                           "true" % (check.vm_field(vm, index, "iommu"), number, port, bridge, VHOST_IOMMU_KEY,
                                     check.desc.field("ovs.vhost_iommu_support")))
