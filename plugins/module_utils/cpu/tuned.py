# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tuned's cpu-partitioning profile as host_cpu.tuned uses it instead of our isolation arguments and CPUAffinity
drop-in: its variables from a host_cpu plan, the variables file, and whether `tuned-adm profile` must run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist

TUNED_PROFILE = "cpu-partitioning"
TUNED_VARIABLES = "/etc/tuned/cpu-partitioning-variables.conf"
# what tuned's cpu-partitioning profile writes itself (bootloader plugin: nohz_full, rcu_nocbs, isolcpus from
# no_balance_cores; systemd plugin: CPUAffinity)
TUNED_KERNEL_KEYS = ("isolcpus", "nohz_full", "rcu_nocbs")


def tuned_settings(check, plan, explicit):
    """tuned's cpu-partitioning profile instead of our isolation arguments and CPUAffinity drop-in: its
    variables (isolated_cores = PMD and guest CPUs; no_balance_cores the same when cpu.isolcpus, which
    makes tuned write isolcpus=) and the variables file. Explicit isolation arguments conflict with it."""
    opts = plan["opts"]
    isolated = sorted(set(plan["pmd"]) | set(plan["guests"]))
    both = [key for key in TUNED_KERNEL_KEYS if key in explicit]
    if both:
        check.conflict("%s sets %s, which %s (tuned's %s profile) writes itself through tuned's bootloader "
                       "plugin: drop %s from %s or set %s false"
                       % (check.desc.field("kernel_args"), ", ".join("%s=%s" % (k, explicit[k]) for k in both),
                          check.desc.field("cpu.tuned"), TUNED_PROFILE, ", ".join(both),
                          check.desc.field("kernel_args"), check.desc.field("cpu.tuned")))
    if not isolated:
        check.conflict("%s needs CPUs to isolate, but %s leaves no PMD or guest CPU (tuned's %s profile refuses "
                       "an empty isolated_cores)" % (check.desc.field("cpu.tuned"), check.desc.field("cpu"),
                                                     TUNED_PROFILE))
    variables = {"isolated_cores": format_cpulist(isolated),
                 "no_balance_cores": format_cpulist(isolated) if opts["isolcpus"] else ""}
    return dict(variables, profile=TUNED_PROFILE, variables_file=TUNED_VARIABLES,
                variables_text=tuned_variables_text(variables))


def tuned_variables_text(variables):
    """/etc/tuned/cpu-partitioning-variables.conf for {isolated_cores, no_balance_cores}."""
    lines = ["# Managed by nfv.dpdk.host (host_cpu.tuned): the PMD and guest CPUs of host_cpu.",
             "# tuned's cpu-partitioning profile derives nohz_full, rcu_nocbs, systemd's CPUAffinity and the",
             "# IRQ and workqueue masks from isolated_cores; no_balance_cores becomes isolcpus=.",
             "isolated_cores=%s" % variables["isolated_cores"]]
    if variables.get("no_balance_cores"):
        lines.append("no_balance_cores=%s" % variables["no_balance_cores"])
    return "\n".join(lines) + "\n"


def tuned_activation(active_profile, variables_changed, profile=TUNED_PROFILE):
    """Why `tuned-adm profile` must run (a reason), or None: another active profile, or changed variables of the
    active one (tuned reads them when it loads the profile)."""
    active = (active_profile or "").strip()
    if active != profile:
        return "the active tuned profile is %s, not %s" % (active or "none", profile)
    if variables_changed:
        return "the variables of the active %s profile changed" % profile
    return None
