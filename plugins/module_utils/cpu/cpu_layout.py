# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CPU and NUMA layout of a DPDK host: the topology it has, the layout a `host_cpu` description
derives (kernel isolation arguments, systemd's CPUAffinity, OVS masks, the guests' CPUs), and every
conflict in a whole description (explicit masks and pinning included) with the fields it names.

Pure logic over host facts (nfv.dpdk.host_facts' shape: cpu, numa, nics, hugepages); the readers
live in kernel.py, numa.py, pci.py and hugepages.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import (
    BadValue,
    cpu_mask,
    cpus_of,
    format_cpulist,
    mask_cpus,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hugepages import kb_to_label, parse_memory_mb, size_to_kb
from ansible_collections.nfv.dpdk.plugins.module_utils.host.pci import normalize_address
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import LCORE_MASK_KEY, PMD_CPU_MASK_KEY

ISOLCPUS_FLAGS = ("domain", "managed_irq", "nohz")
CPU_KERNEL_KEYS = ("isolcpus", "nohz_full", "rcu_nocbs", "irqaffinity")
HOST_CPU_KEYS = ("housekeeping_cores", "housekeeping_cpus", "pmd_cores", "pmd_cpus", "guest_cpus",
                 "isolcpus", "isolcpus_flags", "nohz_full", "rcu_nocbs", "irqaffinity", "systemd_affinity", "tuned")
DEFAULTS = {"housekeeping_cores": 1, "pmd_cores": 1, "isolcpus": True, "isolcpus_flags": ["domain", "managed_irq"],
            "nohz_full": True, "rcu_nocbs": True, "irqaffinity": True, "systemd_affinity": True, "tuned": False}
TUNED_PROFILE = "cpu-partitioning"
TUNED_VARIABLES = "/etc/tuned/cpu-partitioning-variables.conf"
# what tuned's cpu-partitioning profile writes itself (bootloader plugin: nohz_full, rcu_nocbs, isolcpus from
# no_balance_cores; systemd plugin: CPUAffinity)
TUNED_KERNEL_KEYS = ("isolcpus", "nohz_full", "rcu_nocbs")


# ---------------------------------------------------------------------------------------------
# small parsers

def kernel_arg_values(kernel_args):
    """{key: value} of the CPU isolation keys in a kernel_args list ('k=v', 'flag', {key, value})."""
    found = {}
    for arg in kernel_args or []:
        if isinstance(arg, dict):
            key, value = arg.get("key"), arg.get("value")
        else:
            key, _sep, value = str(arg).partition("=")
        if key in CPU_KERNEL_KEYS:
            found[key] = "" if value is None else str(value)
    return found


def isolcpus_cpus(value):
    """'managed_irq,domain,2-7' -> (['managed_irq', 'domain'], [2..7])."""
    parts = [p.strip() for p in str(value).split(",") if p.strip()]
    flags = [p for p in parts if p in ISOLCPUS_FLAGS]
    return flags, cpus_of(",".join(p for p in parts if p not in ISOLCPUS_FLAGS))


def _int_key(value):
    if isinstance(value, bool) or not re.fullmatch(r"\d+", str(value).strip(" \t")):
        raise BadValue(value)
    return int(str(value).strip(" \t"))


# ---------------------------------------------------------------------------------------------
# topology

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


# ---------------------------------------------------------------------------------------------
# the whole description

class Description:
    """What a layout is checked from: the host_cpu part, kernel args, OVS, guests, pools, DPDK NICs."""

    def __init__(self, cpu=None, kernel_args=None, ovs=None, vms=None, hugepages=None, dpdk_devices=None,
                 headroom_mb=0, prefix=""):
        self.cpu = cpu or {}
        self.kernel_args = kernel_args or []
        self.ovs = ovs or {}
        self.vms = vms or []
        self.hugepages = hugepages or []
        self.dpdk_devices = list(dpdk_devices or [])
        self.headroom_mb = headroom_mb or 0
        self.prefix = prefix

    def field(self, name):
        return self.prefix + name

    def bridge_devargs(self):
        """(bridge name, dpdk-devargs, vhost-server-paths) of every bridge in ovs.bridges."""
        result = []
        for bridge in self.ovs.get("bridges") or []:
            devargs, sockets = [], []
            for port in bridge.get("ports") or []:
                options = port.get("options") or {}
                if port.get("type") == "dpdk" and options.get("dpdk-devargs"):
                    devargs.append(str(options["dpdk-devargs"]).split(",", maxsplit=1)[0])
                if options.get("vhost-server-path"):
                    sockets.append(options["vhost-server-path"])
            result.append((bridge.get("name"), devargs, sockets))
        return result


class Resolver:
    """Derives the layout from a Description on a host and collects every conflict."""

    def __init__(self, desc, facts):
        self.desc = desc
        self.topo = Topology.from_facts(facts)
        self.nics = facts.get("nics") or []
        self.pools = (facts.get("hugepages") or {}).get("pools") or []
        self.conflicts = []

    def conflict(self, msg):
        if msg not in self.conflicts:
            self.conflicts.append(msg)

    # -- inputs ------------------------------------------------------------------------------
    def device_node(self, ref):
        """NUMA node of a PCI address or interface name from the host's NICs; None when unknown."""
        address = normalize_address(ref)
        for nic in self.nics:
            if nic.get("address") == address or ref in (nic.get("netdevs") or []):
                return nic.get("numa_node")
        return None

    def dpdk_nodes(self):
        """{node: [devices]} of the DPDK NICs whose node is known."""
        refs = list(self.desc.dpdk_devices)
        for _bridge, devargs, _sockets in self.desc.bridge_devargs():
            refs.extend(devargs)
        passed = set(normalize_address(nic.get("host")) for vm in self.desc.vms for nic in vm.get("nics") or []
                     if nic.get("type") == "vfio" and nic.get("host"))
        nodes = {}
        for ref in refs:
            if normalize_address(ref) in passed:
                continue  # a guest's passthrough device, not a NIC OVS polls
            node = self.device_node(ref)
            if node is not None:
                nodes.setdefault(node, [])
                if ref not in nodes[node]:
                    nodes[node].append(ref)
        return nodes

    def cpu_field(self, name, value, mask=False):
        """CPUs of one field, checked to exist and be online; None when the field is not set."""
        if value is None or value == "":
            return None
        try:
            cpus = mask_cpus(value) if mask else cpus_of(value)
        except BadValue:
            kind = "a non-zero hexadecimal CPU mask such as 0x6" if mask else "a CPU list like '2-3,8' or [2, 3, 8]"
            self.conflict("%s must be %s, got %r" % (self.desc.field(name), kind, value))
            return None
        missing = [c for c in cpus if c not in self.topo.present]
        offline = [c for c in cpus if c in self.topo.present and c not in self.topo.online]
        if missing:
            self.conflict("%s names CPUs %s that do not exist (this host has CPUs %s)"
                          % (self.desc.field(name), format_cpulist(missing), format_cpulist(self.topo.present)))
        if offline:
            self.conflict("%s names CPUs %s that are offline (online: %s)"
                          % (self.desc.field(name), format_cpulist(offline), format_cpulist(self.topo.online)))
        return cpus

    def node_counts(self, name, value, default_nodes):
        """An int (cores on each of default_nodes) or {node: cores} -> {node: cores}."""
        try:
            if isinstance(value, dict):
                counts = dict((_int_key(k), _int_key(v)) for k, v in value.items())
            else:
                counts = dict((node, _int_key(value)) for node in default_nodes)
        except BadValue:
            self.conflict("%s must be a number of cores per NUMA node or {node: cores}, got %r"
                          % (self.desc.field(name), value))
            return {}
        for node in sorted(counts):
            if node not in self.topo.nodes:
                self.conflict("%s names NUMA node %d, which this host does not have (nodes: %s)"
                              % (self.desc.field(name), node, ", ".join(str(n) for n in sorted(self.topo.nodes))))
                del counts[node]
        return counts

    # -- planning ----------------------------------------------------------------------------
    def allocate(self, name, counts, used):
        """Whole cores (every online sibling thread) per node, lowest free core first."""
        cpus = []
        for node in sorted(counts):
            free = [core for core in self.topo.cores(node) if not used.intersection(core)]
            if counts[node] > len(free):
                self.conflict("%s asks for %d core(s) on NUMA node %d, which has %d free (cores of node %d: %d)"
                              % (self.desc.field(name), counts[node], node, len(free), node,
                                 len(self.topo.cores(node))))
            for core in free[:counts[node]]:
                cpus.extend(core)
                used.update(core)
        return sorted(cpus)

    def plan_host_cpu(self, dpdk_nodes):
        """The derived sets from host_cpu: housekeeping, pmd, guests (None when host_cpu is empty)."""
        spec = self.desc.cpu
        if not spec:
            return None
        unknown = sorted(set(spec) - set(HOST_CPU_KEYS))
        if unknown:
            self.conflict("%s has unknown keys %s (known: %s)"
                          % (self.desc.field("cpu"), ", ".join(unknown), ", ".join(HOST_CPU_KEYS)))
        opts = dict(DEFAULTS, pmd_cores=1 if self.desc.ovs else 0)  # no OVS in the description: no PMD
        opts.update(dict((k, v) for k, v in spec.items() if v is not None))
        for flag in opts["isolcpus_flags"] or []:
            if flag not in ISOLCPUS_FLAGS:
                self.conflict("%s: %r is not an isolcpus flag (%s)"
                              % (self.desc.field("cpu.isolcpus_flags"), flag, ", ".join(ISOLCPUS_FLAGS)))
        opts["isolcpus_flags"] = [f for f in opts["isolcpus_flags"] or [] if f in ISOLCPUS_FLAGS]
        used = set()
        housekeeping = self.cpu_field("cpu.housekeeping_cpus", spec.get("housekeeping_cpus"))
        if housekeeping is None:
            counts = self.node_counts("cpu.housekeeping_cores", opts["housekeeping_cores"], sorted(self.topo.nodes))
            housekeeping = self.allocate("cpu.housekeeping_cores", counts, used)
        used.update(housekeeping)
        pmd = self.cpu_field("cpu.pmd_cpus", spec.get("pmd_cpus"))
        if pmd is None:
            nodes = sorted(dpdk_nodes) or [n for n in sorted(self.topo.nodes)
                                           if any(not used.intersection(c) for c in self.topo.cores(n))][:1]
            counts = self.node_counts("cpu.pmd_cores", opts["pmd_cores"], nodes)
            pmd = self.allocate("cpu.pmd_cores", counts, used)
        used.update(pmd)
        guests = self.cpu_field("cpu.guest_cpus", spec.get("guest_cpus"))
        if guests is None:
            guests = [c for c in self.topo.online if c not in used]
        if not housekeeping:
            self.conflict("%s leaves no housekeeping CPU for the kernel, systemd and OVS's own threads "
                          "(set cpu.housekeeping_cores or cpu.housekeeping_cpus)" % self.desc.field("cpu"))
        named = (("cpu.housekeeping", housekeeping), ("cpu.pmd", pmd), ("cpu.guest", guests))
        for i, (name_a, cpus_a) in enumerate(named):
            for name_b, cpus_b in named[i + 1:]:
                both = sorted(set(cpus_a) & set(cpus_b))
                if both:
                    self.conflict("%s CPUs and %s CPUs overlap on %s"
                                  % (self.desc.field(name_a), self.desc.field(name_b), format_cpulist(both)))
        return {"opts": opts, "housekeeping": housekeeping, "pmd": pmd, "guests": guests}

    def kernel_args_from(self, plan):
        opts, isolated = plan["opts"], sorted(set(plan["pmd"]) | set(plan["guests"]))
        if not isolated or not plan["housekeeping"]:
            return []
        args = []
        if opts["isolcpus"]:
            args.append("isolcpus=" + ",".join(list(opts["isolcpus_flags"] or []) + [format_cpulist(isolated)]))
        if opts["nohz_full"]:
            args.append("nohz_full=" + format_cpulist(isolated))
        if opts["rcu_nocbs"]:
            args.append("rcu_nocbs=" + format_cpulist(isolated))
        if opts["irqaffinity"]:
            args.append("irqaffinity=" + format_cpulist(plan["housekeeping"]))
        return args

    def tuned_from(self, plan, explicit):
        """tuned's cpu-partitioning profile instead of our isolation arguments and CPUAffinity drop-in: its
        variables (isolated_cores = PMD and guest CPUs; no_balance_cores the same when cpu.isolcpus, which
        makes tuned write isolcpus=) and the variables file. Explicit isolation arguments conflict with it."""
        opts = plan["opts"]
        isolated = sorted(set(plan["pmd"]) | set(plan["guests"]))
        both = [key for key in TUNED_KERNEL_KEYS if key in explicit]
        if both:
            self.conflict("%s sets %s, which %s (tuned's %s profile) writes itself through tuned's bootloader "
                          "plugin: drop %s from %s or set %s false"
                          % (self.desc.field("kernel_args"), ", ".join("%s=%s" % (k, explicit[k]) for k in both),
                             self.desc.field("cpu.tuned"), TUNED_PROFILE, ", ".join(both),
                             self.desc.field("kernel_args"), self.desc.field("cpu.tuned")))
        if not isolated:
            self.conflict("%s needs CPUs to isolate, but %s leaves no PMD or guest CPU (tuned's %s profile refuses "
                          "an empty isolated_cores)" % (self.desc.field("cpu.tuned"), self.desc.field("cpu"),
                                                        TUNED_PROFILE))
        variables = {"isolated_cores": format_cpulist(isolated),
                     "no_balance_cores": format_cpulist(isolated) if opts["isolcpus"] else ""}
        return dict(variables, profile=TUNED_PROFILE, variables_file=TUNED_VARIABLES,
                    variables_text=tuned_variables_text(variables))

    def guest_affinity(self, plan, vm, pool, index, node_hint):
        """Dedicated CPUs for a guest without cpu_affinity: whole cores from the guest pool of its node."""
        vcpus = vm.get("vcpus") or 1
        node = vm.get("numa_node")
        if node is None:
            node = node_hint
        nodes = [node] if node is not None else sorted(self.topo.nodes, key=lambda n: -len(pool.get(n, [])))
        for candidate in nodes:
            free = pool.get(candidate, [])
            if len(free) >= vcpus:
                chosen = []
                for core in sorted(set(self.topo.group_of[c] for c in free)):
                    if len(chosen) >= vcpus:
                        break
                    chosen.extend(c for c in core if c in free)
                pool[candidate] = [c for c in free if c not in chosen]
                return sorted(chosen)
        where = "NUMA node %d" % node if node is not None else "any NUMA node"
        self.conflict("%s needs %d CPU(s) from the guest pool of %s, which has %s left; give it cpu_affinity or "
                      "more guest CPUs in %s"
                      % (self.vm_field(vm, index, "vcpus"), vcpus, where,
                         format_cpulist([c for n in nodes for c in pool.get(n, [])]) or "none", self.desc.field("cpu")))
        return []

    def vm_pins(self, vm, index):
        """(pins, emulator CPUs) of a guest's explicit vcpu_pins and emulator_cpus; (None, None) without pins."""
        given = vm.get("vcpu_pins")
        if given in (None, []):
            if vm.get("emulator_cpus") not in (None, "", []):
                self.conflict("%s needs %s" % (self.vm_field(vm, index, "emulator_cpus"),
                                               self.vm_field(vm, index, "vcpu_pins")))
            return None, None
        name = vm.get("name") or str(index)
        if not isinstance(given, (list, tuple)):
            self.conflict("%s must be a list with one host CPU or CPU list per vCPU, got %r"
                          % (self.vm_field(vm, index, "vcpu_pins"), given))
            return [], []
        vcpus = vm.get("vcpus") or 1
        if len(given) != vcpus:
            self.conflict("%s has %d entries but %s is %s: give one host CPU (or CPU list) per vCPU"
                          % (self.vm_field(vm, index, "vcpu_pins"), len(given), self.vm_field(vm, index, "vcpus"),
                             vcpus))
        pins = [self.cpu_field("vms[%s].vcpu_pins[%d]" % (name, i), value) or [] for i, value in enumerate(given)]
        emulator = self.cpu_field("vms[%s].emulator_cpus" % name, vm.get("emulator_cpus")) or []
        return pins, emulator

    def check_emulator(self, vm, index, emulator, pmd):
        stray = sorted(set(emulator) & set(pmd))
        if stray:
            self.conflict("%s overlaps the PMD CPUs (ovs.pmd_cpu_mask / cpu.pmd) on %s"
                          % (self.vm_field(vm, index, "emulator_cpus"), format_cpulist(stray)))

    def vm_field(self, vm, index, name):
        return self.desc.field("vms[%s].%s" % (vm.get("name") or index, name))

    # -- the whole picture -------------------------------------------------------------------
    def resolve(self):
        desc, topo = self.desc, self.topo
        dpdk = self.dpdk_nodes()
        plan = self.plan_host_cpu(dpdk)

        pmd = self.cpu_field("ovs.pmd_cpu_mask", desc.ovs.get("pmd_cpu_mask"), mask=True)
        lcore = self.cpu_field("ovs.lcore_mask", desc.ovs.get("lcore_mask"), mask=True)
        if plan is not None:
            pmd = plan["pmd"] if pmd is None else pmd
            lcore = plan["housekeeping"] if lcore is None else lcore
        pmd, lcore = pmd or [], lcore or []
        housekeeping = plan["housekeeping"] if plan else []

        both = sorted(set(pmd) & set(lcore))
        if both:
            self.conflict("%s and %s overlap on CPUs %s: a PMD thread spins its CPU at 100%%"
                          % (desc.field("ovs.pmd_cpu_mask"), desc.field("ovs.lcore_mask"), format_cpulist(both)))
        self.check_pmd_placement(pmd, dpdk, plan)

        # kernel arguments: explicit ones win, derived ones fill in; with tuned, its profile writes them
        explicit = kernel_arg_values(desc.kernel_args)
        tuned = self.tuned_from(plan, explicit) if plan and plan["opts"]["tuned"] else None
        derived = self.kernel_args_from(plan) if plan and not tuned else []
        kernel_args = [a for a in derived if a.split("=", 1)[0] not in explicit]
        isolated = self.check_kernel_args(explicit, derived, pmd, housekeeping)

        # guests
        pool = {}
        if plan:
            for cpu in plan["guests"]:
                pool.setdefault(topo.node_of.get(cpu, 0), []).append(cpu)
        guest_pool = dict((n, list(c)) for n, c in pool.items())
        affinity, vcpu_pins, emulator_cpus = {}, {}, {}
        bridges = desc.bridge_devargs()
        for index, vm in enumerate(desc.vms):
            name = vm.get("name") or str(index)
            cpus = self.cpu_field("vms[%s].cpu_affinity" % name, vm.get("cpu_affinity"))
            pins, emulator = self.vm_pins(vm, index)
            nic_nodes = self.vm_nic_nodes(vm, index, bridges)
            if cpus is None and pins is None and plan is not None:
                hint = nic_nodes[0] if len(nic_nodes) == 1 else None
                cpus = self.guest_affinity(plan, vm, pool, index, hint)
                if cpus:
                    affinity[name] = format_cpulist(cpus)
                    pins, emulator = derived_pins(cpus, vm.get("vcpus") or 1, housekeeping, topo)
                    vcpu_pins[name] = [format_cpulist(p) for p in pins]
                    emulator_cpus[name] = format_cpulist(emulator)
            if pins is not None:  # vCPUs run on their pins; QEMU's other threads may use housekeeping CPUs
                cpus = sorted(set(c for p in pins for c in p))
                self.check_emulator(vm, index, emulator or [], pmd)
            self.check_vm(vm, index, cpus or [], nic_nodes, pmd, plan, isolated)

        self.check_budget(dpdk)
        return {
            "housekeeping": format_cpulist(housekeeping),
            "pmd_cpus": format_cpulist(pmd),
            "lcore_cpus": format_cpulist(lcore),
            "pmd_cpu_mask": cpu_mask(pmd) if pmd else None,
            "lcore_mask": cpu_mask(lcore) if lcore else None,
            "guest_cpus": format_cpulist(plan["guests"]) if plan else "",
            "guest_pool": dict((str(n), format_cpulist(c)) for n, c in sorted(guest_pool.items())),
            "kernel_args": kernel_args,
            "systemd_cpu_affinity": (format_cpulist(housekeeping) if plan and plan["opts"]["systemd_affinity"]
                                     and not tuned else ""),
            "tuned": tuned,
            "vm_cpu_affinity": affinity,
            "vm_vcpu_pins": vcpu_pins,
            "vm_emulator_cpus": emulator_cpus,
            "dpdk_nodes": sorted(dpdk),
        }

    def check_pmd_placement(self, pmd, dpdk, plan):
        desc, topo = self.desc, self.topo
        field = desc.field("ovs.pmd_cpu_mask") if desc.ovs.get("pmd_cpu_mask") else desc.field("cpu.pmd")
        for cpu in pmd:
            for sibling in topo.siblings(cpu):
                if sibling in pmd:
                    continue
                for name, others in (("cpu.housekeeping", plan["housekeeping"] if plan else []),
                                     ("cpu.guest", plan["guests"] if plan else [])):
                    if sibling in others:
                        self.conflict("%s CPU %d shares its core with CPU %d of %s: keep sibling threads together"
                                      % (field, cpu, sibling, desc.field(name)))
        if not dpdk or not pmd:
            return
        for node in topo.node_list(pmd):
            if node not in dpdk:
                self.conflict("%s puts PMD CPUs %s on NUMA node %d, where no DPDK NIC sits (DPDK NICs: %s)"
                              % (field, format_cpulist(c for c in pmd if topo.node_of.get(c) == node), node,
                                 "; ".join("node %d: %s" % (n, ", ".join(d)) for n, d in sorted(dpdk.items()))))
        for node, devices in sorted(dpdk.items()):
            if node not in topo.node_list(pmd):
                self.conflict("%s has no PMD CPU on NUMA node %d, where DPDK NICs %s sit: their queues would be "
                              "polled across nodes" % (field, node, ", ".join(devices)))

    def check_kernel_args(self, explicit, derived, pmd, housekeeping):
        """Explicit isolation arguments against the layout; returns the CPUs isolcpus will isolate."""
        desc, topo = self.desc, self.topo
        values = dict(a.split("=", 1) for a in derived)
        values.update(explicit)
        isolated = None
        for key in CPU_KERNEL_KEYS:
            if key not in explicit:
                continue
            try:
                cpus = isolcpus_cpus(explicit[key])[1] if key == "isolcpus" else cpus_of(explicit[key])
            except BadValue:
                self.conflict("%s %s=%s is not a CPU list" % (desc.field("kernel_args"), key, explicit[key]))
                continue
            self.cpu_field("kernel_args %s" % key, format_cpulist(cpus))
            if key == "irqaffinity":
                stray = sorted(set(cpus) & set(pmd))
                if stray:
                    self.conflict("%s irqaffinity=%s sends interrupts to PMD CPUs %s"
                                  % (desc.field("kernel_args"), explicit[key], format_cpulist(stray)))
                continue
            if set(topo.online) <= set(cpus):
                self.conflict("%s %s=%s covers every online CPU: nothing is left for housekeeping"
                              % (desc.field("kernel_args"), key, explicit[key]))
            if housekeeping and set(cpus) & set(housekeeping):
                self.conflict("%s %s=%s includes housekeeping CPUs %s of %s"
                              % (desc.field("kernel_args"), key, explicit[key],
                                 format_cpulist(set(cpus) & set(housekeeping)), desc.field("cpu")))
            if key == "isolcpus":
                isolated = cpus
                missing = [c for c in pmd if c not in cpus]
                if missing:
                    self.conflict("%s isolcpus=%s leaves PMD CPUs %s (ovs.pmd_cpu_mask) to the scheduler: "
                                  "add them to isolcpus" % (desc.field("kernel_args"), explicit[key],
                                                            format_cpulist(missing)))
        if isolated is None and "isolcpus" in values:
            isolated = isolcpus_cpus(values["isolcpus"])[1]
        return isolated

    def vm_nic_nodes(self, vm, index, bridges):
        """NUMA nodes of a guest's NICs: vfio devices, and the DPDK NICs on the bridge of a vhost-user socket."""
        nodes = set()
        for nic in vm.get("nics") or []:
            if nic.get("type") == "vfio" and nic.get("host"):
                node = self.device_node(nic["host"])
                if node is not None:
                    nodes.add(node)
            elif nic.get("type", "vhost-user") == "vhost-user" and nic.get("socket"):
                for _bridge, devargs, sockets in bridges:
                    if nic["socket"] in sockets:
                        nodes.update(n for n in (self.device_node(d) for d in devargs) if n is not None)
        return sorted(nodes)

    def check_vm(self, vm, index, cpus, nic_nodes, pmd, plan, isolated):
        desc, topo = self.desc, self.topo
        node = vm.get("numa_node")
        field = self.vm_field(vm, index, "vcpu_pins" if vm.get("vcpu_pins") else "cpu_affinity")
        if node is not None and node not in topo.nodes:
            self.conflict("%s is NUMA node %s, which this host does not have (nodes: %s)"
                          % (self.vm_field(vm, index, "numa_node"), node,
                             ", ".join(str(n) for n in sorted(topo.nodes))))
            return
        stray = sorted(set(cpus) & set(pmd))
        if stray:
            self.conflict("%s overlaps the PMD CPUs (ovs.pmd_cpu_mask / cpu.pmd) on %s"
                          % (field, format_cpulist(stray)))
        if plan is not None:
            outside = sorted(set(cpus) & set(plan["housekeeping"]))
            if outside:
                self.conflict("%s pins the guest to housekeeping CPUs %s of %s"
                              % (field, format_cpulist(outside), desc.field("cpu")))
        if isolated is not None:
            loose = [c for c in cpus if c not in isolated and c not in pmd]
            if loose and (vm.get("cpu_affinity") or vm.get("vcpu_pins")):
                self.conflict("%s pins the guest to CPUs %s that isolcpus does not isolate"
                              % (field, format_cpulist(loose)))
        cpu_nodes = topo.node_list(cpus)
        if node is not None:
            away = [c for c in cpus if topo.node_of.get(c) != node]
            if away:
                self.conflict("%s puts vCPUs on CPUs %s outside NUMA node %d, where %s binds the guest's memory"
                              % (field, format_cpulist(away), node, self.vm_field(vm, index, "numa_node")))
        home = [node] if node is not None else cpu_nodes
        for nic_node in nic_nodes:
            if len(home) == 1 and nic_node != home[0]:
                self.conflict("%s: the guest runs on NUMA node %d but its NIC (vfio host device or the DPDK NIC on "
                              "its vhost-user bridge) sits on node %d"
                              % (self.vm_field(vm, index, "nics"), home[0], nic_node))

    # -- hugepage budget ---------------------------------------------------------------------
    def capacity(self):
        """{size_kb: {node: pages}} the pools will hold: the description's, else the host's current ones.
        A pool without a node is spread over the nodes the way the kernel interleaves it."""
        nodes = sorted(self.topo.nodes)
        wanted = {}
        for pool in self.desc.hugepages:
            try:
                size = size_to_kb(pool.get("size", "2M"))
                count = int(pool.get("count", 0))
            except (TypeError, ValueError):
                continue  # the hugepages role's own checks name the field
            per_node = wanted.setdefault(size, {})
            if pool.get("node") is None:
                for i, node in enumerate(nodes):
                    per_node[node] = per_node.get(node, 0) + count // len(nodes) + (1 if i < count % len(nodes) else 0)
            else:
                per_node[int(pool["node"])] = per_node.get(int(pool["node"]), 0) + count
        current = {}
        for pool in self.pools:
            if pool.get("node") is not None:
                current.setdefault(pool["size_kb"], {})[pool["node"]] = pool.get("total") or 0
            elif len(nodes) == 1 or not any(p.get("node") is not None for p in self.pools):
                current.setdefault(pool["size_kb"], {}).setdefault(nodes[0], pool.get("total") or 0)
        for size, per_node in current.items():
            wanted.setdefault(size, per_node)
        return wanted

    def check_budget(self, dpdk):
        desc, topo = self.desc, self.topo
        capacity = self.capacity()
        need = {}  # (size_kb or None, node or None) -> [(MiB, who)]
        socket_mem = desc.ovs.get("socket_mem") or []
        if isinstance(socket_mem, (list, tuple)):
            for node, value in enumerate(socket_mem):
                try:
                    mb = int(value)
                except (TypeError, ValueError):
                    continue
                if mb:
                    need.setdefault((None, node), []).append((mb, desc.field("ovs.socket_mem[%d]" % node)))
        for index, vm in enumerate(desc.vms):
            if not vm.get("hugepages"):
                continue
            try:
                mb = parse_memory_mb(vm.get("memory", "1G"))
                size = size_to_kb((vm.get("hugepages") or {}).get("size") or "2M")
            except (TypeError, ValueError):
                continue  # qemu_vms' checks name the field
            node = vm.get("numa_node")
            if node is None and len(topo.nodes) == 1:
                node = next(iter(topo.nodes))  # one node: every guest is on it
            need.setdefault((size, node), []).append((mb, self.vm_field(vm, index, "memory")))
        if not need:
            return
        headroom = desc.headroom_mb
        for node in sorted(topo.nodes):
            have = sum(pages * size // 1024 for size, per_node in capacity.items() for n, pages in per_node.items()
                       if n == node)
            users = [(mb, who) for (size, n), items in need.items() if n == node for mb, who in items]
            if not users:
                continue
            total = sum(mb for mb, _who in users) + headroom
            if total > have:
                self.conflict("hugepages on NUMA node %d: %s%s need %d MiB but the pools (%s) hold %d MiB there"
                              % (node, " + ".join("%s %d MiB" % (who, mb) for mb, who in users),
                                 " + headroom %d MiB" % headroom if headroom else "", total,
                                 desc.field("hugepages") if desc.hugepages else "the host's current pools", have))
        everyone = [(mb, who) for items in need.values() for mb, who in items]
        have_all = sum(pages * size // 1024 for size, per_node in capacity.items() for pages in per_node.values())
        total = sum(mb for mb, _who in everyone) + headroom
        if any(node is None for _size, node in need) and total > have_all:
            self.conflict("hugepages in all: %s%s need %d MiB but the pools (%s) hold %d MiB"
                          % (" + ".join("%s %d MiB" % (who, mb) for mb, who in everyone),
                             " + headroom %d MiB" % headroom if headroom else "", total,
                             desc.field("hugepages") if desc.hugepages else "the host's current pools", have_all))
        for (size, node), items in sorted(need.items(), key=_need_order):
            if size is None:
                continue
            per_node = capacity.get(size, {})
            have_pages = per_node.get(node, 0) if node is not None else sum(per_node.values())
            want_mb = sum(mb for mb, _who in items)
            if node is None:
                want_mb += sum(mb for (s, n), more in need.items() if s == size and n is not None for mb, _w in more)
            if want_mb > have_pages * size // 1024:
                where = "on NUMA node %d" % node if node is not None else "in all"
                self.conflict("%s need %d MiB of %s pages %s, but the %s pools hold %d page(s) (%d MiB) there"
                              % (", ".join(who for _mb, who in items), want_mb, kb_to_label(size), where,
                                 kb_to_label(size), have_pages, have_pages * size // 1024))


def tuned_variables_text(variables):
    """/etc/tuned/cpu-partitioning-variables.conf for {isolated_cores, no_balance_cores}."""
    lines = ["# Managed by nfv.dpdk.host (host_cpu.tuned): the PMD and guest CPUs of host_cpu.",
             "# tuned's cpu-partitioning profile derives nohz_full, rcu_nocbs, systemd's CPUAffinity and the",
             "# IRQ and workqueue masks from isolated_cores; no_balance_cores becomes isolcpus=.",
             "isolated_cores=%s" % variables["isolated_cores"]]
    if variables.get("no_balance_cores"):
        lines.append("no_balance_cores=%s" % variables["no_balance_cores"])
    return "\n".join(lines) + "\n"


def tuned_activation(active_profile, variables_changed, profile=TUNED_PROFILE):
    """Why `tuned-adm profile` must run (a reason), or None: another active profile, or changed variables of the
    active one (tuned reads them when it loads the profile)."""
    active = (active_profile or "").strip()
    if active != profile:
        return "the active tuned profile is %s, not %s" % (active or "none", profile)
    if variables_changed:
        return "the variables of the active %s profile changed" % profile
    return None


# ---------------------------------------------------------------------------------------------
# after converge: where OVS really polls, where the guests really run

PMD_HEAD_RE = re.compile(r"pmd thread numa_id (\d+|-1) core_id (\d+):")
RXQ_RE = re.compile(r"port:\s*(\S+)\s+queue-id:\s*(\d+)(?:\s*\((enabled|disabled)\))?(?:\s+pmd usage:\s*(.*?))?\s*")


def derived_pins(cpus, vcpus, housekeeping, topo):
    """Per-vCPU pins from a guest's dedicated CPUs: vCPU i on the i-th CPU (sibling threads of a core on
    consecutive vCPUs; CPUs beyond vcpus of a whole core stay idle). QEMU's other threads (main loop, I/O,
    monitor) go to the housekeeping CPUs of the guest's node (all housekeeping CPUs when that node has none), so
    the dedicated CPUs run vCPUs only."""
    ordered = [c for core in sorted(set(topo.group_of.get(c, (c,)) for c in cpus)) for c in core if c in cpus]
    node = topo.node_of.get(ordered[0]) if ordered else None
    emulator = [c for c in housekeeping if topo.node_of.get(c) == node] or list(housekeeping)
    return [[c] for c in ordered[:vcpus]], sorted(emulator)


VCPU_THREAD_RE = re.compile(r"CPU (\d+)/[A-Za-z]+")


def vcpu_index(thread_name):
    """'CPU 1/KVM' or 'CPU 1/TCG' (QEMU's vCPU threads with debug-threads=on) -> 1; None for other threads."""
    match = VCPU_THREAD_RE.fullmatch((thread_name or "").strip())
    return int(match.group(1)) if match else None


def _need_order(item):
    """Hugepage demands by page size, node-less first."""
    size, node = item[0]
    return (size or 0, -1 if node is None else node)


def parse_pmd_rxq_show(text):
    """`ovs-appctl dpif-netdev/pmd-rxq-show` -> [{numa, core, isolated, rxqs: [{port, queue, enabled, usage}]}]."""
    pmds = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        head = PMD_HEAD_RE.fullmatch(line)
        if head:
            numa = int(head.group(1))
            pmds.append({"numa": numa if numa >= 0 else None, "core": int(head.group(2)), "isolated": False,
                         "rxqs": []})
            continue
        if not pmds:
            continue
        if line.startswith("isolated"):
            pmds[-1]["isolated"] = line.split(":", 1)[1].strip() == "true"
            continue
        rxq = RXQ_RE.fullmatch(line)
        if rxq:
            pmds[-1]["rxqs"].append({"port": rxq.group(1), "queue": int(rxq.group(2)),
                                     "enabled": rxq.group(3) != "disabled",
                                     "usage": (rxq.group(4) or "").strip() or None})
    return pmds


def rxq_conflicts(pmds, port_nodes):
    """Every enabled rxq polled by a PMD on another NUMA node than its port's ({port: node})."""
    found = []
    for pmd in pmds:
        for rxq in pmd["rxqs"]:
            node = port_nodes.get(rxq["port"])
            if rxq["enabled"] and node is not None and pmd["numa"] is not None and node != pmd["numa"]:
                found.append("port %s queue %d sits on NUMA node %d but is polled by the PMD on CPU %d of node %d "
                             "(ovs-appctl dpif-netdev/pmd-rxq-show): give node %d a PMD core"
                             % (rxq["port"], rxq["queue"], node, pmd["core"], pmd["numa"], node))
    return found


def guest_affinity_conflicts(name, threads, wanted, pmd, topo, node=None, names=None, vcpu_pins=None,
                             emulator=None):
    """A running guest's threads ({tid: cpus}) against its wanted CPUs, the PMD CPUs and its NUMA node;
    one message per finding, naming the threads it holds for.

    With vcpu_pins (one CPU list per vCPU) and the threads' names ({tid: 'CPU 0/KVM', ...}), each vCPU thread
    is checked against its own pin and every other thread against emulator (else wanted)."""
    findings = {}  # (kind, cpus, expected) -> [tids]
    vcpus = {}
    if vcpu_pins:
        for tid, thread_name in (names or {}).items():
            index = vcpu_index(thread_name)
            if index is not None:
                vcpus[str(tid)] = index
    others = (emulator or wanted) if vcpu_pins else wanted
    for tid, cpus in sorted(threads.items(), key=lambda item: int(item[0])):
        if cpus is None:
            continue
        index = vcpus.get(str(tid))
        if index is not None:
            expected = vcpu_pins[index] if index < len(vcpu_pins) else None
            if expected is None:
                findings.setdefault(("vcpu-extra", format_cpulist(cpus), index), []).append(tid)
            elif sorted(cpus) != sorted(expected):
                findings.setdefault(("vcpu", format_cpulist(cpus), index), []).append(tid)
        elif others and sorted(cpus) != sorted(others):
            findings.setdefault(("affinity", format_cpulist(cpus), None), []).append(tid)
        shared = sorted(set(cpus) & set(pmd))
        if shared:
            findings.setdefault(("pmd", format_cpulist(shared), None), []).append(tid)
        away = [c for c in cpus if node is not None and topo.node_of.get(c) not in (None, node)]
        if away and (index is not None or not vcpu_pins or not emulator):  # emulator threads may be off-node
            findings.setdefault(("node", format_cpulist(away), None), []).append(tid)
    if vcpu_pins:
        for index in range(len(vcpu_pins)):
            if index not in vcpus.values():
                findings.setdefault(("vcpu-missing", "", index), []).append("")
    found = []
    for (kind, cpus, index), tids in sorted(findings.items(), key=_finding_order):
        who = "guest %s thread%s %s" % (name, "s" if len(tids) > 1 else "", ",".join(tids))
        if kind == "affinity":
            found.append("%s run%s on CPUs %s, not its %s %s (restart the guest to apply it)"
                         % (who, "" if len(tids) > 1 else "s", cpus,
                            "emulator_cpus" if vcpu_pins and emulator else "cpu_affinity", format_cpulist(others)))
        elif kind == "vcpu":
            found.append("guest %s vCPU %d (thread %s) runs on CPUs %s, not its vcpu_pins[%d] %s (restart the guest "
                         "to pin it again)" % (name, index, ",".join(tids), cpus, index,
                                               format_cpulist(vcpu_pins[index])))
        elif kind == "vcpu-extra":
            found.append("guest %s vCPU %d (thread %s) has no vcpu_pins entry (it has %d): restart the guest"
                         % (name, index, ",".join(tids), len(vcpu_pins)))
        elif kind == "vcpu-missing":
            found.append("guest %s vCPU %d: no thread named 'CPU %d/...' (QEMU without debug-threads=on, or "
                         "fewer vCPUs running than vcpu_pins): its pin cannot be checked" % (name, index, index))
        elif kind == "pmd":
            found.append("%s may run on PMD CPUs %s" % (who, cpus))
        else:
            found.append("%s may run on CPUs %s outside its NUMA node %d" % (who, cpus, node))
    return found


def _finding_order(item):
    """Findings by their first thread id; vCPUs without a thread last."""
    tids = item[1]
    return (1, item[0][2]) if tids[0] == "" else (0, int(tids[0]))


def running_guest_conflicts(vm, guest, names, pmd, topo):
    """What the post-converge check finds for one running guest of the description: `guest` is
    {'pid', 'threads': {tid: cpus}}, `names` {tid: thread name}; vm the guest as nfv.dpdk.qemu_vm takes it."""
    pins = [cpus_of(p) for p in vm.get("vcpu_pins") or []]
    emulator = cpus_of(vm.get("emulator_cpus"))
    wanted = cpus_of(vm.get("cpu_affinity"))
    if pins and not wanted:  # qemu_vm's CPUAffinity=: the union of the pins and emulator CPUs
        wanted = sorted(set(c for p in pins for c in p) | set(emulator))
    return guest_affinity_conflicts(vm["name"], guest["threads"], wanted, pmd, topo, vm.get("numa_node"),
                                    names=names, vcpu_pins=pins or None, emulator=emulator or None)


def resolve(description, facts):
    """(layout, conflicts) of a Description on a host given by its facts."""
    resolver = Resolver(description, facts)
    layout = resolver.resolve()
    return layout, resolver.conflicts
