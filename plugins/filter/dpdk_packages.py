# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dpdk_packages: DPDK library names -> the Debian packages of a release (net-e1000 -> librte-net-e1000-25)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: dpdk_packages
short_description: The Debian packages of DPDK libraries on a host's release
version_added: "0.1.0"
description:
  - Maps DPDK library names (what follows C(librte-) in Debian's package names, without the ABI number) to the
    packages of the release given by P(nfv.dpdk.release#filter), so one host description names the same poll-mode
    drivers on Debian 12 and Debian 13.
  - "Debian adds the ABI number of the release (C(23) for DPDK 22.11, C(25) for DPDK 24.11), with a hyphen when the
    name ends in a digit: C(net-vhost) is C(librte-net-vhost25), C(net-e1000) is C(librte-net-e1000-25)."
options:
  _input:
    description: The release profile, from P(nfv.dpdk.release#filter).
    type: dict
    required: true
  libraries:
    description: DPDK library names, for example C(mempool-ring), C(net-vhost), C(net-i40e), C(net-af-packet).
    type: list
    elements: str
    required: true
author:
  - nfv.dpdk contributors (@nfv-dpdk)
"""

EXAMPLES = r"""
- name: The poll-mode drivers of the host's NICs, on whichever release it runs
  ansible.builtin.apt:
    name: "{{ ansible_facts.nfv_dpdk.os | nfv.dpdk.release | nfv.dpdk.dpdk_packages(['net-i40e', 'net-e1000']) }}"
"""

RETURN = r"""
_value:
  description: Package names, in the order of O(libraries).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.release import dpdk_packages


def dpdk_packages_filter(profile, libraries):
    if not isinstance(profile, dict) or "dpdk_abi" not in profile:
        raise AnsibleFilterError("nfv.dpdk.dpdk_packages takes a release profile (nfv.dpdk.release), got %r"
                                 % (profile,))
    if isinstance(libraries, str) or not isinstance(libraries, (list, tuple)):
        raise AnsibleFilterError("nfv.dpdk.dpdk_packages: libraries must be a list, got %r" % (libraries,))
    try:
        return dpdk_packages(dict(profile), [str(name) for name in libraries])
    except NfvError as exc:
        raise AnsibleFilterError(exc.msg) from exc


class FilterModule(object):
    def filters(self):
        return {"dpdk_packages": dpdk_packages_filter}
