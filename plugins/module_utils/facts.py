# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Assembles host_facts from the per-domain readers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils import cpu_layout, hugepages, kernel, netdev, numa, pci
from ansible_collections.nfv.dpdk.plugins.module_utils.ovsdb import OvsDb


def nic_facts(fs, devices, addresses, management):
    """Network-class PCI devices with their interface state and management role."""
    routes = netdev.default_route_interfaces(fs)
    nics = []
    for device in devices:
        if not device["is_network"]:
            continue
        nic = dict((k, v) for k, v in device.items() if k not in ("is_network", "is_bridge"))
        names = device["netdevs"]
        nic["interface"] = names[0] if names else None
        link = netdev.read_link(fs, names[0]) if names else {}
        nic["operstate"] = link.get("operstate")
        nic["link"] = link.get("operstate") == "up" or (link.get("carrier") == 1)
        nic["mac"] = link.get("mac")
        nic["addresses"] = sorted(a for name in names for a in addresses.get(name, []))
        nic["default_route"] = any(name in routes for name in names)
        reasons = [management[name] for name in names if name in management]
        nic["connection"] = any(r.startswith("ansible connection") for r in reasons)
        nic["management"] = bool(reasons)
        nic["management_reason"] = "; ".join(reasons) or None
        nics.append(nic)
    return nics


def layout_facts(fs):
    """The part of the facts a CPU layout is checked against: CPUs, NUMA nodes, PCI devices, pools."""
    return {
        "cpu": kernel.read_cpu(fs),
        "numa": {"nodes": numa.read_nodes(fs)},
        "nics": [d for d in pci.read_devices(fs) if d["is_network"]],
        "hugepages": {"pools": hugepages.read_pools(fs)},
    }


def gather(fs, runner, connection_address=None, ovs_db=None):
    params = kernel.parse_cmdline(fs.read("/proc/cmdline", ""))
    addresses = netdev.read_addresses(runner)
    management = netdev.management_interfaces(fs, addresses, connection_address)
    nodes = numa.read_nodes(fs)
    default_kb = hugepages.default_size_kb(fs)
    cpu = kernel.read_cpu(fs)
    result = {
        "numa": {"available": bool(nodes), "nodes": nodes},
        "hugepages": {
            "sizes": [hugepages.kb_to_label(s) for s in hugepages.supported_sizes_kb(fs)],
            "default_size": hugepages.kb_to_label(default_kb) if default_kb else None,
            "pools": hugepages.read_pools(fs),
            "mounts": hugepages.read_mounts(fs),
        },
        "nics": nic_facts(fs, pci.read_devices(fs), addresses, management),
        "management_interfaces": sorted(management),
        "iommu": kernel.read_iommu(fs, params, cpu["vendor"]),
        "kernel": {"cmdline": fs.read("/proc/cmdline", ""), "params": params,
                   "release": fs.read("/proc/sys/kernel/osrelease")},
        "cpu": cpu,
        "kvm": {"device": kernel.kvm_available(fs)},
        "ovs": OvsDb(runner, db=ovs_db).facts(),
    }
    result["cpu_layout"] = cpu_layout.current_layout(result, params)
    return result
