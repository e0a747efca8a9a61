#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ovs_config
short_description: Open vSwitch DPDK settings in the Open_vSwitch table
version_added: "0.1.0"
description:
  - Manages the C(other_config) keys of the Open_vSwitch table that configure OVS-DPDK
    (C(dpdk-init), C(dpdk-socket-mem), C(dpdk-socket-limit), C(dpdk-lcore-mask), C(pmd-cpu-mask),
    C(per-port-memory), C(dpdk-extra), C(vhost-iommu-support), C(vhost-postcopy-support), ...) plus any
    other key given in O(other_config).
  - Only the keys a task names are managed; other keys are left alone. A key set to V(null) in
    O(other_config) is removed.
  - Every value is checked before the database is read, in check mode too, and an error names the option or
    the O(other_config) key. Keys that ovs-vswitchd.conf.db(5) describes (masks, per-node memory lists,
    booleans, integers with their ranges, C(pmd-rxq-assign), C(dpdk-hugepage-dir), C(vhost-sock-dir)) are
    checked the same way whether a dedicated option or O(other_config) sets them.
  - All changes go to the database in one ovs-vsctl transaction, built as an argument list (no shell), so
    values containing C(=), spaces or quotes are stored as given.
  - Reports RV(restart_required) when a key that ovs-vswitchd reads only at start changes while DPDK is
    already initialized; restarting the daemon is left to the caller (the C(nfv.dpdk.ovs_dpdk) role does it
    in a handler).
author:
  - nfv.dpdk contributors (@nfv-dpdk)
extends_documentation_fragment:
  - nfv.dpdk.attributes
  - nfv.dpdk.attributes.full
  - nfv.dpdk.common_options.db
attributes:
  check_mode:
    details: Computes the same plan and changes nothing.
  diff_mode:
    details: Before and after values of the changed keys.
options:
  dpdk_init:
    description:
      - C(other_config:dpdk-init). V(true), V(false) or V(try).
    type: raw
  socket_mem:
    description:
      - Hugepage memory in MB that DPDK preallocates, one value per NUMA node in node order
        (C([1024, 0]) becomes C(dpdk-socket-mem=1024,0)).
      - More values than the host has NUMA nodes (by node id) is an error; the same holds for
        C(dpdk-socket-mem) given in O(other_config).
    type: list
    elements: int
  socket_limit:
    description:
      - Upper limit of hugepage memory in MB per NUMA node (C(dpdk-socket-limit)), at most one value per NUMA
        node.
    type: list
    elements: int
  lcore_mask:
    description:
      - Hexadecimal CPU mask of the DPDK lcore (non-PMD) threads (C(dpdk-lcore-mask)), for example C(0x1).
      - Written normalized (C(0x) and lowercase hex without leading zeros); a stored value that selects the same
        CPUs in another spelling (C(0x01)) is no change.
    type: str
  pmd_cpu_mask:
    description:
      - Hexadecimal CPU mask of the PMD threads (C(pmd-cpu-mask)), for example C(0x6). Takes effect at runtime.
      - Normalized like O(lcore_mask).
    type: str
  per_port_memory:
    description:
      - C(per-port-memory). V(true) gives every port its own mempool; V(false) shares mempools by MTU and
        NUMA node.
    type: bool
  extra_args:
    description:
      - Extra EAL arguments, one per entry, joined with spaces into C(dpdk-extra), for example
        C(["--huge-dir=/mnt/huge", "--file-prefix=ovs"]). Entries cannot contain whitespace because OVS
        splits C(dpdk-extra) on it.
    type: list
    elements: str
  hugepage_dir:
    description:
      - C(dpdk-hugepage-dir), the hugetlbfs mount DPDK uses.
    type: path
  vhost_sock_dir:
    description:
      - C(vhost-sock-dir), where server-mode (C(dpdkvhostuser)) sockets are created, a directory relative to
        Open vSwitch's run directory (ovs-vswitchd joins the two), without C(..). An absolute path is refused.
    type: path
  vhost_iommu_support:
    description:
      - C(vhost-iommu-support) for vhost-user client ports, needed by guests with a vIOMMU
        (nfv.dpdk.qemu_vm O(nfv.dpdk.qemu_vm#module:iommu)), whose NICs ask for IOMMU_PLATFORM.
    type: bool
  vhost_postcopy_support:
    description:
      - C(vhost-postcopy-support) for vhost-user client ports.
    type: bool
  other_config:
    description:
      - Any other C(other_config) keys. Booleans become C(true)/C(false). V(null) removes the key.
      - A key also set by a dedicated option must agree with it.
      - Known keys are checked and normalized as their options are (C(pmd-cpu-mask=zz) or
        C(dpdk-socket-mem=1024 MB) fail naming the key); C(dpdk-socket-mem) and C(dpdk-socket-limit) may be
        given as C(1024,0) or a list. Unknown keys are stored as given.
      - A key Open vSwitch renamed is written under the name the installed version reads, and the other
        spelling is removed, so one description serves Debian 12 and 13 - C(pmd-maxsleep) (OVS 3.1) is
        C(pmd-sleep-max) from OVS 3.2 on (Debian 13 has 3.5). RV(renamed_keys) says what was renamed.
    type: dict
  timeout:
    description:
      - Seconds ovs-vsctl waits for the database and for ovs-vswitchd to apply the change.
    type: int
    default: 30
notes:
  - Keys treated as start-only once DPDK is initialized (from ovs-vswitchd.conf.db(5)) - C(dpdk-init),
    C(dpdk-lcore-mask), C(dpdk-alloc-mem), C(dpdk-socket-mem), C(dpdk-socket-limit), C(dpdk-hugepage-dir),
    C(dpdk-extra), C(vhost-sock-dir), C(vhost-iommu-support), C(vhost-postcopy-support), C(per-port-memory),
    C(hw-offload), C(n-offload-threads), C(userspace-tso-enable), C(offload-rebalance).
  - Fails with a clear message when ovsdb-server cannot be reached. When ovs-vswitchd is not running the
    database is still updated (it reads the settings when it starts) and RV(vswitchd_running) is false.
seealso:
  - module: nfv.dpdk.ovs_bridge
  - module: nfv.dpdk.host_facts
"""

EXAMPLES = r"""
- name: Configure OVS-DPDK on a two-node host
  nfv.dpdk.ovs_config:
    dpdk_init: true
    socket_mem: [1024, 0]
    lcore_mask: "0x1"
    pmd_cpu_mask: "0x6"
    per_port_memory: true
    extra_args: ["--huge-dir=/dev/hugepages-1G", "--file-prefix=ovs"]
  register: ovs_dpdk_config

- name: Restart ovs-vswitchd when a start-only key changed
  ansible.builtin.service:
    name: ovs-vswitchd
    state: restarted
  when: ovs_dpdk_config.restart_required

- name: Other keys, and removing one
  nfv.dpdk.ovs_config:
    other_config:
      pmd-auto-lb: true
      tx-flush-interval: 50
      dpdk-alloc-mem: null
"""

RETURN = r"""
other_config:
  description: The Open_vSwitch other_config after the run (the prediction in check mode).
  returned: success
  type: dict
  sample: {"dpdk-init": "true", "dpdk-socket-mem": "1024,0", "pmd-cpu-mask": "0x6"}
changes:
  description: The plan - one entry per key with C(key), C(action) (set or remove), C(before), C(after).
  returned: always
  type: list
  elements: dict
restart_required:
  description: True when a start-only key changed while DPDK was initialized; ovs-vswitchd must be restarted
    for it to take effect.
  returned: success
  type: bool
restart_keys:
  description: The start-only keys that changed.
  returned: success
  type: list
  elements: str
dpdk_initialized:
  description: C(dpdk_initialized) of the Open_vSwitch row before the run.
  returned: success
  type: bool
vswitchd_running:
  description: Whether ovs-vswitchd runs (from its pidfile), null when it cannot be told (TCP/SSL remote).
  returned: success
  type: bool
ovs_version:
  description: The Open vSwitch version (C(ovs-vsctl --version)) the key names were chosen for.
  returned: success
  type: str
  sample: 3.5.0
renamed_keys:
  description: Keys given under a name this Open vSwitch does not read, and the name written instead.
  returned: success
  type: dict
  sample: {"pmd-maxsleep": "pmd-sleep-max"}
"""

from ansible_collections.nfv.dpdk.plugins.module_utils.core.common_options import DB, merged
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import run_module
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovs_config import ARGUMENT_SPEC as OWN_SPEC
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovs_config import OvsConfig

ARGUMENT_SPEC = merged(OWN_SPEC, DB)


def main():
    run_module(OvsConfig, ARGUMENT_SPEC)


if __name__ == "__main__":
    main()
