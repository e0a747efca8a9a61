# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Open_vSwitch other_config keys ovs_config knows: the typed option that sets each, what
ovs-vswitchd.conf.db(5) allows in it, which ovs-vswitchd reads only at start and which OVS renamed.

This file (with ovsdb, for the two CPU masks) is where these key names are spelled; the lookup
nfv.dpdk.host_names hands OPTION_KEYS' keys to roles and playbooks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import LCORE_MASK_KEY, PMD_CPU_MASK_KEY

# The keys checked by a rule of their own (other_config_validation.key_value).
DPDK_INIT_KEY = "dpdk-init"
DPDK_EXTRA_KEY = "dpdk-extra"
HUGEPAGE_DIR_KEY = "dpdk-hugepage-dir"
VHOST_SOCK_DIR_KEY = "vhost-sock-dir"
VHOST_IOMMU_KEY = "vhost-iommu-support"  # what a guest with a vIOMMU needs of the OVS serving its NICs

# Keys ovs-vswitchd reads only at start (once DPDK is initialized), per ovs-vswitchd.conf.db(5).
START_ONLY_KEYS = frozenset([
    DPDK_INIT_KEY, LCORE_MASK_KEY, "dpdk-alloc-mem", "dpdk-socket-mem", "dpdk-socket-limit",
    HUGEPAGE_DIR_KEY, DPDK_EXTRA_KEY, VHOST_SOCK_DIR_KEY, VHOST_IOMMU_KEY,
    "vhost-postcopy-support", "per-port-memory", "hw-offload", "n-offload-threads",
    "userspace-tso-enable", "offload-rebalance",
])

# Known other_config keys and what ovs-vswitchd.conf.db(5) allows in them. A known key is checked
# the same way whether a dedicated option or O(other_config) sets it.
MASK_KEYS = (LCORE_MASK_KEY, PMD_CPU_MASK_KEY)
PER_NODE_KEYS = ("dpdk-socket-mem", "dpdk-socket-limit")
BOOL_KEYS = frozenset([
    "per-port-memory", VHOST_IOMMU_KEY, "vhost-postcopy-support", "hw-offload", "userspace-tso-enable",
    "offload-rebalance", "pmd-auto-lb", "smc-enable", "pmd-perf-metrics", "pmd-rxq-isolate",
    "flow-restore-wait", "enable-statistics",
])
INT_KEYS = {  # key: (minimum, maximum or None)
    "dpdk-alloc-mem": (0, None), "n-offload-threads": (1, 10), "flow-limit": (0, None),
    "max-revalidator": (100, None), "min-revalidate-pps": (1, None), "n-handler-threads": (1, None),
    "n-revalidator-threads": (1, None), "emc-insert-inv-prob": (0, 4294967295), "vlan-limit": (0, None),
    "tx-flush-interval": (0, 1000000), "pmd-auto-lb-rebal-interval": (0, 20000),
    "pmd-auto-lb-load-threshold": (0, 100), "pmd-auto-lb-improvement-threshold": (0, 100),
    "pmd-maxsleep": (0, 10000), "pmd-sleep-max": (0, 10000),
}
# Keys OVS renamed: old name -> (new name, first OVS version that reads the new name). The two names are
# one setting: the module writes the one the running OVS reads (ovs-vsctl --version) and removes the other,
# so one description serves Debian 12 (OVS 3.1) and Debian 13 (OVS 3.5).
RENAMED_KEYS = {"pmd-maxsleep": ("pmd-sleep-max", (3, 2))}
CHOICE_KEYS = {"pmd-rxq-assign": ("cycles", "group", "roundrobin")}
# option name -> other_config key, for the options that set exactly one key
OPTION_KEYS = (("dpdk_init", DPDK_INIT_KEY), ("socket_mem", "dpdk-socket-mem"),
               ("socket_limit", "dpdk-socket-limit"), ("lcore_mask", LCORE_MASK_KEY),
               ("pmd_cpu_mask", PMD_CPU_MASK_KEY), ("extra_args", DPDK_EXTRA_KEY),
               ("hugepage_dir", HUGEPAGE_DIR_KEY), ("vhost_sock_dir", VHOST_SOCK_DIR_KEY),
               ("per_port_memory", "per-port-memory"), ("vhost_iommu_support", VHOST_IOMMU_KEY),
               ("vhost_postcopy_support", "vhost-postcopy-support"))
