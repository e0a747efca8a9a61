# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How one OVSDB row (Bridge, Port, Interface) differs from what is wanted: exact columns and merged maps."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def map_changes(current, wanted):
    """Merge semantics: listed keys are set, null removes, unlisted keys stay. -> (sets, removes)."""
    sets, removes = {}, []
    for key in sorted(wanted):
        value = wanted[key]
        if value is None:
            if key in current:
                removes.append(key)
        elif current.get(key) != value:
            sets[key] = value
    return sets, removes


def column_updates(entry, spec, exact, merged=("other_config", "external_ids")):
    """Column updates that bring an existing row to spec: {field: (before, after, data)}; `exact` columns are
    set as given, `merged` maps key by key (data: sets and removes)."""
    updates = {}
    for field in exact:
        before = entry.get(field)
        if field == "type":
            before = "" if before in (None, "system") else before
        after = spec[field]
        if before != after:
            updates[field] = (before, after, None)
    for field in merged:
        current = entry.get(field) or {}
        sets, removes = map_changes(current, spec[field])
        if sets or removes:
            before = dict((k, current.get(k)) for k in list(sets) + removes)
            after = dict((k, sets.get(k)) for k in list(sets) + removes)
            updates[field] = (before, after, {"sets": sets, "removes": removes})
    return updates
