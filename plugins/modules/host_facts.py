#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_facts
short_description: Report what a host offers for DPDK virtualization
version_added: "0.1.0"
description:
  - Reads NUMA nodes, hugepage pools per size and node, PCI network devices, IOMMU state, the kernel
    command line, relevant CPU flags, the CPU layout (thread siblings, isolated CPUs, systemd's and OVS's
    CPUs) and Open vSwitch/DPDK state (bridges, their ports and bonds with the bonds' members and LACP state).
  - Read only. Works on hosts without NUMA sysfs, without an IOMMU and without Open vSwitch.
  - Facts are lists of objects with stable keys so that later tasks select from them with
    the C(nfv.dpdk.jmespath) filter or C(selectattr).
  - Results are returned as C(ansible_facts.nfv_dpdk).
author:
  - nfv.dpdk contributors (@nfv-dpdk)
extends_documentation_fragment:
  - nfv.dpdk.attributes
  - nfv.dpdk.attributes.read_only
  - nfv.dpdk.attributes.facts
  - nfv.dpdk.common_options.connection_address
  - nfv.dpdk.common_options.ovs_db
attributes:
  check_mode:
    details: The module only reads.
notes:
  - Hugepage C(total), C(free) and C(surplus) are the kernel's own counters from
    C(/sys/kernel/mm/hugepages) and C(/sys/devices/system/node/node*/hugepages).
  - A NIC is C(management) when one of its interfaces, or a bridge, bond or VLAN stacked on it,
    holds a default route (in any routing table, VRFs included, read with C(ip route show table all))
    or the connection address, or when it is a port of an Open vSwitch bridge (or of a bridge patched to it)
    whose internal port holds one of them.
seealso:
  - module: nfv.dpdk.hugepage_pool
  - module: nfv.dpdk.pci_driver
  - module: nfv.dpdk.cpu_layout
"""

EXAMPLES = r"""
- name: Gather DPDK host facts
  nfv.dpdk.host_facts:

# Common selections with the nfv.dpdk.jmespath filter (or the same with
# selectattr/rejectattr):
#   NICs on NUMA node 0 that carry no management traffic:
#     nfv_dpdk.nics[?numa_node==`0` && !management].address
#   Intel NICs (vendor 8086) not yet bound to vfio-pci:
#     nfv_dpdk.nics[?vendor=='8086' && driver!='vfio-pci'].address
#   Free 1G pages on node 1:
#     nfv_dpdk.hugepages.pools[?size=='1G' && node==`1`].free | [0]
#   System-wide 2M pool:
#     nfv_dpdk.hugepages.pools[?size=='2M' && node==null] | [0]
#   CPUs of node 0:  nfv_dpdk.numa.nodes[?id==`0`].cpus | [0]
#   CPUs OVS polls with now:  nfv_dpdk.cpu_layout.pmd_cpus
#   Names of netdev (DPDK) bridges:  nfv_dpdk.ovs.bridges[?datapath_type=='netdev'].name
#   Members of LACP bonds whose LACP is not negotiated:
#     nfv_dpdk.ovs.bridges[].bonds[] | [?lacp!='off' && !lacp_negotiated].members[].name

- name: NICs on node 0 that do not carry management traffic
  ansible.builtin.set_fact:
    dpdk_candidates: >-
      {{ ansible_facts.nfv_dpdk.nics
         | selectattr('numa_node', 'equalto', 0)
         | rejectattr('management')
         | map(attribute='address') | list }}

- name: Fail early when the host cannot do 1G pages
  ansible.builtin.assert:
    that: "'pdpe1gb' in ansible_facts.nfv_dpdk.cpu.flags"
    fail_msg: This CPU has no 1G page support (pdpe1gb)

- name: Read a private OVS instance
  nfv.dpdk.host_facts:
    ovs_db: unix:/tmp/ovs/db.sock
"""

RETURN = r"""
ansible_facts:
  description: Facts under the key C(nfv_dpdk).
  returned: always
  type: complex
  contains:
    nfv_dpdk:
      description: What the host offers.
      type: dict
      returned: always
      contains:
        os:
          description: What C(/etc/os-release) says (C(id), C(version_id), C(codename), C(pretty_name)),
            C(debian_version) from C(/etc/debian_version), and C(release), the supported release this is
            (C(Debian 12 (bookworm)), C(Debian 13 (trixie))) or null. The roles choose package names and
            sources from it (filter P(nfv.dpdk.release#filter)).
          type: dict
          sample: {"id": "debian", "version_id": "13", "codename": "trixie",
                   "pretty_name": "Debian GNU/Linux 13 (trixie)", "debian_version": "13.2",
                   "release": "Debian 13 (trixie)"}
        packages:
          description: The installed Debian packages the roles install (Open vSwitch, DPDK libraries, QEMU, tuned,
            python3-apt), name to version, from dpkg's database; the roles install only what is missing from it.
          type: dict
          sample: {"openvswitch-switch-dpdk": "3.5.0-1", "qemu-system-x86": "1:10.0.2+ds-1"}
        numa:
          description: C(available) is false on hosts without NUMA sysfs; C(nodes) lists
            C(id), C(cpus), C(cpulist), C(memory_total_kb), C(memory_free_kb).
          type: dict
          sample: {"available": true, "nodes": [{"id": 0, "cpus": [0, 1], "cpulist": "0-1",
                   "memory_total_kb": 4810528, "memory_free_kb": 3527476}]}
        hugepages:
          description: Supported C(sizes), the C(default_size), C(pools) (one per size system wide with
            C(node=null), then one per size and node) with C(total), C(free), C(surplus), and hugetlbfs
            C(mounts).
          type: dict
          sample: {"sizes": ["2M", "1G"], "default_size": "2M",
                   "pools": [{"size": "2M", "size_kb": 2048, "node": null, "total": 0, "free": 0,
                              "surplus": 0, "reserved": 0, "overcommit": 0}],
                   "mounts": [{"path": "/dev/hugepages", "size": "2M", "size_kb": 2048,
                               "options": "rw,relatime,pagesize=2M"}]}
        nics:
          description: PCI network devices with C(address), C(vendor), C(device), C(vendor_device),
            C(class), C(driver), C(driver_override), C(numa_node) (null without NUMA), C(iommu_group)
            (null without IOMMU), C(netdevs), C(interface), C(operstate), C(link), C(mac),
            C(addresses), C(default_route), C(connection), C(management), C(management_reason),
            and for SR-IOV C(sriov_totalvfs) and C(sriov_numvfs) (null for devices without SR-IOV), on a PF
            C(vfs) (its VFs' addresses in VF-index order), on a VF C(physfn) (its PF's address) and C(vf_index).
          type: list
          elements: dict
        management_interfaces:
          description: Interfaces that carry the default route or the connection address, with the
            devices they are stacked on.
          type: list
          elements: str
        iommu:
          description: C(enabled) (IOMMU groups exist), C(hardware) (C(intel) when the firmware has an
            ACPI DMAR table, C(amd) for an IVRS table, null for neither), C(on_arg) (the argument that
            turns it on, C(intel_iommu=on) or C(amd_iommu=on), chosen by C(hardware), else by CPU vendor),
            C(groups), C(units), IOMMU C(cmdline) arguments, C(vfio_noiommu), C(vfio_loaded).
          type: dict
        kernel:
          description: C(cmdline) as in /proc/cmdline, C(params) as an ordered list of C(key)/C(value),
            and the C(release).
          type: dict
        cpu:
          description: C(vendor), the DPDK-relevant C(flags) present (pdpe1gb, sse4_2, ...), the C(online),
            C(present), C(isolated) and C(nohz_full) CPU lists, C(siblings) (the thread sibling groups of the
            online CPUs) and C(init_affinity) (the CPUs PID 1 may run on, systemd's C(CPUAffinity)).
          type: dict
        cpu_layout:
          description:
            - The CPU layout the host runs now, in the terms of nfv.dpdk.cpu_layout.
            - C(online), C(present), C(nodes) (C(id), C(cpus), C(cpulist)), C(siblings), C(smt) (some core
              has more than one online thread), C(isolated) and C(nohz_full) as the kernel applies them,
              C(kernel_args) (the C(isolcpus), C(nohz_full), C(rcu_nocbs), C(irqaffinity) values of
              /proc/cmdline), C(systemd_cpu_affinity) (PID 1's CPUs), and C(pmd_cpus) and C(lcore_cpus)
              from OVS's C(pmd-cpu-mask) and C(dpdk-lcore-mask) (null when unset or OVS is not running).
          type: dict
          sample: {"online": [0, 1, 2, 3], "present": [0, 1, 2, 3],
                   "nodes": [{"id": 0, "cpus": [0, 1], "cpulist": "0-1"}, {"id": 1, "cpus": [2, 3], "cpulist": "2-3"}],
                   "siblings": [[0], [1], [2], [3]], "smt": false, "isolated": [1, 2, 3], "nohz_full": [1, 2, 3],
                   "kernel_args": {"isolcpus": "domain,managed_irq,1-3", "irqaffinity": "0"},
                   "systemd_cpu_affinity": [0], "pmd_cpus": [2], "lcore_cpus": [0]}
        kvm:
          description: C(device) is true when /dev/kvm exists (it may still be unusable).
          type: dict
        ovs:
          description:
            - C(installed), C(running), C(version), and when running C(dpdk_initialized),
              C(dpdk_version), C(other_config) and C(bridges) (C(name), C(datapath_type), C(ports), C(bonds)),
              read in one C(ovs-vsctl) call.
            - C(bonds) lists the bridge's ports with more than one interface, by name, each with C(name),
              C(bond_mode) (C(active-backup) when unset, OVS's default), C(lacp) (C(active), C(passive) or
              C(off); C(off) when unset), C(lacp_negotiated) (true when a member's C(lacp_current) is true),
              C(active_member) (the member whose MAC is the Port's C(bond_active_slave), else null) and
              C(members) by name (C(name), C(type) (C(system) when OVS's is empty), C(link_state), C(lacp_current)
              (true, false or null when OVS runs no LACP on it) and C(dpdk_devargs) (null without one)).
          type: dict
          sample: {"installed": true, "running": true, "version": "3.5.0", "ovs_version": "3.5.0",
                   "dpdk_initialized": true, "dpdk_version": "DPDK 24.11.1", "other_config": {"dpdk-init": "true"},
                   "bridges": [{"name": "br-phy", "datapath_type": "netdev", "ports": ["br-phy", "dpdkbond0"],
                                "bonds": [{"name": "dpdkbond0", "bond_mode": "balance-tcp", "lacp": "active",
                                           "lacp_negotiated": true, "active_member": "dpdk0",
                                           "members": [{"name": "dpdk0", "type": "dpdk", "link_state": "up",
                                                        "lacp_current": true, "dpdk_devargs": "0000:03:00.0"},
                                                       {"name": "dpdk1", "type": "dpdk", "link_state": "up",
                                                        "lacp_current": true, "dpdk_devargs": "0000:03:00.1"}]}]}]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfv.dpdk.plugins.module_utils.core.common_options import CONNECTION_ADDRESS, OVS_DB, merged
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.fields import refuse_control_characters
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import Runner
from ansible_collections.nfv.dpdk.plugins.module_utils.host.facts import gather
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.host.netdev import connection_address, resolve_connection_address

ARGUMENT_SPEC = merged({}, CONNECTION_ADDRESS, OVS_DB)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    given = module.params["connection_address"]
    try:
        refuse_control_characters(module.params)
        address = resolve_connection_address(given) if given else connection_address()
        facts = gather(HostFS(), Runner(module), connection_address=address,
                       ovs_db=module.params["ovs_db"])
    except NfvError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(changed=False, ansible_facts={"nfv_dpdk": facts})


if __name__ == "__main__":
    main()
