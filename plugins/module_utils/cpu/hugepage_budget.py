# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hugepage budget of a description: what OVS's socket-mem and the hugepage-backed guests need, per NUMA
node and page size, against what the pools will hold (the description's pools, else the host's current ones)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.host.hugepages import kb_to_label, parse_memory_mb, size_to_kb


def pool_capacity(check):
    """{size_kb: {node: pages}} the pools will hold: the description's, else the host's current ones.
    A pool without a node is spread over the nodes the way the kernel interleaves it."""
    nodes = sorted(check.topo.nodes)
    wanted = {}
    for pool in check.desc.hugepages:
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
    for pool in check.pools:
        if pool.get("node") is not None:
            current.setdefault(pool["size_kb"], {})[pool["node"]] = pool.get("total") or 0
        elif len(nodes) == 1 or not any(p.get("node") is not None for p in check.pools):
            current.setdefault(pool["size_kb"], {}).setdefault(nodes[0], pool.get("total") or 0)
    for size, per_node in current.items():
        wanted.setdefault(size, per_node)
    return wanted


def hugepage_needs(check):
    """{(size_kb or None, node or None): [(MiB, who)]}: OVS's socket-mem per node (any page size) and each
    hugepage-backed guest's memory in its page size, on its node (None: not bound to one)."""
    desc, topo = check.desc, check.topo
    need = {}
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
        need.setdefault((size, node), []).append((mb, check.vm_field(vm, index, "memory")))
    return need


def check_budget(check):
    """A conflict for each node, for the whole host and for each page size whose pools cannot hold what needs
    them (plus the description's headroom)."""
    desc, topo = check.desc, check.topo
    need = hugepage_needs(check)
    if not need:
        return
    capacity = pool_capacity(check)
    headroom = desc.headroom_mb
    for node in sorted(topo.nodes):
        have = sum(pages * size // 1024 for size, per_node in capacity.items() for n, pages in per_node.items()
                   if n == node)
        users = [(mb, who) for (size, n), items in need.items() if n == node for mb, who in items]
        if not users:
            continue
        total = sum(mb for mb, _who in users) + headroom
        if total > have:
            check.conflict("hugepages on NUMA node %d: %s%s need %d MiB but the pools (%s) hold %d MiB there"
                           % (node, " + ".join("%s %d MiB" % (who, mb) for mb, who in users),
                              " + headroom %d MiB" % headroom if headroom else "", total,
                              desc.field("hugepages") if desc.hugepages else "the host's current pools", have))
    everyone = [(mb, who) for items in need.values() for mb, who in items]
    have_all = sum(pages * size // 1024 for size, per_node in capacity.items() for pages in per_node.values())
    total = sum(mb for mb, _who in everyone) + headroom
    if any(node is None for _size, node in need) and total > have_all:
        check.conflict("hugepages in all: %s%s need %d MiB but the pools (%s) hold %d MiB"
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
            check.conflict("%s need %d MiB of %s pages %s, but the %s pools hold %d page(s) (%d MiB) there"
                           % (", ".join(who for _mb, who in items), want_mb, kb_to_label(size), where,
                              kb_to_label(size), have_pages, have_pages * size // 1024))


def _need_order(item):
    """Hugepage demands by page size, node-less first."""
    size, node = item[0]
    return (size or 0, -1 if node is None else node)
