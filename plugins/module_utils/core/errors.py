# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type modules turn into fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class NfvError(Exception):
    """An error an operator can act on; `details` are returned beside `msg`."""

    def __init__(self, msg, **details):
        super(NfvError, self).__init__(msg)
        self.msg = msg
        self.details = details
