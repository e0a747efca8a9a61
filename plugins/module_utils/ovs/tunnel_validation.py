# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tunnel ports (vxlan, geneve, gre, ...): the typed options remote_ip, local_ip, key and dst_port, merged into
the interface options and checked as ovs-vswitchd.conf.db(5) reads them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError

TUNNEL_TYPES = ("vxlan", "geneve", "gre", "erspan", "ip6erspan", "ip6gre", "stt", "lisp", "gtpu", "srv6")
# the tunnel id: a 24-bit VNI for VXLAN and Geneve, 32 bits of GRE key, 64 bits elsewhere
KEY_BITS = {"vxlan": 24, "geneve": 24, "gre": 32, "ip6gre": 32, "erspan": 32, "ip6erspan": 32}

TUNNEL_SPEC = dict(
    remote_ip=dict(type="str"),
    local_ip=dict(type="str"),
    key=dict(type="str", no_log=False),
    dst_port=dict(type="int"),
)


def check_ip(where, option, value):
    if value == "flow":
        return value
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise NfvError("%s: %s must be an IP address (or flow), got %r" % (where, option, value)) from exc


def check_key(where, kind, value):
    if value == "flow":
        return value
    bits = KEY_BITS.get(kind, 64)
    if not re.fullmatch(r"\d+", value) or int(value) >= 2 ** bits:
        raise NfvError("%s: key of a %s port must be an integer from 0 to %d (or flow), got %r"
                       % (where, kind, 2 ** bits - 1, value))
    return str(int(value))


def check_dst_port(where, value):
    if not re.fullmatch(r"\d+", value) or not 1 <= int(value) <= 65535:
        raise NfvError("%s: dst_port must be a UDP port 1-65535, got %r" % (where, value))
    return str(int(value))


def tunnel_options(where, port, options):
    """options with the typed tunnel fields merged in (a conflict with options.X fails); the values checked."""
    kind = port.get("type") or "system"
    for field in TUNNEL_SPEC:
        value = port.get(field)
        if value is None:
            continue
        if kind not in TUNNEL_TYPES:
            raise NfvError("%s: %s is an option of tunnel ports (%s), and the type is %s"
                           % (where, field, ", ".join(TUNNEL_TYPES), kind))
        text = str(value)
        if options.get(field, text) != text:
            raise NfvError("%s: %s=%s conflicts with options.%s=%s" % (where, field, text, field, options[field]))
        options[field] = text
    if kind in TUNNEL_TYPES:
        for field in ("remote_ip", "local_ip"):
            if field in options:
                options[field] = check_ip(where, field, options[field])
        if "key" in options:
            options["key"] = check_key(where, kind, options["key"])
        if "dst_port" in options:
            options["dst_port"] = check_dst_port(where, options["dst_port"])
    return options


def check_tunnel(where, spec):
    if not spec["options"].get("remote_ip"):
        raise NfvError("%s: a %s port needs remote_ip (the far end's underlay address, or flow)"
                       % (where, spec["type"]))
