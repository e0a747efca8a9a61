# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a failed run of nfv.dpdk.sriov_vfs leaves on the VFs: they fail closed.

A VF whose MAC, VLAN, trust or spoof check setting failed (the PF driver refused it, or accepted it and
reads back another value) would pass traffic without its isolation: it is disabled with
`ip link set dev PF vf N state disable`, and so is, after a count change, every VF the run did not reach
with such a setting (it is a new VF without any of its setup). The other VFs stay as they are: settings this
run changed on them are set back (without a count change), and nothing is made persistent. A later run does
not enable a disabled VF unless its vfs entry names a link_state: the error says how to recover.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host import pci

# the settings without which a VF must not pass traffic
FAIL_CLOSED = ("mac", "vlan", "trust", "spoofchk")


def unsafe_vfs(exc, plan, done, recreated, existing):
    """{VF index: why} of the VFs a failure leaves without their MAC, VLAN, trust or spoof check setup."""
    unsafe = {}
    if exc.details.get("setting") in FAIL_CLOSED and "vf" in exc.details:
        unsafe[exc.details["vf"]] = "its %s setting failed" % exc.details["setting"]
    for wrong in exc.details.get("unapplied") or []:
        if wrong["setting"] in FAIL_CLOSED:
            unsafe.setdefault(wrong["vf"], "its %s reads back other than set" % wrong["setting"])
    if recreated:
        for change in plan.by_action("setting"):
            index = change.data["index"]
            if change.data["name"] in FAIL_CLOSED and change not in done and index < existing:
                unsafe.setdefault(index, "it is new and its %s was not set" % change.data["name"])
    return unsafe


def disable_vfs(run, ifname, indexes):
    """Disable each VF; ([disabled indexes], {index: why the disable failed}), read back."""
    failed = {}
    for index in indexes:
        try:
            run.set_vf(ifname, index, "link_state", "disable")
        except NfvError as exc:
            failed[index] = exc.msg
    asked = [index for index in indexes if index not in failed]
    if asked:
        try:
            after = run.vf_settings(ifname)
        except NfvError as exc:  # the disable is not known to hold: said so, the first failure stays the error
            failed.update((index, "reading the VF's link state back failed: %s" % exc.msg) for index in asked)
            after = {}
        for index in [index for index in asked if index not in failed]:
            state = after.get(index, {}).get("link_state")
            if state != "disable":
                failed[index] = "the PF driver accepted the disable, but the VF's link state reads %s" % state
    return [index for index in indexes if index not in failed], failed


def undo_settings(run, ifname, done, skip=()):
    """Set back the settings this run changed, last first, but on the VFs in `skip`; the keys set back."""
    undone = []
    for change in reversed(done):
        if change.data["index"] in skip:
            continue
        try:
            run.set_vf(ifname, change.data["index"], change.data["name"], change.data["old"])
            undone.append(change.key)
        except NfvError:
            pass
    return undone


def failed_run(run, current, plan, done, exc):
    """The NfvError a failed apply ends with, after the VFs it left unsafe were disabled and the rest set back."""
    ifname, address = current["ifname"], current["address"]
    recreated = bool(plan.by_action("count"))
    existing = len(pci.virtfns(run.fs, address)) if recreated else len(current["vfs"])
    unsafe = unsafe_vfs(exc, plan, done, recreated, existing)
    disabled, not_disabled = disable_vfs(run, ifname, sorted(unsafe))
    notes = [exc.msg]
    for index in disabled:
        notes.append("VF %d of PF %s (%s) was disabled (link state disable) because %s, so it passes no traffic"
                     % (index, address, ifname, unsafe[index]))
    for index in sorted(not_disabled):
        notes.append("VF %d of PF %s (%s) should be disabled because %s, but disabling it failed too (%s): it may "
                     "pass traffic without that setup; take it out of use (stop its guest, delete its OVS port)"
                     % (index, address, ifname, unsafe[index], not_disabled[index]))
    if recreated:
        notes.append("the VF count stays as the kernel left it, with the settings applied before the failure")
    else:
        undone = undo_settings(run, ifname, done, skip=unsafe)
        notes.append("settings changed by this run were set back: %s" % (", ".join(undone) or "none had changed"))
    notes.append("nothing was made persistent")
    if disabled:
        notes.append("to recover, fix the cause and run again with link_state (auto or enable) in the VF's vfs "
                     "entry, or run `ip link set dev %s vf %d state auto`: a run does not enable a disabled VF "
                     "on its own" % (ifname, disabled[0]))
    details = dict(exc.details, pf=address, disabled_vfs=disabled, disable_failed_vfs=sorted(not_disabled))
    return NfvError("; ".join(notes), **details)
