# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The programs the collection installs on a host, and the system python3 that runs them.

Each program is a module_utils file of its own (qemu_unit_helper, boot_pci_bind, boot_sriov_vfs),
linted and tested as a program. The module that installs it imports it, which puts it in the
module's payload, and `program_text` reads its source back from there under a shebang.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import inside

# the interpreter of installed programs: the first of these that is a system python3
PYTHON_CANDIDATES = ("/usr/bin/python3", "/bin/python3", "/usr/local/bin/python3")
# no interpreter below these: hidden by a unit (PrivateTmp, ProtectHome) or not there after a reboot
UNSTABLE_DIRS = ("/tmp", "/var/tmp", "/home", "/root", "/run", "/dev/shm")


def program_source(program):
    """The text of an imported program module, read by the loader that imported it (from the zip of
    the module's payload under AnsiballZ, from the tree in tests); module_utils has no __init__.py
    for pkgutil.get_data."""
    try:
        return program.__loader__.get_data(program.__file__).decode("utf-8")
    except (AttributeError, OSError) as exc:
        raise NfvError("cannot read the program %s from the module's payload: %s"
                       % (getattr(program, "__file__", program), exc)) from exc


def program_text(program, python, flags=""):
    """The file to install: the program's source under a shebang naming `python` (and `flags`, one word:
    "-IS" for a boot program, isolated from the environment and without the site packages)."""
    return "#!%s%s\n" % (python, " " + flags if flags else "") + program_source(program)


def python_problem(path):
    """Why `path` cannot run an installed program, or None.

    Not a virtualenv's interpreter (it moves with the controller's setup), nothing below a
    directory a unit hides (PrivateTmp, ProtectHome) or that a reboot empties.
    """
    real = os.path.realpath(path)
    for candidate in (path, real):
        if os.path.exists(os.path.join(os.path.dirname(os.path.dirname(candidate)), "pyvenv.cfg")):
            return "is the interpreter of a virtualenv (%s)" % os.path.dirname(os.path.dirname(candidate))
    for directory in UNSTABLE_DIRS:
        if inside(path, directory) or inside(real, directory):
            return "is below %s, which the unit hides (PrivateTmp, ProtectHome) or a reboot empties" % directory
    if not os.access(real, os.X_OK):
        return "is not executable"
    return None


def system_python(runner, purpose):
    """The system python3 of installed programs: the first of PYTHON_CANDIDATES, then python3 in PATH.

    Independent of the interpreter Ansible runs the module with, so a changed
    ansible_python_interpreter does not rewrite every program. NfvError naming `purpose` when there is none.
    """
    rejected = []
    for path in PYTHON_CANDIDATES + (runner.find("python3"),):
        if not path or not os.path.exists(path) or any(path == r[0] for r in rejected):
            continue
        why = python_problem(path)
        if why is None:
            return path
        rejected.append((path, why))
    raise NfvError("no system python3 for %s: looked for %s and python3 in PATH%s; install python3 "
                   "(Debian: python3-minimal)"
                   % (purpose, ", ".join(PYTHON_CANDIDATES), "".join("; %s %s" % r for r in rejected)))
