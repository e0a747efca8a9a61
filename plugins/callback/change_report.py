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
    failed or unreachable host, and the task's diff when the task returned one.
  - The report is rewritten at the start of each play and at the end of the run, so a later play of
    the same run (for example in C(playbooks/drift.yml)) can read what earlier plays changed.
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

    def set_options(self, *args, **kwargs):
        super(CallbackModule, self).set_options(*args, **kwargs)
        self.path = self.get_option("path")

    def _host(self, name):
        return self.hosts.setdefault(name, {"changed": [], "failed": [], "unreachable": False})

    @staticmethod
    def _entry(result):
        task = result._task
        entry = {"task": task.get_name(), "action": task.action}
        role = getattr(task, "_role", None)
        if role is not None:
            entry["role"] = role.get_name()
        item = result._result.get("item") if isinstance(result._result, dict) else None
        if item is not None:
            entry["item"] = item
        diff = result._result.get("diff") if isinstance(result._result, dict) else None
        if diff:
            entry["diff"] = diff
        return entry

    def v2_playbook_on_play_start(self, play):
        self.check_mode = self.check_mode or bool(play.check_mode) or bool(context.CLIARGS.get("check"))
        self._write()

    def v2_runner_on_ok(self, result):
        if result._result.get("changed"):
            self._host(result._host.get_name())["changed"].append(self._entry(result))
        else:
            self._host(result._host.get_name())

    def v2_runner_item_on_ok(self, result):
        # loop items are summarized by the task's own result (v2_runner_on_ok)
        pass

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            entry = self._entry(result)
            entry["msg"] = result._result.get("msg")
            self._host(result._host.get_name())["failed"].append(entry)

    def v2_runner_on_unreachable(self, result):
        self._host(result._host.get_name())["unreachable"] = True

    def v2_playbook_on_stats(self, stats):
        self._write()

    def _write(self):
        if not self.path:
            return
        report = {"check_mode": self.check_mode, "hosts": self.hosts}
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".change_report.")
        with os.fdopen(fd, "w") as handle:
            json.dump(report, handle, indent=2, sort_keys=True, default=str)
        os.replace(tmp, self.path)
