# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bond: one `ports` entry with `interfaces` (its members), checked before OVS is asked.

The Port row holds the bond settings (bond_mode, lacp, bond_updelay/bond_downdelay, other_config:lacp-time
and lacp-fallback-ab) and the VLAN settings; each member is an Interface row with its own type, options
(dpdk-devargs, queues), MTU, other_config and external_ids, checked by the same rules as a single port's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError

BOND_MODES = ["active-backup", "balance-slb", "balance-tcp"]
LACP_MODES = ["active", "passive", "off"]
# Interface types that can be a bond member: a NIC, as a kernel netdev or a DPDK/AF_XDP port.
MEMBER_TYPES = ["system", "dpdk", "afxdp", "afxdp-nonpmd"]

# the Interface columns a single port and a bond member both set (port_validation's PORT_SPEC takes them too)
INTERFACE_SPEC = dict(
    options=dict(type="dict", default={}),
    mtu_request=dict(type="int"),
    n_rxq=dict(type="int"),
    n_rxq_desc=dict(type="int"),
    n_txq_desc=dict(type="int"),
    pmd_rxq_affinity=dict(type="str"),
    other_config=dict(type="dict", default={}),
    external_ids=dict(type="dict", default={}),
)

MEMBER_SPEC = dict(
    name=dict(type="str", required=True),
    type=dict(type="str", default="dpdk", choices=MEMBER_TYPES),
    **INTERFACE_SPEC
)

BOND_SPEC = dict(
    interfaces=dict(type="list", elements="dict", options=MEMBER_SPEC),
    bond_mode=dict(type="str", choices=BOND_MODES),
    lacp=dict(type="str", choices=LACP_MODES),
    lacp_time=dict(type="str", choices=["slow", "fast"]),
    lacp_fallback_ab=dict(type="bool"),
    bond_updelay=dict(type="int"),
    bond_downdelay=dict(type="int"),
)

# Port fields that belong to each member of a bond, not to the bond (the Port row has no such column).
MEMBER_ONLY = ("options", "mtu_request", "n_rxq", "n_rxq_desc", "n_txq_desc", "pmd_rxq_affinity")
# The Port other_config keys of the typed LACP fields.
LACP_KEYS = (("lacp_time", "lacp-time"), ("lacp_fallback_ab", "lacp-fallback-ab"))


def refuse_bond_fields(where, port):
    """A single-interface port takes no bond setting."""
    for field in BOND_SPEC:
        if port.get(field) is not None:
            raise NfvError("%s: %s is a bond setting; a bond is a port with interfaces (at least two members)"
                           % (where, field))


def check_lacp(where, port):
    lacp = port.get("lacp")
    uses_lacp = lacp in ("active", "passive")
    for field, _key in LACP_KEYS:
        if port.get(field) is not None and not uses_lacp:
            raise NfvError("%s: %s is an LACP setting and lacp is %s; set lacp to active or passive, or drop %s"
                           % (where, field, lacp or "not given (off)", field))
    if port.get("bond_mode") == "balance-tcp" and not uses_lacp:
        raise NfvError("%s: bond_mode balance-tcp needs LACP (lacp: active or passive; lacp_fallback_ab: true "
                       "falls back to active-backup when the partner does not answer); without LACP use "
                       "active-backup or balance-slb" % where)
    for field in ("bond_updelay", "bond_downdelay"):
        value = port.get(field)
        if value is not None and not 0 <= value <= 3600000:
            raise NfvError("%s: %s is in milliseconds, 0-3600000, got %s" % (where, field, value))


def bond_other_config(where, port, other_config):
    """The Port's other_config with the typed LACP keys: given - set, not given - removed (OVS's default)."""
    result = dict(other_config)
    for field, key in LACP_KEYS:
        value = port.get(field)
        if value is None:
            if key not in result:
                result[key] = None
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if result.get(key, text) != text:
            raise NfvError("%s: %s conflicts with other_config.%s=%s" % (where, field, key, result[key]))
        result[key] = text
    return result


def normalize_bond(where, port, index, normalize_member):
    """The bond's Port-level wanted state and its members; normalize_member(member, field, where) -> its spec."""
    field = "ports[%d]" % index if index is not None else where
    members = port.get("interfaces") or []
    if len(members) < 2:
        raise NfvError("%s.interfaces: a bond needs at least two members, got %d; a port with one interface "
                       "is written without interfaces" % (field, len(members)))
    if (port.get("type") or "system") != "system":
        raise NfvError("%s: type is each member's (%s.interfaces[].type), not the bond's" % (where, field))
    for name in MEMBER_ONLY:
        if port.get(name) not in (None, {}):
            raise NfvError("%s: %s belongs to each member of the bond (%s.interfaces[].%s)"
                           % (where, name, field, name))
    check_lacp(where, port)
    specs, seen = [], set()
    for number, member in enumerate(members):
        spec = normalize_member(member, "%s.interfaces[%d].name" % (field, number),
                                "%s member %s" % (where, member.get("name")))
        if spec["name"] in seen:
            raise NfvError("%s: member %s is listed more than once" % (where, spec["name"]))
        if spec["name"] == port["name"]:
            raise NfvError("%s: member %s has the bond's name; name the bond and its members apart"
                           % (where, spec["name"]))
        seen.add(spec["name"])
        specs.append(spec)
    return {
        "bond_mode": port.get("bond_mode"),
        "lacp": port.get("lacp"),
        "bond_updelay": port.get("bond_updelay") or 0,
        "bond_downdelay": port.get("bond_downdelay") or 0,
        "members": specs,
    }
