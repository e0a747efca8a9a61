# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `underlay` of a netdev bridge (the addresses and routes of its internal port, which tunnel ports of the
userspace datapath send from), checked before anything changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError

UNDERLAY_SPEC = dict(
    addresses=dict(type="list", elements="str", default=[]),
    routes=dict(type="list", elements="dict", default=[], options=dict(
        dest=dict(type="str", required=True),
        gateway=dict(type="str", required=True),
    )),
    persistent=dict(type="bool", default=True),
)


def parse_address(text, field):
    try:
        address = ipaddress.ip_interface(str(text))
    except ValueError as exc:
        raise NfvError("%s: %r is not an address with its prefix length, such as 172.16.0.1/24"
                       % (field, text)) from exc
    if "/" not in str(text):
        raise NfvError("%s: %s needs its prefix length (%s/24, say), which gives the underlay subnet"
                       % (field, text, text))
    network = address.network
    ends = (network.network_address, network.broadcast_address)
    if address.version == 4 and network.prefixlen < 31 and address.ip in ends:
        raise NfvError("%s: %s is the %s address of %s, not a host's" % (
            field, text, "network" if address.ip == network.network_address else "broadcast", network))
    if address.ip.is_link_local or address.ip.is_loopback or address.ip.is_multicast:
        raise NfvError("%s: %s is a link-local, loopback or multicast address; an underlay needs a unicast one"
                       % (field, text))
    return address


def parse_route(route, index, addresses):
    field = "underlay.routes[%d]" % index
    try:
        dest = ipaddress.ip_network(str(route["dest"]))
    except ValueError as exc:
        raise NfvError("%s.dest: %r is not a network with no host bits set, such as 10.20.0.0/16"
                       % (field, route["dest"])) from exc
    try:
        gateway = ipaddress.ip_address(str(route["gateway"]))
    except ValueError as exc:
        raise NfvError("%s.gateway: %r is not an address" % (field, route["gateway"])) from exc
    if gateway.version != dest.version:
        raise NfvError("%s: gateway %s and dest %s are not of one IP version" % (field, gateway, dest))
    subnets = [a.network for a in addresses if a.version == gateway.version]
    if not any(gateway in subnet for subnet in subnets) or gateway in [a.ip for a in addresses]:
        raise NfvError("%s.gateway: %s is off the subnets of underlay.addresses (%s); the gateway must be another "
                       "host on one of them" % (field, gateway, ", ".join(str(s) for s in subnets) or "none"))
    return {"dest": str(dest), "gateway": str(gateway)}


def validate_underlay(params):
    """-> {addresses: ['172.16.0.1/24', ...], routes: [{dest, gateway}]} or None (underlay not given)."""
    underlay = params.get("underlay")
    if underlay is None:
        return None
    if params.get("datapath_type") != "netdev":
        raise NfvError("underlay: the addresses of a bridge's internal port are for a netdev (userspace) bridge's "
                       "tunnels; set datapath_type: netdev (a kernel datapath bridge uses the host's own network "
                       "configuration)")
    db = params.get("db")
    if db and not db.startswith("unix:"):
        raise NfvError("underlay: db %s is a remote OVSDB; the underlay is set in the network namespace of the "
                       "ovs-vswitchd on the host this task runs on, so run it there with a local db (unix: socket "
                       "or the default)" % db)
    addresses, seen = [], set()
    for index, text in enumerate(underlay.get("addresses") or []):
        address = parse_address(text, "underlay.addresses[%d]" % index)
        if address.ip in seen:
            raise NfvError("underlay.addresses[%d]: %s is listed more than once" % (index, address.ip))
        seen.add(address.ip)
        addresses.append(address)
    routes = [parse_route(route, index, addresses) for index, route in enumerate(underlay.get("routes") or [])]
    dests = [r["dest"] for r in routes]
    if len(set(dests)) != len(dests):
        raise NfvError("underlay.routes: a dest is listed more than once: %s" % ", ".join(
            sorted(d for d in set(dests) if dests.count(d) > 1)))
    return {"addresses": sorted(str(a) for a in addresses), "routes": sorted(routes, key=lambda r: r["dest"])}
