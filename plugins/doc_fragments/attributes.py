# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every nfv.dpdk module documents, written once.

A module extends DOCUMENTATION (what each attribute means, the platform) and one support variant: FULL for a
module that changes the host, READ_ONLY for one that only reads; FACTS adds C(facts) to a module returning
ansible_facts. What differs between modules is the C(details) of an attribute, and only that stays in the
module's own C(attributes:) (tests/quality/test_doc_fragments.py holds every module to it). The descriptions
are ansible.builtin.action_common_attributes' own, so a module reads as it did when it extended that fragment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # What the attributes mean, and the platform: every module runs on a POSIX host (Linux).
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target, if not
      supported the action will be skipped.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in
      diff mode
  platform:
    description: Target OS/families that can be operated against
    support: N/A
    platforms: posix
"""

    # A module that changes the host: check mode predicts the changes, diff mode shows them.
    FULL = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

    # A module that only reads: check mode gives the same answer, there is nothing to diff.
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

    # A module that returns ansible_facts.
    FACTS = r"""
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts
    support: full
"""
