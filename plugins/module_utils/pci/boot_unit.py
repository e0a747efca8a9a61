# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot unit of a pci module: a oneshot systemd unit in sysinit.target, the program it runs and its settings.

pci_driver and sriov_vfs make their work survive a reboot the same way, and plan it as the same changes:
  action "file"     a file written whole (the unit, its program, a settings file): data path, mode
  action "remove"   a file removed: data path, mode (the mode it is written back with when undone)
  action "enable"   the unit's wants link in sysinit.target.wants made, as `systemctl enable` makes it
  action "disable"  the unit stopped (when systemd runs) and its wants link removed
install() makes them in that order and tells systemd with one daemon-reload when the unit file changed;
undo() takes one of them back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from collections import namedtuple

from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import write_atomic
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import SYSTEMD_BOOTED_MARKER, enable_wants_link

SYSTEM_UNIT_DIR = "/etc/systemd/system"
SYSINIT_WANTS_DIR = SYSTEM_UNIT_DIR + "/sysinit.target.wants"
ENABLED = "enabled (sysinit.target)"
DISABLED = "disabled"

# name: the unit's name; file: its file; wants_link: the link that enables it (WantedBy=sysinit.target)
BootUnit = namedtuple("BootUnit", ["name", "file", "wants_link"])


def sysinit_unit(name):
    """The BootUnit of the unit `name`, installed in /etc/systemd/system and wanted by sysinit.target."""
    return BootUnit(name, "%s/%s" % (SYSTEM_UNIT_DIR, name), "%s/%s" % (SYSINIT_WANTS_DIR, name))


def is_enabled(fs, unit):
    return os.path.lexists(fs.path(unit.wants_link))


def plan_install(plan, unit, files, wanted, enabled):
    """The files of `wanted` ((path, text, mode), ...) whose text in `files` ({path: text or None}) differs,
    then the unit's wants link when it is not `enabled`."""
    for path, text, mode in wanted:
        if files[path] != text:
            plan.add(path, files[path], text, action="file", path=path, mode=mode)
    if not enabled:
        plan.add(unit.name, DISABLED, ENABLED, action="enable")


def plan_removal(plan, unit, files, removed, enabled):
    """The unit off when it is `enabled`, then the files of `removed` ((path, mode), ...) that exist in `files`."""
    if enabled:
        plan.add(unit.name, ENABLED, DISABLED, action="disable")
    for path, mode in removed:
        if files[path] is not None:
            plan.add(path, files[path], None, action="remove", path=path, mode=mode)


def systemd_runs(fs, runner):
    return fs.isdir(SYSTEMD_BOOTED_MARKER) and runner.has("systemctl")


def install(fs, runner, plan, unit, done):
    """Make the file, enable, disable and remove changes of `plan` in that order, each appended to `done` once
    made; then daemon-reload when the unit file changed on a host that runs systemd. Raises what failed."""
    unit_changed = False
    for change in plan.by_action("file"):
        write_atomic(fs.path(change.data["path"]), change.after, mode=change.data["mode"])
        done.append(change)
        unit_changed = unit_changed or change.data["path"] == unit.file
    for change in plan.by_action("enable"):
        enable_wants_link(fs, unit.file, unit.wants_link)
        done.append(change)
    for change in plan.by_action("disable"):
        if systemd_runs(fs, runner):  # a oneshot without ExecStop: stopping only ends its "active (exited)"
            runner.run("systemctl", ["stop", unit.name])
        os.unlink(fs.path(unit.wants_link))
        done.append(change)
    for change in plan.by_action("remove"):
        os.unlink(fs.path(change.data["path"]))
        done.append(change)
        unit_changed = unit_changed or change.data["path"] == unit.file
    if unit_changed and systemd_runs(fs, runner):
        runner.run("systemctl", ["daemon-reload"])


def undo(fs, unit, change):
    """Take back one change install() made: the file's text before it, the wants link as it was."""
    if change.action in ("file", "remove"):
        if change.before is None:
            os.unlink(fs.path(change.data["path"]))
        else:
            write_atomic(fs.path(change.data["path"]), change.before, mode=change.data["mode"])
    elif change.action == "enable":
        os.unlink(fs.path(unit.wants_link))
    elif change.action == "disable":
        enable_wants_link(fs, unit.file, unit.wants_link)
