"""ovs_config: options -> other_config keys, the plan, the one-transaction argv, restart_required."""

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.other_config_keys import MASK_KEYS
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.other_config_plan import (
    plan_config,
    restart_keys,
    spell_for_version,
    transaction_args,
    version_tuple,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.other_config_validation import node_problem, wanted_keys
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovs_config import ARGUMENT_SPEC, OvsConfig


def options(**given):
    base = dict((k, None) for k in ARGUMENT_SPEC)
    base.update(given)
    return base


def test_options_to_keys():
    wanted = wanted_keys(options(dpdk_init=True, socket_mem=[1024, 0], socket_limit=[2048, 2048],
                                 lcore_mask="1", pmd_cpu_mask="0x6", per_port_memory=True,
                                 extra_args=["--huge-dir=/mnt/huge", "--file-prefix=ovs", "-a", "0000:03:00.0"],
                                 vhost_iommu_support=False, vhost_postcopy_support=True,
                                 other_config={"pmd-auto-lb": True, "tx-flush-interval": 50, "gone": None}))
    assert wanted == {
        "dpdk-init": "true", "dpdk-socket-mem": "1024,0", "dpdk-socket-limit": "2048,2048",
        "dpdk-lcore-mask": "0x1", "pmd-cpu-mask": "0x6", "per-port-memory": "true",
        "dpdk-extra": "--huge-dir=/mnt/huge --file-prefix=ovs -a 0000:03:00.0",
        "vhost-iommu-support": "false", "vhost-postcopy-support": "true",
        "pmd-auto-lb": "true", "tx-flush-interval": "50", "gone": None,
    }
    assert wanted_keys(options(dpdk_init="try")) == {"dpdk-init": "try"}
    assert wanted_keys(options()) == {}


@pytest.mark.parametrize("given, message", [
    ({"dpdk_init": "sometimes"}, "true, false or try"),
    ({"pmd_cpu_mask": "0x0"}, "non-zero hexadecimal"),
    ({"lcore_mask": "cores 1"}, "non-zero hexadecimal"),
    ({"socket_mem": []}, "one value \\(MB\\) per NUMA node"),
    ({"socket_limit": [1024, -1]}, "cannot be negative"),
    ({"extra_args": ["--huge-dir /mnt"]}, "whitespace"),
    ({"pmd_cpu_mask": "0x2", "other_config": {"pmd-cpu-mask": "0x4"}}, "conflicts"),
])
def test_bad_options(given, message):
    with pytest.raises(NfvError, match=message):
        wanted_keys(options(**given))


def test_plan_and_argv():
    current = {"dpdk-init": "true", "dpdk-socket-mem": "1024", "old": "x", "pmd-cpu-mask": "0x6"}
    wanted = {"dpdk-init": "true", "dpdk-socket-mem": "1024,0", "old": None, "missing": None,
              "dpdk-extra": '--a=b --c="d"', "pmd-cpu-mask": "0x6"}
    plan = plan_config(current, wanted)
    assert plan.as_list() == [
        {"key": "dpdk-extra", "action": "set", "before": None, "after": '--a=b --c="d"'},
        {"key": "dpdk-socket-mem", "action": "set", "before": "1024", "after": "1024,0"},
        {"key": "old", "action": "remove", "before": "x", "after": None},
    ]
    assert transaction_args(plan) == [
        "--", "set", "Open_vSwitch", ".",
        'other_config:"dpdk-extra"="--a=b --c=\\"d\\""', 'other_config:"dpdk-socket-mem"="1024,0"',
        "--", "remove", "Open_vSwitch", ".", "other_config", "old",
    ]
    assert plan.diff()["after"] == {"dpdk-extra": '--a=b --c="d"', "dpdk-socket-mem": "1024,0"}
    assert not plan_config(current, {"dpdk-init": "true"}).changed


def test_restart_required_only_for_start_keys_after_init():
    plan = plan_config({}, {"dpdk-socket-mem": "1024", "pmd-cpu-mask": "0x6", "per-port-memory": "true"})
    assert restart_keys(plan, dpdk_initialized=True) == ["dpdk-socket-mem", "per-port-memory"]
    assert restart_keys(plan, dpdk_initialized=False) == []
    runtime_only = plan_config({}, {"pmd-cpu-mask": "0x6", "pmd-auto-lb": "true"})
    assert restart_keys(runtime_only, dpdk_initialized=True) == []


# ---- issue 15: other_config keys are checked like the options; masks normalized; NUMA nodes ----

import json  # noqa: E402

from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS  # noqa: E402
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import SysfsTree, one_node_host, two_node_host  # noqa: E402


@pytest.mark.parametrize("given, message", [
    ({"other_config": {"pmd-cpu-mask": "zz"}}, "other_config.pmd-cpu-mask must be a non-zero hexadecimal CPU mask"),
    ({"other_config": {"dpdk-lcore-mask": "0x0"}}, "other_config.dpdk-lcore-mask must be a non-zero hexadecimal"),
    ({"other_config": {"dpdk-socket-mem": "1024 MB"}}, "other_config.dpdk-socket-mem must be MB per NUMA node "
                                                       "separated by commas, like 1024,0, got '1024 MB'"),
    ({"other_config": {"dpdk-socket-limit": "1024, 0"}}, "other_config.dpdk-socket-limit must be MB per NUMA node"),
    ({"other_config": {"dpdk-socket-mem": [1024, -1]}}, "other_config.dpdk-socket-mem values are MB per NUMA node "
                                                        "and cannot be negative"),
    ({"other_config": {"dpdk-socket-mem": ["1G"]}}, "other_config.dpdk-socket-mem values are MB per NUMA node "
                                                    "(integers)"),
    ({"other_config": {"dpdk-init": "maybe"}}, "other_config.dpdk-init must be true, false or try, got 'maybe'"),
    ({"other_config": {"per-port-memory": "sure"}}, "other_config.per-port-memory must be true or false"),
    ({"other_config": {"pmd-auto-lb": "enabled"}}, "other_config.pmd-auto-lb must be true or false"),
    ({"other_config": {"tx-flush-interval": "50us"}}, "other_config.tx-flush-interval must be an integer from 0 to "
                                                      "1000000, got '50us'"),
    ({"other_config": {"tx-flush-interval": 1000001}}, "other_config.tx-flush-interval must be an integer from 0"),
    ({"other_config": {"n-offload-threads": 0}}, "other_config.n-offload-threads must be an integer from 1 to 10"),
    ({"other_config": {"dpdk-alloc-mem": -1}}, "other_config.dpdk-alloc-mem must be an integer of at least 0"),
    ({"other_config": {"pmd-rxq-assign": "random"}}, "other_config.pmd-rxq-assign must be one of cycles, group, "
                                                     "roundrobin"),
    ({"other_config": {"dpdk-hugepage-dir": "dev/hugepages"}}, "other_config.dpdk-hugepage-dir must be the absolute"),
    ({"other_config": {"vhost-sock-dir": "/run/vhost"}}, "other_config.vhost-sock-dir must be a directory relative"),
    ({"other_config": {"vhost-sock-dir": "../vhost"}}, "other_config.vhost-sock-dir must be a directory relative"),
    ({"other_config": {"dpdk-extra": "--a\n--b"}}, "other_config.dpdk-extra cannot contain control characters"),
    ({"other_config": {"bad\nkey": "x"}}, "other_config key 'bad\\nkey' is empty or contains a control character"),
    ({"vhost_sock_dir": "/run/vhost"}, "vhost_sock_dir must be a directory relative to Open vSwitch's run directory"),
    ({"hugepage_dir": "relative"}, "hugepage_dir must be the absolute path of a hugetlbfs mount"),
    ({"per_port_memory": "maybe"}, "per_port_memory must be true or false"),
    ({"pmd_cpu_mask": "0x06", "other_config": {"pmd-cpu-mask": "0xe"}}, "conflicts"),
])
def test_known_other_config_keys_are_checked_like_the_options(given, message):
    with pytest.raises(NfvError) as err:
        wanted_keys(options(**given))
    assert message in err.value.msg


@pytest.mark.parametrize("given, expected", [
    ({"pmd_cpu_mask": "0x06"}, {"pmd-cpu-mask": "0x6"}),
    ({"pmd_cpu_mask": "0X0E"}, {"pmd-cpu-mask": "0xe"}),
    ({"lcore_mask": "0001"}, {"dpdk-lcore-mask": "0x1"}),
    ({"other_config": {"pmd-cpu-mask": "06"}}, {"pmd-cpu-mask": "0x6"}),
    ({"pmd_cpu_mask": "0x6", "other_config": {"pmd-cpu-mask": "0x06"}}, {"pmd-cpu-mask": "0x6"}),
    ({"other_config": {"dpdk-socket-mem": "1024,0"}}, {"dpdk-socket-mem": "1024,0"}),
    ({"other_config": {"dpdk-socket-mem": [1024, 0]}}, {"dpdk-socket-mem": "1024,0"}),
    ({"other_config": {"dpdk-socket-limit": 2048}}, {"dpdk-socket-limit": "2048"}),
    ({"other_config": {"dpdk-init": "TRY"}}, {"dpdk-init": "try"}),
    ({"other_config": {"per-port-memory": "yes", "pmd-auto-lb": False}},
     {"per-port-memory": "true", "pmd-auto-lb": "false"}),
    ({"other_config": {"tx-flush-interval": "50", "pmd-rxq-assign": "group"}},
     {"tx-flush-interval": "50", "pmd-rxq-assign": "group"}),
    ({"other_config": {"dpdk-extra": "--a=b  -c"}}, {"dpdk-extra": "--a=b -c"}),
    ({"vhost_sock_dir": "vhost"}, {"vhost-sock-dir": "vhost"}),
    ({"other_config": {"my-own-key": "any value"}}, {"my-own-key": "any value"}),
])
def test_known_keys_are_written_normalized(given, expected):
    assert wanted_keys(options(**given)) == expected


@pytest.mark.parametrize("before, after, changed", [
    ("0x06", "0x6", False), ("0X6", "0x6", False), ("6", "0x6", False), ("0x6", "0xe", True), ("junk", "0x6", True),
])
def test_mask_spellings_are_not_drift(before, after, changed):
    for key in MASK_KEYS:
        assert plan_config({key: before}, {key: after}).changed is changed


@pytest.mark.parametrize("nodes, given, message", [
    ([0], {"socket_mem": [1024, 0]}, "socket_mem has 2 values (1024,0), but this host has NUMA node(s) 0: give at "
                                     "most 1"),
    ([0, 1], {"socket_limit": [1, 2, 3]}, "socket_limit has 3 values (1,2,3), but this host has NUMA node(s) 0, 1"),
    ([], {"other_config": {"dpdk-socket-mem": "512,512"}}, "other_config.dpdk-socket-mem has 2 values (512,512), "
                                                           "but this host has NUMA node(s) 0"),
])
def test_more_values_than_numa_nodes(nodes, given, message):
    wanted = wanted_keys(options(**given))
    assert message in node_problem(wanted, options(**given), nodes)
    assert node_problem(wanted, options(**given), [0, 1, 2, 3]) is None


class FakeModule:
    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = True

    def warn(self, msg):
        pass


class FakeVsctl:
    """ovs-vsctl: answers the one read with `other_config`; records every other call (a write)."""

    def __init__(self, other_config, version="3.1.0"):
        self.other_config = dict(other_config)
        self.version = version
        self.calls = []
        self.writes = []

    def has(self, name):
        return name == "ovs-vsctl"

    def find(self, name):
        return "/usr/bin/" + name

    def run(self, name, args, check=True, data=None, env=None):
        self.calls.append(list(args))
        if args == ["--version"]:
            return 0, "ovs-vsctl (Open vSwitch) %s\nDB Schema 8.3.1\n" % self.version, ""
        if "list" in args:
            doc = {"headings": ["other_config", "dpdk_initialized", "dpdk_version"],
                   "data": [[["map", sorted(self.other_config.items())], False, ""]]}
            return 0, json.dumps(doc) + "\n", ""
        self.writes.append(list(args))
        return 0, "", ""


def run_config(root, check_mode=False, current=None, version="3.1.0", **given):
    runner = FakeVsctl(current or {}, version)
    params = options(timeout=5, **given)
    result = OvsConfig(FakeModule(params, check_mode), fs=HostFS(str(root)), runner=runner).run()
    return result, runner


@pytest.mark.parametrize("host, given, message", [
    (one_node_host, {"socket_mem": [1024, 0]}, "socket_mem has 2 values (1024,0), but this host has NUMA node(s) 0"),
    (two_node_host, {"socket_limit": [1024, 0, 0]}, "socket_limit has 3 values"),
    (one_node_host, {"other_config": {"pmd-cpu-mask": "zz"}}, "other_config.pmd-cpu-mask must be a non-zero"),
    (one_node_host, {"other_config": {"dpdk-socket-mem": "1024 MB"}}, "other_config.dpdk-socket-mem must be MB"),
])
def test_bad_input_touches_no_database(tmp_path, host, given, message):
    host(tmp_path)
    for check_mode in (True, False):
        runner = FakeVsctl({})
        with pytest.raises(NfvError) as err:
            OvsConfig(FakeModule(options(timeout=5, **given), check_mode), fs=HostFS(str(tmp_path)),
                      runner=runner).run()
        assert message in err.value.msg
        assert runner.calls == []  # refused before the database is even read


def test_socket_mem_fits_a_host_without_numa_sysfs(tmp_path):
    SysfsTree(tmp_path)  # no /sys/devices/system/node: one node as DPDK sees it
    result, runner = run_config(tmp_path, check_mode=True, socket_mem=[1024])
    assert result["changes"][0]["after"] == "1024" and runner.writes == []
    with pytest.raises(NfvError, match="at most 1"):
        run_config(tmp_path, socket_mem=[1024, 0])


def test_a_mask_spelled_differently_is_no_change_and_is_written_normalized(tmp_path):
    two_node_host(tmp_path)
    result, runner = run_config(tmp_path, current={"pmd-cpu-mask": "0x06"}, pmd_cpu_mask="0x6")
    assert result["changed"] is False and runner.writes == []
    result, runner = run_config(tmp_path, current={"pmd-cpu-mask": "0x06"}, check_mode=True, pmd_cpu_mask="0x0E")
    assert result["changes"] == [{"key": "pmd-cpu-mask", "action": "set", "before": "0x06", "after": "0xe"}]
    assert runner.writes == []


@pytest.mark.parametrize("version, written, other", [
    ("3.1.0", "pmd-maxsleep", "pmd-sleep-max"),   # Debian 12
    ("3.5.0", "pmd-sleep-max", "pmd-maxsleep"),   # Debian 13
    ("3.2.1", "pmd-sleep-max", "pmd-maxsleep"),
])
@pytest.mark.parametrize("given", ["pmd-maxsleep", "pmd-sleep-max"])
def test_a_renamed_key_is_written_as_the_running_ovs_reads_it(tmp_path, version, written, other, given):
    one_node_host(tmp_path)
    result, runner = run_config(tmp_path, check_mode=True, version=version, other_config={given: 10000})
    assert result["changes"] == [{"key": written, "action": "set", "before": None, "after": "10000"}]
    assert result["renamed_keys"] == ({} if given == written else {given: written})
    assert result["ovs_version"] == version and runner.writes == []
    # already there under the right name: no change, whichever name the description uses
    result, runner = run_config(tmp_path, version=version, current={written: "10000"}, other_config={given: 10000})
    assert result["changed"] is False and runner.writes == []
    # left under the other name (a host upgraded from Debian 12 to 13, say): moved, in one transaction
    result, runner = run_config(tmp_path, check_mode=True, version=version, current={other: "10000"},
                                other_config={given: 10000})
    assert sorted((c["key"], c["action"]) for c in result["changes"]) == sorted([(written, "set"), (other, "remove")])
    plan = plan_config({other: "10000"}, spell_for_version({given: "10000"}, {other: "10000"},
                                                           version_tuple(version))[0])
    assert transaction_args(plan) == ["--", "set", "Open_vSwitch", ".", 'other_config:"%s"="10000"' % written,
                                      "--", "remove", "Open_vSwitch", ".", "other_config", other]


def test_both_spellings_of_one_setting_must_agree(tmp_path):
    one_node_host(tmp_path)
    result, _runner = run_config(tmp_path, check_mode=True, version="3.5.0",
                                 other_config={"pmd-maxsleep": 100, "pmd-sleep-max": "100"})
    assert result["changes"] == [{"key": "pmd-sleep-max", "action": "set", "before": None, "after": "100"}]
    with pytest.raises(NfvError, match=r"other_config\.pmd-maxsleep and other_config\.pmd-sleep-max are one setting"):
        run_config(tmp_path, check_mode=True, version="3.5.0",
                   other_config={"pmd-maxsleep": 100, "pmd-sleep-max": 200})


@pytest.mark.parametrize("version", ["3.1.0", "3.5.0", None])
@pytest.mark.parametrize("given", ["pmd-maxsleep", "pmd-sleep-max"])
@pytest.mark.parametrize("present", ["pmd-maxsleep", "pmd-sleep-max"])
def test_a_removed_renamed_key_goes_under_either_name(tmp_path, version, given, present):
    # decommission.yml removes the description's pmd-maxsleep; OVS 3.5 has it as pmd-sleep-max
    one_node_host(tmp_path)
    result, _runner = run_config(tmp_path, check_mode=True, version=version or "", current={present: "50"},
                                 other_config={given: None})
    assert result["changes"] == [{"key": present, "action": "remove", "before": "50", "after": None}]


@pytest.mark.parametrize("text, parsed", [("3.5.0", (3, 5, 0)), ("3.1", (3, 1, 0)), ("3.1.0-2+deb12u1", (3, 1, 0)),
                                          ("", None), (None, None), ("unknown", None)])
def test_version_tuple(text, parsed):
    assert version_tuple(text) == parsed
