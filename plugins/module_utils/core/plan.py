# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape every state-changing module follows.

read the current state -> compute a Plan from the wanted state -> return the
plan as the diff (check mode stops here) -> apply it -> read back and verify.
The Plan is data: the same list of changes is the diff, the check-mode
answer and what `apply` executes.

apply runs with SIGHUP ignored (see hangup_ignored): a dropped SSH session
must not kill a module half way, before its rollback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import signal
from contextlib import contextmanager

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.fields import refuse_control_characters
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import Runner
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS


class Change:
    """One thing that will change: `key` goes from `before` to `after`.

    `action` names what apply does (set, create, delete, ...); `data` carries
    whatever apply needs beyond before/after.
    """

    def __init__(self, key, before, after, action="set", **data):
        self.key = key
        self.before = before
        self.after = after
        self.action = action
        self.data = data

    def as_dict(self):
        return {"key": self.key, "action": self.action, "before": self.before, "after": self.after}

    def __repr__(self):
        return "Change(%r, %r -> %r, %s)" % (self.key, self.before, self.after, self.action)


class Plan:
    def __init__(self, changes=None):
        self.changes = list(changes or [])

    def add(self, key, before, after, action="set", **data):
        change = Change(key, before, after, action, **data)
        self.changes.append(change)
        return change

    def add_if_differs(self, key, before, after, action="set", **data):
        if before != after:
            return self.add(key, before, after, action, **data)
        return None

    @property
    def changed(self):
        return bool(self.changes)

    def by_action(self, action):
        return [c for c in self.changes if c.action == action]

    def as_list(self):
        return [c.as_dict() for c in self.changes]

    def diff(self, header=None):
        """Ansible diff: before/after dicts of the changed keys only."""
        before, after = {}, {}
        for change in self.changes:
            if change.before is not None:
                before[change.key] = change.before
            if change.after is not None:
                after[change.key] = change.after
        result = {"before": before, "after": after}
        if header:
            result["before_header"] = header
            result["after_header"] = header
        return result

    def __iter__(self):
        return iter(self.changes)

    def __len__(self):
        return len(self.changes)


@contextmanager
def hangup_ignored():
    """SIGHUP ignored inside the block, the previous disposition restored after it.

    sshd (and sudo, which relays it) sends SIGHUP when the session drops; a module killed in apply would leave
    the host half changed and skip its rollback. Ignored (not deferred) in the process and in the commands it
    starts meanwhile, as apply's outcome no longer reaches anyone who could act on the signal. Outside the main
    thread, where Python cannot set handlers, the block runs as it is.
    """
    try:
        previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    except (AttributeError, ValueError, OSError):
        previous = False
    try:
        yield
    finally:
        if previous is not False:
            signal.signal(signal.SIGHUP, signal.SIG_DFL if previous is None else previous)


class PlannedModule:
    """Base for state-changing modules. Subclasses implement read/plan/apply/report.

    `report(current, plan)` runs after apply (or instead of it in check mode)
    and returns the result keys; it re-reads the host in a real run.
    `warn(text)` is the one warning channel of every phase: the warnings reach Ansible
    (module.warn, once each, in order) when the run ends, also when it fails.
    """

    diff_header = None

    def __init__(self, module, fs=None, runner=None):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.fs = fs or HostFS()
        self.runner = runner or Runner(module)
        self.warnings = []

    def warn(self, text):
        if text not in self.warnings:
            self.warnings.append(text)

    def validate(self):
        """Reject bad input before anything is read or changed (control characters are refused before it)."""

    def read(self):
        raise NotImplementedError

    def plan(self, current):
        raise NotImplementedError

    def apply(self, plan, current):
        raise NotImplementedError

    def report(self, current, plan):
        return {}

    def run(self):
        try:
            refuse_control_characters(self.params)
            self.validate()
            current = self.read()
            plan = self.plan(current)
            result = {"changed": plan.changed, "changes": plan.as_list()}
            if self.module._diff:
                result["diff"] = plan.diff(self.diff_header)
            if plan.changed and not self.check_mode:
                with hangup_ignored():
                    self.apply(plan, current)
            result.update(self.report(current, plan))
            return result
        finally:
            for text in self.warnings:
                self.module.warn(text)
            self.warnings = []


def run_module(handler_class, argument_spec, **module_kwargs):
    """Build the AnsibleModule, run the handler, turn NfvError into fail_json."""
    module_kwargs.setdefault("supports_check_mode", True)
    module = AnsibleModule(argument_spec=argument_spec, **module_kwargs)
    try:
        result = handler_class(module).run()
    except NfvError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**result)
