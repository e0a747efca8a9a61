# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network interfaces: state, addresses, the default route and management traffic.

A NIC carries management traffic when one of its netdevs, or a device stacked
on it (bridge, bond, VLAN), holds the default route or the address Ansible is
connected through. Those NICs are never bound away from their kernel driver
without force.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os
import re
import socket

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.pci import NET_ROOT

# a DNS host name (fullmatch): dot-separated labels of letters, digits and inner '-', an optional final dot
HOSTNAME_RE = re.compile(r"(?=.{1,253}\.?$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
                         r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")
MAC_RE = re.compile(r"([0-9a-fA-F]{2})([:-][0-9a-fA-F]{2}){5}")  # fullmatch


def normalize_mac(text):
    """'52-54-00-AB-CD-EF' -> '52:54:00:ab:cd:ef'; None when not a MAC."""
    text = str(text or "").strip(" \t")
    if not MAC_RE.fullmatch(text):
        return None
    return text.replace("-", ":").lower()


def mac_problem(mac):
    """Why a (normalized) MAC cannot be a NIC's address, or None."""
    first = int(mac.split(":")[0], 16)
    if first & 1:
        return "is a multicast address (the lowest bit of the first octet is set)"
    if mac == "00:00:00:00:00:00":
        return "is all zeros"
    return None


def read_link(fs, name):
    base = "%s/%s" % (NET_ROOT, name)
    return {
        "operstate": fs.read(base + "/operstate"),
        "carrier": fs.read_int(base + "/carrier"),
        "mac": fs.read(base + "/address"),
        "mtu": fs.read_int(base + "/mtu"),
    }


def default_route_interfaces(fs):
    """Interfaces that hold an IPv4 or IPv6 default route (from /proc/net)."""
    names = set()
    for line in (fs.read("/proc/net/route") or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            names.add(fields[0])
    for line in (fs.read("/proc/net/ipv6_route") or "").splitlines():
        fields = line.split()
        if len(fields) >= 10 and fields[0] == "0" * 32 and fields[1] == "00" and fields[9] != "lo":
            names.add(fields[9])
    return names


def parse_ip_addresses(text):
    """'ip -j address show' output -> {ifname: [addresses]}."""
    result = {}
    try:
        entries = json.loads(text or "[]")
    except ValueError:
        return result
    for entry in entries:
        name = entry.get("ifname")
        if name:
            result[name] = [info.get("local") for info in entry.get("addr_info", []) if info.get("local")]
    return result


def read_addresses(runner):
    """{ifname: [addresses]} through iproute2; {} when the host has no `ip`."""
    if not runner.has("ip"):
        return {}
    rc, out, _err = runner.run("ip", ["-j", "address", "show"], check=False)
    return parse_ip_addresses(out) if rc == 0 else {}


def normalize_ip(text):
    """An IP address as `ip -j address` prints it ('2001:DB8::0001' -> '2001:db8::1', a zone and an
    IPv4-mapped IPv6 form dropped), or None when `text` is not an IP address."""
    try:
        address = ipaddress.ip_address(str(text).strip(" \t").split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def resolve_connection_address(value, field="connection_address", resolve=None):
    """An explicit connection address (IP address or host name) -> the IP addresses it names.

    Raises NfvError naming `field` when it is neither an IP address nor a host name that resolves:
    a typo would otherwise silently switch the management-NIC guard off for that address.
    """
    text = str(value).strip(" \t")
    address = normalize_ip(text)
    if address:
        return [address]
    if not HOSTNAME_RE.fullmatch(text):
        raise NfvError("%s %r is neither an IP address nor a host name; give the address through which Ansible "
                       "reaches this host" % (field, value), **{field: value})
    try:
        infos = (resolve or socket.getaddrinfo)(text, None)
    except (socket.gaierror, socket.herror, UnicodeError) as exc:
        raise NfvError("%s %r is not an IP address and does not resolve on this host (%s); give the address "
                       "through which Ansible reaches this host" % (field, value, exc), **{field: value}) from exc
    addresses = sorted(set(normalize_ip(info[4][0]) for info in infos if normalize_ip(info[4][0])))
    if not addresses:
        raise NfvError("%s %r resolves to no IP address on this host" % (field, value), **{field: value})
    return addresses


def connection_address():
    """The local address of the SSH connection Ansible came in on, if any."""
    fields = os.environ.get("SSH_CONNECTION", "").split()
    return normalize_ip(fields[2]) if len(fields) == 4 else None


def lower_devices(fs, name):
    """Devices `name` is stacked on (bridge ports, bond slaves, a VLAN's parent)."""
    return [entry[len("lower_"):] for entry in fs.listdir("%s/%s" % (NET_ROOT, name))
            if entry.startswith("lower_")] + list(fs.listdir("%s/%s/brif" % (NET_ROOT, name)))


def management_interfaces(fs, addresses, conn_address, default_routes=None, ovs_members=None):
    """{ifname: reason} for every interface that carries management traffic.

    `conn_address` is the connection address, or a list of them (a host name's addresses). `default_routes`
    ({ifname: reason}) defaults to the main table's from /proc/net; `ovs_members(ifname)` gives the
    [(ifname, via)] on the same Open vSwitch bridge (their traffic rides that bridge too).
    """
    reasons = {}
    routes = default_routes if default_routes is not None else dict(
        (name, "default route") for name in default_route_interfaces(fs))
    for name in sorted(routes):
        reasons.setdefault(name, routes[name])
    wanted = [conn_address] if isinstance(conn_address, str) else list(conn_address or [])
    wanted = [normalize_ip(a) or a for a in wanted]
    for conn in wanted:
        for name, addrs in addresses.items():
            if conn in [normalize_ip(a) or a for a in addrs]:
                reasons.setdefault(name, "ansible connection address %s" % conn)
    pending = list(reasons)
    while pending:
        upper = pending.pop()
        below = [(lower, upper) for lower in lower_devices(fs, upper)]
        below += list(ovs_members(upper)) if ovs_members else []
        for lower, via in below:
            if lower not in reasons:
                reasons[lower] = "%s (via %s)" % (reasons[upper], via)
                pending.append(lower)
    return reasons
