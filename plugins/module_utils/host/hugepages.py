# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hugepage pools: sizes (and the memory sizes of guests), the system-wide and per-node counters,
hugetlbfs mounts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.numa import NODE_ROOT, node_ids

SYSTEM_ROOT = "/sys/kernel/mm/hugepages"
# patterns used with fullmatch: "$" also matches before a final newline ("2M\n")
POOL_DIR = re.compile(r"hugepages-(\d+)kB")
SIZE_TEXT = re.compile(r"[ \t]*(\d+)[ \t]*([kKmMgG])[iI]?[bB]?[ \t]*")  # spaces, not newlines
MEMORY_TEXT = re.compile(r"[ \t]*(\d+)[ \t]*([mMgGtT]?)(i?[bB])?[ \t]*")  # a guest's memory; MiB without a unit
UNIT_KB = {"k": 1, "m": 1024, "g": 1024 * 1024}
# counters present in both the system-wide and the per-node directories
COUNTERS = ("nr_hugepages", "free_hugepages", "surplus_hugepages")


def size_to_kb(text):
    """'2M', '1G', '2048kB', '1048576kB', '2MiB' -> size in kB; ValueError otherwise."""
    if isinstance(text, int):
        return text
    match = SIZE_TEXT.fullmatch(str(text))
    if not match:
        raise ValueError("not a page size: %r" % (text,))
    return int(match.group(1)) * UNIT_KB[match.group(2).lower()]


def kb_to_label(size_kb):
    """1048576 -> '1G', 2048 -> '2M', 64 -> '64K': the label users write."""
    for unit, factor in (("G", 1024 * 1024), ("M", 1024)):
        if size_kb % factor == 0:
            return "%d%s" % (size_kb // factor, unit)
    return "%dK" % size_kb


def kb_to_text(size_kb):
    """kB as a short size for messages: 4G, 768M, 31.4G, 64T (rounded where kb_to_label would be long)."""
    for unit, factor in (("T", 1 << 30), ("G", 1 << 20), ("M", 1 << 10)):
        if size_kb >= factor:
            value = size_kb / float(factor)
            return ("%d%s" % (value, unit)) if value == int(value) else ("%.1f%s" % (value, unit))
    return "%dK" % size_kb


def parse_memory_mb(text):
    """'256M', '4G', '4GiB', '1T', 2048 (MiB, QEMU's unit) -> MiB; ValueError otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = MEMORY_TEXT.fullmatch(str(text))
    if not match:
        raise ValueError("not a memory size: %r" % (text,))
    factor = {"": 1, "m": 1, "g": 1024, "t": 1024 * 1024}[match.group(2).lower()]
    return int(match.group(1)) * factor


def format_mb(mb):
    """MiB -> the shortest exact QEMU size: 4096 -> '4G', 768 -> '768M'."""
    if mb % 1024 == 0:
        return "%dG" % (mb // 1024)
    return "%dM" % mb


def supported_sizes_kb(fs):
    sizes = []
    for entry in fs.listdir(SYSTEM_ROOT):
        match = POOL_DIR.fullmatch(entry)
        if match:
            sizes.append(int(match.group(1)))
    return sorted(sizes)


def resolve_size(fs, text):
    """A user's size string to kB, failing with the list of sizes the host supports."""
    supported = supported_sizes_kb(fs)
    labels = ", ".join(kb_to_label(s) for s in supported) or "none (no hugetlb support)"
    try:
        size_kb = size_to_kb(text)
    except ValueError as exc:
        raise NfvError("hugepage size %r is not a size; this host supports: %s" % (text, labels),
                       supported_sizes=[kb_to_label(s) for s in supported]) from exc
    if size_kb not in supported:
        raise NfvError("hugepage size %s is not supported by this host; it supports: %s"
                       % (text, labels), supported_sizes=[kb_to_label(s) for s in supported])
    return size_kb


def pool_dir(size_kb, node=None):
    """sysfs directory of one pool: system wide (node None) or on one NUMA node."""
    if node is None:
        return "%s/hugepages-%dkB" % (SYSTEM_ROOT, size_kb)
    return "%s/node%d/hugepages/hugepages-%dkB" % (NODE_ROOT, node, size_kb)


def read_pool(fs, size_kb, node=None):
    base = pool_dir(size_kb, node)
    pool = {
        "size": kb_to_label(size_kb),
        "size_kb": size_kb,
        "node": node,
        "total": fs.read_int(base + "/nr_hugepages"),
        "free": fs.read_int(base + "/free_hugepages"),
        "surplus": fs.read_int(base + "/surplus_hugepages"),
    }
    if node is None:
        pool["reserved"] = fs.read_int(base + "/resv_hugepages")
        pool["overcommit"] = fs.read_int(base + "/nr_overcommit_hugepages")
    return pool


def read_pools(fs):
    """Every pool: one system-wide entry per size, then one per size and node."""
    sizes = supported_sizes_kb(fs)
    pools = [read_pool(fs, size) for size in sizes]
    for node in node_ids(fs):
        for size in sizes:
            if fs.isdir(pool_dir(size, node)):
                pools.append(read_pool(fs, size, node))
    return pools


def default_size_kb(fs):
    """Hugepagesize from /proc/meminfo (the default page size), or None."""
    for line in (fs.read("/proc/meminfo") or "").splitlines():
        if line.startswith("Hugepagesize:"):
            return int(line.split()[1])
    return None


def read_mounts(fs):
    """hugetlbfs mounts from /proc/mounts with their page size in kB."""
    mounts = []
    default = default_size_kb(fs)
    for line in (fs.read("/proc/mounts") or "").splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[2] != "hugetlbfs":
            continue
        options = dict((opt.split("=", 1) + [None])[:2] for opt in fields[3].split(","))
        pagesize = options.get("pagesize")
        size_kb = size_to_kb(pagesize) if pagesize else default
        mounts.append({"path": fields[1].replace("\\040", " "), "size": kb_to_label(size_kb) if size_kb else None,
                       "size_kb": size_kb, "options": fields[3]})
    return mounts
