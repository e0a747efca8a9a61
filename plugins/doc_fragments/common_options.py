# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documentation of the options several modules share, once each.

Every variant documents the dict of the same name (uppercase) in plugins/module_utils/core/common_options.py,
which defines the option's spec; a module that merges that dict into its ARGUMENT_SPEC extends the variant
(nfv.dpdk.common_options.connection_address, ...). What a module does with the option beyond its meaning
belongs in that module's own text (its description, notes or other options), not here.
tests/quality/test_doc_fragments.py fails when a variant and its dict differ.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # host_facts, pci_driver, sriov_vfs: which NICs carry management traffic
    CONNECTION_ADDRESS = r"""
options:
  connection_address:
    description:
      - Local address through which the controller reaches this host. A NIC whose interface (or a bridge, bond
        or VLAN stacked on it) holds it carries management traffic.
      - Defaults to the server address of the C(SSH_CONNECTION) the module runs under. C(sudo) may drop that
        variable under C(become); pass the address explicitly then.
      - An IP address (compared in canonical form, so C(2001:DB8::0001) matches C(2001:db8::1)), or a host name
        that resolves on the host, all of whose addresses count. Any other value is an error naming this option
        once the module needs the address, as a typo must not silently switch the management check off.
    type: str
"""

    # ovs_bridge, ovs_config: the instance the module writes to
    DB = r"""
options:
  db:
    description:
      - OVSDB remote of the instance to manage, for example C(unix:/run/openvswitch/db.sock).
      - Defaults to the one C(ovs-vsctl) uses (the system instance).
      - For a C(unix:) remote the pidfile C(ovs-vswitchd.pid) beside the socket tells whether ovs-vswitchd runs.
    type: str
"""

    # host_facts, cpu_layout: the instance the module reads
    OVS_DB = r"""
options:
  ovs_db:
    description:
      - OVSDB remote of the Open vSwitch instance to read, for example C(unix:/run/openvswitch/db.sock).
      - Defaults to the one C(ovs-vsctl) uses (the system instance).
    type: str
"""
