# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grubby backend of nfv.dpdk.kernel_cmdline: boot entries edited by grubby (RHEL family, BLS)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.boot.kernel_params import (
    edit,
    format_params,
    parse_words,
    project,
    removed_by,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan


class GrubbyBackend:
    """Boot entries edited by grubby; the state is read from `grubby --info=ALL`. The rescue entries
    (/boot/vmlinuz-0-rescue-*) get no parameter: they boot around a configuration that does not boot."""

    name = "grubby"
    append = True

    def __init__(self, module, runner, root, update_bootloader):
        self.module = module
        self.runner = runner
        self.root = root
        self.warnings = []

    def read(self):
        out = self.runner.output("grubby", ["--info=ALL"])
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        entries = parse_grubby_info(out)
        default = self.runner.output("grubby", ["--default-kernel"], check=False)
        if isinstance(default, bytes):
            default = default.decode("utf-8", "replace")
        return {"entries": entries, "default": (default or "").strip()}

    def check_ready(self):
        pass

    def plan(self, current, params, state):
        plan = Plan()
        new_default = None
        for entry in current["entries"]:
            rescue = os.path.basename(entry["kernel"]).startswith("vmlinuz-0-rescue-") and state == "present"
            new = entry["params"] if rescue else edit(entry["params"], params, state, append=True)
            if entry["kernel"] == current["default"] or new_default is None:
                new_default = new
            if new != entry["params"]:
                plan.add("kernel " + entry["kernel"], format_params(entry["params"]), format_params(new),
                         action="update", kernel=entry["kernel"], params=new,
                         argv=grubby_argv(entry["kernel"], entry["params"], params, state))
        return plan, new_default or []

    def apply(self, plan, current):
        for change in plan:
            self.runner.run("grubby", change.data["argv"])
        after = dict((e["kernel"], e["params"]) for e in self.read()["entries"])
        wrong = [c.data["kernel"] for c in plan if after.get(c.data["kernel"]) != c.data["params"]]
        if wrong:
            raise NfvError("grubby did not leave the arguments as planned for %s: %s"
                           % (", ".join(wrong), "; ".join(format_params(after.get(k) or []) for k in wrong)))

    def next_boot(self, params):
        return list(params)

    def configured(self, current):
        entries = current["entries"]
        default = [e for e in entries if e["kernel"] == current["default"]] or entries[:1]
        return list(default[0]["params"]) if default else []


def grubby_argv(kernel, current, params, state):
    argv = ["--update-kernel=" + kernel]
    removed = removed_by(current, params, state)
    if removed:
        argv.append("--remove-args=" + format_params(removed))
    if state == "present" and project(current, set(k for k, _v in params)) != list(params):
        argv.append("--args=" + format_params(params))
    return argv


def parse_grubby_info(text):
    """`grubby --info=ALL` output to [{'index', 'kernel', 'params'}]."""
    entries, entry = [], None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if key == "index":
            entry = {"index": int(value) if value.isdigit() else value, "kernel": None, "params": []}
            entries.append(entry)
        elif entry is not None and key == "kernel":
            entry["kernel"] = value
        elif entry is not None and key == "args":
            entry["params"] = parse_words(value)[0]
    return [e for e in entries if e["kernel"]]
