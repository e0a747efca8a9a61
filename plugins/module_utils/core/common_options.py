# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options several modules take with one spec and one meaning, defined once.

Each dict here is documented once, by the variant of the same name (lowercase) of the doc fragment
plugins/doc_fragments/common_options.py: a module that takes CONNECTION_ADDRESS merges it into its
ARGUMENT_SPEC with `merged` and extends nfv.dpdk.common_options.connection_address.
tests/quality/test_doc_fragments.py compares every variant's options with its dict.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# the local address the controller reaches the host through (host_facts, pci_driver, sriov_vfs)
CONNECTION_ADDRESS = {"connection_address": {"type": "str"}}
# the OVSDB remote of the Open vSwitch instance a module manages (ovs_bridge, ovs_config)
DB = {"db": {"type": "str"}}
# the OVSDB remote of the Open vSwitch instance a module reads (host_facts, cpu_layout)
OVS_DB = {"ovs_db": {"type": "str"}}

SHARED = {"CONNECTION_ADDRESS": CONNECTION_ADDRESS, "DB": DB, "OVS_DB": OVS_DB}


def merged(spec, *shared):
    """A module's own argument spec plus shared options, as a new dict; an option in both is an error."""
    result = dict(spec)
    for options in shared:
        twice = sorted(set(result) & set(options))
        if twice:
            raise ValueError("options defined twice: %s" % ", ".join(twice))
        result.update((name, dict(option)) for name, option in options.items())
    return result
