# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a CPU layout is checked from (a Description: the host_cpu part, kernel args, OVS, guests, pools, DPDK
NICs) and the check of one Description on one host (a LayoutCheck: the host's topology, NICs and pools, the
conflicts found so far, and the readers of the description's CPU fields every check uses)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import BadValue, cpus_of, format_cpulist, mask_cpus
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.topology import Topology
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.other_config_keys import VHOST_IOMMU_KEY


def _int_key(value):
    if isinstance(value, bool) or not re.fullmatch(r"\d+", str(value).strip(" \t")):
        raise BadValue(value)
    return int(str(value).strip(" \t"))


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
        """(bridge name, dpdk-devargs, vhost-server-paths) of every bridge in ovs.bridges; the members of a bond
        count as the ports they are."""
        result = []
        for bridge in self.ovs.get("bridges") or []:
            devargs, sockets = [], []
            for kind, options in (i for port in bridge.get("ports") or [] for i in port_interfaces(port)):
                if kind == "dpdk" and options.get("dpdk-devargs"):
                    devargs.append(str(options["dpdk-devargs"]).split(",", maxsplit=1)[0])
                if options.get("vhost-server-path"):
                    sockets.append(options["vhost-server-path"])
            result.append((bridge.get("name"), devargs, sockets))
        return result

    def vhost_ports(self):
        """{vhost-server-path: (bridge, port, mtu_request or None)} of the vhost-user ports in ovs.bridges."""
        result = {}
        for bridge in self.ovs.get("bridges") or []:
            for port in bridge.get("ports") or []:
                path = (port.get("options") or {}).get("vhost-server-path") if isinstance(port, dict) else None
                if path:
                    result[path] = (bridge.get("name"), port.get("name"), port.get("mtu_request"))
        return result

    def vhost_iommu_support(self):
        """Whether the described Open vSwitch serves vhost-user ports with IOMMU support (host.ovs
        vhost_iommu_support, or that key of its other_config)."""
        value = self.ovs.get("vhost_iommu_support")
        if value is None:
            value = (self.ovs.get("other_config") or {}).get(VHOST_IOMMU_KEY)
        return value is True or str(value).lower() == "true"


def port_interfaces(port):
    """(type, options) of each interface of an ovs_bridge `ports` entry: a bond's members (a port with
    `interfaces`, each member of type dpdk unless it says otherwise), else the port itself."""
    if isinstance(port.get("interfaces"), list):
        return [(member.get("type") or "dpdk", member.get("options") or {})
                for member in port["interfaces"] if isinstance(member, dict)]
    return [(port.get("type"), port.get("options") or {})]


class LayoutCheck:
    """One Description on one host (given by its facts): the host's topology, NICs and hugepage pools, and every
    conflict found so far, each once."""

    def __init__(self, desc, facts):
        self.desc = desc
        self.topo = Topology.from_facts(facts)
        self.nics = facts.get("nics") or []
        self.pools = (facts.get("hugepages") or {}).get("pools") or []
        self.conflicts = []

    def conflict(self, msg):
        if msg not in self.conflicts:
            self.conflicts.append(msg)

    def vm_field(self, vm, index, name):
        """The name of a guest's field, as the operator spells it: vms[NAME].FIELD with the description's prefix."""
        return self.desc.field("vms[%s].%s" % (vm.get("name") or index, name))

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
