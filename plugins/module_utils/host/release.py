# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The releases the collection supports, and which one a host runs (from /etc/os-release).

The one owner of what differs between releases: the ABI suffix of DPDK's library packages
(librte-net-vhost23 on Debian 12, librte-net-vhost25 on Debian 13) and where QEMU comes from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError

OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")

# What was tested on each release (README's compatibility table says the same).
SUPPORTED = (
    {"id": "debian", "version_id": "12", "codename": "bookworm", "name": "Debian 12 (bookworm)",
     "dpdk_abi": "23", "dpdk": "22.11", "ovs": "3.1",
     # bookworm's QEMU 7.2 segfaults under TCG once a vhost-user guest driver starts: QEMU 10 from backports
     "qemu_suite": "bookworm-backports", "qemu": "10.0"},
    {"id": "debian", "version_id": "13", "codename": "trixie", "name": "Debian 13 (trixie)",
     "dpdk_abi": "25", "dpdk": "24.11", "ovs": "3.5",
     "qemu_suite": "", "qemu": "10.0"},
)

# A DPDK library name as Debian spells it after "librte-": net-e1000, mempool-ring, net-af-packet
LIBRARY_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def parse_os_release(text):
    """os-release(5) KEY=value lines (shell quoting) -> dict; other lines are ignored."""
    fields = {}
    for line in (text or "").splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not re.match(r"^[A-Z0-9_]+$", key):
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        fields[key] = words[0] if words else ""
    return fields


def profile_of(os_facts):
    """The SUPPORTED entry of a host's os facts, or None."""
    for entry in SUPPORTED:
        if os_facts.get("id") == entry["id"] and os_facts.get("version_id") == entry["version_id"]:
            return entry
    return None


def read_os(fs):
    """host_facts' os: what /etc/os-release says, and the supported release it is (or null)."""
    text = None
    for path in OS_RELEASE:
        text = fs.read(path)
        if text is not None:
            break
    fields = parse_os_release(text)
    # Debian's os-release names the major version only ("12"); point releases are in debian_version
    facts = {
        "id": fields.get("ID", "").lower() or None,
        "version_id": fields.get("VERSION_ID") or None,
        "codename": fields.get("VERSION_CODENAME") or None,
        "pretty_name": fields.get("PRETTY_NAME") or None,
        "debian_version": fs.read("/etc/debian_version"),
    }
    entry = profile_of(facts)
    facts["release"] = entry["name"] if entry else None
    return facts


def describe(os_facts):
    """What a host runs, for a message: 'Ubuntu 24.04 LTS (ubuntu 24.04)'."""
    if not os_facts or not (os_facts.get("id") or os_facts.get("pretty_name")):
        return "an unknown release (no /etc/os-release)"
    ident = " ".join(str(os_facts[k]) for k in ("id", "version_id") if os_facts.get(k))
    pretty = os_facts.get("pretty_name")
    return "%s (%s)" % (pretty, ident) if pretty and ident else (pretty or ident)


def supported_names():
    return ", ".join(entry["name"] for entry in SUPPORTED)


def require_profile(os_facts, field="the host"):
    """The release profile of a supported host; NfvError naming what was found and what is supported."""
    entry = profile_of(os_facts or {})
    if entry is None:
        raise NfvError("%s runs %s, which nfv.dpdk does not support: supported are %s"
                       % (field, describe(os_facts), supported_names()))
    return dict(entry)


def dpdk_package(profile, library):
    """The Debian package of one DPDK library on this release: net-e1000 -> librte-net-e1000-25.

    Debian adds a hyphen before the ABI number when the name ends in a digit (librte-net-e1000-25,
    but librte-net-vhost25).
    """
    if isinstance(library, str) and library.startswith("librte-"):
        raise NfvError("DPDK library name %r is a package name: give the part after librte- without the ABI "
                       "number (net-vhost, not librte-net-vhost25), so that it holds on every release" % library)
    if not isinstance(library, str) or not LIBRARY_RE.fullmatch(library):
        raise NfvError("DPDK library name %r is not of the form of librte-NAME's NAME (for example "
                       "net-i40e, mempool-ring)" % (library,))
    abi = profile["dpdk_abi"]
    return "librte-%s%s%s" % (library, "-" if library[-1].isdigit() else "", abi)


def dpdk_packages(profile, libraries):
    return [dpdk_package(profile, library) for library in libraries]
