# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel boot parameters: parsing, validating and editing command lines.

A parameter is a (key, value) pair; value is None for a flag (`quiet`) and ""
for an empty value (`console=`). Order and repeated keys are kept, because the
kernel reads some parameters as a sequence: in
`hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024` each `hugepages`
belongs to the `hugepagesz` before it.

Editing (`edit`) works on blocks:
- present: the given parameters are one block. When the parameters with the
  block's keys already read exactly as the block, in order, nothing changes.
  Otherwise every occurrence of those keys is removed and the block is put
  where the first occurrence was (or at the end).
- absent: `key` removes every occurrence of the key, `key=value` removes only
  that exact parameter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.kernel import split_cmdline

# patterns used with fullmatch: "$" also matches before a final newline ("quiet\n")
KEY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
# characters that would corrupt a command line or the shell-sourced GRUB drop-in
BAD_VALUE_RE = re.compile(r"[\s\"'\\$`\x00-\x1f\x7f]")


# -- parameters -----------------------------------------------------------------
def format_param(param):
    key, value = param
    return key if value is None else "%s=%s" % (key, value)


def format_params(params):
    return " ".join(format_param(p) for p in params)


def parse_word(word):
    key, sep, value = word.partition("=")
    return (key, value if sep else None)


def parse_words(text):
    """A command line to (params, tail): tail is '--' and the words after it (for init), verbatim."""
    words = split_cmdline(text)
    if "--" in words:
        at = words.index("--")
        return [parse_word(w) for w in words[:at]], words[at:]
    return [parse_word(w) for w in words], []


def check_param(key, value, where):
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise NfvError("%s: %r is not a kernel parameter name (letters, digits, '_', '.', '-')" % (where, key))
    if value is not None and BAD_VALUE_RE.search(value):
        raise NfvError("%s: the value of %s contains whitespace, a quote, a backslash, '$', '`' or a control "
                       "character (%r); such a value would corrupt the boot configuration" % (where, key, value))
    return (key, value)


def normalize_params(raw):
    """User input (strings 'key=value' / 'key', or dicts with key and value) to [(key, value)]."""
    if not isinstance(raw, list) or not raw:
        raise NfvError("params must be a non-empty list of 'key=value' strings or {key, value} dicts")
    params = []
    for index, item in enumerate(raw):
        where = "params[%d]" % index
        if isinstance(item, dict):
            unknown = sorted(set(item) - set(("key", "value")))
            if unknown or "key" not in item:
                raise NfvError("%s: a dict needs 'key' and an optional 'value' (got keys %s)"
                               % (where, ", ".join(sorted(item))))
            value = item.get("value")
            if isinstance(value, bool):
                raise NfvError("%s: the value of %s is a boolean (YAML reads on/off/yes/no as booleans); quote it, "
                               "for example value: \"on\"" % (where, item["key"]))
            if isinstance(value, (int, float)):
                value = str(value)
            if value is not None and not isinstance(value, str):
                raise NfvError("%s: the value of %s must be a string or a number" % (where, item["key"]))
            params.append(check_param(item["key"], value, where))
        elif isinstance(item, str):
            if BAD_VALUE_RE.search(item):
                raise NfvError("%s: %r contains whitespace, a quote, a backslash, '$', '`' or a control character; "
                               "give one parameter per list item, without quotes" % (where, item))
            key, value = parse_word(item)
            params.append(check_param(key, value, where))
        else:
            raise NfvError("%s: expected a 'key=value' string or a {key, value} dict, got %r" % (where, item))
    return params


def project(params, keys):
    """The parameters whose key is in `keys`, in order."""
    return [p for p in params if p[0] in keys]


def ensure_present(current, block, append=False):
    keys = set(k for k, _v in block)
    if project(current, keys) == list(block):
        return list(current)
    first = None
    rest = []
    for param in current:
        if param[0] in keys:
            if first is None:
                first = len(rest)
        else:
            rest.append(param)
    at = len(rest) if (append or first is None) else first
    return rest[:at] + list(block) + rest[at:]


def ensure_absent(current, removals):
    whole_keys = set(k for k, v in removals if v is None)
    exact = set(removals)
    return [p for p in current if p[0] not in whole_keys and p not in exact]


def edit(current, params, state, append=False):
    if state == "present":
        return ensure_present(current, params, append=append)
    return ensure_absent(current, params)


def removed_by(current, params, state):
    """The exact parameters an edit removes from `current` (for grubby's --remove-args)."""
    keys = set(k for k, _v in params)
    if state == "present":
        if project(current, keys) == list(params):
            return []
        return project(current, keys)
    after = ensure_absent(current, params)
    return [p for p in current if p not in after]


def needs_reboot(next_boot, running, params):
    """True when what the next boot gets differs from the running kernel for these keys."""
    keys = set(k for k, _v in params)
    return project(next_boot, keys) != project(running, keys)


def satisfied(cmdline_params, params, state):
    """Does a command line already read as wanted for these parameters?"""
    return edit(cmdline_params, params, state) == list(cmdline_params)
