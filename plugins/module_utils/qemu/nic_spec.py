# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest's NICs: nfv.dpdk.qemu_vm's `nics` option validated and normalized, without host access.

`nic_specs(name, nics, qmp_socket)` returns (normalized NICs, problems). Each NIC type has its own checker;
what must be unique across a guest's NICs (MACs, sockets, tap names, passed-through devices) is checked
once in `nic_specs`. The unit's paths rules (path_problem, socket_dir_problem) live in qemu_spec.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import os
import re

from ansible_collections.nfv.dpdk.plugins.module_utils.host.netdev import mac_problem, normalize_mac
from ansible_collections.nfv.dpdk.plugins.module_utils.host.pci import normalize_address
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.unit_paths import (
    SUN_PATH_MAX,
    path_problem,
    socket_dir_problem,
)

NIC_TYPES = ("vhost-user", "tap", "user", "vfio")
TUN_DEVICE = "/dev/net/tun"  # QEMU opens it to attach a tap NIC
MAX_QUEUES = 64
# virtio-net-pci's ring and MTU options (QEMU's virtio_net_device_realize): ring sizes are powers of two from 256
# to 1024, and a tx ring above 256 only on a vhost-user backend (QEMU silently keeps 256 for the others)
VIRTIO_NICS = ("vhost-user", "tap", "user")
VIRTIO_OPTIONS = ("rx_queue_size", "tx_queue_size", "packed", "mtu", "mrg_rxbuf")
RING_MIN, RING_MAX, TX_RING_MAX_WITHOUT_VHOST_USER = 256, 1024, 256
MTU_MIN, MTU_MAX = 68, 65535
# patterns used with fullmatch: "$" also matches before a final newline
IFNAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,15}")
BRIDGE_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def generate_mac(name, index):
    """A stable, locally administered MAC for NIC `index` of guest `name`: 52:54:00:xx:xx:xx."""
    digest = hashlib.sha256(("%s/%d" % (name, index)).encode("utf-8")).digest()
    return "52:54:00:%02x:%02x:%02x" % (digest[0], digest[1], digest[2])


def _is_ipv4(text):
    try:
        ipaddress.IPv4Address(str(text))
    except ValueError:
        return False
    return True


def _mac(name, nic, out, where):
    mac = nic.get("mac")
    if not mac:
        out["mac"], out["mac_generated"] = generate_mac(name, out["index"]), True
        return []
    out["mac"], out["mac_generated"] = normalize_mac(mac), False
    if out["mac"] is None:
        return ["%s.mac %r is not a MAC address (like 52:54:00:12:34:56)" % (where, mac)]
    why = mac_problem(out["mac"])
    return ["%s.mac %s %s" % (where, out["mac"], why)] if why else []


def _vhost_user(nic, out, where):
    sock = nic.get("socket")
    queues = 1 if nic.get("queues") is None else nic.get("queues")
    problems = []
    why = path_problem(where + ".socket", sock, unit_list=True)
    if why:
        problems.append(why)
    else:
        blen = len(sock.encode("utf-8"))
        if blen > SUN_PATH_MAX:
            problems.append("%s.socket %s is %d bytes, over the %d-byte limit of unix socket paths"
                            % (where, sock, blen, SUN_PATH_MAX))
        why = socket_dir_problem(where + ".socket", sock)
        if why:
            problems.append(why)
    try:
        queues = int(queues)
        if not 1 <= queues <= MAX_QUEUES:
            raise ValueError
    except (TypeError, ValueError):
        problems.append("%s.queues must be between 1 and %d, got %r" % (where, MAX_QUEUES, queues))
        queues = 1
    out.update({"socket": sock, "queues": queues, "chardev": "char%d" % out["index"]})
    return problems


def _tap(nic, out, where):
    ifname, bridge = nic.get("ifname"), nic.get("bridge")
    problems = []
    if not ifname or not IFNAME_RE.fullmatch(ifname) or ifname in (".", ".."):
        problems.append("%s.ifname %r is not an interface name (1-15 letters, digits, '-', '_', '.')"
                        % (where, ifname))
    if bridge and not BRIDGE_RE.fullmatch(bridge):
        problems.append("%s.bridge %r is not a bridge name" % (where, bridge))
    out.update({"ifname": ifname, "bridge": bridge})
    return problems


def _user(nic, out, where):
    problems, forwards = [], []
    for findex, fwd in enumerate(nic.get("forwards") or []):
        proto = fwd.get("protocol") or "tcp"
        try:
            host_port, guest_port = int(fwd.get("host_port")), int(fwd.get("guest_port"))
            if not (0 < host_port < 65536 and 0 < guest_port < 65536):
                raise ValueError
        except (TypeError, ValueError):
            problems.append("%s.forwards[%d] needs host_port and guest_port between 1 and 65535" % (where, findex))
            continue
        if proto not in ("tcp", "udp"):
            problems.append("%s.forwards[%d].protocol must be tcp or udp" % (where, findex))
        address = fwd.get("host_address") or "127.0.0.1"
        if not _is_ipv4(address):
            problems.append("%s.forwards[%d].host_address %r is not an IPv4 address" % (where, findex, address))
        forwards.append({"protocol": proto, "host_address": address, "host_port": host_port,
                         "guest_port": guest_port})
    out["forwards"] = forwards
    out["host_access"] = bool(nic.get("host_access"))
    return problems


def _vfio(nic, out, where):
    out["host"] = normalize_address(nic.get("host"))
    problems = []
    if out["host"] is None:
        problems.append("%s.host %r is not a PCI address (like 0000:0c:00.3 or 0c:00.3)" % (where, nic.get("host")))
    if nic.get("mac"):
        problems.append("%s.mac cannot be set for vfio passthrough (the device keeps its own MAC)" % where)
    return problems


def _ring_size(nic, field, ntype, where):
    """(size or None, problems) of rx_queue_size or tx_queue_size."""
    value = nic.get(field)
    if value is None:
        return None, []
    top = TX_RING_MAX_WITHOUT_VHOST_USER if field == "tx_queue_size" and ntype != "vhost-user" else RING_MAX
    if isinstance(value, bool) or not isinstance(value, int) or value & (value - 1) or not RING_MIN <= value <= top:
        if top == RING_MIN:
            why = "%d on a %s NIC (QEMU takes a larger tx ring only from a vhost-user backend)" % (top, ntype)
        else:
            why = "a power of two from %d to %d" % (RING_MIN, top)
        return None, ["%s.%s must be %s, got %r" % (where, field, why, value)]
    return value, []


def _virtio(nic, out, where):
    """The virtio-net-pci options of a vhost-user, tap or user NIC; a vfio NIC takes none."""
    ntype = out["type"]
    if ntype not in VIRTIO_NICS:
        return ["%s.%s is an option of virtio-net NICs (%s), not of %s passthrough"
                % (where, field, ", ".join(VIRTIO_NICS), ntype)
                for field in VIRTIO_OPTIONS if nic.get(field) is not None]
    problems = []
    for field in ("rx_queue_size", "tx_queue_size"):
        out[field], found = _ring_size(nic, field, ntype, where)
        problems += found
    mtu = nic.get("mtu")
    if mtu is not None and (isinstance(mtu, bool) or not isinstance(mtu, int) or not MTU_MIN <= mtu <= MTU_MAX):
        problems.append("%s.mtu must be from %d to %d, got %r" % (where, MTU_MIN, MTU_MAX, mtu))
        mtu = None
    out["mtu"] = mtu
    for field in ("packed", "mrg_rxbuf"):
        out[field] = None if nic.get(field) is None else bool(nic.get(field))
    return problems


CHECKERS = {"vhost-user": _vhost_user, "tap": _tap, "user": _user, "vfio": _vfio}
# what no two NICs of a guest may share: (field of the normalized NIC, what a clash is called)
UNIQUE = (("mac", "duplicates nics[%d].mac"), ("socket", "is also used by nics[%d]"),
          ("ifname", "is also used by nics[%d]"), ("host", "is also passed through by nics[%d]"))


def nic_specs(name, nics, qmp_socket):
    """(normalized NICs, problems) of guest `name`'s `nics` option; every problem names its nics[i] field."""
    specs, problems, seen = [], [], {}
    for index, given in enumerate(nics or []):
        nic = dict(given or {})
        ntype = nic.get("type")
        where = "nics[%d]" % index
        out = {"type": ntype, "index": index, "id": "net%d" % index}
        specs.append(out)
        if ntype not in NIC_TYPES:
            problems.append("%s.type %r is unknown; use one of: %s" % (where, ntype, ", ".join(NIC_TYPES)))
            continue
        if ntype != "vfio":
            problems += _mac(name, nic, out, where)
        problems += CHECKERS[ntype](nic, out, where)
        problems += _virtio(nic, out, where)
        if ntype == "vhost-user" and out.get("socket") and os.path.basename(os.path.dirname(out["socket"])) != name:
            problems.append("%s.socket %s must be in a directory of this guest's own, named after it (like "
                            "/run/vhost/%s/%s): the unit gives that directory to the guest alone, so that no other "
                            "guest can reach or replace the socket"
                            % (where, out["socket"], name, os.path.basename(out["socket"])))
        if out.get("socket") and out["socket"] == qmp_socket:
            problems.append("%s.socket %s is the guest's QMP socket" % (where, out["socket"]))
        for field, clash in UNIQUE:
            value = out.get(field)
            if value and (field, value) in seen:
                problems.append(("%s.%s %s " + clash) % (where, field, value, seen[(field, value)]))
            elif value:
                seen[(field, value)] = index
    return specs, problems
