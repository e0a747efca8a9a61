# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel boot parameters through the host's bootloader tooling (nfv.dpdk.kernel_cmdline): the module's handler,
and the choice of its backend.

Parameters are parsed and edited by kernel_params; what a command line reserves at boot (hugepages),
and the budget that must hold it, is boot_memory's. Backends keep the parameters where the next boot
takes them from:
- grub (grub.py): a drop-in /etc/default/grub.d/99-nfv-dpdk.cfg that appends to
  GRUB_CMDLINE_LINUX_DEFAULT (the normal boot entries only, not the recovery ones), then update-grub
  (or grub-mkconfig / grub2-mkconfig).
- grubby (grubby.py): `grubby --update-kernel=KERNEL --remove-args=... --args=...` for
  every boot entry but the rescue ones (RHEL family, BLS).
- kernel-install (kernel_install.py): /etc/kernel/cmdline, then `kernel-install add` for the running
  kernel so its boot entry or UKI picks the line up.
grub and kernel-install share file_backend.py: one file written, read back and restored on failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.boot.boot_memory import (
    RESERVATION_KEYS,
    judge,
    parse_reserve,
    read_memory,
    reservation,
    summary,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.file_backend import host_path
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.grub import GRUB_DROPIN_DIR, GrubBackend
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.grubby import GrubbyBackend
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.kernel_install import (
    KERNEL_CMDLINE,
    LOADER_ENTRY_DIRS,
    KernelInstallBackend,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.kernel_params import (
    format_param,
    format_params,
    needs_reboot,
    normalize_params,
    parse_words,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule

BACKENDS = {"grub": GrubBackend, "grubby": GrubbyBackend, "kernel-install": KernelInstallBackend}


def detect_backend(runner, root):
    """grubby (RHEL family), GRUB configuration (Debian/Ubuntu), kernel-install configuration, in that order."""
    def exists(path):
        return os.path.exists(host_path(root, path))

    if root == "/" and runner.has("grubby"):
        return "grubby"
    if exists("/etc/default/grub") or exists(GRUB_DROPIN_DIR):
        return "grub"
    if exists(KERNEL_CMDLINE) or exists("/etc/kernel/install.conf") or any(exists(d) for d in LOADER_ENTRY_DIRS):
        return "kernel-install"
    raise NfvError("could not detect the boot loader tooling under %s: no grubby, no GRUB configuration "
                   "(/etc/default/grub), no kernel-install configuration (/etc/kernel/cmdline, "
                   "/etc/kernel/install.conf, loader entries); set backend" % root)


class KernelCmdline(PlannedModule):
    """nfv.dpdk.kernel_cmdline: boot parameters present or absent through the host's bootloader tooling."""

    def validate(self):
        self.wanted = normalize_params(self.params["params"])
        self.state = self.params["state"]
        self.boot_reservation = None
        try:
            self.reserve = parse_reserve(self.params["memory_reserve"])
        except ValueError:
            raise NfvError("memory_reserve must be a size (2G, 512M; MiB without a unit) or a share of MemTotal "
                           "(5%%), got %r" % (self.params["memory_reserve"],)) from None
        bad = reservation(self.wanted).problems if self.state == "present" else []
        if bad:
            raise NfvError("; ".join(p["msg"] for p in bad) + "; nothing was changed")
        self.root = os.path.abspath(self.params["root"] or "/")
        # the budget is this host's: an image under root boots on another machine
        self.checks_budget = self.root == "/" and any(k in RESERVATION_KEYS for k, _v in self.wanted)
        if not os.path.isdir(self.root):
            raise NfvError("root %s is not a directory" % self.root)
        name = self.params["backend"]
        self.backend = None
        if name == "auto":
            try:
                name = detect_backend(self.runner, self.root)
            except NfvError:
                if self.state != "absent":
                    raise
                # no boot loader configuration at all (a container, say): nothing can hold the parameters
                return
        if name == "grubby" and self.root != "/":
            raise NfvError("the grubby backend edits this host's boot entries; it cannot work on root %s" % self.root)
        if self.root != "/" and self.params["update_bootloader"]:
            raise NfvError("root is %s: the bootloader tool would run against this host, not the image; "
                           "set update_bootloader: false and regenerate the boot configuration inside the "
                           "image" % self.root)
        self.backend = BACKENDS[name](self.module, self.runner, self.root, self.params["update_bootloader"])
        self.new_params = None

    def read(self):
        if self.backend is None:
            return None
        current = self.backend.read()
        if self.checks_budget:
            current["memory"] = read_memory(self.fs)
        return current

    def plan(self, current):
        if self.backend is None:
            return Plan()
        plan, self.new_params = self.backend.plan(current, self.wanted, self.state)
        if self.checks_budget:
            self.check_budget(current)
        if plan.changed:
            self.backend.check_ready()
        return plan

    def check_budget(self, current):
        """Refuse a run that raises the next boot's hugepage reservation past MemTotal minus memory_reserve
        (on the host or a NUMA node) or writes a reservation word the kernel would ignore; warn about the rest."""
        memory = current["memory"]
        after, refusals, warnings = judge(self.backend.configured(current), self.backend.next_boot(self.new_params),
                                          memory, self.reserve, self.wanted if self.state == "present" else [])
        if memory["total_kb"] is not None:
            self.boot_reservation = summary(after, memory, self.reserve)
        if refusals:
            raise NfvError("; ".join(refusals) + "; nothing was changed", boot_reservation=self.boot_reservation)
        for text in warnings:
            self.warn(text)

    def apply(self, plan, current):
        self.backend.apply(plan, current)

    def report(self, current, plan):
        running = parse_words(self.fs.read("/proc/cmdline", ""))[0]
        if self.backend is None:
            self.warn("no boot loader configuration found under %s; no parameter to remove" % self.root)
            return {"repair": None, "backend": "none", "params": [format_param(p) for p in self.wanted],
                    "cmdline": None, "next_boot": None, "running": format_params(running), "reboot_required": False,
                    "boot_reservation": None}
        next_boot = self.backend.next_boot(self.new_params)
        warnings = list(self.backend.warnings)
        if self.state == "absent":
            left = [p for p in next_boot if p in self.wanted or (p[0], None) in self.wanted]
            if left:
                warnings.append("%s stays on the next boot's command line: it is set outside what the %s backend "
                                "manages (for example in /etc/default/grub)" % (format_params(left), self.backend.name))
        for warning in warnings:
            self.warn(warning)
        repair = getattr(self.backend, "repair", None)
        return {
            "repair": repair,
            "backend": self.backend.name,
            "params": [format_param(p) for p in self.wanted],
            "cmdline": format_params(self.new_params),
            "next_boot": format_params(next_boot),
            "running": format_params(running),
            "reboot_required": needs_reboot(next_boot, running, self.wanted),
            "boot_reservation": self.boot_reservation,
        }
