#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: hugepage_pool
short_description: Set the runtime hugepage pool of one page size, system wide or on one NUMA node
version_added: "0.1.0"
description:
  - Sets the number of persistent hugepages of one size in the kernel's runtime pool, either system wide
    (C(/sys/kernel/mm/hugepages/hugepages-SIZE/nr_hugepages)) or on one NUMA node
    (C(/sys/devices/system/node/nodeN/hugepages/hugepages-SIZE/nr_hugepages)).
  - After writing, reads back what the kernel really allocated. Runtime allocation can fall short
    (fragmented or too little free memory, above all for 1G pages); the module then writes the previous
    count back and fails with C(allocated X of Y pages of SIZE on node N) (or C(system wide)), unless
    O(allow_shortfall=true).
  - All input is validated before anything is read or written; bad input changes nothing.
  - The pool lasts until the next boot. To keep it, re-apply it at boot (the C(nfv.dpdk.hugepages) role
    installs a unit that does) or reserve it on the kernel command line with M(nfv.dpdk.kernel_cmdline).
author:
  - nfv.dpdk contributors (@nfv-dpdk)
extends_documentation_fragment:
  - nfv.dpdk.attributes
  - nfv.dpdk.attributes.full
attributes:
  check_mode:
    details: Reports the change and the predicted counts; writes nothing.
  diff_mode:
    details: The diff shows the pool's C(nr_hugepages) file before and after.
options:
  size:
    description:
      - Page size, as C(2M), C(1G), C(2048kB) or C(1048576kB).
      - It must be a size the host supports; otherwise the module fails and lists the supported sizes.
    type: str
    required: true
  count:
    description:
      - Number of persistent pages wanted in the pool, an integer >= 0.
      - C(0) releases the pool; pages still in use become surplus pages and are freed when released.
      - O(count) times the page size may not exceed the host's C(MemTotal), or with O(node) that node's. A larger
        count is refused before anything is written (the kernel would otherwise take all the memory it can
        until the shortfall is restored); the error names the size, the count and the memory.
    type: int
    required: true
  node:
    description:
      - NUMA node id whose pool is set. Omitted means the system-wide pool (the kernel spreads the
        pages over the nodes).
      - Fails when the node does not exist or the host exposes no NUMA nodes.
    type: int
  allow_shortfall:
    description:
      - Accept a pool smaller than O(count) when the kernel cannot allocate all pages, with a warning,
        instead of restoring the previous count and failing.
    type: bool
    default: false
notes:
  - Counts compared and returned are persistent pages (the kernel's C(nr_hugepages) minus
    C(surplus_hugepages)).
  - Allocating 1G pages at runtime needs that much contiguous free memory; reserve them on the kernel
    command line (C(hugepagesz=1G hugepages=N)) when runtime allocation cannot reach the count.
seealso:
  - module: nfv.dpdk.host_facts
  - module: nfv.dpdk.kernel_cmdline
"""

EXAMPLES = r"""
- name: Reserve 1024 2M pages system wide
  nfv.dpdk.hugepage_pool:
    size: 2M
    count: 1024

- name: Reserve four 1G pages on NUMA node 1
  nfv.dpdk.hugepage_pool:
    size: 1G
    count: 4
    node: 1

- name: Take as many 1G pages as the kernel can find, up to 8
  nfv.dpdk.hugepage_pool:
    size: 1048576kB
    count: 8
    allow_shortfall: true
  register: pool

- name: Release the 2M pool
  nfv.dpdk.hugepage_pool:
    size: 2M
    count: 0
"""

RETURN = r"""
size:
  description: The page size as a label.
  returned: always
  type: str
  sample: 1G
size_kb:
  description: The page size in kB.
  returned: always
  type: int
  sample: 1048576
node:
  description: The NUMA node, null for the system-wide pool.
  returned: always
  type: int
  sample: 0
before:
  description: Persistent pages in the pool before the run.
  returned: always
  type: int
  sample: 0
after:
  description: Persistent pages in the pool after the run, as read back from the kernel (in check mode
    the count that would be set).
  returned: always
  type: int
  sample: 4
free:
  description: Free pages in the pool after the run (predicted in check mode).
  returned: always
  type: int
  sample: 4
pool:
  description: The kernel's counters of the pool (C(total), C(free), C(surplus), and system wide also
    C(reserved), C(overcommit)) after the run; before it in check mode.
  returned: always
  type: dict
  sample: {"size": "1G", "size_kb": 1048576, "node": null, "total": 4, "free": 4, "surplus": 0,
           "reserved": 0, "overcommit": 0}
changes:
  description: The plan, one entry per file changed, with C(key), C(action), C(before), C(after).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "action": "set",
            "before": 0, "after": 4}]
requested:
  description: On a shortfall failure, the count asked for.
  returned: failed
  type: int
allocated:
  description: On a shortfall failure, the pages the kernel allocated before the count was restored.
  returned: failed
  type: int
"""

from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import run_module
from ansible_collections.nfv.dpdk.plugins.module_utils.memory.hugepage_pool import HugepagePool


def main():
    run_module(HugepagePool, dict(
        size=dict(type="str", required=True),
        count=dict(type="int", required=True),
        node=dict(type="int"),
        allow_shortfall=dict(type="bool", default=False),
    ))


if __name__ == "__main__":
    main()
