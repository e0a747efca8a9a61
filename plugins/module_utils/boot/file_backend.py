# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kernel_cmdline backends that keep their parameters in one file share (GRUB's drop-in, kernel-install's
/etc/kernel/cmdline): paths under the managed root, and FileBackend, which plans, writes, reads back and restores
that file and runs the bootloader's refresh after it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.boot.kernel_params import edit, format_params
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import write_atomic
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan


def host_path(root, path):
    """An absolute path of the booted system as a path on this host: under root when the module manages an image."""
    return path if root == "/" else os.path.join(root, path.lstrip("/"))


def restore_file(path, content, module=None):
    """Put a file back as it was: content None removes it."""
    if content is None:
        if os.path.exists(path):
            os.unlink(path)
    else:
        write_atomic(path, content, module)


class FileBackend:
    """A backend whose parameters live in one file the module rewrites."""

    name = None
    append = False

    def __init__(self, module, runner, root, update_bootloader):
        self.module = module
        self.runner = runner
        self.root = root
        self.update_bootloader = update_bootloader
        self.warnings = []
        self.repair = None  # why the bootloader tool runs again without a file change (GRUB)

    @property
    def path(self):
        raise NotImplementedError

    def read_file(self):
        """{'text': file content or None, 'params': [...], 'tail': [...]}"""
        raise NotImplementedError

    def read(self):
        return self.read_file()

    def render(self, params, tail):
        raise NotImplementedError

    def next_boot(self, params):
        raise NotImplementedError

    def configured(self, current):
        """The next boot's parameters as the host is configured now (before the plan)."""
        return self.next_boot(current["params"])

    def update_command(self):
        """argv of the bootloader refresh, or None."""
        return None

    def check_ready(self):
        """Fail before anything is written when the refresh cannot run."""

    def plan(self, current, params, state):
        new = edit(current["params"], params, state, append=self.append)
        plan = Plan()
        if new != current["params"]:
            before = None if current["text"] is None else format_params(current["params"])
            content = self.render(new, current["tail"])
            plan.add(self.path, before, format_params(new) if content is not None else None,
                     action="write" if content is not None else "delete",
                     content=content, old_content=current["text"], params=new)
        return plan, new

    def apply(self, plan, current):
        change = plan.changes[0]
        target = host_path(self.root, self.path)
        restore_file(target, change.data["content"], self.module)
        written = self.read_file()
        if written["params"] != change.data["params"]:
            restore_file(target, change.data["old_content"], self.module)
            raise NfvError("%s does not read back as written (%s); the previous file was restored"
                           % (self.path, format_params(written["params"])))
        argv = self.update_command() if self.update_bootloader else None
        if argv:
            try:
                self.runner.run(argv[0], argv[1:])
            except NfvError as exc:
                restore_file(target, change.data["old_content"], self.module)
                raise NfvError("%s; %s was restored to its previous content" % (exc.msg, self.path),
                               **exc.details) from exc
