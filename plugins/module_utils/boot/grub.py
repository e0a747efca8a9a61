# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grub backend of nfv.dpdk.kernel_cmdline (Debian/Ubuntu).

The parameters live in a drop-in /etc/default/grub.d/99-nfv-dpdk.cfg that appends to
GRUB_CMDLINE_LINUX_DEFAULT, which Debian's /etc/grub.d/10_linux gives the normal boot entries only: the
"(recovery mode)" entries boot without the collection's parameters. A drop-in of an earlier version, appending
to GRUB_CMDLINE_LINUX (the recovery entries' too), is rewritten. Then update-grub (or grub-mkconfig /
grub2-mkconfig) regenerates grub.cfg, whose kernel lines are read back to repair an interrupted run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.nfv.dpdk.plugins.module_utils.boot import grub_defaults
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.boot_memory import RESERVATION_KEYS
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.file_backend import FileBackend, host_path
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.kernel_params import format_params, parse_words, project
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan

GRUB_DROPIN_DIR = "/etc/default/grub.d"
GRUB_DROPIN = "99-nfv-dpdk.cfg"
GRUB_VARIABLE = "GRUB_CMDLINE_LINUX_DEFAULT"  # normal entries only; GRUB_CMDLINE_LINUX is in recovery too
# the drop-in's one line; GRUB_CMDLINE_LINUX (a drop-in of an earlier version) is rewritten
GRUB_LINE_RE = re.compile(r'(?P<var>GRUB_CMDLINE_LINUX(?:_DEFAULT)?)="\$(?P=var)(?: (?P<params>[^"]*))?"')
GRUB_HEADER = ("# Managed by Ansible (nfv.dpdk.kernel_cmdline): kernel parameters appended to\n"
               "# GRUB_CMDLINE_LINUX_DEFAULT, for the normal boot entries: the recovery entries boot without\n"
               "# them. Edits here are overwritten; run update-grub after changes.\n")
GRUB_UPDATE_COMMANDS = (
    ("update-grub", []),
    ("grub-mkconfig", ["-o", "/boot/grub/grub.cfg"]),
    ("grub2-mkconfig", ["-o", "/boot/grub2/grub.cfg"]),
)
# the file each update command generates, and the grub.cfg commands that carry the kernel line
GRUB_CFG_BY_TOOL = {"update-grub": "/boot/grub/grub.cfg", "grub-mkconfig": "/boot/grub/grub.cfg",
                    "grub2-mkconfig": "/boot/grub2/grub.cfg"}
GRUB_LINUX_COMMANDS = ("linux", "linux16", "linuxefi")
ENTRY_NAMES = {"default": "the next boot", "recovery": "the recovery entry"}


def grub_cfg_lines(text):
    """A generated grub.cfg to {'default': the first `linux` line's parameters (the default entry),
    'recovery': the first recovery entry's}, each None when missing. 10_linux titles a recovery entry
    "... (recovery mode)" (GRUB_RECOVERY_TITLE, translated) and gives it the id 'gnulinux-VERSION-recovery-UUID'."""
    lines = {"default": None, "recovery": None}
    recovery = False
    for line in text.splitlines():
        words = line.strip().split(None, 2)
        if words and words[0] == "menuentry":
            recovery = "(recovery mode)" in line or "-recovery-" in line
        elif words and words[0] in GRUB_LINUX_COMMANDS:
            params = parse_words(words[2] if len(words) > 2 else "")[0]
            lines["default"] = params if lines["default"] is None else lines["default"]
            if recovery and lines["recovery"] is None:
                lines["recovery"] = params
    return lines


class GrubBackend(FileBackend):
    name = "grub"

    @property
    def path(self):
        return GRUB_DROPIN_DIR + "/" + GRUB_DROPIN

    def read_file(self):
        text = read_text(host_path(self.root, self.path))
        if text is None:
            return {"text": None, "params": [], "tail": [], "legacy": False}
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
        match = GRUB_LINE_RE.fullmatch(lines[0]) if len(lines) == 1 else None
        if not match:
            raise NfvError("%s was not written by this module (expected one line %s=\"$%s ...\"); move it away "
                           "or merge it by hand" % (host_path(self.root, self.path), GRUB_VARIABLE, GRUB_VARIABLE))
        params, _tail = parse_words(match.group("params") or "")
        return {"text": text, "params": params, "tail": [], "legacy": match.group("var") != GRUB_VARIABLE}

    def read(self):
        """The drop-in, the rest of the GRUB configuration and the generated grub.cfg's kernel lines."""
        current = self.read_file()
        self._update = next(([name] + args for name, args in GRUB_UPDATE_COMMANDS if self.runner.has(name)), None)
        current["linux"], current["default"] = self._base = self.base()
        path = self.generated_path()
        text = read_text(host_path(self.root, path)) if path and self.update_bootloader else None
        current["generated"] = grub_cfg_lines(text) if text is not None else None
        return current

    def render(self, params, tail):
        if not params:
            return None  # nothing left: remove the drop-in
        return GRUB_HEADER + '%s="$%s %s"\n' % (GRUB_VARIABLE, GRUB_VARIABLE, format_params(params))

    def base(self):
        """GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT from the rest of the GRUB configuration."""
        own = os.path.join(host_path(self.root, GRUB_DROPIN_DIR), GRUB_DROPIN)
        # every file update-grub sources except the module's own drop-in (a program of its own: grub_defaults.py)
        out = self.runner.output("sh", ["-c", grub_defaults.SCRIPT, "sh", host_path(self.root, "/etc/default"), own])
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        values = {}
        for line in out.split("\n"):  # the last lines; anything the sourced files print comes before
            name, sep, value = line.partition("=")
            if sep and name in ("NFV_GRUB_LINUX", "NFV_GRUB_DEFAULT", "NFV_GRUB_NO_RECOVERY"):
                values[name] = value
        self.no_recovery = values.get("NFV_GRUB_NO_RECOVERY") == "true"
        return parse_words(values.get("NFV_GRUB_LINUX", ""))[0], parse_words(values.get("NFV_GRUB_DEFAULT", ""))[0]

    def plan(self, current, params, state):
        linux, default = current["linux"], current["default"]
        keys = set(k for k, _v in params)
        if state == "present" and not project(current["params"], keys) and \
                project(linux + default, keys) == list(params):
            plan, new = Plan(), current["params"]  # the base configuration already gives exactly these
        else:
            plan, new = super(GrubBackend, self).plan(current, params, state)
            if state == "present" and project(linux + default + new, keys) != list(params):
                self.warnings.append("the rest of the GRUB configuration also sets %s, so the next boot gets %s; "
                                     "the kernel may honour the first of repeated parameters"
                                     % (format_params(project(linux + default, keys)),
                                        format_params(project(linux + default + new, keys))))
        if state == "present" and self.no_recovery and keys.intersection(RESERVATION_KEYS):
            self.warnings.append("GRUB_DISABLE_RECOVERY is true, so no recovery entry boots without these "
                                 "parameters: should the next boot not come up, edit its entry in the GRUB menu "
                                 "(e) and remove them")
        if current["legacy"]:
            return self._plan_move(plan, current, new), new
        return self._plan_repair(plan, current, linux + default + new, keys), new

    def _plan_move(self, plan, current, new):
        """A drop-in of an earlier version appends to GRUB_CMDLINE_LINUX, which the recovery entries take
        too: it is rewritten to append to GRUB_CMDLINE_LINUX_DEFAULT, with the parameters it is to hold."""
        if not plan.changed:
            content = self.render(new, [])
            plan.add(self.path, None, None, action="write" if content else "delete", content=content,
                     old_content=current["text"], params=new)
        change = plan.changes[0]
        change.before = "GRUB_CMDLINE_LINUX: %s" % format_params(current["params"])
        change.after = None if change.action == "delete" else "%s: %s" % (GRUB_VARIABLE, format_params(new))
        return plan

    def configured(self, current):
        linux, default = current["linux"], current["default"]
        if current["legacy"]:
            return linux + current["params"] + default
        return linux + default + current["params"]

    def generated_path(self):
        """The boot configuration the update command writes, or None without one."""
        argv = self.update_command()
        return None if argv is None else GRUB_CFG_BY_TOOL[argv[0]]

    def _plan_repair(self, plan, current, expected, keys):
        """An interrupted earlier run: the drop-in reads as wanted but the generated grub.cfg does not.

        The drop-in is written before update-grub runs; a run that stopped between the two (or a
        drop-in edited without update-grub) leaves a boot configuration whose default entry lacks (or
        still has) the parameters, or whose recovery entry still has them (the drop-in of an earlier
        version). Then the update command runs again. Only when the drop-in needs no change, the update
        command runs on this host and grub.cfg exists with a `linux` line.
        """
        generated = current["generated"]
        if plan.changed or not self.update_bootloader or generated is None or generated["default"] is None:
            return plan
        want = {"default": project(expected, keys), "recovery": project(current["linux"], keys)}
        have = dict((entry, project(generated[entry], keys)) for entry in want if generated[entry] is not None)
        wrong = [entry for entry in have if have[entry] != want[entry]]
        if not wrong:
            return plan
        tool, path = self.update_command()[0], self.generated_path()
        differences = " and ".join(entry_difference(e, have[e], want[e]) for e in wrong)
        self.repair = ("%s gives %s: an earlier run wrote %s and was interrupted before %s finished (or the "
                       "configuration was changed without it); %s runs again"
                       % (path, differences, self.path, tool, tool))
        plan.add(path, "; ".join(entry_params_text(e, have[e]) for e in wrong),
                 "; ".join(entry_params_text(e, want[e]) for e in wrong),
                 action="regenerate", keys=keys, want=dict((e, want[e]) for e in wrong))
        return plan

    def apply(self, plan, current):
        if plan.changes[0].action != "regenerate":
            return super(GrubBackend, self).apply(plan, current)
        argv = self.update_command()
        try:
            self.runner.run(argv[0], argv[1:])
        except NfvError as exc:
            raise NfvError("%s; %s was not changed" % (exc.msg, self.path), **exc.details) from exc
        change = plan.changes[0]
        lines = grub_cfg_lines(read_text(host_path(self.root, self.generated_path())) or "")
        after = dict((e, project(lines[e] or [], change.data["keys"])) for e in change.data["want"])
        wrong = ["%s %s instead of %s" % (ENTRY_NAMES[e], format_params(after[e]) or "nothing",
                                          format_params(change.data["want"][e]) or "nothing")
                 for e in after if after[e] != change.data["want"][e]]
        if wrong:
            raise NfvError("%s ran, but %s still gives %s; check the GRUB configuration (/etc/default/grub, "
                           "/etc/default/grub.d) by hand" % (argv[0], self.generated_path(), " and ".join(wrong)))

    def next_boot(self, params):
        linux, default = self._base
        return linux + default + list(params)

    def update_command(self):
        return self._update

    def check_ready(self):
        if self.update_bootloader and self.update_command() is None:
            raise NfvError("none of %s was found to regenerate the GRUB configuration; install GRUB's tools "
                           "or set update_bootloader: false" % ", ".join(n for n, _a in GRUB_UPDATE_COMMANDS))


def entry_difference(entry, have, want):
    """How a grub.cfg entry differs from the GRUB configuration, for `repair`."""
    if entry == "default":
        return "the next boot %s for these parameters, but the GRUB configuration says %s" % (
            format_params(have) or "nothing", format_params(want) or "nothing")
    return "its recovery entry %s, but the GRUB configuration gives that entry %s" % (
        format_params(have) or "nothing", format_params(want) or "nothing")


def entry_params_text(entry, params):
    """An entry's parameters in the regenerate change: the default entry's bare, the recovery entry's named."""
    return format_params(params) if entry == "default" else "recovery entry: %s" % (format_params(params) or "nothing")
