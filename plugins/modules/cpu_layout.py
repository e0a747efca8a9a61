#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cpu_layout
short_description: Derive and check the CPU and NUMA layout of a DPDK host description
version_added: "0.1.0"
description:
  - Reads the host's CPU topology (online and present CPUs, NUMA nodes, thread siblings), the NUMA node of its
    PCI NICs and its hugepage pools, and checks a whole host description against them before anything changes.
  - From O(cpu) it derives one consistent layout - housekeeping, PMD and guest CPUs in whole cores (sibling
    threads kept together) - and from it the kernel's C(isolcpus), C(nohz_full), C(rcu_nocbs) and
    C(irqaffinity) arguments, systemd's C(CPUAffinity), OVS's C(dpdk-lcore-mask) and C(pmd-cpu-mask) (PMDs
    on the NUMA nodes of the DPDK NICs) and dedicated CPUs for every guest of O(vms) without C(cpu_affinity) or
    C(vcpu_pins).
  - A guest that gets dedicated CPUs gets per-vCPU pins (nfv.dpdk.qemu_vm's C(vcpu_pins) and C(emulator_cpus)) -
    vCPU i on the i-th of its CPUs (sibling threads of a core on consecutive vCPUs; CPUs of a whole core beyond
    C(vcpus) stay idle) and QEMU's other threads (main loop, I/O, monitor) on the housekeeping CPUs of the
    guest's NUMA node (all housekeeping CPUs when that node has none), so its dedicated CPUs run vCPUs only.
  - Explicit values (O(ovs) masks, O(kernel_args), the C(cpu_affinity), C(vcpu_pins) and C(emulator_cpus) of a
    guest in O(vms)) win over the derived ones and are checked the same way - C(vcpu_pins) needs one entry per
    vCPU, vCPU pins may not be housekeeping or PMD CPUs, C(emulator_cpus) may be housekeeping CPUs but not PMD
    CPUs.
  - Fails listing every conflict, each naming its fields - CPUs that do not exist or are offline, overlaps of
    housekeeping, PMD, lcore and guest CPUs, a PMD core sharing its sibling thread, PMD CPUs on a node without
    a DPDK NIC or a DPDK NIC's node without a PMD, C(isolcpus) that leaves PMD or pinned guest CPUs out, a
    guest's vCPUs off the node of its memory or NIC, a guest NIC's C(mtu) above the MTU of the OVS port that
    serves its vhost-user socket (that port's C(mtu_request), else 1500), a guest with C(iommu) whose vhost-user
    NIC an OVS port without C(vhost-iommu-support) serves, and hugepage demand (OVS socket
    memory, every guest's memory, headroom) above the pools per NUMA node and page size.
  - Read only - it changes nothing on the host.
author:
  - nfv.dpdk contributors (@nfv-dpdk)
extends_documentation_fragment:
  - nfv.dpdk.attributes
  - nfv.dpdk.attributes.read_only
  - nfv.dpdk.common_options.ovs_db
attributes:
  check_mode:
    details: The module only reads; check mode gives the same answer.
options:
  cpu:
    description:
      - The CPU partition of the host. Empty or omitted derives nothing; the other options are still checked.
      - Cores are counted as whole cores (every online sibling thread), lowest free core of a node first.
    type: dict
    suboptions:
      housekeeping_cores:
        description:
          - Cores per NUMA node for the kernel, systemd, interrupts and OVS's non-PMD threads, as a number for
            every node or a dict of cores by node. Defaults to 1 per node.
        type: raw
      housekeeping_cpus:
        description: Explicit housekeeping CPUs (a cpulist like V(0,8) or a list); wins over O(cpu.housekeeping_cores).
        type: raw
      pmd_cores:
        description:
          - PMD cores per NUMA node that holds a DPDK NIC, as a number or a dict of cores by node. Defaults to 1, or
            to 0 when O(ovs) is empty.
          - When no DPDK NIC reports a NUMA node, a number goes to the lowest node with a free core.
        type: raw
      pmd_cpus:
        description: Explicit PMD CPUs (cpulist or list); wins over O(cpu.pmd_cores).
        type: raw
      guest_cpus:
        description: Explicit guest CPUs (cpulist or list). Defaults to every online CPU left.
        type: raw
      isolcpus:
        description: Derive C(isolcpus) for the PMD and guest CPUs.
        type: bool
        default: true
      isolcpus_flags:
        description: Flags written before the cpulist of C(isolcpus).
        type: list
        elements: str
        choices: [domain, managed_irq, nohz]
        default: [domain, managed_irq]
      nohz_full:
        description: Derive C(nohz_full) for the PMD and guest CPUs.
        type: bool
        default: true
      rcu_nocbs:
        description: Derive C(rcu_nocbs) for the PMD and guest CPUs.
        type: bool
        default: true
      irqaffinity:
        description: Derive C(irqaffinity) (the housekeeping CPUs).
        type: bool
        default: true
      systemd_affinity:
        description: Derive systemd's C(CPUAffinity) (the housekeeping CPUs).
        type: bool
        default: true
      tuned:
        description:
          - Isolate through tuned's C(cpu-partitioning) profile instead - RV(layout.tuned) gives its variables
            (C(isolated_cores) the PMD and guest CPUs, C(no_balance_cores) the same when O(cpu.isolcpus), which
            makes tuned write C(isolcpus=)), and then no kernel arguments and no systemd C(CPUAffinity) are derived,
            as the profile writes C(nohz_full), C(rcu_nocbs), C(isolcpus) (bootloader plugin) and C(CPUAffinity)
            (systemd plugin) itself. O(cpu.nohz_full), O(cpu.rcu_nocbs), O(cpu.irqaffinity),
            O(cpu.isolcpus_flags) and O(cpu.systemd_affinity) are then not used.
          - C(isolcpus), C(nohz_full) or C(rcu_nocbs) in O(kernel_args) conflict with it.
        type: bool
        default: false
  kernel_args:
    description:
      - Extra kernel parameters of the description (C(key=value), C(flag) or C({key, value})). Their
        C(isolcpus), C(nohz_full), C(rcu_nocbs) and C(irqaffinity) win over derived ones and are checked.
    type: list
    elements: raw
    default: []
  ovs:
    description:
      - The Open vSwitch part of the description - C(socket_mem), C(lcore_mask), C(pmd_cpu_mask) and
        C(bridges) are read (the C(dpdk-devargs) of C(dpdk) ports and of the members of bonds, C(interfaces) of
        type C(dpdk) unless given, are DPDK NICs; C(vhost-server-path) ties a guest's vhost-user NIC to its
        bridge), and C(vhost_iommu_support) (or C(other_config.vhost-iommu-support)). Other keys are ignored.
    type: dict
    default: {}
  vms:
    description:
      - Guests as nfv.dpdk.qemu_vm takes them - C(name), C(vcpus), C(memory), C(hugepages.size), C(numa_node),
        C(cpu_affinity), C(vcpu_pins), C(emulator_cpus), C(iommu) and C(nics) (C(vfio) C(host) devices,
        C(vhost-user) C(socket) and C(mtu)) are read.
    type: list
    elements: dict
    default: []
  hugepages:
    description:
      - Hugepage pools the description asks for (C(size), C(count), optional C(node)); they replace the host's
        current pools of that size in the budget. A pool without a node counts as spread evenly over the nodes.
    type: list
    elements: dict
    default: []
  dpdk_devices:
    description:
      - More DPDK NICs (PCI addresses or interface names) beside the C(dpdk) ports of O(ovs). Devices a guest
        takes with a C(vfio) NIC are not DPDK NICs.
    type: list
    elements: str
    default: []
  hugepage_headroom_mb:
    description: MiB of hugepages to keep free on every NUMA node that OVS or a guest uses.
    type: int
    default: 0
  field_prefix:
    description: Prefix of the field names in messages, such as V(host_) for the nfv.dpdk.host role's variables.
    type: str
    default: ""
  check_running:
    description:
      - Also check what runs now, after a converge - every enabled rx queue in
        C(ovs-appctl dpif-netdev/pmd-rxq-show) polled by a PMD of another NUMA node than its port (the port's
        C(status:numa_id) in OVSDB, else its PCI device's node), and the CPUs every thread of each running guest
        of O(vms) may use (C(Cpus_allowed_list) of /proc/PID/task/TID/status) against its C(cpu_affinity), the PMD
        CPUs and its C(numa_node).
      - For a guest with C(vcpu_pins), each vCPU thread (found by its name in /proc/PID/task/TID/comm, C(CPU N/KVM)
        or C(CPU N/TCG)) is checked against its own pin and every other thread against C(emulator_cpus) (else the
        unit's C(CPUAffinity)); a finding names the guest and the vCPU.
      - The Open vSwitch checked is the instance of O(ovs_db); C(ovs-appctl) talks to the C(ovs-vswitchd) of that
        socket's run directory.
      - What it finds is returned in RV(running) and as warnings; it does not fail the module.
    type: bool
    default: false
notes:
  - The derived layout takes effect through the modules that apply it (nfv.dpdk.kernel_cmdline, nfv.dpdk.ovs_config,
    nfv.dpdk.qemu_vm) and a systemd drop-in; the nfv.dpdk.host role wires them from O(cpu) (its C(host_cpu)).
seealso:
  - module: nfv.dpdk.host_facts
  - module: nfv.dpdk.kernel_cmdline
  - module: nfv.dpdk.ovs_config
  - module: nfv.dpdk.qemu_vm
"""

EXAMPLES = r"""
- name: One housekeeping core per node, two PMD cores on the node of each DPDK NIC, guests get the rest
  nfv.dpdk.cpu_layout:
    cpu:
      housekeeping_cores: 1
      pmd_cores: 2
    ovs:
      socket_mem: [1024, 1024]
      bridges:
        - name: br-phy
          ports:
            - {name: dpdk0, type: dpdk, options: {dpdk-devargs: "0000:03:00.0"}}
    vms:
      - {name: vm1, vcpus: 2, memory: 4G, hugepages: {size: 1G}, numa_node: 0}
  register: layout

- name: Show what the host will run
  ansible.builtin.debug:
    msg: >-
      kernel {{ layout.layout.kernel_args | join(' ') }}; pmd-cpu-mask {{ layout.layout.pmd_cpu_mask }};
      vm1 on CPUs {{ layout.layout.vm_cpu_affinity.vm1 }}, vCPU pins {{ layout.layout.vm_vcpu_pins.vm1 }}

- name: Only check explicit masks and pinning
  nfv.dpdk.cpu_layout:
    kernel_args: ["isolcpus=2-7"]
    ovs: {pmd_cpu_mask: "0xc", lcore_mask: "0x1"}
    vms:
      - {name: vm1, cpu_affinity: "4-5", numa_node: 0}
"""

RETURN = r"""
layout:
  description: The effective layout (explicit values where given, derived ones otherwise).
  returned: success
  type: dict
  contains:
    housekeeping:
      description: Housekeeping CPUs (cpulist); empty without O(cpu).
      type: str
      sample: "0,4,8,12"
    pmd_cpus:
      description: PMD CPUs (cpulist).
      type: str
      sample: "1,5,9,13"
    pmd_cpu_mask:
      description: OVS C(pmd-cpu-mask), or null when there are no PMD CPUs.
      type: str
      sample: "0x2222"
    lcore_cpus:
      description: CPUs of OVS's non-PMD threads (cpulist).
      type: str
      sample: "0,4,8,12"
    lcore_mask:
      description: OVS C(dpdk-lcore-mask), or null.
      type: str
      sample: "0x1111"
    guest_cpus:
      description: The guest CPUs of O(cpu) (cpulist).
      type: str
      sample: "2-3,6-7,10-11,14-15"
    guest_pool:
      description: Guest CPUs per NUMA node, before guests take theirs.
      type: dict
      sample: {"0": "2-3,10-11", "1": "6-7,14-15"}
    kernel_args:
      description: Derived kernel arguments whose key O(kernel_args) does not set.
      type: list
      elements: str
      sample: ["isolcpus=domain,managed_irq,1-3,5-7", "nohz_full=1-3,5-7", "rcu_nocbs=1-3,5-7", "irqaffinity=0,4"]
    systemd_cpu_affinity:
      description: systemd's C(CPUAffinity) (cpulist), empty when not derived.
      type: str
      sample: "0,4,8,12"
    vm_cpu_affinity:
      description:
        - Dedicated CPUs (cpulist) of each guest that gives no C(cpu_affinity) or C(vcpu_pins) - whole cores from
          the guest pool of its C(numa_node) (else of its NIC's node, else of the node with most free CPUs), at
          least C(vcpus) CPUs.
      type: dict
      sample: {"vm1": "2,10"}
    tuned:
      description:
        - With O(cpu.tuned), tuned's C(profile), the C(variables_file) and its C(variables_text), the variables
          C(isolated_cores) and C(no_balance_cores) (cpulists), the C(active_profile) now (/etc/tuned/active_profile,
          null when none) and C(activate), why C(tuned-adm profile) must run (another profile is active, or the
          variables file differs) or null when the profile is active with these variables; null without
          O(cpu.tuned).
      type: dict
      sample: {"profile": "cpu-partitioning", "variables_file": "/etc/tuned/cpu-partitioning-variables.conf",
               "isolated_cores": "1-3", "no_balance_cores": "1-3", "variables_text": "isolated_cores=1-3\n...",
               "active_profile": "balanced", "activate": "the active tuned profile is balanced, not cpu-partitioning"}
    vm_vcpu_pins:
      description: The per-vCPU pins derived for those guests, one cpulist per vCPU.
      type: dict
      sample: {"vm1": ["2", "10"]}
    vm_emulator_cpus:
      description: The CPUs derived for those guests' non-vCPU QEMU threads (cpulist) - housekeeping CPUs.
      type: dict
      sample: {"vm1": "0,8"}
    dpdk_nodes:
      description: NUMA nodes that hold a DPDK NIC.
      type: list
      elements: int
      sample: [0, 1]
vms:
  description: O(vms) with the derived C(vcpu_pins) and C(emulator_cpus) filled in where a guest gave no
    C(cpu_affinity) and no C(vcpu_pins).
  returned: success
  type: list
  elements: dict
running:
  description: With O(check_running), what runs now.
  returned: when O(check_running=true)
  type: dict
  contains:
    pmds:
      description: The PMD threads of C(pmd-rxq-show) with C(numa), C(core), C(isolated) and their C(rxqs)
        (C(port), C(queue), C(enabled), C(usage)).
      type: list
      elements: dict
      sample: [{"numa": 0, "core": 1, "isolated": false,
                "rxqs": [{"port": "vhu1", "queue": 0, "enabled": true, "usage": "NOT AVAIL"}]}]
    port_nodes:
      description: NUMA node of each OVS interface that has one.
      type: dict
      sample: {"dpdk0": 0}
    guests:
      description: Running guests with C(pid), C(threads) (thread id to the CPUs it may use) and C(vcpus) (thread
        id of each vCPU thread to its vCPU index).
      type: dict
      sample: {"vm1": {"pid": 4242, "threads": {"4242": [0], "4250": [2], "4251": [10]},
                       "vcpus": {"4250": 0, "4251": 1}}}
    conflicts:
      description: Rx queues polled across NUMA nodes and guest threads outside their CPUs, one message each.
      type: list
      elements: str
      sample: ["port dpdk1 queue 1 sits on NUMA node 1 but is polled by the PMD on CPU 1 of node 0
                (ovs-appctl dpif-netdev/pmd-rxq-show): give node 1 a PMD core"]
    notes:
      description: What could not be checked, and why.
      type: list
      elements: str
conflicts:
  description: Every conflict found; the module fails when there is one.
  returned: always
  type: list
  elements: str
  sample: ["host_ovs.pmd_cpu_mask puts PMD CPUs 5 on NUMA node 1, where no DPDK NIC sits (DPDK NICs: node 0:
            0000:03:00.0)"]
"""

from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import run_module
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpu_layout import ARGUMENT_SPEC, CpuLayout


def main():
    run_module(CpuLayout, ARGUMENT_SPEC)


if __name__ == "__main__":
    main()
