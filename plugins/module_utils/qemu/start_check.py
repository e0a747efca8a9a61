# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest unit's systemd state read as the module needs it: running or not, and after a start whether the guest
stays up; one that does not is stopped and its cause reported (its journal, the end of its serial log).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import tail_lines
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import output_text
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_commands import serial_log


def is_running(active_state, sub_state):
    """A unit counts as running unless it is inactive, failed or waiting to be restarted after a crash."""
    if active_state in ("active", "reloading"):
        return True
    return active_state == "activating" and sub_state != "auto-restart"


def failure_cause(journal, err=None, unit=None):
    """The cause of a failed start in one line: the guest's own journal lines (QEMU's stderr, the
    ExecStartPre= steps), without timestamps and repeats, the last three; else systemctl's stderr."""
    messages = []
    for line in journal or []:
        if " systemd[1]: " in line or line.startswith("-- "):
            continue
        text = line.split("]: ", 1)[1] if "]: " in line else line
        text = text.strip()
        if text in messages:
            messages.remove(text)
        if text:
            messages.append(text)
    if messages:
        return " | ".join(messages[-3:])
    err = output_text(err).strip()
    if err:
        return err
    return "no output from the guest; see journalctl -u %s" % unit


def stays_up(st, pid):
    """Active, never restarted automatically, and still the process that started."""
    return st["active"] == "active" and st["n_restarts"] == 0 and (not pid or st["main_pid"] == pid)


def wait_running(systemd, spec, settle, rc, err, started_at=None):
    """The guest must stay up for `settle` seconds after its start (systemctl's `rc` and stderr `err`); otherwise
    stop it and fail with the cause.

    The safe state after a failed start: the unit is stopped (no automatic restart pending, so no
    loop re-preallocating hugepages), stays installed and keeps its enablement; the error quotes
    the guest's journal (QEMU's stderr, since `started_at`) and the end of its serial log.
    """
    unit = spec["unit"]
    deadline = time.time() + settle
    st = systemd.state(unit)
    pid = st["main_pid"]
    while rc == 0 and time.time() < deadline and stays_up(st, pid):
        time.sleep(0.5)
        st = systemd.state(unit)
    if rc == 0 and stays_up(st, pid):
        return
    systemd.stop(unit, check=False)
    after = systemd.state(unit)
    journal = systemd.journal_tail(unit, 40, since=started_at)
    serial = tail_lines(serial_log(spec))
    raise NfvError(
        "guest %s failed to start (unit %s was %s/%s, result %s, %d automatic restarts): %s. The unit was "
        "stopped (now %s/%s, no restart pending) and stays %s; fix the cause and run again"
        % (spec["name"], unit, st["active"], st["sub"], st["result"] or "unknown", st["n_restarts"],
           failure_cause(journal, err, unit), after["active"], after["sub"], after["enabled"]),
        unit=unit, journal=journal, serial_tail=serial, unit_state=after)
