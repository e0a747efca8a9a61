# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The memory a kernel command line reserves at boot (hugepages), and the budget it must fit in.

`reservation(params)` reads `default_hugepagesz`, `hugepagesz` and `hugepages` the way the kernel does
(mm/hugetlb.c): each `hugepages=` belongs to the size word before it (`hugepagesz=S`, or
`default_hugepagesz=S`, which adds that size too); one before any size word is for the default size
(`default_hugepagesz` wherever it is on the line, else 2M, x86_64's). The per-node form
`hugepages=0:4,1:4` reserves on those nodes. A word the kernel ignores is a problem, named with the
words involved; where the kernel would take one of two counts, the larger one is counted.

`check(reservation, memory, reserve)`: the whole reservation fits in MemTotal minus the reserve, each
node's in the node's MemTotal minus its share of the reserve (in proportion to its memory); every size
is one the host offers and every node one it has. `judge(before, after, ...)` decides what a run that
takes the next boot's line from one to the other may do: refuse, or go ahead with warnings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.boot.kernel_params import format_param as word
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hugepages import kb_to_label, kb_to_text, supported_sizes_kb
from ansible_collections.nfv.dpdk.plugins.module_utils.host.numa import memory_total_kb, node_ids

RESERVATION_KEYS = ("default_hugepagesz", "hugepagesz", "hugepages")
DEFAULT_SIZE_KB = 2048  # the kernel's default hugepage size on x86_64 without default_hugepagesz
# fullmatch: "$" also matches before a final newline
PAGE_SIZE_TEXT = re.compile(r"(\d+)(?:([kKmMgGtT])(?:i?[bB])?)?")  # the kernel's memparse: bytes without a unit
COUNT_TEXT = re.compile(r"\d+")
NODE_COUNT_TEXT = re.compile(r"(\d+):(\d+)")
RESERVE_TEXT = re.compile(r"[ \t]*(\d+(?:\.\d+)?)[ \t]*%[ \t]*")
UNIT_KB = {"k": 1, "m": 1 << 10, "g": 1 << 20, "t": 1 << 30}
SKIPPED = "skipped"  # after a size word the kernel ignores: the next hugepages= is ignored too


def page_size_kb(text):
    """'2M', '1G', '2048kB', '1GiB', '2097152' (bytes) -> kB; ValueError for anything else (the kernel would
    ignore it)."""
    match = PAGE_SIZE_TEXT.fullmatch(text or "")
    if not match or int(match.group(1)) == 0 or (match.group(2) is None and int(match.group(1)) % 1024):
        raise ValueError(text)
    if match.group(2) is None:
        return int(match.group(1)) // 1024
    return int(match.group(1)) * UNIT_KB[match.group(2).lower()]


def page_count(text):
    """'4' -> (4, None); '0:4,1:2' -> (6, {0: 4, 1: 2}); ValueError otherwise."""
    if COUNT_TEXT.fullmatch(text or ""):
        return int(text), None
    nodes = {}
    for part in (text or "").split(","):
        match = NODE_COUNT_TEXT.fullmatch(part)
        if not match or int(match.group(1)) in nodes:
            raise ValueError(text)
        nodes[int(match.group(1))] = int(match.group(2))
    return sum(nodes.values()), nodes


class Reservation:
    """Pools in command-line order, each {'size_kb', 'count', 'nodes' (None or {node: count}), 'words'},
    and problems, each {'msg', 'words'} (words as (key, value) pairs)."""

    def __init__(self):
        self.pools = []
        self.problems = []

    def problem(self, msg, *words):
        self.problems.append({"msg": msg, "words": list(words)})

    @property
    def total_kb(self):
        return sum(p["size_kb"] * p["count"] for p in self.pools)

    def node_kb(self):
        """{node: kB} of the per-node counts."""
        nodes = {}
        for pool in self.pools:
            for node, count in (pool["nodes"] or {}).items():
                nodes[node] = nodes.get(node, 0) + pool["size_kb"] * count
        return nodes

    def words(self):
        return " ".join(word(w) for p in self.pools for w in p["words"])

    def add(self, size_kb, count, nodes, words):
        for pool in self.pools:
            if pool["size_kb"] == size_kb:
                self.problem("%s is a second count for the %s pages (after %s): the kernel takes only one of them"
                             % (word(words[-1]), kb_to_label(size_kb), word(pool["words"][-1])), *words)
                if size_kb * count > pool["size_kb"] * pool["count"]:
                    pool.update(count=count, nodes=nodes, words=words)
                return
        self.pools.append({"size_kb": size_kb, "count": count, "nodes": nodes, "words": words})


def reservation(params):
    """The hugepages a command line ([(key, value)]) reserves at boot."""
    result = Reservation()
    default = None  # the size of default_hugepagesz
    current = None  # the size the next hugepages= is for: None before any size word, or SKIPPED
    size_word = None
    sized = set()  # sizes given by hugepagesz=
    counted = []  # (size or None for the default size, count, nodes, words), in order
    for param in params:
        key, value = param
        if key not in RESERVATION_KEYS:
            continue
        if key == "hugepages":
            count_word(result, param, current, size_word, counted)
            continue
        try:
            size = page_size_kb(value)
        except ValueError:
            result.problem("%s is not a page size (2M, 1G): the kernel ignores it and the hugepages= after it"
                           % word(param), param)
            current, size_word = SKIPPED, param
            continue
        if key == "default_hugepagesz":
            if default is not None:
                result.problem("%s: default_hugepagesz is given twice, the kernel keeps the first (%s)"
                               % (word(param), kb_to_label(default)), param)
                current, size_word = SKIPPED, param
                continue
            default = size
        elif size in sized or (size == default and any(c[0] in (None, size) for c in counted)):
            result.problem("%s is given twice: the kernel ignores it and the hugepages= after it" % word(param), param)
            current, size_word = SKIPPED, param
            continue
        else:
            sized.add(size)
        current, size_word = size, param
    for size, count, nodes, words in counted:
        result.add(size or default or DEFAULT_SIZE_KB, count, nodes, words)
    return result


def count_word(result, param, current, size_word, counted):
    """One hugepages= word, counted for the size word before it (`current`, None: the default size)."""
    if current == SKIPPED:
        result.problem("%s follows %s, which the kernel ignores: it ignores this count too"
                       % (word(param), word(size_word)), param, size_word)
        return
    try:
        count, nodes = page_count(param[1])
    except ValueError:
        result.problem("%s is not a page count (N, or NODE:N,NODE:N for NUMA nodes)" % word(param), param)
        return
    counted.append((current, count, nodes, [param] if current is None else [size_word, param]))


def parse_reserve(text):
    """memory_reserve: a size ('2G', '512M', '0'; MiB without a unit) -> ('kb', N) or a share of MemTotal
    ('5%') -> ('percent', 5.0); ValueError otherwise."""
    text = str(text)
    match = RESERVE_TEXT.fullmatch(text)
    if match:
        percent = float(match.group(1))
        if percent > 100:
            raise ValueError(text)
        return "percent", percent
    sized = re.fullmatch(r"[ \t]*(\d+)[ \t]*([kKmMgGtT]?)(?:i?[bB])?[ \t]*", text)
    if not sized:
        raise ValueError(text)
    return "kb", int(sized.group(1)) * UNIT_KB[(sized.group(2) or "m").lower()]


def reserve_kb(reserve, memory_kb):
    kind, value = reserve
    return int(memory_kb * value / 100.0) if kind == "percent" else value


def read_memory(fs):
    """What the budget needs from the host: MemTotal of the host and of each NUMA node, the page sizes."""
    return {"total_kb": memory_total_kb(fs), "sizes_kb": supported_sizes_kb(fs),
            "nodes": dict((node, memory_total_kb(fs, node)) for node in node_ids(fs))}


def check(res, memory, reserve):
    """Problems of a reservation on this host: ([word problems], [overruns]); each {'msg', 'words'} with
    'node' (None for the whole host) on overruns."""
    problems = list(res.problems)
    sizes = memory["sizes_kb"]
    for pool in res.pools:
        if pool["size_kb"] not in sizes:
            problems.append({"words": pool["words"], "msg": "%s: this host's kernel has no %s pages (it offers %s%s): "
                             "the kernel ignores them"
                             % (" ".join(word(w) for w in pool["words"]), kb_to_label(pool["size_kb"]),
                                ", ".join(kb_to_label(s) for s in sizes) or "none",
                                "; 1G pages need the CPU flag pdpe1gb" if pool["size_kb"] == 1 << 20 else "")})
        unknown = sorted(set(pool["nodes"] or {}) - set(memory["nodes"] or {0: None}))
        if unknown:
            problems.append({"words": pool["words"], "msg": "%s names NUMA node %s, which this host does not have "
                             "(it has %s): the kernel ignores the whole parameter"
                             % (" ".join(word(w) for w in pool["words"]), ", ".join(str(n) for n in unknown),
                                "nodes " + ", ".join(str(n) for n in sorted(memory["nodes"])) if memory["nodes"]
                                else "no NUMA nodes, node 0 is all of it")})
    return problems, overruns(res, memory, reserve)


def limits(memory, reserve):
    """{None: (MemTotal, its reserve), node: (node MemTotal, its share)} in kB."""
    total = memory["total_kb"]
    whole = reserve_kb(reserve, total)
    result = {None: (total, whole)}
    for node, node_kb in (memory["nodes"] or {0: total}).items():
        if node_kb is not None:
            result[node] = (node_kb, int(whole * node_kb / float(total)) if total else whole)
    return result


def overruns(res, memory, reserve):
    """Where the reservation does not fit: the whole host, then each node, as {'node', 'words', 'msg'}."""
    found = []
    bounds = limits(memory, reserve)
    mem, held = bounds[None]
    if res.total_kb > mem - held:
        found.append({"node": None, "words": [w for p in res.pools for w in p["words"]],
                      "msg": "the next boot would reserve %s of hugepages (%s), more than the %s that MemTotal %s "
                             "minus memory_reserve %s leaves: lower the hugepages= counts or memory_reserve"
                             % (kb_to_text(res.total_kb), res.words(), kb_to_text(max(mem - held, 0)),
                                kb_to_text(mem), kb_to_text(held))})
    for node, node_total in sorted(res.node_kb().items()):
        if node not in bounds:
            continue  # a node the host does not have: check() names it
        node_mem, share = bounds[node]
        if node_total > node_mem - share:
            words = [w for p in res.pools if node in (p["nodes"] or {}) for w in p["words"]]
            found.append({"node": node, "words": words,
                          "msg": "the next boot would reserve %s of hugepages on NUMA node %d (%s), more than the %s "
                                 "that its MemTotal %s minus its share %s of memory_reserve %s leaves: lower the "
                                 "counts for that node or memory_reserve"
                                 % (kb_to_text(node_total), node, " ".join(word(w) for w in words),
                                    kb_to_text(max(node_mem - share, 0)), kb_to_text(node_mem), kb_to_text(share),
                                    kb_to_text(held))})
    return found


def grew(before, after, node=None):
    """Does `after` reserve more than `before`, on the whole host (node None) or on that node?"""
    if node is None:
        return after.total_kb > before.total_kb
    return after.node_kb().get(node, 0) > before.node_kb().get(node, 0)


def judge(before, after, memory, reserve, mine):
    """A run takes the next boot's command line from `before` to `after` ([(key, value)]) and writes the
    parameters `mine`: (after's Reservation, refusals, warnings). A word the kernel would ignore refuses
    when it is one of `mine`; an overrun refuses when the run raises the reservation there (the whole host
    or that node). The rest is warned about: a run that does not raise the reservation goes ahead."""
    old, new = reservation(before), reservation(after)
    if memory["total_kb"] is None:
        refused = grew(old, new) and new.total_kb > 0
        return new, ["MemTotal cannot be read from /proc/meminfo, so the next boot's reservation (%s) cannot be "
                     "checked against memory_reserve" % new.words()] if refused else [], []
    problems, found = check(new, memory, reserve)
    refusals, warnings = [], []
    for problem in problems:
        if set(problem["words"]) & set(mine):
            refusals.append(problem["msg"])
        else:
            warnings.append(problem["msg"] + " (a word this run does not write)")
    for overrun in found:
        if grew(old, new, overrun["node"]):
            refusals.append(overrun["msg"])
        else:
            warnings.append(overrun["msg"] + " (this run does not raise the reservation, so it goes ahead)")
    return new, refusals, warnings


def summary(res, memory, reserve):
    """The result's boot_reservation: what the next boot reserves and what the budget allows, in kB."""
    bounds = limits(memory, reserve)
    nodes = res.node_kb()
    return {
        "reserved_kb": res.total_kb, "limit_kb": max(bounds[None][0] - bounds[None][1], 0),
        "memory_total_kb": bounds[None][0], "memory_reserve_kb": bounds[None][1], "words": res.words(),
        "nodes": [{"node": node, "reserved_kb": nodes.get(node, 0), "memory_total_kb": bounds[node][0],
                   "limit_kb": max(bounds[node][0] - bounds[node][1], 0)}
                  for node in sorted(n for n in bounds if n is not None)],
    }
