# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CPU numbers as the kernel and Open vSwitch write them: cpulists ("0-3,8") and hexadecimal masks ("0x6").

The one parser of each form; the guest units' helper (qemu_unit_helper.py) keeps a copy of its own,
being a program that runs on the host without the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

CPULIST_RE = re.compile(r"\d+(-\d+(:\d+(/\d+)?)?)?(,\d+(-\d+(:\d+(/\d+)?)?)?)*")
MASK_RE = re.compile(r"(0[xX])?[0-9a-fA-F]+")  # fullmatch: "$" also matches before a final newline
# CPU numbers are below this (CONFIG_NR_CPUS of Debian's amd64 kernels, the most any host here can have):
# a list or mask is checked against it before it is expanded, so '0-4000000000' costs nothing; the
# modules then check the CPUs against the host's own
MAX_CPUS = 8192


class BadValue(ValueError):
    """A value that is not a CPU list or mask; the callers name the field."""


class CpuOutOfRange(BadValue):
    """A CPU number no host can have; str() says so."""

    def __init__(self, cpu):
        super(CpuOutOfRange, self).__init__("CPU %d is above %d, the highest CPU number a host can have"
                                            % (cpu, MAX_CPUS - 1))


def _bounded(cpu):
    if cpu >= MAX_CPUS:
        raise CpuOutOfRange(cpu)
    return cpu


def parse_cpulist(text):
    """Kernel cpulist ("0-3,8,10-11", "0-15:2" of isolcpus) to a sorted list of ints; what the kernel wrote.
    CpuOutOfRange for a number of MAX_CPUS or more, before any range is expanded."""
    cpus = set()
    for raw in (text or "").replace("\n", ",").split(","):
        part = raw.strip()
        if not part:
            continue
        if "-" in part:
            first, last = part.split("-", 1)
            step = 1
            if ":" in last:  # 0-15:2 (rare, used by isolcpus)
                last, step = last.split(":", 1)
                step = int(step.split("/")[0])
            first, last = _bounded(int(first)), _bounded(int(last))
            if step < 1 or last < first:
                raise BadValue(text)
            cpus.update(range(first, last + 1, step))
        else:
            cpus.add(_bounded(int(part)))
    return sorted(cpus)


def format_cpulist(cpus):
    """Sorted ints to the kernel's compact cpulist form."""
    cpus = sorted(set(cpus))
    ranges = []
    for cpu in cpus:
        if ranges and cpu == ranges[-1][1] + 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ",".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in ranges)


def cpus_of(value):
    """What an operator wrote - a cpulist string ('2-3,8'), a list of CPU numbers or one number - as sorted
    ints; BadValue otherwise (booleans, negative numbers, anything else)."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, bool):
        raise BadValue(value)
    if isinstance(value, int):
        values = [value]
    elif isinstance(value, (list, tuple)):
        values = value
    else:
        text = str(value).strip(" \t")
        if not CPULIST_RE.fullmatch(text):
            raise BadValue(value)
        return parse_cpulist(text)
    cpus = set()
    for item in values:
        if isinstance(item, bool) or not re.fullmatch(r"\d+", str(item).strip(" \t")):
            raise BadValue(value)
        cpus.add(_bounded(int(str(item).strip(" \t"))))
    return sorted(cpus)


def mask_cpus(value):
    """'0x6' -> [1, 2]; BadValue for anything but a non-zero hexadecimal mask ('0x06', '06', '0X6')."""
    text = str(value).strip(" \t")
    if isinstance(value, bool) or not MASK_RE.fullmatch(text) or int(text, 16) == 0:
        raise BadValue(value)
    bits = int(text, 16)
    if bits.bit_length() > MAX_CPUS:
        raise CpuOutOfRange(bits.bit_length() - 1)
    return [cpu for cpu in range(bits.bit_length()) if bits >> cpu & 1]


def cpu_mask(cpus):
    """[1, 2] -> '0x6'."""
    bits = 0
    for cpu in cpus:
        bits |= 1 << cpu
    return "0x%x" % bits
