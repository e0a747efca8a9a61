# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The requested bridge as a whole, checked before OVS is asked: its name and maps, and the rules between
its ports (each port alone: port_validation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.port_validation import (
    check_name,
    normalize_port,
    string_map,
)


def validate(params):
    """Everything that can be checked before talking to OVS. Returns the wanted ports in order."""
    check_name(params["name"], "bridge")
    wanted = []
    seen, sockets, interfaces = {}, {}, {}
    for index, port in enumerate(params.get("ports") or []):
        spec = normalize_port(port, index)
        if spec["name"] in seen:
            raise NfvError("port '%s' is listed more than once" % spec["name"])
        if spec["name"] == params["name"]:
            raise NfvError("port '%s' has the bridge's name: the bridge's own internal port is implicit, "
                           "do not list it" % spec["name"])
        seen[spec["name"]] = spec
        for number, member in enumerate(spec["bond"]["members"] if spec["bond"] else []):
            other = interfaces.get(member["name"]) or (member["name"] if member["name"] in seen else None)
            if other is not None or member["name"] == params["name"]:
                raise NfvError("ports[%d].interfaces[%d].name: %s is already the interface of port %s"
                               % (index, number, member["name"], other or params["name"]))
            interfaces[member["name"]] = spec["name"]
        if spec["name"] in interfaces:
            raise NfvError("ports[%d].name: %s is already a member of bond %s"
                           % (index, spec["name"], interfaces[spec["name"]]))
        path = spec["options"].get("vhost-server-path") if spec["type"] == "dpdkvhostuserclient" else None
        if path:
            if path in sockets:
                raise NfvError("ports '%s' and '%s' use the same vhost-server-path %s"
                               % (sockets[path], spec["name"], path))
            sockets[path] = spec["name"]
        wanted.append(spec)
    string_map("other_config", params.get("other_config"), allow_null=True)
    string_map("external_ids", params.get("external_ids"), allow_null=True)
    return wanted
