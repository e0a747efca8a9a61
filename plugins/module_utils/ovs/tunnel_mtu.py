# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does the overlay fit the underlay? A tunnel port's frames, its bridge's largest MTU plus the encapsulation,
must fit the MTU of the uplink of the bridge whose underlay reaches the tunnel's remote_ip."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError

# bytes a tunnel adds around the overlay's IP packet: the inner Ethernet header, the tunnel and UDP headers
# (GRE with a key), and the outer IPv4 header; an IPv6 underlay adds 20 more
OVERHEAD = {"vxlan": 50, "geneve": 50, "gre": 42}
DEFAULT_MTU = 1500
# interface types that carry a bridge's traffic off the host
UPLINK_TYPES = ("", "system", "dpdk", "afxdp", "afxdp-nonpmd")
# interface types whose MTU is not the overlay's: the tunnels themselves, and patch ports (they have none)
NOT_OVERLAY_TYPES = tuple(OVERHEAD) + ("patch",)


def uplinks_of_wanted(wanted):
    """(name, MTU) of the uplink interfaces of a wanted bridge (single ports and bond members)."""
    result = []
    for spec in wanted:
        for member in (spec["bond"]["members"] if spec["bond"] else [spec]):
            if member["type"] in UPLINK_TYPES:
                result.append((member["name"], member["mtu_request"] or DEFAULT_MTU))
    return result


def uplinks_of_state(bridge_rows, port_rows, iface_rows):
    """{bridge: [(interface, MTU)]} of the uplink interfaces in OVSDB (mtu_request, else the MTU OVS reports)."""
    ports = dict((row["_uuid"], row) for row in port_rows)
    ifaces = dict((row["_uuid"], row) for row in iface_rows)
    result = {}
    for bridge in bridge_rows:
        found = []
        for port_uuid in as_list(bridge.get("ports")):
            for iface_uuid in as_list((ports.get(port_uuid) or {}).get("interfaces")):
                iface = ifaces.get(iface_uuid) or {}
                if (iface.get("type") or "") in UPLINK_TYPES and iface.get("name") != bridge["name"]:
                    mtu = first(iface.get("mtu_request")) or first(iface.get("mtu")) or DEFAULT_MTU
                    found.append((iface["name"], int(mtu)))
        result[bridge["name"]] = found
    return result


def as_list(value):
    return value if isinstance(value, list) else ([] if value is None else [value])


def first(value):
    values = as_list(value)
    return values[0] if values else None


def reaching(underlays, remote):
    """(bridge, prefix length) of the underlay whose subnet or route reaches `remote`, the longest prefix first."""
    best = None
    for bridge, underlay in sorted(underlays.items()):
        networks = [ipaddress.ip_interface(a).network for a in underlay.get("addresses") or []]
        networks += [ipaddress.ip_network(r["dest"]) for r in underlay.get("routes") or []]
        for network in networks:
            if network.version == remote.version and remote in network and (
                    best is None or network.prefixlen > best[1]):
                best = (bridge, network.prefixlen)
    return best


def check_tunnel_mtu(bridge, wanted, underlays, uplinks):
    """Raise NfvError for the first tunnel port of `wanted` whose overlay does not fit its underlay's uplink.

    underlays: {bridge: underlay} (recorded ones, and this bridge's wanted one); uplinks: {bridge: [(name, MTU)]}.
    Tunnels whose remote no underlay reaches are not checked (the kernel routes them: not ours to know)."""
    overlay = [(s["name"], s["mtu_request"] or DEFAULT_MTU) for s in wanted
               if not s["bond"] and s["type"] not in NOT_OVERLAY_TYPES]
    overlay_name, overlay_mtu = max(overlay, key=lambda p: p[1]) if overlay else ("(none listed)", DEFAULT_MTU)
    for index, spec in enumerate(wanted):
        remote = spec["options"].get("remote_ip")
        if spec["type"] not in OVERHEAD or not remote or remote == "flow":
            continue
        remote = ipaddress.ip_address(remote)
        found = reaching(underlays, remote)
        if found is None or not uplinks.get(found[0]):
            continue
        uplink_name, uplink_mtu = min(uplinks[found[0]], key=lambda p: p[1])
        overhead = OVERHEAD[spec["type"]] + (20 if remote.version == 6 else 0)
        if overlay_mtu + overhead > uplink_mtu:
            raise NfvError(
                "ports[%d] (%s): the overlay MTU %d (port %s of bridge %s) plus %d bytes of %s over IPv%d is %d, more "
                "than the MTU %d of the underlay's uplink %s (bridge %s, whose underlay reaches %s); lower the overlay "
                "ports' mtu_request to %d or raise the uplink's to %d"
                % (index, spec["name"], overlay_mtu, overlay_name, bridge, overhead, spec["type"], remote.version,
                   overlay_mtu + overhead, uplink_mtu, uplink_name, found[0], remote, uplink_mtu - overhead,
                   overlay_mtu + overhead))
