# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""change_report: write what every task changed (or would change, in check mode) per host as JSON."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: change_report
type: aggregate
short_description: Writes a JSON report of the tasks that changed, per host
version_added: "0.1.0"
description:
  - Records every task result that reported C(changed) (in check mode, what would change), every
    failed or unreachable host, and the task's diff when the task returned one (run with C(--diff)).
  - A looped task is recorded once per changed (or failed) item, with the item's label (C(loop_control.label),
    else the item) as C(item) and the item's own diff.
  - The report is rewritten at the start of each play and at the end of the run, so a later play of
    the same run (for example in C(playbooks/drift.yml)) can read what earlier plays changed.
  - The path is made absolute once, when the callback is loaded, against the directory C(ansible-playbook)
    was started in (a relative path in C(ansible.cfg) is taken relative to that file's directory, as
    Ansible does for every path setting); missing parent directories are created.
  - Every play of the run gets the absolute path as the variable C(nfv_dpdk_change_report_path), so a
    playbook reads the report the callback really writes; the variable is undefined when the callback is
    not enabled or has no path.
  - Enable with C(callbacks_enabled = nfv.dpdk.change_report); nothing is written unless a path is set.
author:
  - nfv.dpdk contributors (@nfv-dpdk)
options:
  path:
    description: Where the JSON report is written.
    type: path
    env:
      - name: NFV_DPDK_CHANGE_REPORT
    ini:
      - section: nfv_dpdk
        key: change_report
"""

import json
import os
import tempfile

from ansible import context
from ansible.plugins.callback import CallbackBase

PATH_VARIABLE = "nfv_dpdk_change_report_path"


def resolve_report_path(path, cwd=None):
    """The absolute path of the report: ``~`` and ``$VARS`` expanded, a relative path joined to
    ``cwd`` (default: the process's working directory). None or empty stays None."""
    if not path:
        return None
    path = os.path.expanduser(os.path.expandvars(str(path)))
    if not os.path.isabs(path):
        path = os.path.join(os.getcwd() if cwd is None else cwd, path)
    return os.path.normpath(path)


def item_label(data):
    """What identifies one loop item in a result: its loop_control label, else the item itself."""
    if data.get("_ansible_no_log"):
        return "(censored due to no_log)"
    if "_ansible_item_label" in data:
        return data["_ansible_item_label"]
    return data.get(data.get("ansible_loop_var") or "item")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "nfv.dpdk.change_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.hosts = {}
        self.check_mode = False
        self.path = None
        # failed loop items per host, kept until the task's own result says whether errors are ignored
        self._failed_items = {}
        self._write_error = None

    def set_options(self, *args, **kwargs):
        super(CallbackModule, self).set_options(*args, **kwargs)
        self.path = resolve_report_path(self.get_option("path"))

    def _host(self, name):
        return self.hosts.setdefault(name, {"changed": [], "failed": [], "unreachable": False})

    @staticmethod
    def _data(result):
        data = result.result
        return data if isinstance(data, dict) else {}

    @classmethod
    def _entry(cls, result, with_item=False):
        task = result.task
        data = cls._data(result)
        entry = {"task": task.get_name(), "action": task.action}
        role = getattr(task, "_role", None)
        if role is not None:
            entry["role"] = role.get_name()
        if with_item:
            entry["item"] = item_label(data)
        diff = data.get("diff")
        if diff:
            entry["diff"] = diff
        return entry

    @staticmethod
    def _is_loop(result, data):
        return getattr(result.task, "loop", None) is not None and isinstance(data.get("results"), list)

    def v2_playbook_on_play_start(self, play):
        self.check_mode = self.check_mode or bool(play.check_mode) or bool(context.CLIARGS.get("check"))
        play_vars = getattr(play, "vars", None)
        if self.path and isinstance(play_vars, dict):
            play_vars[PATH_VARIABLE] = self.path
        self._write()

    def v2_runner_on_ok(self, result):
        name = result.host.get_name()
        self._failed_items.pop(name, None)
        data = self._data(result)
        host = self._host(name)
        # a loop's changed items were recorded one by one (v2_runner_item_on_ok)
        if data.get("changed") and not self._is_loop(result, data):
            host["changed"].append(self._entry(result))

    def v2_runner_item_on_ok(self, result):
        if self._data(result).get("changed"):
            self._host(result.host.get_name())["changed"].append(self._entry(result, with_item=True))

    def v2_runner_item_on_failed(self, result):
        entry = self._entry(result, with_item=True)
        entry["msg"] = self._data(result).get("msg")
        self._failed_items.setdefault(result.host.get_name(), []).append(entry)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        name = result.host.get_name()
        items = self._failed_items.pop(name, [])
        if ignore_errors:
            self._host(name)
            return
        if not items:
            entry = self._entry(result)
            entry["msg"] = self._data(result).get("msg")
            items = [entry]
        self._host(name)["failed"].extend(items)

    def v2_runner_on_skipped(self, result):
        self._failed_items.pop(result.host.get_name(), None)

    def v2_runner_on_unreachable(self, result):
        name = result.host.get_name()
        self._failed_items.pop(name, None)
        self._host(name)["unreachable"] = True

    def v2_playbook_on_stats(self, stats):
        self._write()

    def _write(self):
        if not self.path:
            return
        report = {"check_mode": self.check_mode, "hosts": self.hosts}
        tmp = None
        try:
            directory = os.path.dirname(self.path)
            if not os.path.isdir(directory):
                os.makedirs(directory)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".change_report.")
            with os.fdopen(fd, "w") as handle:
                json.dump(report, handle, indent=2, sort_keys=True, default=str)
            os.replace(tmp, self.path)
            tmp = None
        except (OSError, ValueError, TypeError) as exc:
            error = "nfv.dpdk.change_report cannot write its report to %s: %s" % (self.path, exc)
            if error != self._write_error:
                self._display.warning(error)
            self._write_error = error
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
