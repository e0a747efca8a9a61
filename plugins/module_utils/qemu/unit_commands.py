# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commands a guest's unit runs beside QEMU, as argv lists (pure, no host access).

- `prestart_commands(spec, tools, python)`: the privileged ExecStartPre=+ steps (the helper's mkdir of the
  hugepage and socket directories when missing, tap devices), and `needed_tools(spec)`, the host programs the
  tap steps need;
- the helper program (module_utils/qemu/unit_helper.py, a program of its own) in ExecStop= (`helper_argv`),
  ExecStartPre= (`mkdir` in prestart_commands, `keep_console_argv`), ExecStart= (`console_argv`, which execs
  QEMU) and ExecStartPost= (`pin_argv`); it runs with a system python3 (module_utils/core/programs), never
  the module's own (a venv or /tmp path that the unit's PrivateTmp can hide). Importing it here puts it in the
  module's payload; its source is read from there (`helper_text`);
- the guest's directories those commands make and use: its log directory and serial log, its socket directories.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import program_text
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import unit_helper as qemu_unit_helper
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import HELPER_NAME

# mode of the guest's own hugepage and socket directories the unit's helper makes when they are missing
# (root:<the guest's group>; `nfv-qemu-powerdown mkdir`)
DIR_MODE = "%04o" % qemu_unit_helper.DIR_MODE
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


def prestart_commands(spec, tools, python):
    """Privileged preparation (ExecStartPre=+ in the unit), as argv lists.

    `tools` maps ip/ovs-vsctl (needed_tools) to absolute paths, `python` is the helper's interpreter. Each entry
    is (argv, ignore_failure). Directories are created only when missing (the helper's mkdir): an existing one
    is never re-owned or re-moded.
    """
    cmds = []
    group = spec["group"]
    dirs = managed_dirs(spec)
    if dirs:
        cmds.append((helper_command(spec, python, "mkdir", group, *dirs), False))
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
    """The host programs prestart_commands runs: ip for tap NICs, ovs-vsctl for those on a bridge."""
    tools = set()
    for nic in spec["nics"]:
        if nic["type"] == "tap":
            tools.add("ip")
            if nic["bridge"]:
                tools.add("ovs-vsctl")
    return sorted(tools)


def helper_text(python):
    return program_text(qemu_unit_helper, python)


def helper_command(spec, python, *args):
    """The installed helper (in helper_dir, under `python`) with `args`."""
    return [python, os.path.join(spec["helper_dir"], HELPER_NAME)] + list(args)


def helper_argv(spec, python):
    """ExecStop=: the helper's powerdown over QMP."""
    return helper_command(spec, python, spec["qmp_socket"], str(spec["stop_timeout"]))


def keep_console_argv(spec, python):
    """ExecStartPre= as the service user: the previous run's console kept as serial.log.1 (bounded)."""
    return helper_command(spec, python, "keep-console", serial_log(spec), str(KEPT_CONSOLE_BYTES))


def console_argv(spec, python, argv, log=None):
    """ExecStart=: the helper's console writer (serial_log, or `log`, at most CONSOLE_LOG_BYTES), then exec QEMU."""
    return helper_command(spec, python, "console", log or serial_log(spec), str(CONSOLE_LOG_BYTES), "--") + argv


def pin_argv(spec, python):
    """ExecStartPost= of a guest with vcpu_pins: the helper's pin subcommand; None without vcpu_pins."""
    if not spec.get("vcpu_pins"):
        return None
    emulator = format_cpulist(spec["emulator_cpus"]) if spec["emulator_cpus"] else "-"
    return helper_command(spec, python, "pin", spec["qmp_socket"], str(PIN_TIMEOUT), emulator,
                          *[format_cpulist(cpus) for cpus in spec["vcpu_pins"]])
