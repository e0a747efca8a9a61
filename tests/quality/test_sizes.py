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
import re

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UTILS = os.path.join(TOP, "plugins", "module_utils")
FILE_LINES = 400
FUNCTION_LINES = 80
OVERSIZE_FILES = {}
OVERSIZE_FUNCTIONS = {}


def files():
    return sorted(glob.glob(os.path.join(UTILS, "**", "*.py"), recursive=True))


def name_of(path):
    return os.path.relpath(path, UTILS)


def lines(path):
    with open(path) as handle:
        return handle.read().count("\n")


def functions(path):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield "%s:%s" % (name_of(path), node.name), node.end_lineno - node.lineno + 1


def test_no_file_grows_past_its_limit():
    too_long = []
    for path in files():
        name, count = name_of(path), lines(path)
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
    sizes = dict((name_of(p), lines(p)) for p in files())
    fitting = [name for name in OVERSIZE_FILES if sizes.get(name, 0) <= FILE_LINES]
    function_sizes = dict(item for path in files() for item in functions(path))
    fitting += [name for name in OVERSIZE_FUNCTIONS if function_sizes.get(name, 0) <= FUNCTION_LINES]
    assert not fitting, "these fit their limit now; take them off the list: %s" % ", ".join(fitting)


def test_module_utils_is_grouped_in_the_documented_domain_packages():
    # every file lives in a domain package, and every package is one docs/architecture.md names
    loose = [name_of(p) for p in files() if os.sep not in name_of(p)]
    assert not loose, "move these into a domain package: %s" % ", ".join(loose)
    with open(os.path.join(TOP, "docs", "architecture.md")) as handle:
        documented = set(re.findall(r"`module_utils/(\w+)/`", handle.read()))
    packages = set(name_of(p).split(os.sep, maxsplit=1)[0] for p in files())
    assert packages == documented, "packages %s, docs/architecture.md names %s" % (sorted(packages), sorted(documented))
