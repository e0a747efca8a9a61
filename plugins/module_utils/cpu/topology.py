# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CPU topology of a host (online and present CPUs, NUMA nodes, thread siblings) and the CPU layout it runs
now, from host facts (nfv.dpdk.host_facts' shape: cpu, numa, ovs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import BadValue, format_cpulist, mask_cpus
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.kernel_isolation import CPU_KERNEL_KEYS
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import LCORE_MASK_KEY, PMD_CPU_MASK_KEY


class Topology:
    """Online and present CPUs, their NUMA node and their thread siblings."""

    def __init__(self, online, nodes=None, siblings=None, present=None):
        self.online = sorted(set(online))
        self.present = sorted(set(present or []) | set(self.online))
        self.nodes = dict((int(n), sorted(cpus)) for n, cpus in (nodes or {}).items()) or {0: list(self.present)}
        self.node_of = dict((cpu, node) for node, cpus in self.nodes.items() for cpu in cpus)
        self.group_of = {}
        for group in siblings or []:
            members = tuple(sorted(c for c in group if c in self.online))
            for cpu in members:
                self.group_of[cpu] = members
        for cpu in self.online:
            self.group_of.setdefault(cpu, (cpu,))

    @classmethod
    def from_facts(cls, facts):
        """From nfv.dpdk.host_facts (or the same readers): cpu.online/present/siblings and numa.nodes."""
        cpu = facts.get("cpu") or {}
        nodes = dict((n["id"], n["cpus"]) for n in (facts.get("numa") or {}).get("nodes") or [])
        return cls(cpu.get("online") or [], nodes, cpu.get("siblings") or [], cpu.get("present"))

    def cores(self, node):
        """Online sibling groups of a node, lowest CPU first."""
        return sorted(set(self.group_of[c] for c in self.nodes.get(node, []) if c in self.group_of))

    def node_list(self, cpus):
        return sorted(set(self.node_of[c] for c in cpus if c in self.node_of))

    def siblings(self, cpu):
        return [c for c in self.group_of.get(cpu, (cpu,)) if c != cpu]

    def as_dict(self):
        return {
            "online": self.online,
            "present": self.present,
            "nodes": [{"id": n, "cpus": self.nodes[n], "cpulist": format_cpulist(self.nodes[n])}
                      for n in sorted(self.nodes)],
            "siblings": [list(g) for g in sorted(set(self.group_of.values()))],
            "smt": any(len(g) > 1 for g in self.group_of.values()),
        }


def current_layout(facts, kernel_params=None):
    """The CPU layout a host runs now: topology, the kernel's isolation lists, PID 1's affinity (systemd's
    CPUAffinity) and OVS's masks."""
    topo = Topology.from_facts(facts)
    cpu = facts.get("cpu") or {}
    args = dict((p["key"], p["value"]) for p in (kernel_params or []) if p["key"] in CPU_KERNEL_KEYS)
    layout = topo.as_dict()
    layout["isolated"] = cpu.get("isolated") or []
    layout["nohz_full"] = cpu.get("nohz_full") or []
    layout["kernel_args"] = args
    layout["systemd_cpu_affinity"] = cpu.get("init_affinity")
    other = (facts.get("ovs") or {}).get("other_config") or {}
    for key, name in ((PMD_CPU_MASK_KEY, "pmd_cpus"), (LCORE_MASK_KEY, "lcore_cpus")):
        try:
            layout[name] = mask_cpus(other[key]) if other.get(key) else None
        except BadValue:
            layout[name] = None
    return layout
