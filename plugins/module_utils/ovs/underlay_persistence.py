# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ovs_bridge leaves on a host so that the underlays come back: after a reboot, a netdev bridge's internal
port is a new device without addresses. The unit UNIT_NAME (wanted by multi-user.target) runs the program SCRIPT
(module_utils/ovs/boot_underlay.py) after ovs-vswitchd starts, and again when it restarts (PartOf), and the
program sets every underlay the bridges' external_ids record. Installed while any bridge records one, removed
with the last."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text
from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import program_text, system_python
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs import boot_underlay
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import boot_unit

SCRIPT = "/usr/local/sbin/nfv-dpdk-underlay"
UNIT_NAME = "nfv-dpdk-underlay.service"
VSWITCHD_UNIT = "ovs-vswitchd.service"
# wanted by multi-user.target, whose wants directory every systemd host has (none left behind at removal)
UNIT = boot_unit.BootUnit(UNIT_NAME, "%s/%s" % (boot_unit.SYSTEM_UNIT_DIR, UNIT_NAME),
                          "%s/multi-user.target.wants/%s" % (boot_unit.SYSTEM_UNIT_DIR, UNIT_NAME))

UNIT_TEXT = """# Managed by nfv.dpdk.ovs_bridge
[Unit]
Description=Give netdev bridges their tunnel underlay (nfv.dpdk.ovs_bridge underlay)
After={vswitchd}
PartOf={vswitchd}

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=120
NoNewPrivileges=yes
PrivateTmp=yes
ProtectHome=yes
ExecStart={script}

[Install]
WantedBy=multi-user.target
""".format(vswitchd=VSWITCHD_UNIT, script=SCRIPT)


def read_persistence(fs):
    """The unit's files as they are ({path: text or None}) and whether it is enabled."""
    return {"files": dict((path, read_text(fs.path(path))) for path in (SCRIPT, UNIT.file)),
            "unit_enabled": boot_unit.is_enabled(fs, UNIT)}


def plan_persistence(plan, current, runner, wanted):
    """Install (program, unit, wants link) when `wanted`, else take them away."""
    if wanted:
        python = system_python(runner, "the boot-time underlay program " + SCRIPT)
        boot_unit.plan_install(plan, UNIT, current["files"], (
            (SCRIPT, program_text(boot_underlay, python, "-IS"), 0o755), (UNIT.file, UNIT_TEXT, 0o644)),
            current["unit_enabled"])
    else:
        boot_unit.plan_removal(plan, UNIT, current["files"], ((UNIT.file, 0o644), (SCRIPT, 0o755)),
                               current["unit_enabled"])


def persist(fs, runner, plan):
    boot_unit.install(fs, runner, plan, UNIT, [])
