# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning and applying one runtime hugepage pool (one size, system wide or on one NUMA node).

The kernel may allocate fewer pages than asked (fragmentation, not enough free
memory) and still accept the write, so apply reads the pool back and, on a
shortfall, writes the previous count back before failing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hugepages import (
    kb_to_label,
    kb_to_text,
    pool_dir,
    read_pool,
    resolve_size,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.host.numa import NODE_ROOT, memory_total_kb, node_ids


def where(node):
    """'on node 1' or 'system wide': how messages name a pool."""
    return "system wide" if node is None else "on node %d" % node


def persistent(pool):
    """Pages the pool keeps: the kernel's total minus surplus (overcommitted) pages."""
    return (pool["total"] or 0) - (pool["surplus"] or 0)


def validate_pool_request(fs, size, count, node):
    """Check a request against the host; return the size in kB. Raises NfvError, reads only."""
    size_kb = resolve_size(fs, size)
    if isinstance(count, bool) or not isinstance(count, int):
        raise NfvError("count must be an integer >= 0, got %r" % (count,))
    if count < 0:
        raise NfvError("count must be an integer >= 0, got %d" % count)
    if node is not None:
        if isinstance(node, bool) or not isinstance(node, int) or node < 0:
            raise NfvError("node must be a NUMA node id (integer >= 0), got %r" % (node,))
        nodes = node_ids(fs)
        if not nodes:
            raise NfvError("node %d was given but this host exposes no NUMA nodes (%s is missing); "
                           "omit node to set the system-wide pool" % (node, NODE_ROOT))
        if node not in nodes:
            raise NfvError("NUMA node %d does not exist; this host has node(s): %s"
                           % (node, ", ".join(str(n) for n in nodes)), nodes=nodes)
        if not fs.isdir(pool_dir(size_kb, node)):
            raise NfvError("NUMA node %d has no %s hugepage pool (%s is missing)"
                           % (node, kb_to_label(size_kb), pool_dir(size_kb, node)))
    elif not fs.isdir(pool_dir(size_kb)):
        raise NfvError("the %s hugepage pool is missing (%s)" % (kb_to_label(size_kb), pool_dir(size_kb)))
    # the kernel takes such a count and allocates what it can: all free memory, until the shortfall
    # restore gives it back, with the host starved meanwhile
    memory_kb = memory_total_kb(fs, node)
    if memory_kb and count * size_kb > memory_kb:
        raise NfvError("count %d of %s pages is %s, more than %s has (MemTotal %s); nothing was changed"
                       % (count, kb_to_label(size_kb), kb_to_text(count * size_kb),
                          "this host" if node is None else "NUMA node %d" % node, kb_to_text(memory_kb)),
                       size=kb_to_label(size_kb), count=count, node=node, memory_total_kb=memory_kb)
    return size_kb


def plan_pool(pool, count):
    """The plan for one pool: its nr_hugepages from the current persistent count to `count`."""
    plan = Plan()
    plan.add_if_differs(pool_dir(pool["size_kb"], pool["node"]) + "/nr_hugepages", persistent(pool), count,
                        size_kb=pool["size_kb"], node=pool["node"])
    return plan


def write_count(fs, size_kb, node, count):
    fs.write(pool_dir(size_kb, node) + "/nr_hugepages", count)


def apply_pool(fs, size_kb, node, count, before, allow_shortfall=False):
    """Write `count`, read back. Returns (pool, warnings).

    A shortfall either fails (after writing `before` back) or, with
    allow_shortfall, is returned with a warning.
    """
    warnings = []
    label = kb_to_label(size_kb)
    try:
        write_count(fs, size_kb, node, count)
    except NfvError as exc:
        # some kernels refuse the write outright (ENOMEM): put back whatever it did allocate
        if persistent(read_pool(fs, size_kb, node)) != before:
            write_count(fs, size_kb, node, before)
        raise NfvError("setting %s pages %s to %d failed: %s" % (label, where(node), count, exc.msg),
                       **exc.details) from exc
    pool = read_pool(fs, size_kb, node)
    got = persistent(pool)
    if got < count:
        msg = "allocated %d of %d pages of %s %s" % (got, count, label, where(node))
        if allow_shortfall:
            warnings.append(msg + " (shortfall accepted: allow_shortfall is true)")
            return pool, warnings
        restore_error = None
        try:
            write_count(fs, size_kb, node, before)
        except NfvError as exc:
            restore_error = exc.msg
        restored = read_pool(fs, size_kb, node)
        if restore_error or persistent(restored) != before:
            msg += "; restoring the previous count %d left %d pages%s" % (
                before, persistent(restored), (": " + restore_error) if restore_error else "")
        else:
            msg += "; restored the previous count %d" % before
        raise NfvError(msg, size=label, node=node, requested=count, allocated=got, before=before,
                       after=persistent(restored), free=restored["free"])
    if pool["surplus"] and count < before:
        warnings.append("%d %s pages %s are in use beyond the new count and became surplus pages; the kernel "
                        "frees them when they are released" % (pool["surplus"], label, where(node)))
    return pool, warnings


class HugepagePool(PlannedModule):
    """nfv.dpdk.hugepage_pool: one runtime pool, read back after writing."""

    def validate(self):
        self.size_kb = validate_pool_request(self.fs, self.params["size"], self.params["count"],
                                             self.params["node"])
        self.node = self.params["node"]
        self.count = self.params["count"]
        self.label = kb_to_label(self.size_kb)
        self.diff_header = "%s hugepages %s" % (self.label, where(self.node))
        self.applied = None

    def read(self):
        return read_pool(self.fs, self.size_kb, self.node)

    def plan(self, current):
        return plan_pool(current, self.count)

    def apply(self, plan, current):
        self.applied, warnings = apply_pool(self.fs, self.size_kb, self.node, self.count,
                                            persistent(current), self.params["allow_shortfall"])
        for warning in warnings:
            self.warn(warning)

    def report(self, current, plan):
        before = persistent(current)
        if self.check_mode or not plan.changed:
            after_pool = current
            after = self.count
            # growing adds free pages; shrinking frees free pages first, pages in use become surplus
            free = max(0, current["free"] + self.count - before)
        else:
            after_pool = self.applied or read_pool(self.fs, self.size_kb, self.node)
            after = persistent(after_pool)
            free = after_pool["free"]
        result = {
            "size": self.label,
            "size_kb": self.size_kb,
            "node": self.node,
            "before": before,
            "after": after,
            "free": free,
            "pool": after_pool if not self.check_mode else current,
        }
        if self.applied is not None and after != self.count:
            result["changed"] = after != before
        return result
