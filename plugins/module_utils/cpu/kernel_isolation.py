# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's CPU isolation arguments (isolcpus, nohz_full, rcu_nocbs, irqaffinity): their keys, their
values in a kernel_args list, and the arguments a host_cpu plan derives."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import cpus_of, format_cpulist

ISOLCPUS_FLAGS = ("domain", "managed_irq", "nohz")
CPU_KERNEL_KEYS = ("isolcpus", "nohz_full", "rcu_nocbs", "irqaffinity")


def kernel_arg_values(kernel_args):
    """{key: value} of the CPU isolation keys in a kernel_args list ('k=v', 'flag', {key, value})."""
    found = {}
    for arg in kernel_args or []:
        if isinstance(arg, dict):
            key, value = arg.get("key"), arg.get("value")
        else:
            key, _sep, value = str(arg).partition("=")
        if key in CPU_KERNEL_KEYS:
            found[key] = "" if value is None else str(value)
    return found


def isolcpus_cpus(value):
    """'managed_irq,domain,2-7' -> (['managed_irq', 'domain'], [2..7])."""
    parts = [p.strip() for p in str(value).split(",") if p.strip()]
    flags = [p for p in parts if p in ISOLCPUS_FLAGS]
    return flags, cpus_of(",".join(p for p in parts if p not in ISOLCPUS_FLAGS))


def derived_kernel_args(plan):
    """isolcpus, nohz_full and rcu_nocbs on the PMD and guest CPUs, irqaffinity on the housekeeping ones, as the
    plan's options ask; none without CPUs to isolate or without housekeeping CPUs."""
    opts, isolated = plan["opts"], sorted(set(plan["pmd"]) | set(plan["guests"]))
    if not isolated or not plan["housekeeping"]:
        return []
    args = []
    if opts["isolcpus"]:
        args.append("isolcpus=" + ",".join(list(opts["isolcpus_flags"] or []) + [format_cpulist(isolated)]))
    if opts["nohz_full"]:
        args.append("nohz_full=" + format_cpulist(isolated))
    if opts["rcu_nocbs"]:
        args.append("rcu_nocbs=" + format_cpulist(isolated))
    if opts["irqaffinity"]:
        args.append("irqaffinity=" + format_cpulist(plan["housekeeping"]))
    return args
