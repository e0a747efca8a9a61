# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`ovs-appctl dpif-netdev/pmd-rxq-show`: which PMD thread, on which core and NUMA node, polls which rx queue."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

PMD_HEAD_RE = re.compile(r"pmd thread numa_id (\d+|-1) core_id (\d+):")
RXQ_RE = re.compile(r"port:\s*(\S+)\s+queue-id:\s*(\d+)(?:\s*\((enabled|disabled)\))?(?:\s+pmd usage:\s*(.*?))?\s*")


def parse_pmd_rxq_show(text):
    """`ovs-appctl dpif-netdev/pmd-rxq-show` -> [{numa, core, isolated, rxqs: [{port, queue, enabled, usage}]}]."""
    pmds = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        head = PMD_HEAD_RE.fullmatch(line)
        if head:
            numa = int(head.group(1))
            pmds.append({"numa": numa if numa >= 0 else None, "core": int(head.group(2)), "isolated": False,
                         "rxqs": []})
            continue
        if not pmds:
            continue
        if line.startswith("isolated"):
            pmds[-1]["isolated"] = line.split(":", 1)[1].strip() == "true"
            continue
        rxq = RXQ_RE.fullmatch(line)
        if rxq:
            pmds[-1]["rxqs"].append({"port": rxq.group(1), "queue": int(rxq.group(2)),
                                     "enabled": rxq.group(3) != "disabled",
                                     "usage": (rxq.group(4) or "").strip() or None})
    return pmds
