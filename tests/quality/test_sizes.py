# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils stays readable: a file holds one concern in at most FILE_LINES lines, a function at most
FUNCTION_LINES. The files and functions over the limit today (issue 26 splits them into domain packages)
are listed with their size: they may shrink, never grow, and leave the list once they fit.
"""

import ast
import glob
import os

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UTILS = os.path.join(TOP, "plugins", "module_utils")
FILE_LINES = 400
FUNCTION_LINES = 80
OVERSIZE_FILES = {"qemu_vm.py": 899, "cpu_layout.py": 854, "pci_driver.py": 704, "cmdline.py": 525,
                  "ovs_bridge.py": 617, "sriov.py": 475, "ovs_config.py": 439}
OVERSIZE_FUNCTIONS = {}


def files():
    return sorted(glob.glob(os.path.join(UTILS, "*.py")))


def lines(path):
    with open(path) as handle:
        return handle.read().count("\n")


def functions(path):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield "%s:%s" % (os.path.basename(path), node.name), node.end_lineno - node.lineno + 1


def test_no_file_grows_past_its_limit():
    too_long = []
    for path in files():
        name, count = os.path.basename(path), lines(path)
        limit = OVERSIZE_FILES.get(name, FILE_LINES)
        if count > limit:
            too_long.append("%s: %d lines, at most %d" % (name, count, limit))
    assert not too_long, "split these by concern: " + "; ".join(too_long)


def test_no_function_grows_past_its_limit():
    too_long = []
    for path in files():
        for name, count in functions(path):
            limit = OVERSIZE_FUNCTIONS.get(name, FUNCTION_LINES)
            if count > limit:
                too_long.append("%s: %d lines, at most %d" % (name, count, limit))
    assert not too_long, "split these: " + "; ".join(too_long)


def test_the_oversize_lists_hold_only_what_is_still_over():
    sizes = dict((os.path.basename(p), lines(p)) for p in files())
    fitting = [name for name in OVERSIZE_FILES if sizes.get(name, 0) <= FILE_LINES]
    function_sizes = dict(item for path in files() for item in functions(path))
    fitting += [name for name in OVERSIZE_FUNCTIONS if function_sizes.get(name, 0) <= FUNCTION_LINES]
    assert not fitting, "these fit their limit now; take them off the list: %s" % ", ".join(fitting)
