# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CPU and NUMA layout a whole description derives on a host (kernel isolation arguments, systemd's
CPUAffinity, OVS's masks, the guests' CPUs and pins), with every conflict it has (explicit masks and pinning
included), each naming the fields it holds for.

Pure logic over host facts (nfv.dpdk.host_facts' shape: cpu, numa, nics, hugepages); the readers live in
module_utils/host/.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import cpu_mask, format_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.description import LayoutCheck
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.description_checks import (
    check_emulator,
    check_kernel_args,
    check_nic_mtus,
    check_pmd_placement,
    check_vhost_iommu,
    check_vm,
    dpdk_nodes,
    vm_nic_nodes,
    vm_pins,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.host_cpu_plan import derived_pins, guest_cores, plan_host_cpu
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.hugepage_budget import check_budget
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.kernel_isolation import (
    derived_kernel_args,
    kernel_arg_values,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.tuned import tuned_settings


def resolve(description, facts):
    """(layout, conflicts) of a Description on a host given by its facts."""
    check = LayoutCheck(description, facts)
    desc = check.desc
    dpdk = dpdk_nodes(check)
    plan = plan_host_cpu(check, dpdk)

    pmd = check.cpu_field("ovs.pmd_cpu_mask", desc.ovs.get("pmd_cpu_mask"), mask=True)
    lcore = check.cpu_field("ovs.lcore_mask", desc.ovs.get("lcore_mask"), mask=True)
    if plan is not None:
        pmd = plan["pmd"] if pmd is None else pmd
        lcore = plan["housekeeping"] if lcore is None else lcore
    pmd, lcore = pmd or [], lcore or []
    housekeeping = plan["housekeeping"] if plan else []

    both = sorted(set(pmd) & set(lcore))
    if both:
        check.conflict("%s and %s overlap on CPUs %s: a PMD thread spins its CPU at 100%%"
                       % (desc.field("ovs.pmd_cpu_mask"), desc.field("ovs.lcore_mask"), format_cpulist(both)))
    check_pmd_placement(check, pmd, dpdk, plan)

    # kernel arguments: explicit ones win, derived ones fill in; with tuned, its profile writes them
    explicit = kernel_arg_values(desc.kernel_args)
    tuned = tuned_settings(check, plan, explicit) if plan and plan["opts"]["tuned"] else None
    derived = derived_kernel_args(plan) if plan and not tuned else []
    isolated = check_kernel_args(check, explicit, derived, pmd, housekeeping)

    guests = guest_layout(check, plan, pmd, housekeeping, isolated)
    check_budget(check)
    layout = {
        "housekeeping": format_cpulist(housekeeping),
        "pmd_cpus": format_cpulist(pmd),
        "lcore_cpus": format_cpulist(lcore),
        "pmd_cpu_mask": cpu_mask(pmd) if pmd else None,
        "lcore_mask": cpu_mask(lcore) if lcore else None,
        "guest_cpus": format_cpulist(plan["guests"]) if plan else "",
        "guest_pool": guests["guest_pool"],
        "kernel_args": [a for a in derived if a.split("=", 1)[0] not in explicit],
        "systemd_cpu_affinity": (format_cpulist(housekeeping) if plan and plan["opts"]["systemd_affinity"]
                                 and not tuned else ""),
        "tuned": tuned,
        "vm_cpu_affinity": guests["vm_cpu_affinity"],
        "vm_vcpu_pins": guests["vm_vcpu_pins"],
        "vm_emulator_cpus": guests["vm_emulator_cpus"],
        "dpdk_nodes": sorted(dpdk),
    }
    return layout, check.conflicts


def guest_layout(check, plan, pmd, housekeeping, isolated):
    """Each guest's CPUs checked; a guest without cpu_affinity or vcpu_pins gets dedicated cores from the guest
    pool of its node, and its vCPU pins and emulator CPUs from them. Returns the guest pool (before those
    cores were taken) and the derived cpu_affinity, vcpu_pins and emulator_cpus by guest name."""
    desc, topo = check.desc, check.topo
    pool = {}
    if plan:
        for cpu in plan["guests"]:
            pool.setdefault(topo.node_of.get(cpu, 0), []).append(cpu)
    guest_pool = dict((str(n), format_cpulist(c)) for n, c in sorted(pool.items()))
    affinity, vcpu_pins, emulator_cpus = {}, {}, {}
    bridges = desc.bridge_devargs()
    vhost_ports = desc.vhost_ports()
    for index, vm in enumerate(desc.vms):
        name = vm.get("name") or str(index)
        cpus = check.cpu_field("vms[%s].cpu_affinity" % name, vm.get("cpu_affinity"))
        pins, emulator = vm_pins(check, vm, index)
        nic_nodes = vm_nic_nodes(check, vm, index, bridges)
        if cpus is None and pins is None and plan is not None:
            hint = nic_nodes[0] if len(nic_nodes) == 1 else None
            cpus = guest_cores(check, vm, pool, index, hint)
            if cpus:
                affinity[name] = format_cpulist(cpus)
                pins, emulator = derived_pins(cpus, vm.get("vcpus") or 1, housekeeping, topo)
                vcpu_pins[name] = [format_cpulist(p) for p in pins]
                emulator_cpus[name] = format_cpulist(emulator)
        if pins is not None:  # vCPUs run on their pins; QEMU's other threads may use housekeeping CPUs
            cpus = sorted(set(c for p in pins for c in p))
            check_emulator(check, vm, index, emulator or [], pmd)
        check_vm(check, vm, index, cpus or [], nic_nodes, pmd, plan, isolated)
        check_nic_mtus(check, vm, index, vhost_ports)
        check_vhost_iommu(check, vm, index, vhost_ports, desc.vhost_iommu_support())
    return {"guest_pool": guest_pool, "vm_cpu_affinity": affinity, "vm_vcpu_pins": vcpu_pins,
            "vm_emulator_cpus": emulator_cpus}
