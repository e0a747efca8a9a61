# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Debian packages the roles install, as dpkg's database has them (no command, no apt cache).

Read with the rest of host_facts, so that a rerun finds everything installed without asking apt (and
without an `apt-get update`), and check mode predicts an installation without python3-apt.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DPKG_STATUS = "/var/lib/dpkg/status"
# the names the roles install start with one of these (Open vSwitch, the DPDK libraries and PMDs,
# QEMU, tuned, and python3-apt, which apt's check mode needs); others are left out of the facts
PREFIXES = ("openvswitch-", "librte-", "dpdk", "qemu-", "tuned", "python3-apt", "driverctl")


def parse_status(text, prefixes=PREFIXES):
    """{package: version} of the packages of `prefixes` that dpkg's status file says are installed."""
    installed = {}
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line[:1] not in ("", " ", "\t") and ":" in line:
                key, _sep, value = line.partition(":")
                fields[key] = value.strip()
        name, status = fields.get("Package", ""), fields.get("Status", "").split()
        # "install ok installed", "hold ok installed": the package is unpacked and configured
        if name.startswith(prefixes) and status[-1:] == ["installed"]:
            installed[name] = fields.get("Version", "")
    return installed


def read_packages(fs):
    return parse_status(fs.read(DPKG_STATUS, "") or "")
