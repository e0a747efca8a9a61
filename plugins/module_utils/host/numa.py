# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NUMA nodes from /sys/devices/system/node: cpus and memory per node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import parse_cpulist

NODE_ROOT = "/sys/devices/system/node"
NODE_DIR = re.compile(r"node(\d+)")  # fullmatch: "$" also matches before a final newline


def node_ids(fs):
    """Ids of the NUMA nodes the kernel exposes; [] on a host without NUMA sysfs."""
    ids = []
    for entry in fs.listdir(NODE_ROOT):
        match = NODE_DIR.fullmatch(entry)
        if match:
            ids.append(int(match.group(1)))
    return sorted(ids)


def parse_node_meminfo(text):
    """'Node 0 MemTotal:   4810528 kB' lines to {'MemTotal': 4810528, ...} (kB)."""
    values = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "Node":
            values[parts[2].rstrip(":")] = int(parts[3])
    return values


def memory_total_kb(fs, node=None):
    """MemTotal in kB of the host (/proc/meminfo) or of one NUMA node; None when it cannot be read."""
    if node is None:
        for line in (fs.read("/proc/meminfo") or "").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
        return None
    return parse_node_meminfo(fs.read("%s/node%d/meminfo" % (NODE_ROOT, node))).get("MemTotal")


def read_nodes(fs):
    nodes = []
    for node in node_ids(fs):
        base = "%s/node%d" % (NODE_ROOT, node)
        meminfo = parse_node_meminfo(fs.read(base + "/meminfo"))
        cpulist = fs.read(base + "/cpulist", "")
        nodes.append({
            "id": node,
            "cpus": parse_cpulist(cpulist),
            "cpulist": cpulist,
            "memory_total_kb": meminfo.get("MemTotal"),
            "memory_free_kb": meminfo.get("MemFree"),
        })
    return nodes
