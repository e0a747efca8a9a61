"""molecule/default/host_snapshot.py, the comparison behind the Molecule decommission step: a
difference fails unless KEPT names it, and nothing that went missing is ever "kept"."""

import importlib.util
import json
import os
import subprocess
import sys

from module_call import REPO

SCRIPT = os.path.join(REPO, "molecule", "default", "host_snapshot.py")
SPEC = importlib.util.spec_from_file_location("host_snapshot", SCRIPT)
host_snapshot = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(host_snapshot)

BARE = {"ovs installed": "false", "pools 2048kB system": "nr 0 surplus 0",
        "files /etc/modules-load.d": "dir 0755 0:0"}


def test_equal_snapshots_have_no_difference():
    assert host_snapshot.compare(BARE, dict(BARE)) == ([], [])


def test_leftovers_of_the_collection_are_differences():
    after = dict(BARE, **{"files /etc/tmpfiles.d/nfv-dpdk-vhost.conf": "file 0644 0:0 sha256:6f09",
                          "pools 2048kB system": "nr 640 surplus 0",
                          "ovs other_config:dpdk-init": "true",
                          "files /etc/systemd/system/sysinit.target.wants/dev-hugepages2M.mount":
                              "link -> /etc/systemd/system/dev-hugepages2M.mount"})
    differences, kept = host_snapshot.compare(BARE, after)
    assert kept == []
    assert differences == [
        "+ files /etc/systemd/system/sysinit.target.wants/dev-hugepages2M.mount = "
        "link -> /etc/systemd/system/dev-hugepages2M.mount",
        "+ files /etc/tmpfiles.d/nfv-dpdk-vhost.conf = file 0644 0:0 sha256:6f09",
        "+ ovs other_config:dpdk-init = true",
        "~ pools 2048kB system = nr 640 surplus 0   (was: nr 0 surplus 0)",
    ]


def test_what_packages_set_up_is_kept_and_says_why():
    after = dict(BARE, **{"ovs installed": "true", "processes ovs-vswitchd": "1",
                          "alternatives ovs-vswitchd": "auto /usr/lib/openvswitch-switch/ovs-vswitchd",
                          "files /etc/systemd/system/multi-user.target.wants/openvswitch-switch.service":
                              "link -> /lib/systemd/system/openvswitch-switch.service"})
    differences, kept = host_snapshot.compare(BARE, after)
    assert differences == []
    assert len(kept) == 4 and all("[kept: " in line for line in kept)


def test_a_manual_alternative_and_a_missing_file_are_not_kept():
    after = dict(BARE, **{"ovs installed": "true",
                          "alternatives ovs-vswitchd": "manual /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"})
    del after["files /etc/modules-load.d"]
    differences, _kept = host_snapshot.compare(BARE, after)
    assert differences == [
        "+ alternatives ovs-vswitchd = manual /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk",
        "- files /etc/modules-load.d = dir 0755 0:0",
    ]


def test_take_reads_this_host_and_compare_exits_non_zero_on_a_difference(tmp_path):
    out = subprocess.run([sys.executable, SCRIPT, "take"], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout
    snap = json.loads(out)
    assert any(key.startswith("pools 2048kB ") for key in snap)
    assert "ovs installed" in snap
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(out)
    after.write_text(json.dumps(dict(snap, **{"files /etc/udev/rules.d/70-nfv-dpdk-vfio.rules": "file"})))
    same = subprocess.run([sys.executable, SCRIPT, "compare", str(before), str(before)], stdout=subprocess.PIPE,
                          universal_newlines=True, check=False)
    differs = subprocess.run([sys.executable, SCRIPT, "compare", str(before), str(after)], stdout=subprocess.PIPE,
                             universal_newlines=True, check=False)
    assert same.returncode == 0 and "same as" in same.stdout
    assert differs.returncode == 1
    assert differs.stdout.splitlines()[:2] == ["1 difference(s) from %s (- gone, + new, ~ changed):" % before,
                                               "+ files /etc/udev/rules.d/70-nfv-dpdk-vfio.rules = file"]
