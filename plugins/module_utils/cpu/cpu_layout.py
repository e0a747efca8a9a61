# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nfv.dpdk.cpu_layout (check only): its argument spec and handler. The layout and its conflicts come from
layout.resolve on this host's facts; with check_running, what runs now is checked against it (running_check)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.common_options import OVS_DB, merged
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.fields import refuse_control_characters
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import Runner
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import parse_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.description import Description
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.kernel_isolation import ISOLCPUS_FLAGS
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.layout import resolve
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.running_check import (
    running_guest_conflicts,
    rxq_conflicts,
    vcpu_index,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.topology import Topology
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.tuned import tuned_activation
from ansible_collections.nfv.dpdk.plugins.module_utils.host.facts import layout_facts, running_layout
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.host.kernel import read_task_names
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import unit_name

TUNED_ACTIVE_PROFILE = "/etc/tuned/active_profile"
CPU_OPTIONS = dict(
    housekeeping_cores=dict(type="raw"),
    housekeeping_cpus=dict(type="raw"),
    pmd_cores=dict(type="raw"),
    pmd_cpus=dict(type="raw"),
    guest_cpus=dict(type="raw"),
    isolcpus=dict(type="bool", default=True),
    isolcpus_flags=dict(type="list", elements="str", choices=list(ISOLCPUS_FLAGS), default=["domain", "managed_irq"]),
    nohz_full=dict(type="bool", default=True),
    rcu_nocbs=dict(type="bool", default=True),
    irqaffinity=dict(type="bool", default=True),
    systemd_affinity=dict(type="bool", default=True),
    tuned=dict(type="bool", default=False),
)
ARGUMENT_SPEC = merged(dict(
    cpu=dict(type="dict", options=CPU_OPTIONS),
    kernel_args=dict(type="list", elements="raw", default=[]),
    ovs=dict(type="dict", default={}),
    vms=dict(type="list", elements="dict", default=[]),
    hugepages=dict(type="list", elements="dict", default=[]),
    dpdk_devices=dict(type="list", elements="str", default=[]),
    hugepage_headroom_mb=dict(type="int", default=0),
    field_prefix=dict(type="str", default=""),
    check_running=dict(type="bool", default=False),
), OVS_DB)


class CpuLayout:
    """Derives and checks the layout (it changes nothing); fails with every conflict it finds."""

    def __init__(self, module):
        self.module = module
        self.fs = HostFS()

    def run(self):
        """The result, or NfvError: with the conflicts found, an empty list when the check could not run."""
        try:
            return self.check()
        except NfvError as exc:
            exc.details.setdefault("conflicts", [])
            raise

    def check(self):
        p = self.module.params
        refuse_control_characters(p)
        if p["hugepage_headroom_mb"] < 0:
            raise NfvError("%shugepage_headroom_mb cannot be negative, got %d"
                           % (p["field_prefix"], p["hugepage_headroom_mb"]))
        description = Description(cpu=p["cpu"] or {}, kernel_args=p["kernel_args"], ovs=p["ovs"], vms=p["vms"],
                                  hugepages=p["hugepages"], dpdk_devices=p["dpdk_devices"],
                                  headroom_mb=p["hugepage_headroom_mb"], prefix=p["field_prefix"])
        facts = layout_facts(self.fs)
        layout, conflicts = resolve(description, facts)
        if layout["tuned"]:  # what the host runs now decides whether tuned-adm must activate the profile
            tuned = layout["tuned"]
            tuned["active_profile"] = self.fs.read(TUNED_ACTIVE_PROFILE) or None
            changed = self.fs.read(tuned["variables_file"]) != tuned["variables_text"].strip()
            tuned["activate"] = tuned_activation(tuned["active_profile"], changed)
        if conflicts:
            raise NfvError("the CPU and NUMA layout has %d conflict(s): %s" % (len(conflicts), " | ".join(conflicts)),
                           conflicts=conflicts, layout=layout)
        vms = [with_derived_pins(vm, layout) for vm in p["vms"]]
        result = dict(changed=False, layout=layout, vms=vms, conflicts=[])
        if p["check_running"]:
            result["running"] = check_running(self.fs, Runner(self.module), facts, layout, vms, p["ovs_db"])
            for conflict in result["running"]["conflicts"]:
                self.module.warn(conflict)
        return result


def with_derived_pins(vm, layout):
    """A guest with the vcpu_pins and emulator_cpus the layout derived, when it gave neither them nor
    cpu_affinity."""
    pins = layout["vm_vcpu_pins"].get(vm.get("name"))
    if pins and vm.get("cpu_affinity") in (None, "", []) and vm.get("vcpu_pins") in (None, []):
        return dict(vm, vcpu_pins=pins, emulator_cpus=layout["vm_emulator_cpus"][vm["name"]])
    return vm


def check_running(fs, runner, facts, layout, vms, ovs_db):
    """What runs now against the layout: rxqs across NUMA nodes, guest threads outside their CPUs."""
    guests = [(vm["name"], unit_name(vm["name"])) for vm in vms
              if vm.get("name") and vm.get("state", "started") == "started"]
    running = running_layout(fs, runner, guests, ovs_db)
    conflicts = rxq_conflicts(running["pmds"], running["port_nodes"])
    topo = Topology.from_facts(facts)
    pmd = parse_cpulist(layout["pmd_cpus"])
    for vm in vms:
        guest = running["guests"].get(vm.get("name"))
        if guest:
            names = read_task_names(fs, guest["pid"])
            guest["vcpus"] = dict((tid, vcpu_index(n)) for tid, n in sorted(names.items())
                                  if vcpu_index(n) is not None)
            conflicts.extend(running_guest_conflicts(vm, guest, names, pmd, topo))
    running["conflicts"] = conflicts
    return running
