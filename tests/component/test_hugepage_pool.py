"""nfv.dpdk.hugepage_pool on this machine's real kernel, through ansible-playbook.

Other tests run OVS-DPDK and QEMU guests on 2M pages at the same time, so the
2M pool is only moved relative to its current count and back; the 1G pool is
used for absolute values. Both pools are put back by the fixtures, also on failure.
"""

import os

import pytest

from module_call import run_module

pytestmark = pytest.mark.component

SYS = "/sys/kernel/mm/hugepages/hugepages-%dkB/%s"
NODE = "/sys/devices/system/node/node%d/hugepages/hugepages-%dkB/%s"
KB_2M, KB_1G = 2048, 1048576


def counter(size_kb, name="nr_hugepages", node=None):
    path = SYS % (size_kb, name) if node is None else NODE % (node, size_kb, name)
    with open(path) as handle:
        return int(handle.read())


def set_count(size_kb, count):
    with open(SYS % (size_kb, "nr_hugepages"), "w") as handle:
        handle.write(str(count))


@pytest.fixture(autouse=True)
def root_with_pools():
    if os.geteuid() != 0 or not os.path.isdir(SYS % (KB_1G, "")):
        pytest.skip("needs root and writable 2M/1G hugepage pools")


@pytest.fixture
def pool_1g():
    """The 1G pool, put back to its count at the start whatever happens."""
    before = counter(KB_1G)
    yield before
    set_count(KB_1G, before)
    assert counter(KB_1G) == before


class Relative2M:
    """Moves the shared 2M pool by a delta and takes back only what it added."""

    def __init__(self):
        self.added = 0

    def record(self, delta):
        self.added += delta

    def undo(self):
        if self.added:
            set_count(KB_2M, counter(KB_2M) - self.added)
            self.added = 0


@pytest.fixture
def pool_2m():
    tracker = Relative2M()
    yield tracker
    tracker.undo()


def test_1g_pool_up_down_check_mode_and_idempotence(pool_1g):
    # this machine's kernel finds only a few contiguous GiB at runtime: stay within base + 1
    base = pool_1g
    # check mode: predicts, changes nothing
    predicted = run_module("hugepage_pool", {"size": "1G", "count": base + 1}, check=True)
    assert predicted["changed"] is True, predicted
    assert (predicted["before"], predicted["after"]) == (base, base + 1)
    assert counter(KB_1G) == base

    up = run_module("hugepage_pool", {"size": "1G", "count": base + 1})
    assert up["changed"] is True and not up.get("failed"), up
    assert counter(KB_1G) == base + 1 == up["after"]
    assert up["changes"] == predicted["changes"] and up["diff"] == predicted["diff"]
    assert up["free"] == counter(KB_1G, "free_hugepages")
    assert up["pool"]["total"] == base + 1

    again = run_module("hugepage_pool", {"size": "1048576kB", "count": base + 1})
    assert again["changed"] is False and again["changes"] == [], again
    assert counter(KB_1G) == base + 1

    # the same pages through node 0 (the only node here): the per-node and system counters move
    on_node = counter(KB_1G, node=0)
    per_node = run_module("hugepage_pool", {"size": "1G", "count": on_node - 1, "node": 0})
    assert per_node["changed"] is True and per_node["node"] == 0, per_node
    assert per_node["diff"]["after"] == {NODE % (0, KB_1G, "nr_hugepages"): on_node - 1}
    assert counter(KB_1G, node=0) == on_node - 1 == per_node["after"]
    assert counter(KB_1G) == base
    assert run_module("hugepage_pool", {"size": "1G", "count": on_node - 1, "node": 0})["changed"] is False

    per_node_up = run_module("hugepage_pool", {"size": "1G", "count": on_node, "node": 0})
    assert per_node_up["changed"] is True and counter(KB_1G, node=0) == on_node, per_node_up

    down = run_module("hugepage_pool", {"size": "1G", "count": base})
    assert down["changed"] is True and down["after"] == base, down
    assert counter(KB_1G) == base
    assert run_module("hugepage_pool", {"size": "1G", "count": base})["changed"] is False


def test_2m_pool_up_and_back_relative(pool_2m):
    current = counter(KB_2M)
    check = run_module("hugepage_pool", {"size": "2M", "count": current + 16}, check=True)
    assert check["changed"] is True and check["after"] == current + 16, check
    assert counter(KB_2M) == current

    up = run_module("hugepage_pool", {"size": "2M", "count": current + 16})
    assert up["changed"] is True and not up.get("failed"), up
    pool_2m.record(16)
    assert up["before"] == current and up["after"] == current + 16
    assert counter(KB_2M) >= current + 16  # others may add more, never remove ours
    again = run_module("hugepage_pool", {"size": "2M", "count": counter(KB_2M)})
    assert again["changed"] is False, again

    now = counter(KB_2M)
    back = run_module("hugepage_pool", {"size": "2048kB", "count": now - 16})
    assert back["changed"] is True and back["after"] == now - 16, back
    pool_2m.record(-16)


def mem_total_kb():
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    raise AssertionError("no MemTotal in /proc/meminfo")


def unreachable_1g_count():
    """As many 1G pages as the host has memory (the most the module accepts): more than the kernel can give."""
    return mem_total_kb() // KB_1G


def test_shortfall_fails_and_restores_previous_count(pool_1g):
    start = run_module("hugepage_pool", {"size": "1G", "count": pool_1g + 1})
    assert start["changed"] is True and counter(KB_1G) == pool_1g + 1
    want = unreachable_1g_count()
    result = run_module("hugepage_pool", {"size": "1G", "count": want})
    assert result.get("failed") is True, result
    assert result["msg"].startswith("allocated %d of %d pages of 1G system wide; restored the previous count %d"
                                    % (result["allocated"], want, pool_1g + 1)), result["msg"]
    assert result["allocated"] < want
    assert counter(KB_1G) == pool_1g + 1


def test_shortfall_accepted_keeps_what_the_kernel_gave(pool_1g):
    want = unreachable_1g_count()
    result = run_module("hugepage_pool", {"size": "1G", "count": want, "allow_shortfall": True})
    assert not result.get("failed") and result["after"] < want, result
    assert counter(KB_1G) == result["after"]
    assert any("allocated %d of %d pages of 1G system wide" % (result["after"], want) in w
               for w in result.get("warnings", [])), result


@pytest.mark.parametrize("args,message", [
    ({"size": "3M", "count": 1}, "hugepage size 3M is not supported by this host; it supports: 2M, 1G"),
    ({"size": "1G", "count": -1}, "count must be an integer >= 0, got -1"),
    ({"size": "1G", "count": "two"}, "count"),
    ({"size": "1G", "count": 1.5}, "count"),
    ({"size": "1G", "count": 1, "node": 5}, "NUMA node 5 does not exist; this host has node(s): 0"),
    # issue 15: a count beyond the memory is refused before the kernel is asked
    ({"size": "1G", "count": 1000000000}, "count 1000000000 of 1G pages is 976562.5T, more than this host has"),
    ({"size": "2M", "count": 100000000}, "count 100000000 of 2M pages is 190.7T, more than this host has"),
    ({"size": "1G", "count": 100000, "node": 0}, "count 100000 of 1G pages is 97.7T, more than NUMA node 0 has"),
])
@pytest.mark.parametrize("check", [True, False])
def test_bad_input_fails_and_changes_nothing(pool_1g, args, message, check):
    before_1g, before_node = counter(KB_1G), counter(KB_1G, node=0)
    result = run_module("hugepage_pool", args, check=check)
    assert result.get("failed") is True and message in result["msg"], result
    assert result.get("changed") is False
    assert (counter(KB_1G), counter(KB_1G, node=0)) == (before_1g, before_node)
