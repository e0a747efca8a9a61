# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After converge, what runs now against the layout: rx queues polled by a PMD on another NUMA node than their
port's, and guests' threads outside their CPUs, their vCPU pins or their NUMA node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import cpus_of, format_cpulist

VCPU_THREAD_RE = re.compile(r"CPU (\d+)/[A-Za-z]+")


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


def vcpu_index(thread_name):
    """'CPU 1/KVM' or 'CPU 1/TCG' (QEMU's vCPU threads with debug-threads=on) -> 1; None for other threads."""
    match = VCPU_THREAD_RE.fullmatch((thread_name or "").strip())
    return int(match.group(1)) if match else None


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
