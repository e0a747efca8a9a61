# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""release: the supported release a host runs, from host_facts' os, or an error naming what is supported."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: release
short_description: The supported release of a host, from its host_facts
version_added: "0.1.0"
description:
  - Takes C(ansible_facts.nfv_dpdk.os) from M(nfv.dpdk.host_facts) and returns what differs between the releases
    the collection supports, so that roles choose package names and apt sources per release without gathering
    Ansible's facts.
  - Fails, naming what the host runs and which releases are supported, when the host runs any other release
    (Debian 11, Ubuntu, Enterprise Linux, ...).
options:
  _input:
    description: C(ansible_facts.nfv_dpdk.os) of the host.
    type: dict
    required: true
  field:
    description: How the error message names the host.
    type: str
    default: the host
author:
  - nfv.dpdk contributors (@nfv-dpdk)
"""

EXAMPLES = r"""
- name: Read the host
  nfv.dpdk.host_facts:

- name: Fail on a release the collection does not support
  ansible.builtin.set_fact:
    release: "{{ ansible_facts.nfv_dpdk.os | nfv.dpdk.release(field=inventory_hostname) }}"

- name: QEMU from backports where the release needs it
  ansible.builtin.debug:
    msg: "{{ release.qemu_suite or 'QEMU from the release itself' }}"
"""

RETURN = r"""
_value:
  description: The release profile.
  type: dict
  contains:
    name:
      description: C(Debian 12 (bookworm)) or C(Debian 13 (trixie)).
      type: str
    id:
      description: os-release C(ID), C(debian).
      type: str
    version_id:
      description: os-release C(VERSION_ID), C(12) or C(13).
      type: str
    codename:
      description: C(bookworm) or C(trixie).
      type: str
    dpdk_abi:
      description: The ABI suffix of DPDK's library packages, C(23) (DPDK 22.11) or C(25) (DPDK 24.11).
      type: str
    dpdk:
      description: The release's DPDK version.
      type: str
    ovs:
      description: The release's Open vSwitch series.
      type: str
    qemu_suite:
      description: The apt suite QEMU is installed from (C(bookworm-backports)), empty for the release's own.
      type: str
    qemu:
      description: The QEMU version tested.
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.release import require_profile


def release_filter(os_facts, field="the host"):
    if not isinstance(os_facts, dict):
        raise AnsibleFilterError("nfv.dpdk.release takes host_facts' os (ansible_facts.nfv_dpdk.os), got %r"
                                 % (os_facts,))
    try:
        return require_profile(dict(os_facts), field=str(field))
    except NfvError as exc:
        raise AnsibleFilterError(exc.msg) from exc


class FilterModule(object):
    def filters(self):
        return {"release": release_filter}
