# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Managed by nfv.dpdk.ovs_bridge: gives every netdev bridge whose external_ids record an underlay
# (nfv-dpdk-underlay) its addresses and routes again, run by nfv-dpdk-underlay.service after ovs-vswitchd
# starts (at boot, and again when ovs-vswitchd restarts), since the bridge's internal port is a new device then.
# usage: nfv-dpdk-underlay [DB]    (DB: an OVSDB remote such as unix:/run/openvswitch/db.sock; default the system's)
#   Waits up to DEVICE_WAIT seconds for each internal port, sets it up, adds its addresses and replaces its routes
#   (routing protocol ROUTE_PROTOCOL). Prints one line per bridge; exits 1, naming the bridge and the cause, when
#   a bridge's port never appeared or a step failed (the other bridges are set up).
# It runs without the collection: KEY and ROUTE_PROTOCOL are ovs/underlay_kernel.py's (a unit test checks).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time

NAME = "nfv-dpdk-underlay"
KEY = "nfv-dpdk-underlay"
ROUTE_PROTOCOL = "190"
DEVICE_WAIT = 60  # ovs-vswitchd creates the bridges' internal ports once it has read the database


def say(stream, line):
    stream.write("%s: %s\n" % (NAME, line))
    stream.flush()


def run(argv):
    # a boot program without Ansible: no run_command here
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("`%s` failed: %s" % (" ".join(argv), (proc.stderr or proc.stdout).strip()))
    return proc.stdout


def recorded(db):
    """[(bridge, underlay)] of the bridges whose external_ids record an underlay."""
    argv = ["ovs-vsctl", "--timeout=30"] + (["--db=" + db] if db else [])
    text = run(argv + ["--format=json", "--data=json", "--columns=name,external_ids", "list", "Bridge"])
    result = []
    for name, ids in json.loads(text)["data"]:
        value = dict(ids[1]).get(KEY) if isinstance(ids, list) and ids and ids[0] == "map" else None
        if value:
            result.append((name, json.loads(value)))
    return sorted(result, key=lambda item: item[0])


def steps(bridge, underlay):
    """The `ip` commands that give the bridge's internal port its underlay (each one harmless when repeated)."""
    commands = [["ip", "link", "set", "dev", bridge, "up"]]
    commands += [["ip", "addr", "replace", address, "dev", bridge] for address in underlay.get("addresses") or []]
    commands += [["ip", "route", "replace", route["dest"], "via", route["gateway"], "dev", bridge,
                  "proto", ROUTE_PROTOCOL] for route in underlay.get("routes") or []]
    return commands


def wait_for_device(bridge, timeout):
    deadline = time.time() + timeout
    while not os.path.exists("/sys/class/net/" + bridge):
        if time.time() > deadline:
            return False
        time.sleep(0.5)
    return True


def main(argv, stdout=None, stderr=None, timeout=DEVICE_WAIT):
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    db = argv[1] if len(argv) > 1 else None
    try:
        bridges = recorded(db)
    except (RuntimeError, ValueError, KeyError, IndexError, TypeError) as exc:
        say(stderr, "cannot read the bridges' underlays from OVSDB: %s" % exc)
        return 1
    failed = 0
    for bridge, underlay in bridges:
        if not wait_for_device(bridge, timeout):
            say(stderr, "bridge %s: its internal port did not appear within %d s; nothing set" % (bridge, timeout))
            failed += 1
            continue
        try:
            for command in steps(bridge, underlay):
                run(command)
        except RuntimeError as exc:
            say(stderr, "bridge %s: %s" % (bridge, exc))
            failed += 1
            continue
        say(stdout, "bridge %s: %d address(es), %d route(s)" % (
            bridge, len(underlay.get("addresses") or []), len(underlay.get("routes") or [])))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
