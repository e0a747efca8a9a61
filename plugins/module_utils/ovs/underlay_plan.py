# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan for a bridge's underlay: the wanted state recorded in the Bridge's external_ids (in the bridge's
one transaction) and the internal port's addresses and routes in the kernel (underlay_kernel)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.underlay_kernel import UNDERLAY_KEY


def recorded(underlay):
    """The external_ids value of a wanted underlay (None removes the key: no underlay)."""
    if not underlay or not (underlay["addresses"] or underlay["routes"]):
        return None
    return json.dumps(underlay, sort_keys=True, separators=(",", ":"))


def with_underlay_key(params, underlay):
    """The module's parameters with the underlay's external_ids key, when an underlay is given."""
    if underlay is None:
        return params
    external_ids = dict(params.get("external_ids") or {})
    external_ids[UNDERLAY_KEY] = recorded(underlay)
    return dict(params, external_ids=external_ids)


def kernel_view(state):
    return {"up": bool(state and state["up"]), "addresses": list(state["addresses"]) if state else [],
            "routes": list(state["routes"]) if state else []}


def plan_underlay(plan, underlay, state):
    """An `underlay` change when the internal port's addresses, routes or link state differ from `underlay`."""
    if underlay is None:
        return
    before = kernel_view(state)
    after = {"up": bool(underlay["addresses"]) or before["up"], "addresses": underlay["addresses"],
             "routes": underlay["routes"]}
    if before != after:
        plan.add("underlay", before, after, action="underlay")


def recorded_underlays(bridge_rows):
    """{bridge: underlay} of every bridge whose external_ids record one (for the tunnel MTU check)."""
    result = {}
    for row in bridge_rows:
        text = (row.get("external_ids") or {}).get(UNDERLAY_KEY)
        if text:
            try:
                result[row["name"]] = json.loads(text)
            except ValueError:
                continue
    return result
