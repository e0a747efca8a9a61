# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""facts_line: one readable line for a piece of nfv.dpdk host facts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: facts_line
short_description: One readable line for a piece of nfv.dpdk host facts
version_added: "0.1.0"
description:
  - Turns one NUMA node, hugepage pool, hugetlbfs mount, NIC or the OVS state from
    M(nfv.dpdk.host_facts) into a line for reports such as C(playbooks/facts.yml).
options:
  _input:
    description: The fact to describe.
    type: dict
    required: true
  kind:
    description: What the fact is.
    type: str
    required: true
    choices: [node, pool, mount, nic, ovs]
author:
  - nfv.dpdk contributors (@nfv-dpdk)
"""

EXAMPLES = r"""
- name: Print one line per NIC
  ansible.builtin.debug:
    msg: "{{ ansible_facts.nfv_dpdk.nics | map('nfv.dpdk.facts_line', 'nic') | list }}"
"""

RETURN = r"""
_value:
  description: The line.
  type: str
"""

from ansible.errors import AnsibleFilterError


def _node(node):
    mem = node.get("memory_total_kb")
    return "node %s: cpus %s, memory %s MiB" % (node["id"], node.get("cpulist") or "-",
                                                mem // 1024 if mem is not None else "?")


def _pool(pool):
    where = "system" if pool.get("node") is None else "node %s" % pool["node"]
    return "hugepages %s %s: total %s, free %s, surplus %s" % (
        pool["size"], where, pool.get("total"), pool.get("free"), pool.get("surplus"))


def _mount(mount):
    return "hugetlbfs %s: pagesize %s" % (mount["path"], mount.get("size") or "?")


def _nic(nic):
    role = " [management: %s]" % nic["management_reason"] if nic.get("management") else ""
    return "nic %s %s (%s): driver %s, iommu group %s, node %s, link %s%s" % (
        nic["address"], nic.get("interface") or "-", nic.get("vendor_device"), nic.get("driver") or "none",
        "-" if nic.get("iommu_group") is None else nic["iommu_group"],
        "-" if nic.get("numa_node") is None else nic["numa_node"],
        "up" if nic.get("link") else "down", role)


def _ovs(ovs):
    if not ovs.get("installed"):
        return "ovs: not installed"
    if not ovs.get("running"):
        return "ovs %s: not running (%s)" % (ovs.get("version"), ovs.get("error") or "no database")
    bridges = ", ".join("%s(%s: %s)" % (b["name"], b["datapath_type"], " ".join(b["ports"]))
                        for b in ovs.get("bridges", [])) or "none"
    return "ovs %s: dpdk %s, bridges %s" % (
        ovs.get("ovs_version") or ovs.get("version"),
        "initialized %s" % ovs.get("dpdk_version") if ovs.get("dpdk_initialized") else "not initialized",
        bridges)


KINDS = {"node": _node, "pool": _pool, "mount": _mount, "nic": _nic, "ovs": _ovs}


def facts_line(value, kind):
    if kind not in KINDS:
        raise AnsibleFilterError("facts_line: kind must be one of %s, not %r" % (", ".join(sorted(KINDS)), kind))
    try:
        return KINDS[kind](value)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("facts_line: %s is not a %s fact (%s)" % (value, kind, exc)) from exc


class FilterModule(object):
    def filters(self):
        return {"facts_line": facts_line}
