# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What sriov_vfs leaves on a host so that the VFs of a PF come back at boot.

One settings file per PF in CONF_DIR (its count and the `ip link set` arguments of every listed VF), replayed
at boot by the unit UNIT_NAME running the program SCRIPT (module_utils/pci/boot_sriov_vfs.py) before the PCI
binding unit and Open vSwitch start. A count of 0 removes the PF's file; the unit and the program stay.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text
from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import program_text, system_python
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import boot_sriov_vfs, boot_unit
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.pci_driver_persistence import UNIT_NAME as PCI_BIND_UNIT
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.sriov_vf_settings import SETTINGS, ip_args

CONF_DIR = "/etc/nfv-dpdk/sriov.d"
SCRIPT = "/usr/local/sbin/nfv-dpdk-sriov"
UNIT_NAME = "nfv-dpdk-sriov.service"
UNIT = boot_unit.sysinit_unit(UNIT_NAME)
UNIT_FILE = UNIT.file
UNIT_WANTS_LINK = UNIT.wants_link


def script_text(python):
    """The boot-time VF program (module_utils/boot_sriov_vfs.py) as installed at SCRIPT."""
    return program_text(boot_sriov_vfs, python, "-IS")


UNIT_TEXT = """# Managed by nfv.dpdk.sriov_vfs
[Unit]
Description=Create the SR-IOV VFs set by nfv.dpdk.sriov_vfs
DefaultDependencies=no
After=systemd-modules-load.service systemd-udev-trigger.service local-fs.target
Before={pci_bind} network-pre.target openvswitch-switch.service ovs-vswitchd.service
Before=sysinit.target shutdown.target
Wants=network-pre.target
Conflicts=shutdown.target
ConditionDirectoryNotEmpty={conf}

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=180
ExecStart={script} {conf}

[Install]
WantedBy=sysinit.target
""".format(conf=CONF_DIR, script=SCRIPT, pci_bind=PCI_BIND_UNIT)


def conf_text(count, vfs, identity=None):
    lines = ["# Managed by nfv.dpdk.sriov_vfs; replayed at boot by %s" % UNIT_NAME]
    if identity:
        lines.append("pf %s" % identity)  # a PF with other ids at the address is left alone
    lines.append("numvfs %d" % count)
    for vf in vfs:
        args = []
        for name in SETTINGS:
            if name in vf:
                args += ip_args(name, vf[name])
        if args:
            lines.append("vf %d %s" % (vf["index"], " ".join(args)))
    return "\n".join(lines) + "\n"


def conf_path(address):
    return "%s/%s.conf" % (CONF_DIR, address)


def read_persistence(fs, runner, address):
    """The boot files of the PF at `address` as they are ({path: text or None}), and whether the unit is enabled."""
    paths = (conf_path(address), SCRIPT, UNIT_FILE)
    return {"files": dict((path, read_text(fs.path(path))) for path in paths),
            "unit_enabled": boot_unit.is_enabled(fs, UNIT),
            "python": system_python(runner, "the boot-time VF program " + SCRIPT)}


def plan_persistence(plan, current, count, vfs):
    """The PF's settings file for `count` VFs with the settings `vfs`, the program and the unit; for a count of
    0, the PF's file gone."""
    files = current["files"]
    path = conf_path(current["address"])
    if count == 0:
        if files[path] is not None:
            plan.add(path, files[path], None, action="remove", path=path, mode=0o644)
        return
    wanted = conf_text(count, vfs, current["identity"])
    boot_unit.plan_install(plan, UNIT, files, ((path, wanted, 0o644), (SCRIPT, script_text(current["python"]), 0o755),
                                               (UNIT_FILE, UNIT_TEXT, 0o644)), current["unit_enabled"])


def persist(fs, runner, plan):
    boot_unit.install(fs, runner, plan, UNIT, [])
