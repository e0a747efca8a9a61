# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel-install backend of nfv.dpdk.kernel_cmdline: the parameters live in /etc/kernel/cmdline, then
`kernel-install add` for the running kernel so its boot entry or UKI picks the line up."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.boot.file_backend import FileBackend, host_path
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.kernel_params import format_params, parse_words
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text

KERNEL_CMDLINE = "/etc/kernel/cmdline"
# Boot Loader Specification entries: where they are, kernel-install writes the boot entries
LOADER_ENTRY_DIRS = ("/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries")
# added by the bootloader, not part of the configured line
BOOTLOADER_KEYS = ("BOOT_IMAGE", "initrd")


class KernelInstallBackend(FileBackend):
    name = "kernel-install"

    @property
    def path(self):
        return KERNEL_CMDLINE

    def read_file(self):
        text = read_text(host_path(self.root, self.path))
        if text is not None:
            params, tail = parse_words(" ".join(text.split("\n")))
            return {"text": text, "params": params, "tail": tail}
        # without the file kernel-install takes /usr/lib/kernel/cmdline, else the running line
        seed = read_text(host_path(self.root, "/usr/lib/kernel/cmdline"))
        if seed is None:
            if self.root != "/":
                raise NfvError("%s does not exist under %s and there is no /usr/lib/kernel/cmdline to start from; "
                               "create it with the image's base command line (root=...) first"
                               % (self.path, self.root))
            seed = read_text("/proc/cmdline") or ""
        params, tail = parse_words(" ".join(seed.split("\n")))
        params = [p for p in params if p[0] not in BOOTLOADER_KEYS]
        return {"text": None, "params": params, "tail": tail}

    def render(self, params, tail):
        return " ".join([format_params(params)] + list(tail)).strip() + "\n"

    def next_boot(self, params):
        return list(params)

    def kernel_image(self):
        release = os.uname()[2]
        for path in ("/usr/lib/modules/%s/vmlinuz" % release, "/lib/modules/%s/vmlinuz" % release,
                     "/boot/vmlinuz-%s" % release):
            if os.path.exists(path):
                return release, path
        return release, None

    def update_command(self):
        release, image = self.kernel_image()
        return ["kernel-install", "add", release, image]

    def check_ready(self):
        if not self.update_bootloader:
            return
        if not self.runner.has("kernel-install"):
            raise NfvError("kernel-install was not found; install systemd's kernel-install or set "
                           "update_bootloader: false")
        release, image = self.kernel_image()
        if image is None:
            raise NfvError("the image of the running kernel %s was not found (/usr/lib/modules/%s/vmlinuz, "
                           "/boot/vmlinuz-%s), so kernel-install cannot refresh its boot entry; set "
                           "update_bootloader: false to only write %s" % (release, release, release, self.path))
