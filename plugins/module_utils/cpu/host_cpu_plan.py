# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CPUs a `host_cpu` description derives on a host's topology: whole cores for housekeeping (the kernel,
systemd, OVS's own threads) and for OVS's PMD threads on the DPDK NICs' nodes, the rest for the guests; each
guest's dedicated cores from that pool, and its per-vCPU pins."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.kernel_isolation import ISOLCPUS_FLAGS

HOST_CPU_KEYS = ("housekeeping_cores", "housekeeping_cpus", "pmd_cores", "pmd_cpus", "guest_cpus",
                 "isolcpus", "isolcpus_flags", "nohz_full", "rcu_nocbs", "irqaffinity", "systemd_affinity", "tuned")
DEFAULTS = {"housekeeping_cores": 1, "pmd_cores": 1, "isolcpus": True, "isolcpus_flags": ["domain", "managed_irq"],
            "nohz_full": True, "rcu_nocbs": True, "irqaffinity": True, "systemd_affinity": True, "tuned": False}


def allocate(check, name, counts, used):
    """Whole cores (every online sibling thread) per node, lowest free core first."""
    cpus = []
    for node in sorted(counts):
        free = [core for core in check.topo.cores(node) if not used.intersection(core)]
        if counts[node] > len(free):
            check.conflict("%s asks for %d core(s) on NUMA node %d, which has %d free (cores of node %d: %d)"
                           % (check.desc.field(name), counts[node], node, len(free), node,
                              len(check.topo.cores(node))))
        for core in free[:counts[node]]:
            cpus.extend(core)
            used.update(core)
    return sorted(cpus)


def plan_host_cpu(check, dpdk_nodes):
    """The derived sets from host_cpu: housekeeping, pmd, guests (None when host_cpu is empty)."""
    spec = check.desc.cpu
    if not spec:
        return None
    unknown = sorted(set(spec) - set(HOST_CPU_KEYS))
    if unknown:
        check.conflict("%s has unknown keys %s (known: %s)"
                       % (check.desc.field("cpu"), ", ".join(unknown), ", ".join(HOST_CPU_KEYS)))
    opts = dict(DEFAULTS, pmd_cores=1 if check.desc.ovs else 0)  # no OVS in the description: no PMD
    opts.update(dict((k, v) for k, v in spec.items() if v is not None))
    for flag in opts["isolcpus_flags"] or []:
        if flag not in ISOLCPUS_FLAGS:
            check.conflict("%s: %r is not an isolcpus flag (%s)"
                           % (check.desc.field("cpu.isolcpus_flags"), flag, ", ".join(ISOLCPUS_FLAGS)))
    opts["isolcpus_flags"] = [f for f in opts["isolcpus_flags"] or [] if f in ISOLCPUS_FLAGS]
    used = set()
    housekeeping = check.cpu_field("cpu.housekeeping_cpus", spec.get("housekeeping_cpus"))
    if housekeeping is None:
        counts = check.node_counts("cpu.housekeeping_cores", opts["housekeeping_cores"], sorted(check.topo.nodes))
        housekeeping = allocate(check, "cpu.housekeeping_cores", counts, used)
    used.update(housekeeping)
    pmd = check.cpu_field("cpu.pmd_cpus", spec.get("pmd_cpus"))
    if pmd is None:
        nodes = sorted(dpdk_nodes) or [n for n in sorted(check.topo.nodes)
                                       if any(not used.intersection(c) for c in check.topo.cores(n))][:1]
        counts = check.node_counts("cpu.pmd_cores", opts["pmd_cores"], nodes)
        pmd = allocate(check, "cpu.pmd_cores", counts, used)
    used.update(pmd)
    guests = check.cpu_field("cpu.guest_cpus", spec.get("guest_cpus"))
    if guests is None:
        guests = [c for c in check.topo.online if c not in used]
    if not housekeeping:
        check.conflict("%s leaves no housekeeping CPU for the kernel, systemd and OVS's own threads "
                       "(set cpu.housekeeping_cores or cpu.housekeeping_cpus)" % check.desc.field("cpu"))
    named = (("cpu.housekeeping", housekeeping), ("cpu.pmd", pmd), ("cpu.guest", guests))
    for i, (name_a, cpus_a) in enumerate(named):
        for name_b, cpus_b in named[i + 1:]:
            both = sorted(set(cpus_a) & set(cpus_b))
            if both:
                check.conflict("%s CPUs and %s CPUs overlap on %s"
                               % (check.desc.field(name_a), check.desc.field(name_b), format_cpulist(both)))
    return {"opts": opts, "housekeeping": housekeeping, "pmd": pmd, "guests": guests}


def guest_cores(check, vm, pool, index, node_hint):
    """Dedicated CPUs for a guest without cpu_affinity: whole cores from the guest pool of its node."""
    vcpus = vm.get("vcpus") or 1
    node = vm.get("numa_node")
    if node is None:
        node = node_hint
    nodes = [node] if node is not None else sorted(check.topo.nodes, key=lambda n: -len(pool.get(n, [])))
    for candidate in nodes:
        free = pool.get(candidate, [])
        if len(free) >= vcpus:
            chosen = []
            for core in sorted(set(check.topo.group_of[c] for c in free)):
                if len(chosen) >= vcpus:
                    break
                chosen.extend(c for c in core if c in free)
            pool[candidate] = [c for c in free if c not in chosen]
            return sorted(chosen)
    where = "NUMA node %d" % node if node is not None else "any NUMA node"
    check.conflict("%s needs %d CPU(s) from the guest pool of %s, which has %s left; give it cpu_affinity or "
                   "more guest CPUs in %s"
                   % (check.vm_field(vm, index, "vcpus"), vcpus, where,
                      format_cpulist([c for n in nodes for c in pool.get(n, [])]) or "none", check.desc.field("cpu")))
    return []


def derived_pins(cpus, vcpus, housekeeping, topo):
    """Per-vCPU pins from a guest's dedicated CPUs: vCPU i on the i-th CPU (sibling threads of a core on
    consecutive vCPUs; CPUs beyond vcpus of a whole core stay idle). QEMU's other threads (main loop, I/O,
    monitor) go to the housekeeping CPUs of the guest's node (all housekeeping CPUs when that node has none), so
    the dedicated CPUs run vCPUs only."""
    ordered = [c for core in sorted(set(topo.group_of.get(c, (c,)) for c in cpus)) for c in core if c in cpus]
    node = topo.node_of.get(ordered[0]) if ordered else None
    emulator = [c for c in housekeeping if topo.node_of.get(c) == node] or list(housekeeping)
    return [[c] for c in ordered[:vcpus]], sorted(emulator)
