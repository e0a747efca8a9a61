# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sandbox of a guest's unit: what a compromised QEMU may still do, at least as tight as libvirt's.

Two layers. QEMU's own seccomp filter (`SANDBOX`, libvirt's default set) denies obsolete system calls,
privilege changes, spawning programs and scheduler/affinity changes once QEMU is initialized. systemd's
settings (`sandbox_settings`) confine the whole service: no capabilities, a read-only system, its own
/proc view, a system call deny list, and only the address families and network the guest's NICs need.
A guest with only vhost-user and vfio NICs gets no network at all (PrivateNetwork=, IPAddressDeny=);
vhost-user and QMP are unix sockets in the file system, which a network namespace does not hide.
Each guest unit's `systemd-analyze security` exposure stays at most MAX_EXPOSURE (a unit test scores them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MAX_EXPOSURE = 2.0
SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
# system call groups no guest needs; @resources stays allowed (QEMU binds guest memory to its NUMA node with
# mbind(), the pin step moves QEMU's threads with sched_setaffinity()); a denied call fails with EPERM
SYSCALL_DENY = "~@clock @cpu-emulation @debug @module @mount @obsolete @privileged @raw-io @reboot @swap"
# memory a vfio guest may lock beyond its RAM (the IOMMU maps all of guest RAM; libvirt adds 1 GiB too)
VFIO_MEMLOCK_EXTRA_MB = 1024


def needs_host_network(spec):
    """A tap joins the host's network namespace; user networking opens host sockets."""
    return any(n["type"] in ("tap", "user") for n in spec["nics"])


def address_families(spec):
    families = ["AF_UNIX"]
    if any(n["type"] == "user" for n in spec["nics"]):
        families += ["AF_INET", "AF_INET6", "AF_NETLINK"]
    return " ".join(families)


def sandbox_settings(spec, vfio_groups):
    """The unit's [Service] sandbox lines after the paths and devices, as (key, value) pairs."""
    settings = [
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("ProtectClock", "yes"),
        ("ProtectHostname", "yes"),
        ("ProtectProc", "invisible"),
        ("ProcSubset", "pid"),
        ("PrivateMounts", "yes"),
        ("RestrictNamespaces", "yes"),
        ("RestrictRealtime", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("LockPersonality", "yes"),
        ("SystemCallArchitectures", "native"),
        ("SystemCallFilter", SYSCALL_DENY),
        ("SystemCallErrorNumber", "EPERM"),
        ("RestrictAddressFamilies", address_families(spec)),
    ]
    if not needs_host_network(spec):
        settings += [("PrivateNetwork", "yes"), ("IPAddressDeny", "any")]
    if vfio_groups:
        settings.append(("LimitMEMLOCK", "%dM" % (spec["memory_mb"] + VFIO_MEMLOCK_EXTRA_MB)))
    return settings


def sandbox_argv():
    return ["-sandbox", SANDBOX]
