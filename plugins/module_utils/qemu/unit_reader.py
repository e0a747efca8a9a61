# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest unit read back from its text: its ExecStart= argv, what it claims on the host (MACs, sockets, taps,
vfio devices, its runtime directory), its stop helper and tap devices; and what clashes with another guest.

The reader of the units qemu_vm writes (and of any nfv-qemu-*.service found on the host): a unit edited by hand
gives an NfvError from the argv parser, never a crash.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import inside
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import unescape_exec
from ansible_collections.nfv.dpdk.plugins.module_utils.host.pci import normalize_address
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import HELPER_NAME


def unit_exec_start(text):
    """QEMU's argv in the ExecStart= of a unit text (reads continuation lines): after the helper's
    `console LOG MAX_BYTES --`, or the whole line (a unit of an earlier version runs QEMU itself)."""
    joined = (text or "").replace("\\\n", " ")
    for line in joined.splitlines():
        if line.startswith("ExecStart="):
            argv = unescape_exec(line[len("ExecStart="):])
            console = len(argv) > 6 and os.path.basename(argv[1]) == HELPER_NAME and argv[2] == "console"
            return argv[6:] if console and argv[5] == "--" else argv
    return None


def split_qemu_opts(text):
    """'a,b=c,,d' -> ['a', 'b=c,d']: QEMU's option syntax, a doubled comma is a literal one."""
    parts, cur, i = [], [], 0
    while i < len(text):
        if text[i] == ",":
            if text[i + 1:i + 2] == ",":
                cur.append(",")
                i += 2
                continue
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(text[i])
        i += 1
    parts.append("".join(cur))
    return parts


def qemu_opts(text):
    """'socket,id=c0,path=/x' -> ('socket', {'id': 'c0', 'path': '/x'}); the head is None without one."""
    parts = split_qemu_opts(text)
    head = None if "=" in parts[0] else parts[0]
    opts = dict(part.split("=", 1) for part in parts[0 if head is None else 1:] if "=" in part)
    return head, opts


def unit_resources(text):
    """What a guest unit claims on the host, read from its text (ExecStart= argv, RuntimeDirectory=).

    {'mac': [...], 'socket': [vhost-user sockets], 'qmp': [...], 'tap': [ifnames], 'vfio': [PCI addresses],
    'disk': [image paths], 'runtime_dir': '/run/...' or None}, lists in argv order.
    """
    argv = unit_exec_start(text) or []
    res = {"mac": [], "socket": [], "qmp": [], "tap": [], "vfio": [], "disk": [], "runtime_dir": None}
    for flag, value in zip(argv, argv[1:]):
        if flag == "-chardev":
            kind, opts = qemu_opts(value)
            if kind == "socket" and opts.get("path"):
                res["socket"].append(opts["path"])
        elif flag == "-netdev":
            kind, opts = qemu_opts(value)
            if (kind or opts.get("type")) == "tap" and opts.get("ifname"):
                res["tap"].append(opts["ifname"])
        elif flag == "-drive":
            _kind, opts = qemu_opts(value)
            if opts.get("file"):
                res["disk"].append(opts["file"])
        elif flag == "-qmp" and value.startswith("unix:"):
            res["qmp"].append(split_qemu_opts(value[len("unix:"):])[0])
        elif flag == "-device":
            kind, opts = qemu_opts(value)
            if kind == "vfio-pci" and opts.get("host"):
                res["vfio"].append(normalize_address(opts["host"]) or opts["host"])
            if opts.get("mac"):
                res["mac"].append(opts["mac"])
    for line in (text or "").splitlines():
        if line.startswith("RuntimeDirectory="):
            res["runtime_dir"] = os.path.join("/run", line.split("=", 1)[1].strip())
    return res


def macs_in_unit(text):
    return unit_resources(text)["mac"]


def resource_clashes(spec, unit, res):
    """Why this guest collides with the guest of `unit` (its unit_resources `res`): a list of problems."""
    problems = []
    served = set(res["socket"]) | set(res["qmp"])
    for nic in spec["nics"]:
        where = "nics[%d]" % nic["index"]
        if nic.get("mac") and nic["mac"] in res["mac"]:
            problems.append("%s.mac %s is already used by %s" % (where, nic["mac"], unit))
        if nic["type"] == "vhost-user" and nic.get("socket") in served:
            problems.append("%s.socket %s is already served by %s: two guests on one vhost-user socket take "
                            "over each other's Open vSwitch port" % (where, nic["socket"], unit))
        if nic["type"] == "tap" and nic.get("ifname") in res["tap"]:
            problems.append("%s.ifname %s is already the tap device of %s" % (where, nic["ifname"], unit))
        if nic["type"] == "vfio" and nic.get("host") in res["vfio"]:
            problems.append("%s.host %s is already passed through by %s" % (where, nic["host"], unit))
    for index, disk in enumerate(spec["disks"]):
        if disk["path"] in res["disk"] and (spec["own_account"] or not disk["readonly"]):
            problems.append("disks[%d].path %s is already a disk of %s: a guest's images are its own (its account "
                            "owns them; only guests of a shared user may share a readonly one)"
                            % (index, disk["path"], unit))
    if spec["qmp_socket"] in served:
        problems.append("run_dir: the QMP socket %s is already used by %s" % (spec["qmp_socket"], unit))
    other = res["runtime_dir"]
    if other and (inside(spec["run_subdir"], other) or inside(other, spec["run_subdir"])):
        problems.append("run_dir: the runtime directory %s overlaps %s of %s, which systemd removes when either "
                        "guest stops" % (spec["run_subdir"], other, unit))
    return problems


def unit_helper_path(text):
    """The stop helper a unit's ExecStop= runs (its script argument), or None."""
    joined = (text or "").replace("\\\n", " ")
    for line in joined.splitlines():
        if line.startswith("ExecStop="):
            argv = unescape_exec(line[len("ExecStop="):])
            if len(argv) > 1 and os.path.basename(argv[1]) == HELPER_NAME:
                return argv[1]
    return None


def unit_taps(text):
    """The tap devices a unit creates in ExecStartPre=: [{'ifname', 'user', 'group', 'bridge'}]."""
    joined = (text or "").replace("\\\n", " ")
    taps = {}
    bridges = {}
    for line in joined.splitlines():
        if not line.startswith("ExecStartPre="):
            continue
        argv = unescape_exec(line[len("ExecStartPre="):].lstrip("-+@!:"))
        words = argv[1:]
        if words[:3] == ["tuntap", "add", "dev"] and len(words) >= 4:
            opts = dict(zip(words[4::2], words[5::2]))
            taps[words[3]] = {"ifname": words[3], "user": opts.get("user"), "group": opts.get("group"),
                              "bridge": None}
        elif "add-port" in words:
            at = words.index("add-port")
            if len(words) > at + 2:  # add-port BRIDGE IFNAME
                bridges[words[at + 2]] = words[at + 1]
    for ifname, bridge in bridges.items():
        if ifname in taps:
            taps[ifname]["bridge"] = bridge
    return [taps[k] for k in sorted(taps)]
