# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runtime_dir_paths: a role variable's runtime directories, checked on the controller by unit_paths' rules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: runtime_dir_paths
short_description: Check the runtime directories of a role variable and name each for M(nfv.dpdk.runtime_dirs)
version_added: "0.1.0"
description:
  - Takes one path or a list of paths, a role variable that names directories the collection creates or removes
    below C(/run) (vhost-user socket directories, the guests' run directory), and checks each by the rules of
    M(nfv.dpdk.qemu_vm) for such paths, from the same code (C(module_utils/unit_paths.py)) - an absolute,
    normalized path without whitespace, quotes, backslashes, C(%) or C($), strictly below C(/run) or
    C(/var/run), and not inside the runtime directory of other software (C(/run/systemd), C(/run/user),
    C(/run/openvswitch), C(/run/libvirt), ...).
  - Fails, naming the variable (O(field), with C([N]) for an entry of a list) and saying what to do, when one
    does not pass. Runs on the controller, before a role changes anything; what only the host can tell (symbolic
    links, owners, world-writable parents) M(nfv.dpdk.runtime_dirs) checks there.
  - Returns the paths as M(nfv.dpdk.runtime_dirs) takes them in its O(nfv.dpdk.runtime_dirs#module:paths).
options:
  _input:
    description: One path, or a list of paths.
    type: raw
    required: true
  field:
    description: The variable the paths come from, as error messages name it.
    type: str
    required: true
author:
  - nfv.dpdk contributors (@nfv-dpdk)
"""

EXAMPLES = r"""
- name: Check the socket directory before anything changes
  ansible.builtin.set_fact:
    socket_dirs: "{{ ovs_dpdk_vhost_socket_dir | nfv.dpdk.runtime_dir_paths('ovs_dpdk_vhost_socket_dir') }}"
  # [{"path": "/run/vhost", "field": "ovs_dpdk_vhost_socket_dir"}]; /run/systemd/vhost fails:
  # "ovs_dpdk_vhost_socket_dir /run/systemd/vhost is inside /run/systemd, the runtime directory of other software"

- name: Entries of a list are named by their index
  ansible.builtin.debug:
    msg: "{{ ['/run/vhost', '/run/vhost-b'] | nfv.dpdk.runtime_dir_paths('qemu_vms_socket_dirs') }}"
  # [{"path": "/run/vhost", "field": "qemu_vms_socket_dirs[0]"}, {"path": "/run/vhost-b", ...[1]}]
"""

RETURN = r"""
_value:
  description: One entry per path, in order.
  type: list
  elements: dict
  contains:
    path:
      description: The directory.
      type: str
    field:
      description: How messages name it, O(field) or O(field)C([N]).
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.runtime_dirs import checked_paths


def runtime_dir_paths(value, field):
    if not isinstance(field, str) or not field:
        raise AnsibleFilterError("runtime_dir_paths: field must name the variable, got %r" % (field,))
    try:
        return checked_paths(value, field)
    except NfvError as exc:
        raise AnsibleFilterError(exc.msg) from exc


class FilterModule(object):
    def filters(self):
        return {"runtime_dir_paths": runtime_dir_paths}
