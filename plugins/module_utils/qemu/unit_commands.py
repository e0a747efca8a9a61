# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commands a guest's unit runs beside QEMU, as argv lists (pure, no host access).

- `prestart_commands(spec, tools)`: the privileged ExecStartPre=+ steps (the hugepage and socket directories
  when missing, tap devices), and `needed_tools(spec)`, the host programs they need;
- the helper program (module_utils/qemu/unit_helper.py, a program of its own) in ExecStop= (`helper_argv`),
  ExecStartPre= (`keep_console_argv`), ExecStart= (`console_argv`, which execs QEMU) and ExecStartPost=
  (`pin_argv`); it runs with a system python3 (module_utils/core/programs), never the module's own (a venv or
  /tmp path that the unit's PrivateTmp can hide). Importing it here puts it in the module's payload; its
  source is read from there (`helper_text`);
- the guest's directories those commands make and use: its log directory and serial log, its socket directories.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import program_text
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import unit_helper as qemu_unit_helper
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import HELPER_NAME

# mode of the guest's own hugepage and socket directories the unit makes when they are missing
# (root:<the guest's group>)
DIR_MODE = "0770"
# ExecStartPre=+ that creates each missing directory root:<group> DIR_MODE (a missing parent root 0755, not
# the unit's UMask) and leaves an existing one (made by an earlier start or anyone else) exactly as it is.
# A fixed script: its inputs (install's path, the group, the directories) are positional arguments.
MKDIR_SCRIPT = ('install="$1"; group="$2"; shift 2; for d in "$@"; do '
                'if [ ! -e "$d" ] && [ ! -L "$d" ]; then p="${d%/*}"; '
                'if [ ! -e "$p" ]; then "$install" -d -m 0755 "$p" || exit 1; fi; '
                '"$install" -d -o root -g "$group" -m ' + DIR_MODE + ' "$d" || exit 1; fi; done')
MKDIR_ARGV0 = "nfv-qemu-mkdir"  # $0 of the script: names it in error messages
LOG_DIR = "/var/log/nfv-qemu"
KEPT_CONSOLE_BYTES = 1024 * 1024  # of the previous run's console, kept as serial.log.1
CONSOLE_LOG_BYTES = 4 * 1024 * 1024  # bound of the current run's console serial.log (its latest output)
# seconds the ExecStartPost= pin step waits for QEMU's QMP greeting (hugepage preallocation comes first);
# below systemd's default TimeoutStartSec= of 90 s, which bounds ExecStartPost= too
PIN_TIMEOUT = 75


def log_dir(spec):
    """The guest's own log directory (LogsDirectory=, the guest's account's)."""
    return os.path.join(LOG_DIR, spec["name"])


def serial_log(spec):
    return os.path.join(log_dir(spec), "serial.log")


def socket_dirs(spec):
    return sorted(set(os.path.dirname(n["socket"]) for n in spec["nics"] if n["type"] == "vhost-user"))


def managed_dirs(spec):
    """The directories the unit creates when missing: the hugepage directory, then the socket directories."""
    dirs = [spec["hugepages"]["mem_dir"]] if spec["hugepages"] else []
    return dirs + socket_dirs(spec)


def prestart_commands(spec, tools):
    """Privileged preparation (ExecStartPre=+ in the unit), as argv lists.

    `tools` maps sh/install/ip/ovs-vsctl to absolute paths. Each entry is
    (argv, ignore_failure). Directories are created only when missing (MKDIR_SCRIPT): an
    existing one is never re-owned or re-moded.
    """
    cmds = []
    group = spec["group"]
    dirs = managed_dirs(spec)
    if dirs:
        cmds.append(([tools["sh"], "-c", MKDIR_SCRIPT, MKDIR_ARGV0, tools["install"], group] + dirs, False))
    for nic in spec["nics"]:
        if nic["type"] != "tap":
            continue
        cmds.append(([tools["ip"], "tuntap", "add", "dev", nic["ifname"], "mode", "tap", "user", spec["user"],
                      "group", group], True))
        cmds.append(([tools["ip"], "link", "set", "dev", nic["ifname"], "up"], False))
        if nic["bridge"]:
            cmds.append(([tools["ovs-vsctl"], "--timeout=30", "--may-exist", "add-port", nic["bridge"],
                          nic["ifname"]], False))
    return cmds


def needed_tools(spec):
    tools = set()
    if managed_dirs(spec):
        tools.update(("sh", "install"))
    for nic in spec["nics"]:
        if nic["type"] == "tap":
            tools.add("ip")
            if nic["bridge"]:
                tools.add("ovs-vsctl")
    return sorted(tools)


def helper_text(python):
    return program_text(qemu_unit_helper, python)


def helper_argv(spec, python):
    return [python, os.path.join(spec["helper_dir"], HELPER_NAME), spec["qmp_socket"], str(spec["stop_timeout"])]


def keep_console_argv(spec, python):
    """ExecStartPre= as the service user: the previous run's console kept as serial.log.1 (bounded)."""
    return [python, os.path.join(spec["helper_dir"], HELPER_NAME), "keep-console", serial_log(spec),
            str(KEPT_CONSOLE_BYTES)]


def console_argv(spec, python, argv, log=None):
    """ExecStart=: the helper's console writer (serial_log, or `log`, at most CONSOLE_LOG_BYTES), then exec QEMU."""
    return [python, os.path.join(spec["helper_dir"], HELPER_NAME), "console", log or serial_log(spec),
            str(CONSOLE_LOG_BYTES), "--"] + argv


def pin_argv(spec, python):
    """ExecStartPost= of a guest with vcpu_pins: the helper's pin subcommand; None without vcpu_pins."""
    if not spec.get("vcpu_pins"):
        return None
    return ([python, os.path.join(spec["helper_dir"], HELPER_NAME), "pin", spec["qmp_socket"], str(PIN_TIMEOUT),
             format_cpulist(spec["emulator_cpus"]) if spec["emulator_cpus"] else "-"]
            + [format_cpulist(cpus) for cpus in spec["vcpu_pins"]])
