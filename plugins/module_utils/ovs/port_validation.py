# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One `ports` entry of ovs_bridge -> the wanted state of that port, checked before OVS is asked.

normalize_port applies the rules every port follows (its name, the value maps, queues, VLAN mode, tag and
trunks, MTU), then the rules of its interface type: PORT_TYPE_RULES maps a type to the function that
checks it. A new kind of port adds its options to PORT_SPEC and its rule to PORT_TYPE_RULES. A port with
`interfaces` is a bond (bond_validation), each member checked as an interface here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bond_validation import (
    BOND_SPEC,
    INTERFACE_SPEC,
    bond_other_config,
    normalize_bond,
    refuse_bond_fields,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.tunnel_validation import (
    TUNNEL_SPEC,
    TUNNEL_TYPES,
    check_tunnel,
    tunnel_options,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.unit_paths import SUN_PATH_MAX

IFNAMSIZ = 16            # names up to 15 bytes
INTERFACE_TYPES = ["system", "internal", "dpdk", "dpdkvhostuser", "dpdkvhostuserclient", "patch",
                   "vxlan", "geneve", "gre", "erspan", "ip6erspan", "ip6gre", "stt", "lisp", "bareudp",
                   "gtpu", "srv6", "tap", "afxdp", "afxdp-nonpmd"]
QUEUE_OPTIONS = (("n_rxq", "n_rxq"), ("n_rxq_desc", "n_rxq_desc"), ("n_txq_desc", "n_txq_desc"))
MAX_QUEUE_DESC = 4096
VLAN_MODES = ["access", "trunk", "native-tagged", "native-untagged"]
# Bridge and port names (fullmatch): they become Linux interface names (the bridge's internal port, system
# and tap ports) and bare ovs-vsctl arguments, where ':' separates column and key, '@' names a record of
# the transaction, a leading '-' reads as an option and '/', whitespace or '%' are not valid in netdev names.
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

PORT_SPEC = dict(
    name=dict(type="str", required=True),
    type=dict(type="str", default="system", choices=INTERFACE_TYPES),
    tag=dict(type="int"),
    trunks=dict(type="list", elements="int", default=[]),
    vlan_mode=dict(type="str", choices=VLAN_MODES),
    **dict(INTERFACE_SPEC, **dict(BOND_SPEC, **TUNNEL_SPEC))
)


# ---- names and values every port (and the bridge) follows -----------------------------------

def to_ovs_string(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def string_map(name, values, allow_null):
    result = {}
    for key, value in (values or {}).items():
        if value is None:
            if not allow_null:
                raise NfvError("%s.%s: a value is required (null is not allowed here)" % (name, key))
            result[str(key)] = None
        else:
            result[str(key)] = to_ovs_string(value)
    return result


def check_name(name, what):
    """A bridge or port name: 1-15 bytes of NAME_RE. `what` names the field ('bridge', 'ports[0].name')."""
    label = what if "." in what else "%s name" % what
    if not name:
        raise NfvError("%s cannot be empty" % label)
    if len(name.encode("utf-8")) >= IFNAMSIZ:
        raise NfvError("%s '%s' is %d bytes; Linux interface names hold at most %d"
                       % (label, name, len(name.encode("utf-8")), IFNAMSIZ - 1))
    if not NAME_RE.fullmatch(name) or name in (".", ".."):
        raise NfvError("%s %r may hold only letters, digits, '_', '-' and '.', and start with a letter, digit or "
                       "'_': ovs-vsctl reads ':' and '@' in its arguments, a leading '-' as an option, and Linux "
                       "interface names cannot hold '/' or whitespace" % (label, name))


def check_queue_option(where, key, value, field=None):
    """options.n_rxq (>= 1) and n_rxq_desc/n_txq_desc (a power of two, 1-4096), as ovs-vswitchd.conf.db(5) says."""
    field = field or "options.%s" % key
    text = str(value).strip(" \t")
    number = int(text) if re.fullmatch(r"\d+", text) and not isinstance(value, bool) else None
    if key == "n_rxq":
        if number is None or number < 1:
            raise NfvError("%s: %s must be an integer of at least 1, got %r" % (where, field, value))
    elif number is None or not 1 <= number <= MAX_QUEUE_DESC or number & (number - 1):
        raise NfvError("%s: %s must be a power of two from 1 to %d (queue descriptors), got %r"
                       % (where, field, MAX_QUEUE_DESC, value))
    return str(number)


def port_options(where, port):
    """options, with the dedicated queue options (n_rxq, n_rxq_desc, n_txq_desc) merged in and checked."""
    options = string_map(where + " options", port.get("options"), allow_null=False)
    for option, key in QUEUE_OPTIONS:
        if port.get(option) is not None:
            value = str(port[option])
            if options.get(key, value) != value:
                raise NfvError("%s: %s=%s conflicts with options.%s=%s" % (where, option, value, key, options[key]))
            options[key] = check_queue_option(where, key, port[option], field=option)
        elif key in options:
            options[key] = check_queue_option(where, key, options[key])
    return options


def port_other_config(where, port):
    """other_config, with the dedicated pmd_rxq_affinity merged in."""
    other_config = string_map(where + " other_config", port.get("other_config"), allow_null=True)
    if port.get("pmd_rxq_affinity") is not None:
        value = port["pmd_rxq_affinity"]
        if other_config.get("pmd-rxq-affinity", value) != value:
            raise NfvError("%s: pmd_rxq_affinity conflicts with other_config.pmd-rxq-affinity" % where)
        other_config["pmd-rxq-affinity"] = value
    return other_config


def port_vlans(where, port):
    """(tag, trunks, vlan_mode): VLAN ids 0-4095, trunks sorted without repeats, checked against the mode."""
    tag, mode = port.get("tag"), port.get("vlan_mode")
    if tag is not None and not 0 <= tag <= 4095:
        raise NfvError("%s: tag must be a VLAN id 0-4095, got %s" % (where, tag))
    trunks = sorted(set(port.get("trunks") or []))
    for vlan in trunks:
        if not 0 <= vlan <= 4095:
            raise NfvError("%s: trunks must be VLAN ids 0-4095, got %s" % (where, vlan))
    if mode == "access" and trunks:
        raise NfvError("%s: trunks on an access port (vlan_mode access carries only its tag); drop trunks or "
                       "use vlan_mode trunk, native-tagged or native-untagged" % where)
    if mode in ("access", "native-tagged", "native-untagged") and tag is None:
        raise NfvError("%s: vlan_mode %s needs tag (the %s VLAN)"
                       % (where, mode, "access" if mode == "access" else "native"))
    if mode == "trunk" and tag is not None:
        raise NfvError("%s: vlan_mode trunk takes no tag; for a native VLAN use vlan_mode native-tagged or "
                       "native-untagged" % where)
    if mode is None and tag is not None and trunks:
        raise NfvError("%s: tag and trunks together need vlan_mode native-tagged or native-untagged (without "
                       "vlan_mode OVS makes a port with a tag an access port and ignores its trunks)" % where)
    return tag, trunks, mode


def port_mtu(where, port):
    mtu = port.get("mtu_request")
    if mtu is not None and not 68 <= mtu <= 65535:
        raise NfvError("%s: mtu_request must be 68-65535, got %s" % (where, mtu))
    return mtu


# ---- the rules of each interface type ---------------------------------------------------------
# Each rule gets `where` ("port NAME") and the wanted port (normalize_port's result) and raises NfvError.

def check_dpdk(where, spec):
    if not spec["options"].get("dpdk-devargs"):
        raise NfvError("%s: a dpdk port needs options.dpdk-devargs (a PCI address such as 0000:03:00.0)" % where)


def check_vhost_client(where, spec):
    path = spec["options"].get("vhost-server-path")
    if not path:
        raise NfvError("%s: a dpdkvhostuserclient port needs options.vhost-server-path (the socket QEMU "
                       "creates as server)" % where)
    if len(path.encode("utf-8")) > SUN_PATH_MAX:
        raise NfvError("%s: vhost-server-path is %d bytes, longer than the %d a unix socket path can hold: %s"
                       % (where, len(path.encode("utf-8")), SUN_PATH_MAX, path))
    if not path.startswith("/"):
        raise NfvError("%s: vhost-server-path must be absolute: %s" % (where, path))


def check_patch(where, spec):
    if not spec["options"].get("peer"):
        raise NfvError("%s: a patch port needs options.peer" % where)


# type -> rule; the types not listed (system, internal, tap, afxdp, ...) have no rule of their own.
# srv6 takes its remote from the route, not options.remote_ip.
PORT_TYPE_RULES = dict([("dpdk", check_dpdk), ("dpdkvhostuserclient", check_vhost_client), ("patch", check_patch)]
                       + [(kind, check_tunnel) for kind in TUNNEL_TYPES if kind != "srv6"])


def normalize_interface(item, field, where):
    """The Interface columns of a port or of a bond member: name, type, options, MTU, maps. Raises NfvError."""
    name = item["name"]
    check_name(name, field)
    kind = item.get("type") or "system"
    spec = {
        "name": name,
        "type": "" if kind == "system" else kind,
        "options": tunnel_options(where, item, port_options(where, item)),
        "mtu_request": port_mtu(where, item),
        "other_config": port_other_config(where, item),
        "external_ids": string_map(where + " external_ids", item.get("external_ids"), allow_null=True),
    }
    rule = PORT_TYPE_RULES.get(kind)
    if rule is not None:
        rule(where, spec)
    return spec


def normalize_port(port, index=None):
    """One `ports` entry -> the wanted state of that port, validated. Raises NfvError.

    A single-interface port: the Interface columns at the top and `bond` None. A bond (`interfaces`
    given): `bond` holds the bond settings and the members, and other_config/external_ids are the Port's.
    """
    name = port["name"]
    field = "port" if index is None else "ports[%d].name" % index
    where = "port %s" % name
    check_name(name, field)
    tag, trunks, vlan_mode = port_vlans(where, port)
    if port.get("interfaces") is None:
        refuse_bond_fields(where, port)
        spec = normalize_interface(port, field, where)
        spec.update({"tag": tag, "trunks": trunks, "vlan_mode": vlan_mode, "bond": None})
        return spec
    bond = normalize_bond(where, port, index, normalize_interface)
    return {
        "name": name, "type": "", "options": {}, "mtu_request": None,
        "tag": tag, "trunks": trunks, "vlan_mode": vlan_mode,
        "other_config": bond_other_config(where, port, string_map(where + " other_config", port.get(
            "other_config"), allow_null=True)),
        "external_ids": string_map(where + " external_ids", port.get("external_ids"), allow_null=True),
        "bond": bond,
    }
