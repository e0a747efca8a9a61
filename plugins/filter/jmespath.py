# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jmespath: select from nfv.dpdk facts with a JMESPath query, without collections beyond ansible-core."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: jmespath
short_description: Select from data with a JMESPath query
version_added: "0.1.0"
description:
  - Applies a JMESPath query to data, typically C(ansible_facts.nfv_dpdk) from M(nfv.dpdk.host_facts).
  - Needs the C(jmespath) Python library on the controller.
options:
  _input:
    description: The data to query.
    type: raw
    required: true
  query:
    description: The JMESPath expression.
    type: str
    required: true
author:
  - nfv.dpdk contributors (@nfv-dpdk)
"""

EXAMPLES = r"""
- name: NICs on NUMA node 0 that carry no management traffic
  ansible.builtin.debug:
    msg: "{{ ansible_facts.nfv_dpdk | nfv.dpdk.jmespath('nics[?numa_node==`0` && !management].address') }}"
"""

RETURN = r"""
_value:
  description: What the query selects (null when nothing matches a single-value query).
  type: raw
"""

from ansible.errors import AnsibleFilterError

try:
    import jmespath as _jmespath
except ImportError:  # reported when the filter is used
    _jmespath = None


def _plain(value):
    """Ansible's tagged/lazy containers to plain Python containers jmespath understands."""
    if isinstance(value, dict):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def jmespath_filter(data, query):
    if _jmespath is None:
        raise AnsibleFilterError("nfv.dpdk.jmespath needs the Python library 'jmespath' on the controller "
                                 "(pip install jmespath)")
    try:
        return _jmespath.search(str(query), _plain(data))
    except _jmespath.exceptions.JMESPathError as exc:
        raise AnsibleFilterError("nfv.dpdk.jmespath: bad query %r: %s" % (query, exc)) from exc


class FilterModule(object):
    def filters(self):
        return {"jmespath": jmespath_filter}
