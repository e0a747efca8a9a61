#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kernel_cmdline
short_description: Ensure kernel boot parameters are present or absent through the host's bootloader tooling
version_added: "0.1.0"
description:
  - Adds or removes kernel command-line parameters for the next boot, keeping their order and repeated
    keys (C(hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024)) and per-node forms
    (C(hugepages=0:2,1:2)).
  - "O(state=present): the parameters given form one block. When the parameters with the block's keys
    already read exactly as the block, in order, nothing changes. Otherwise every occurrence of those keys
    is replaced by the block, so a stale value (C(default_hugepagesz=2M)) or a stale pair is replaced,
    never duplicated."
  - "O(state=absent): C(key) removes every occurrence of the key, C(key=value) removes only that exact
    parameter."
  - "Backends: C(grub) writes the drop-in C(/etc/default/grub.d/99-nfv-dpdk.cfg) appending to
    C(GRUB_CMDLINE_LINUX_DEFAULT), then runs C(update-grub) (or C(grub-mkconfig)/C(grub2-mkconfig)); if that
    fails the drop-in is restored. C(grubby) runs C(grubby --update-kernel=KERNEL --remove-args=...
    --args=...) for each boot entry that differs and reads the entries back. C(kernel-install) rewrites
    C(/etc/kernel/cmdline) (starting from the line kernel-install would use when the file is missing)
    and runs C(kernel-install add) for the running kernel."
  - "The parameters go where the recovery boot entry does not take them, so that a configuration that does
    not boot can be booted around: Debian's GRUB gives C(GRUB_CMDLINE_LINUX_DEFAULT) only to the normal
    entries, not to the C((recovery mode)) ones; with C(grubby), O(state=present) leaves the rescue entries
    (C(/boot/vmlinuz-0-rescue-*)) alone. A drop-in of an earlier version, appending to C(GRUB_CMDLINE_LINUX)
    (which the recovery entries take too), is rewritten by the next run, which is then changed."
  - "Boot memory budget: when the parameters given include C(hugepages), C(hugepagesz) or
    C(default_hugepagesz), the hugepages the next boot's command line reserves (every
    C(hugepagesz=SIZE hugepages=N) pair, a C(hugepages=) before any size for the default size, the per-node
    form C(hugepages=0:N,1:M) on each node) must fit in the host's C(MemTotal) minus O(memory_reserve), and
    each node's in that node's C(MemTotal) minus its share of the reserve. A run that would raise the
    reservation past that is refused before anything is written, naming the words, the sizes and the memory.
    So is a page size the host does not offer, a NUMA node it does not have, or a malformed word among the
    parameters given. A next boot over the budget that the run does not raise (another tool's words, a
    larger reserve than before) is a warning."
  - Returns C(reboot_required) by comparing, for the keys given, what the next boot gets with the running
    kernel's C(/proc/cmdline).
  - Values with whitespace, quotes, backslashes, C($), backquotes or control characters are rejected
    before anything is read or written.
author:
  - nfv.dpdk contributors (@nfv-dpdk)
extends_documentation_fragment:
  - nfv.dpdk.attributes
  - nfv.dpdk.attributes.full
attributes:
  check_mode:
    details: Reports the planned command line, the next boot's line and C(reboot_required); writes and
      runs nothing that changes the host.
  diff_mode:
    details: The managed command line (the drop-in's, C(/etc/kernel/cmdline)'s or each boot entry's)
      before and after.
options:
  params:
    description:
      - Parameters in order, each a C(key=value) or C(key) string, or a dict with C(key) and optional
        C(value). Repeated keys are kept in order.
      - Quote YAML values such as C(on), C(off), C(yes), C(no); booleans are rejected.
    type: list
    elements: raw
    required: true
  state:
    description: Whether the parameters are present or absent.
    type: str
    choices: [present, absent]
    default: present
  backend:
    description:
      - >-
        Bootloader tooling to use. C(auto) picks C(grubby) when the command exists, then C(grub) when
        C(/etc/default/grub) or C(/etc/default/grub.d) exists, then C(kernel-install) when
        C(/etc/kernel/cmdline), C(/etc/kernel/install.conf) or a loader entries directory exists, and
        fails otherwise, except with O(state=absent): a host without any boot loader configuration (a
        container) holds no parameter, so nothing changes and the result says C(backend=none).
    type: str
    choices: [auto, grub, grubby, kernel-install]
    default: auto
  root:
    description:
      - Edit the boot configuration of the system installed under this directory instead of C(/), for
        example an image being built. Only the C(grub) and C(kernel-install) backends support it, and
        O(update_bootloader) must then be false (regenerate the boot configuration inside the image).
      - C(reboot_required) still compares with this host's running kernel.
    type: path
    default: /
  update_bootloader:
    description:
      - Run the bootloader refresh (C(update-grub) or C(kernel-install add)) after the file changed.
      - Without it the change takes effect the next time the boot configuration is regenerated.
      - With the C(grub) backend it also repairs an interrupted earlier run. When the drop-in already reads as
        wanted but the first C(linux) line of the generated C(/boot/grub/grub.cfg) (C(/boot/grub2/grub.cfg)
        for C(grub2-mkconfig)) does not give these parameters as the GRUB configuration does, the update
        command runs again. The result is changed, C(repair) says why, and check mode predicts it.
      - Ignored by the C(grubby) backend, which edits the boot entries directly.
    type: bool
    default: true
  memory_reserve:
    description:
      - Memory the next boot's hugepage reservation leaves to everything else (the kernel, systemd, sshd,
        ovs-vswitchd's own heap, QEMU's overhead per guest) - a size (C(2G), C(512M); MiB without a unit) or a
        share of C(MemTotal) (C(5%)). Each NUMA node keeps its share in proportion to its memory.
      - The default, 2G, boots a Debian host with Open vSwitch and a few guests to a login; raise it on large
        hosts that run more beside the hugepages (C(8G), or C(5%)).
      - Not checked with O(root) other than C(/), as the image boots on another machine.
    type: str
    default: 2G
notes:
  - The C(grub) backend only manages its own drop-in. A parameter to remove that is set elsewhere (for
    example in C(/etc/default/grub)) stays, with a warning; the next boot's line is computed the way
    C(update-grub) does, by sourcing C(/etc/default/grub) and C(/etc/default/grub.d/*.cfg).
  - The module never reboots; act on C(reboot_required) (the C(nfv.dpdk.hugepages) role does when allowed).
seealso:
  - module: nfv.dpdk.hugepage_pool
  - module: nfv.dpdk.host_facts
"""

EXAMPLES = r"""
- name: 1G default pages, 4 of them and 1024 2M pages reserved at boot, IOMMU in passthrough
  nfv.dpdk.kernel_cmdline:
    params:
      - intel_iommu=on
      - iommu=pt
      - default_hugepagesz=1G
      - hugepagesz=1G
      - hugepages=4
      - hugepagesz=2M
      - hugepages=1024
  register: boot

- name: Two 1G pages on each of two NUMA nodes, keeping 8G of memory for the rest of the host
  nfv.dpdk.kernel_cmdline:
    params:
      - {key: hugepagesz, value: 1G}
      - {key: hugepages, value: "0:2,1:2"}
    memory_reserve: 8G

- name: Drop isolcpus whatever its value, and only this console
  nfv.dpdk.kernel_cmdline:
    params: [isolcpus, console=ttyS0]
    state: absent

- name: Reboot when the running kernel does not have them yet
  ansible.builtin.reboot:
  when: boot.reboot_required

- name: Prepare an image's GRUB configuration (update-grub runs later inside the image)
  nfv.dpdk.kernel_cmdline:
    params: [default_hugepagesz=1G]
    backend: grub
    root: /mnt/image
    update_bootloader: false
"""

RETURN = r"""
backend:
  description: The backend used.
  returned: always
  type: str
  sample: grub
params:
  description: The parameters asked for, normalized to C(key=value) / C(key) strings.
  returned: always
  type: list
  elements: str
  sample: ["hugepagesz=1G", "hugepages=4"]
cmdline:
  description: The managed line after the run (the drop-in's, C(/etc/kernel/cmdline)'s or the default boot
    entry's); predicted in check mode.
  returned: always
  type: str
  sample: "hugepagesz=1G hugepages=4"
next_boot:
  description: The command line the next boot gets as far as the backend can tell (for C(grub),
    C(GRUB_CMDLINE_LINUX), then C(GRUB_CMDLINE_LINUX_DEFAULT) with the drop-in; the bootloader adds
    C(BOOT_IMAGE) and C(root)).
  returned: always
  type: str
  sample: "quiet hugepagesz=1G hugepages=4"
running:
  description: The running kernel's parameters from C(/proc/cmdline) (without the words for init after C(--)).
  returned: always
  type: str
repair:
  description:
    - Why the bootloader tool ran again although the drop-in needed no change (an interrupted earlier run, so
      the generated default entry lacks the parameters or the recovery entry still has them), else null.
  returned: always
  type: str
  sample: "/boot/grub/grub.cfg gives the next boot nothing for these parameters, but the GRUB configuration says
    iommu=pt: an earlier run wrote /etc/default/grub.d/99-nfv-dpdk.cfg and was interrupted before update-grub
    finished (or the configuration was changed without it); update-grub runs again"
reboot_required:
  description: True when, for the keys given, the next boot's parameters differ from the running kernel's.
  returned: always
  type: bool
  sample: true
changes:
  description: The plan, one entry per file or boot entry changed, with C(key), C(action), C(before),
    C(after).
  returned: always
  type: list
  elements: dict
boot_reservation:
  description:
    - What the next boot's command line reserves in hugepages and what the budget allows, in kB, when the
      parameters given include C(hugepages), C(hugepagesz) or C(default_hugepagesz) and O(root) is C(/);
      else null. Also returned beside the message of a refusal.
  returned: always
  type: dict
  contains:
    reserved_kb:
      description: The hugepages the next boot reserves.
      type: int
    limit_kb:
      description: C(MemTotal) minus O(memory_reserve).
      type: int
    memory_total_kb:
      description: The host's C(MemTotal).
      type: int
    memory_reserve_kb:
      description: O(memory_reserve) in kB.
      type: int
    words:
      description: The words that reserve them.
      type: str
    nodes:
      description: Per NUMA node C(node), C(reserved_kb) (of the per-node form), C(memory_total_kb), C(limit_kb).
      type: list
      elements: dict
  sample: {"reserved_kb": 4194304, "limit_kb": 5990400, "memory_total_kb": 8087552, "memory_reserve_kb": 2097152,
           "words": "hugepagesz=1G hugepages=0:2,1:2", "nodes": [{"node": 0, "reserved_kb": 2097152,
           "memory_total_kb": 4043776, "limit_kb": 2995200}, {"node": 1, "reserved_kb": 2097152,
           "memory_total_kb": 4043776, "limit_kb": 2995200}]}
"""

from ansible_collections.nfv.dpdk.plugins.module_utils.boot.cmdline import KernelCmdline
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import run_module


def main():
    run_module(KernelCmdline, dict(
        params=dict(type="list", elements="raw", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        backend=dict(type="str", choices=["auto", "grub", "grubby", "kernel-install"], default="auto"),
        root=dict(type="path", default="/"),
        update_bootloader=dict(type="bool", default=True),
        memory_reserve=dict(type="str", default="2G"),
    ))


if __name__ == "__main__":
    main()
