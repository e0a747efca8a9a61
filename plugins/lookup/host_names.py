# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_names: the names a module of the collection leaves on a host, read from the module_utils that own them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: host_names
short_description: The paths, unit names and keys a module of the collection leaves on a host
version_added: "0.1.0"
description:
  - Returns, for one domain, the names its module writes on a host (files, systemd units, Open vSwitch keys),
    read on the controller from the module_utils that define them. Roles and playbooks that remove or check
    what a module wrote (C(playbooks/decommission.yml) through the roles' C(absent) entry points) take the
    names from here instead of spelling them again, so a rename in the module reaches them.
  - Costs no round trip to the host.
options:
  _terms:
    description: The domain, one of V(pci_driver), V(sriov_vfs), V(ovs_config), V(ovs_bridge), V(qemu_vm),
      V(cpu_layout).
    type: list
    elements: str
    required: true
author:
  - nfv.dpdk contributors (@nfv-dpdk)
"""

EXAMPLES = r"""
- name: Remove the boot-time VF program of nfv.dpdk.sriov_vfs
  ansible.builtin.file:
    path: "{{ lookup('nfv.dpdk.host_names', 'sriov_vfs').program }}"
    state: absent
"""

RETURN = r"""
_raw:
  description: One dict per domain named.
  type: list
  elements: dict
  contains:
    unit:
      description: The systemd unit the module writes (pci_driver, sriov_vfs).
      type: str
    unit_file:
      description: Its file (pci_driver, sriov_vfs).
      type: str
    program:
      description: The program the unit runs (pci_driver, sriov_vfs).
      type: str
    conf:
      description: The overrides file (pci_driver).
      type: str
    conf_dir:
      description: The directory of one settings file per PF (sriov_vfs).
      type: str
    other_config_keys:
      description: The C(Open_vSwitch) C(other_config) keys of the module's typed options (ovs_config).
      type: list
      elements: str
    unit_prefix:
      description: What the name of every guest unit starts with, C(nfv-qemu-) (qemu_vm).
      type: str
    unit_pattern:
      description: The guest units, as a shell pattern (qemu_vm).
      type: str
    unit_dir:
      description: The module's default unit directory (qemu_vm).
      type: str
    helper_dir:
      description: The module's default directory of the stop helper (qemu_vm).
      type: str
    run_dir:
      description: The module's default runtime directory of the guests (qemu_vm).
      type: str
    kvm_probe_cache:
      description: The cached KVM verdict (qemu_vm).
      type: str
    tuned_profile:
      description: The tuned profile of the host role's C(host_cpu.tuned) (cpu_layout).
      type: str
    kernel_keys:
      description: The kernel arguments the layout derives (cpu_layout).
      type: list
      elements: str
    underlay_unit:
      description: The boot unit of the bridges' underlays (ovs_bridge).
      type: str
    underlay_unit_file:
      description: Its file (ovs_bridge).
      type: str
    underlay_program:
      description: The program it runs (ovs_bridge).
      type: str
    underlay_key:
      description: The Bridge C(external_ids) key that records a bridge's underlay (ovs_bridge).
      type: str
    route_protocol:
      description: The routing protocol number of the underlay routes the module sets (ovs_bridge).
      type: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.kernel_isolation import CPU_KERNEL_KEYS
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.tuned import TUNED_PROFILE
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs import (
    other_config_keys,
    underlay_kernel,
    underlay_persistence,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import pci_driver_persistence, sriov_persistence
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import kvm_probe
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import spec as qemu_spec


def names():
    return {
        "pci_driver": {"unit": pci_driver_persistence.UNIT_NAME, "unit_file": pci_driver_persistence.UNIT_FILE,
                       "program": pci_driver_persistence.BIND_SCRIPT, "conf": pci_driver_persistence.CONF_FILE,
                       "state": pci_driver_persistence.STATE_FILE},
        "sriov_vfs": {"unit": sriov_persistence.UNIT_NAME, "unit_file": sriov_persistence.UNIT_FILE,
                      "program": sriov_persistence.SCRIPT, "conf_dir": sriov_persistence.CONF_DIR},
        "ovs_config": {"other_config_keys": [key for _option, key in other_config_keys.OPTION_KEYS]},
        "ovs_bridge": {"underlay_unit": underlay_persistence.UNIT_NAME,
                       "underlay_unit_file": underlay_persistence.UNIT.file,
                       "underlay_program": underlay_persistence.SCRIPT,
                       "underlay_key": underlay_kernel.UNDERLAY_KEY, "route_protocol": underlay_kernel.ROUTE_PROTOCOL},
        "qemu_vm": {"unit_prefix": qemu_spec.UNIT_PREFIX, "unit_pattern": qemu_spec.UNIT_PREFIX + "*.service",
                    "unit_dir": qemu_spec.DEFAULTS["unit_dir"], "helper_dir": qemu_spec.DEFAULTS["helper_dir"],
                    "run_dir": qemu_spec.DEFAULTS["run_dir"],
                    "kvm_probe_cache": kvm_probe.DEFAULT_CACHE},
        "cpu_layout": {"tuned_profile": TUNED_PROFILE, "kernel_keys": list(CPU_KERNEL_KEYS)},
    }


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        table = names()
        unknown = [term for term in terms if term not in table]
        if unknown:
            raise AnsibleLookupError("nfv.dpdk.host_names: unknown domain %s (one of %s)"
                                     % (", ".join(map(repr, unknown)), ", ".join(sorted(table))))
        return [table[term] for term in terms]
