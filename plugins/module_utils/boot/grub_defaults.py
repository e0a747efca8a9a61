# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SCRIPT: the shell program with which the grub backend (grub.py) learns the base kernel command line.

It does what update-grub itself does to find the command line: source /etc/default/grub, then the drop-ins
/etc/default/grub.d/*.cfg in order. The module's own drop-in is skipped (grub.py adds it from the plan). A fixed
program: its only inputs are the /etc/default directory (under the module's root) and the module's drop-in, as
positional arguments.

Why a shell program sits in a Python string: a module's AnsiballZ payload carries only the .py files under
module_utils that the module imports (ansible-core 2.19-2.21), so a program the module runs on the target has to
be reachable from an import. The grub backend runs it there as `sh -c SCRIPT sh DIR OWN`. It is a program all the
same, and nothing else lives in this file: tests/quality/test_shell_programs.py lints it with shellcheck
(-s sh), and tests/unit/plugins/module_utils/test_grub_defaults.py runs it with /bin/sh on a fixture
/etc/default.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SCRIPT = r"""#!/bin/sh
# usage: sh FILE DIR OWN    (the grub backend runs it as sh -c SCRIPT sh DIR OWN)
#   DIR  the booted system's /etc/default (under the module's root)
#   OWN  the module's own drop-in in DIR/grub.d (grub.py's GRUB_DROPIN): not sourced
# Prints NFV_GRUB_LINUX=, NFV_GRUB_DEFAULT= and NFV_GRUB_NO_RECOVERY= as its last three lines (whatever the
# sourced files print comes before them).
dir="$1"; own="$2"
GRUB_CMDLINE_LINUX=""; GRUB_CMDLINE_LINUX_DEFAULT=""
# shellcheck source=/dev/null  # the host's GRUB configuration, read at run time
if [ -f "$dir/grub" ]; then . "$dir/grub"; fi
for f in "$dir"/grub.d/*.cfg; do
  # shellcheck source=/dev/null  # the host's drop-ins, read at run time
  if [ -f "$f" ] && [ "$f" != "$own" ]; then . "$f"; fi
done
printf 'NFV_GRUB_LINUX=%s\nNFV_GRUB_DEFAULT=%s\nNFV_GRUB_NO_RECOVERY=%s\n' "$GRUB_CMDLINE_LINUX" \
  "$GRUB_CMDLINE_LINUX_DEFAULT" "$GRUB_DISABLE_RECOVERY"
"""
