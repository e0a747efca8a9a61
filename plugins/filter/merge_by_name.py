# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""merge_by_name: layer overrides onto a description, merging lists of named items by name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: merge_by_name
short_description: Merge overrides into a description, lists of named items by name
version_added: "0.1.0"
description:
  - Returns the input with O(overrides) laid over it, recursively, so that C(host_vars) can change one port of a
    bridge that C(group_vars) describes without copying the whole description. The inputs are not modified.
  - "Dictionaries merge key by key: a key only in the input is kept, a key only in O(overrides) is added, a key in
    both merges its two values by these same rules."
  - A non-empty list in O(overrides) whose items are all dictionaries with the key O(key) (a list of named items,
    such as bridges or ports) merges with the input's list by that key. An item whose name the input has merges
    into that item, recursively; an item with a new name is appended, in the order of O(overrides); the input's
    order is kept.
  - "An override item C({name: NAME, state: absent}) removes the item NAME from the result (an item that the input
    does not have is ignored). It never reaches the result, whatever its other keys."
  - Any other value of O(overrides) replaces the input's value, lists included (C([]) empties a list).
  - Names must be unique within each list; a list of named items in O(overrides) requires the input's list at
    that place to be named items too. Otherwise the filter fails with the path of the offending value.
options:
  _input:
    description: The description to start from, for example C(host_ovs) from C(group_vars).
    type: raw
    required: true
  overrides:
    description: What to change, shaped like the input, for example C(host_ovs_overrides) from C(host_vars).
      V(null) or an empty dictionary leaves the input as it is.
    type: raw
    required: true
  key:
    description: The key that names the items of a list.
    type: str
    default: name
author:
  - nfv.dpdk contributors (@nfv-dpdk)
"""

EXAMPLES = r"""
# group_vars/dpdk_hosts.yml: the fleet's bridges
#   host_ovs:
#     pmd_cpu_mask: "0x6"
#     bridges:
#       - name: br-phy
#         datapath_type: netdev
#         ports:
#           - {name: dpdk0, type: dpdk, options: {dpdk-devargs: "0000:03:00.0"}}
#           - {name: vhu-vm1, type: dpdkvhostuserclient, options: {vhost-server-path: /run/vhost/vm1/net0.sock}}
#       - name: br-tun
#         datapath_type: netdev
# host_vars/node7.yml: this host's NIC sits elsewhere, it has no br-tun and one more port
#   host_ovs_overrides:
#     bridges:
#       - name: br-phy
#         ports:
#           - {name: dpdk0, options: {dpdk-devargs: "0000:81:00.0"}}
#           - {name: vhu-vm2, type: dpdkvhostuserclient, options: {vhost-server-path: /run/vhost/vm2/net0.sock}}
#       - {name: br-tun, state: absent}
- name: Merge the host's overrides into the fleet's description
  ansible.builtin.set_fact:
    effective_ovs: "{{ host_ovs | nfv.dpdk.merge_by_name(host_ovs_overrides) }}"
  # effective_ovs.bridges: br-phy only; dpdk0 on 0000:81:00.0 (type dpdk kept), vhu-vm1 kept, vhu-vm2 appended

- name: Merge lists named by another key
  ansible.builtin.debug:
    msg: "{{ [{'path': '/a', 'mode': '0755'}] | nfv.dpdk.merge_by_name([{'path': '/a', 'mode': '0700'}], key='path') }}"
"""

RETURN = r"""
_value:
  description: The input with the overrides laid over it (a new value; the inputs are unchanged).
  type: raw
"""

import copy
from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError


def _is_list(value):
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _is_named_list(value, key):
    return _is_list(value) and len(value) > 0 and all(isinstance(i, Mapping) and key in i for i in value)


def _removes(item):
    return item.get("state") == "absent"


def _by_name(items, key, path):
    index = {}
    for pos, item in enumerate(items):
        if not isinstance(item, Mapping) or key not in item:
            raise AnsibleFilterError("merge_by_name: %s[%d] is not an item with a %r (the overrides name the "
                                     "items of %s by %r): %r" % (path, pos, key, path, key, item))
        name = item[key]
        if name in index:
            raise AnsibleFilterError("merge_by_name: %s has two items with %s %r (items %d and %d); names must be "
                                     "unique" % (path, key, name, index[name], pos))
        index[name] = pos
    return index


def _merge_lists(base, overrides, key, path):
    if not _is_list(base):
        raise AnsibleFilterError("merge_by_name: %s must be a list of items named by %r to merge overrides into it, "
                                 "not %r" % (path, key, base))
    _by_name(base, key, path)
    _by_name(overrides, key, "overrides of " + path)
    merged = [dict(item) for item in base]
    position = {item[key]: pos for pos, item in enumerate(merged)}
    removed = set()
    for item in overrides:
        name = item[key]
        where = "%s[%s=%s]" % (path, key, name)
        if _removes(item):
            removed.add(name)
        elif name in position:
            merged[position[name]] = _merge(merged[position[name]], item, key, where)
        else:
            position[name] = len(merged)
            merged.append(_merge({}, item, key, where))
    return [item for item in merged if item[key] not in removed]


def _merge(base, overrides, key, path):
    if isinstance(overrides, Mapping):
        if base is None:
            base = {}
        if not isinstance(base, Mapping):
            raise AnsibleFilterError("merge_by_name: %s is %r in the input; overrides can only merge a dictionary "
                                     "into a dictionary" % (path, base))
        merged = dict(base)
        for name, value in overrides.items():
            where = "%s.%s" % (path, name) if path else str(name)
            merged[name] = _merge(base.get(name), value, key, where) if name in base else _copy(value, key, where)
        return merged
    if _is_named_list(overrides, key):
        return _merge_lists(base if base is not None else [], overrides, key, path or "input")
    return _copy(overrides, key, path)


def _copy(value, key, path):
    """A value the input does not have: copied, less the items of its named lists that say state=absent."""
    if isinstance(value, Mapping):
        return _merge({}, value, key, path)
    if _is_named_list(value, key):
        return _merge_lists([], value, key, path or "input")
    if _is_list(value):
        return list(value)
    return value


def merge_by_name(value, overrides, key="name"):
    if not isinstance(key, str) or not key:
        raise AnsibleFilterError("merge_by_name: key must be a non-empty string, not %r" % (key,))
    if overrides is None or (isinstance(overrides, Mapping) and not overrides):
        return copy.deepcopy(value)
    if value is None:
        value = {} if isinstance(overrides, Mapping) else []
    if isinstance(overrides, Mapping) != isinstance(value, Mapping):
        raise AnsibleFilterError("merge_by_name: the input is %s and the overrides are %s; both must be "
                                 "dictionaries or both lists" % (type(value).__name__, type(overrides).__name__))
    return copy.deepcopy(_merge(value, overrides, key, ""))


class FilterModule(object):
    def filters(self):
        return {"merge_by_name": merge_by_name}
