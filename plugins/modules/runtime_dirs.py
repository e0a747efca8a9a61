#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: runtime_dirs
short_description: Create or remove the collection's runtime directories below /run, checked first
version_added: "0.1.0"
description:
  - Creates (O(state=present)) or removes (O(state=absent)) directories of the collection's own below C(/run),
    that is the vhost-user socket directories of the C(nfv.dpdk.ovs_dpdk) and C(nfv.dpdk.qemu_vms) roles and the guests'
    run directory. All of them in one call.
  - Every directory is checked before anything changes, by the rules M(nfv.dpdk.qemu_vm) applies to such paths
    (the same code, C(module_utils/unit_paths.py); the filter C(nfv.dpdk.runtime_dir_paths) runs them on the
    controller) - an absolute, normalized path without whitespace, quotes, backslashes, C(%) or C($), strictly
    below C(/run) or C(/var/run) and not inside the runtime directory of other software - and on the host - no
    symbolic link on the way (C(/var/run) may lead to C(/run)), no existing parent that every user may write in
    (sticky like C(/tmp) or not), no parent below C(/run) that is not root's, and an existing directory root's,
    root:O(group) with O(state=present). A directory that fails any of them fails the module, naming it by its
    O(paths[].field), and nothing changes.
  - With O(state=present) a missing directory is created root:O(group) with O(mode) (missing parents root:root
    0755); an existing one keeps its owner (it is never re-owned) and gets O(mode).
  - With O(state=absent) the sockets of O(sockets) go first (only sockets; a file of another kind stays), then
    each directory that is empty after that, deepest first. Never recursively - a directory that still holds
    anything else stays, and a warning names what is in it.
author:
  - nfv.dpdk contributors (@nfv-dpdk)
extends_documentation_fragment:
  - nfv.dpdk.attributes
  - nfv.dpdk.attributes.full
attributes:
  check_mode:
    details: Checks everything and reports the changes a real run makes; changes nothing.
  diff_mode:
    details: The diff shows each directory (owner, group, mode) and socket before and after.
options:
  paths:
    description:
      - The directories, as the filter C(nfv.dpdk.runtime_dir_paths) returns them. A path named twice counts once.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The directory, for example C(/run/vhost).
        type: str
        required: true
      field:
        description: How error messages and warnings name it, the role variable it comes from. Default
          C(paths[N]).
        type: str
  state:
    description: Whether the directories should exist.
    type: str
    choices: [present, absent]
    default: present
  group:
    description:
      - The group of the directories, for example C(nfv-qemu). Required with O(state=present).
      - With O(state=absent) a directory may be root:root (as systemd leaves the parent of a guest's runtime
        directory) or root:O(group); any other owner fails the module.
    type: str
  mode:
    description:
      - Mode of the directories with O(state=present), octal, for example C(0770). A mode that lets every user
        write in them is refused.
    type: str
    default: "0770"
  sockets:
    description:
      - With O(state=absent), sockets the collection made directly in one of the directories (the guests' vhost-user
        sockets). Each is removed when it is a socket, before the directories. A path that is not directly in
        one of O(paths) is refused.
    type: list
    elements: str
    default: []
  removed_before:
    description:
      - With O(state=absent), entries of the directories that earlier steps of the same run remove (the
        C(RuntimeDirectory=) of guests that nfv.dpdk.qemu_vm stops just before). A directory holding only those
        counts as empty, so check mode predicts exactly what the real run, where they are gone, removes. Nothing
        is removed because of this option.
    type: list
    elements: str
    default: []
notes:
  - The C(nfv.dpdk.ovs_dpdk) role also writes a tmpfiles.d entry that recreates its socket directory at boot.
seealso:
  - module: nfv.dpdk.qemu_vm
"""

EXAMPLES = r"""
- name: Create the vhost-user socket directory, root:nfv-qemu 0770
  nfv.dpdk.runtime_dirs:
    paths: "{{ ovs_dpdk_vhost_socket_dir | nfv.dpdk.runtime_dir_paths('ovs_dpdk_vhost_socket_dir') }}"
    group: nfv-qemu
    mode: "0770"

- name: Remove the guests' sockets, then their directories if nothing else is left in them
  nfv.dpdk.runtime_dirs:
    paths: [{path: /run/vhost, field: ovs_dpdk_vhost_socket_dir}]
    sockets: [/run/vhost/vm1/net0.sock, /run/vhost/vm2/net0.sock]
    group: nfv-qemu
    state: absent
"""

RETURN = r"""
directories:
  description: The directories of O(paths), each once.
  returned: success
  type: list
  elements: str
  sample: ["/run/vhost"]
kept:
  description: With O(state=absent), the directories left in place because they hold something the collection did
    not make, and what (at most all entries).
  returned: success
  type: list
  elements: dict
  sample: [{"path": "/run/vhost", "field": "ovs_dpdk_vhost_socket_dir", "entries": ["other.sock"]}]
changes:
  description: The plan, one entry per directory or socket, with C(key), C(action) (C(create), C(chmod),
    C(unlink), C(rmdir)), C(before), C(after).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "/run/vhost", "action": "create", "before": null,
            "after": {"owner": "root", "group": "nfv-qemu", "mode": "0770"}}]
problems:
  description: When the module fails on the directories, each problem found (all of them, not only the first).
  returned: failed
  type: list
  elements: str
"""

from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import run_module
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.runtime_dirs import ARGUMENT_SPEC, RuntimeDirs


def main():
    run_module(RuntimeDirs, ARGUMENT_SPEC)


if __name__ == "__main__":
    main()
