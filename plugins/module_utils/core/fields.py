# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule for text that reaches a host: no control characters, anywhere in a module's options.

Every option of the collection's modules ends up in a unit file, a boot program's file, the kernel command
line, an OVSDB name or a root-run argv. A newline or a NUL there ends a line early (systemd's unit parser
reads NUL as the end of a line), so a guest's `append` could add unit directives. PlannedModule.run refuses
such a value before validate(), for every module, naming the option; no option of ours takes multi-line
text, so there is nothing to exempt.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError

# C0 controls (NUL, TAB, LF, CR, ...), DEL, C1 controls, and the Unicode line and paragraph separators
# that Python's str.splitlines() breaks on
CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_character_fields(value, field=""):
    """The paths ('nics[1].socket', 'other_config key ...') of every string in `value` with a control character."""
    found = []
    if isinstance(value, str):
        if CONTROL_RE.search(value):
            found.append((field, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            where = "%s.%s" % (field, key) if field else str(key)
            if isinstance(key, str) and CONTROL_RE.search(key):
                found.append(("%s (a key)" % (field or "options"), key))
            found += control_character_fields(item, where)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found += control_character_fields(item, "%s[%d]" % (field, index))
    return found


def refuse_control_characters(params):
    """NfvError naming every option whose text holds a control character; nothing else is looked at."""
    found = control_character_fields(params)
    if found:
        raise NfvError("%s: no option of this module may contain a control character (a newline, a tab, a NUL, "
                       "...); a YAML block scalar ('|' or '>') ends with a newline, write '>-' or a plain "
                       "string; nothing was changed"
                       % "; ".join("%s %r" % (field, text) for field, text in found),
                       fields=[field for field, _text in found])
