"""ovs_config: options -> other_config keys, the plan, the one-transaction argv, restart_required."""

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils import ovs_config as oc
from ansible_collections.nfv.dpdk.plugins.module_utils.errors import NfvError


def options(**given):
    base = dict((k, None) for k in oc.ARGUMENT_SPEC)
    base.update(given)
    return base


def test_options_to_keys():
    wanted = oc.wanted_keys(options(dpdk_init=True, socket_mem=[1024, 0], socket_limit=[2048, 2048],
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
    assert oc.wanted_keys(options(dpdk_init="try")) == {"dpdk-init": "try"}
    assert oc.wanted_keys(options()) == {}


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
        oc.wanted_keys(options(**given))


def test_plan_and_argv():
    current = {"dpdk-init": "true", "dpdk-socket-mem": "1024", "old": "x", "pmd-cpu-mask": "0x6"}
    wanted = {"dpdk-init": "true", "dpdk-socket-mem": "1024,0", "old": None, "missing": None,
              "dpdk-extra": '--a=b --c="d"', "pmd-cpu-mask": "0x6"}
    plan = oc.plan_config(current, wanted)
    assert plan.as_list() == [
        {"key": "dpdk-extra", "action": "set", "before": None, "after": '--a=b --c="d"'},
        {"key": "dpdk-socket-mem", "action": "set", "before": "1024", "after": "1024,0"},
        {"key": "old", "action": "remove", "before": "x", "after": None},
    ]
    assert oc.transaction_args(plan) == [
        "--", "set", "Open_vSwitch", ".",
        'other_config:"dpdk-extra"="--a=b --c=\\"d\\""', 'other_config:"dpdk-socket-mem"="1024,0"',
        "--", "remove", "Open_vSwitch", ".", "other_config", "old",
    ]
    assert plan.diff()["after"] == {"dpdk-extra": '--a=b --c="d"', "dpdk-socket-mem": "1024,0"}
    assert not oc.plan_config(current, {"dpdk-init": "true"}).changed


def test_restart_required_only_for_start_keys_after_init():
    plan = oc.plan_config({}, {"dpdk-socket-mem": "1024", "pmd-cpu-mask": "0x6", "per-port-memory": "true"})
    assert oc.restart_keys(plan, dpdk_initialized=True) == ["dpdk-socket-mem", "per-port-memory"]
    assert oc.restart_keys(plan, dpdk_initialized=False) == []
    runtime_only = oc.plan_config({}, {"pmd-cpu-mask": "0x6", "pmd-auto-lb": "true"})
    assert oc.restart_keys(runtime_only, dpdk_initialized=True) == []
