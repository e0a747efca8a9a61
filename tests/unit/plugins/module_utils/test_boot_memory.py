"""boot_memory: what a kernel command line reserves in hugepages at boot, and the budget it must fit in."""

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.boot import boot_memory as bm
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.kernel_params import parse_words
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import KB_1G, KB_2M, SysfsTree

G = 1 << 20  # kB


def params(text):
    return parse_words(text)[0]


def pools(text):
    """(size_kb, count, nodes) of each pool, and the problems' messages."""
    res = bm.reservation(params(text))
    return [(p["size_kb"], p["count"], p["nodes"]) for p in res.pools], [p["msg"] for p in res.problems]


def memory(total_gb=32, nodes_gb=(16, 16), sizes_kb=(KB_2M, KB_1G)):
    return {"total_kb": total_gb * G, "nodes": dict((n, gb * G) for n, gb in enumerate(nodes_gb)),
            "sizes_kb": list(sizes_kb)}


# -- the parser ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,size_kb", [("2M", KB_2M), ("1G", KB_1G), ("2048kB", KB_2M), ("1048576K", KB_1G),
                                          ("1GiB", KB_1G), ("2mb", KB_2M), ("64K", 64), ("2097152", KB_2M)])
def test_page_sizes_as_the_kernel_reads_them(text, size_kb):
    assert bm.page_size_kb(text) == size_kb


@pytest.mark.parametrize("text", ["", None, "2", "0M", "2X", "1.5G", "-2M", "2M\n", " 2M"])
def test_what_is_not_a_page_size(text):
    with pytest.raises(ValueError):
        bm.page_size_kb(text)


@pytest.mark.parametrize("text,count", [("4", (4, None)), ("0", (0, None)), ("0:4,1:2", (6, {0: 4, 1: 2})),
                                        ("1:0", (0, {1: 0}))])
def test_page_counts_system_wide_and_per_node(text, count):
    assert bm.page_count(text) == count


@pytest.mark.parametrize("text", ["", None, "x", "-1", "0:", ":4", "0:4,", "0:4;1:4", "0:1,0:2", "4\n"])
def test_what_is_not_a_page_count(text):
    with pytest.raises(ValueError):
        bm.page_count(text)


def test_pairs_in_order_and_other_words_left_out():
    got, problems = pools("ro quiet hugepagesz=1G hugepages=4 intel_iommu=on hugepagesz=2M hugepages=1024")
    assert got == [(KB_1G, 4, None), (KB_2M, 1024, None)] and problems == []
    res = bm.reservation(params("hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024"))
    assert res.total_kb == 4 * G + 2 * G and res.node_kb() == {}
    assert res.words() == "hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024"


def test_a_count_before_any_size_is_for_the_default_size_wherever_default_hugepagesz_is():
    assert pools("hugepages=512") == ([(KB_2M, 512, None)], [])  # 2M without default_hugepagesz (x86_64)
    assert pools("hugepages=4 default_hugepagesz=1G") == ([(KB_1G, 4, None)], [])
    assert pools("default_hugepagesz=1G hugepages=4") == ([(KB_1G, 4, None)], [])
    assert pools("default_hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=8") == \
        ([(KB_1G, 4, None), (KB_2M, 8, None)], [])


def test_what_the_hugepages_role_writes():
    got, problems = pools("default_hugepagesz=1G hugepagesz=1G hugepages=0:2,1:2 hugepagesz=2M hugepages=512")
    assert got == [(KB_1G, 4, {0: 2, 1: 2}), (KB_2M, 512, None)] and problems == []
    res = bm.reservation(params("hugepagesz=1G hugepages=0:2,1:3 hugepagesz=2M hugepages=1:512"))
    assert res.node_kb() == {0: 2 * G, 1: 3 * G + G} and res.total_kb == 6 * G


@pytest.mark.parametrize("text,problem", [
    ("hugepagesz=3X hugepages=3", "hugepagesz=3X is not a page size"),
    ("hugepagesz=3X hugepages=3", "hugepages=3 follows hugepagesz=3X, which the kernel ignores"),
    ("hugepages=abc", "hugepages=abc is not a page count"),
    ("hugepagesz=1G hugepages", "hugepages is not a page count"),
    ("hugepagesz=1G hugepages=0:1,0:2", "hugepages=0:1,0:2 is not a page count"),
    ("hugepagesz=1G hugepages=2 hugepagesz=1G hugepages=3", "hugepagesz=1G is given twice"),
    ("default_hugepagesz=1G default_hugepagesz=2M",
     "default_hugepagesz is given twice, the kernel keeps the first (1G)"),
    ("hugepagesz=1G hugepages=2 hugepages=3", "hugepages=3 is a second count for the 1G pages (after hugepages=2)"),
])
def test_words_the_kernel_ignores_are_named(text, problem):
    _pools, problems = pools(text)
    assert any(problem in p for p in problems), problems


def test_of_two_counts_for_one_size_the_larger_is_counted():
    assert pools("hugepages=8 hugepagesz=2M hugepages=4")[0] == [(KB_2M, 8, None)]
    assert pools("hugepagesz=2M hugepages=4 hugepages=9")[0] == [(KB_2M, 9, None)]
    # default_hugepagesz then hugepagesz of the same size is the kernel's allowed repeat, not a second count
    assert pools("default_hugepagesz=1G hugepagesz=1G hugepages=4") == ([(KB_1G, 4, None)], [])
    assert pools("default_hugepagesz=1G hugepages=4 hugepagesz=1G hugepages=2")[0] == [(KB_1G, 4, None)]


# -- memory_reserve -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,reserve", [("2G", ("kb", 2 * G)), ("512M", ("kb", 512 << 10)), ("0", ("kb", 0)),
                                          ("2048", ("kb", 2 * G)), ("1GiB", ("kb", G)), ("5%", ("percent", 5.0)),
                                          ("2.5%", ("percent", 2.5)), (" 8G ", ("kb", 8 * G))])
def test_memory_reserve_is_a_size_or_a_share(text, reserve):
    assert bm.parse_reserve(text) == reserve


@pytest.mark.parametrize("text", ["", "2X", "-1G", "101%", "five", "2G 1G", "%"])
def test_memory_reserve_that_is_neither(text):
    with pytest.raises(ValueError):
        bm.parse_reserve(text)


# -- the budget -----------------------------------------------------------------------------------------------------
def test_the_whole_reservation_fits_in_memtotal_minus_the_reserve():
    fits = bm.reservation(params("hugepagesz=1G hugepages=30"))
    assert bm.check(fits, memory(), ("kb", 2 * G)) == ([], [])
    over = bm.reservation(params("hugepagesz=1G hugepages=30 hugepagesz=2M hugepages=1"))
    problems, found = bm.check(over, memory(), ("kb", 2 * G))
    assert problems == [] and [o["node"] for o in found] == [None]
    assert found[0]["msg"] == ("the next boot would reserve 30.0G of hugepages (hugepagesz=1G hugepages=30 "
                               "hugepagesz=2M hugepages=1), more than the 30G that MemTotal 32G minus memory_reserve "
                               "2G leaves: lower the hugepages= counts or memory_reserve")
    assert bm.check(over, memory(), ("percent", 5.0))[1] == []  # 5% of 32G is 1.6G


def test_each_node_keeps_its_share_of_the_reserve():
    # nodes of 8G and 24G: a 4G reserve is 1G on node 0 and 3G on node 1
    mem = memory(32, (8, 24))
    assert bm.limits(mem, ("kb", 4 * G)) == {None: (32 * G, 4 * G), 0: (8 * G, G), 1: (24 * G, 3 * G)}
    assert bm.check(bm.reservation(params("hugepagesz=1G hugepages=0:7,1:21")), mem, ("kb", 4 * G)) == ([], [])
    _problems, found = bm.check(bm.reservation(params("hugepagesz=1G hugepages=0:8,1:1")), mem, ("kb", 4 * G))
    assert [o["node"] for o in found] == [0]
    assert found[0]["msg"].startswith("the next boot would reserve 8G of hugepages on NUMA node 0 (hugepagesz=1G "
                                      "hugepages=0:8,1:1), more than the 7G that its MemTotal 8G minus its share 1G "
                                      "of memory_reserve 4G leaves")


def test_sizes_the_host_does_not_offer_and_nodes_it_does_not_have():
    problems, _found = bm.check(bm.reservation(params("hugepagesz=1G hugepages=2")), memory(sizes_kb=[KB_2M]),
                                ("kb", 0))
    assert problems[0]["msg"] == ("hugepagesz=1G hugepages=2: this host's kernel has no 1G pages (it offers 2M; 1G "
                                  "pages need the CPU flag pdpe1gb): the kernel ignores them")
    assert problems[0]["words"] == params("hugepagesz=1G hugepages=2")
    problems, _found = bm.check(bm.reservation(params("hugepagesz=2M hugepages=0:1,2:1")), memory(), ("kb", 0))
    assert "names NUMA node 2, which this host does not have (it has nodes 0, 1)" in problems[0]["msg"]
    # a host without NUMA sysfs: node 0 is all of it
    flat = dict(memory(), nodes={})
    assert bm.check(bm.reservation(params("hugepagesz=2M hugepages=0:8")), flat, ("kb", 0)) == ([], [])
    problems, _found = bm.check(bm.reservation(params("hugepagesz=2M hugepages=1:8")), flat, ("kb", 0))
    assert "(it has no NUMA nodes, node 0 is all of it)" in problems[0]["msg"]


def test_judge_refuses_what_a_run_raises_or_writes_wrong_and_warns_about_the_rest():
    mem, reserve = memory(), ("kb", 2 * G)
    over = params("hugepagesz=1G hugepages=31")
    _res, refusals, warnings = bm.judge([], over, mem, reserve, over)
    assert len(refusals) == 1 and "reserve 31G" in refusals[0] and warnings == []
    # the same reservation already on the next boot, or lowered but still over: warned, not refused
    assert bm.judge(over, over, mem, reserve, [])[1:] == (
        [], [refusals[0] + " (this run does not raise the reservation, so it goes ahead)"])
    lower = params("hugepagesz=1G hugepages=30 hugepagesz=2M hugepages=400")
    _res, refusals, warnings = bm.judge(params("hugepagesz=1G hugepages=31"), lower, mem, reserve, lower)
    assert refusals == [] and "reserve 30.8G" in warnings[0]
    # a node raised past its share refuses even when the whole reservation shrinks
    moved = params("hugepagesz=1G hugepages=0:16")
    refused = bm.judge(params("hugepagesz=1G hugepages=0:8,1:10"), moved, mem, reserve, moved)[1]
    assert len(refused) == 1 and "on NUMA node 0" in refused[0]
    # a word the kernel ignores refuses when this run writes it, warns when it is someone else's
    bad = params("hugepagesz=1G hugepages=0:1,2:1")
    assert "NUMA node 2" in bm.judge([], bad, mem, reserve, bad)[1][0]
    warned = bm.judge(bad, bad + params("default_hugepagesz=2M"), mem, reserve, params("default_hugepagesz=2M"))[2]
    assert "NUMA node 2" in warned[0] and warned[0].endswith(" (a word this run does not write)")


def test_judge_without_memtotal_refuses_only_a_reservation_it_raises():
    unknown = dict(memory(), total_kb=None)
    _res, refusals, _warnings = bm.judge([], params("hugepages=4"), unknown, ("kb", 0), params("hugepages=4"))
    assert refusals == ["MemTotal cannot be read from /proc/meminfo, so the next boot's reservation (hugepages=4) "
                        "cannot be checked against memory_reserve"]
    assert bm.judge(params("hugepages=4"), params("hugepages=2"), unknown, ("kb", 0), [])[1] == []


def test_read_memory_and_summary_from_a_host_tree(tmp_path):
    tree = SysfsTree(tmp_path)
    tree.meminfo(total_kb=8 * G)
    tree.hugepage_sizes()
    tree.numa_node(0, "0", 4 * G, 2 * G)
    tree.numa_node(1, "1", 4 * G, 2 * G)
    mem = bm.read_memory(HostFS(str(tmp_path)))
    assert mem == {"total_kb": 8 * G, "sizes_kb": [KB_2M, KB_1G], "nodes": {0: 4 * G, 1: 4 * G}}
    res = bm.reservation(params("hugepagesz=1G hugepages=0:2,1:2"))
    assert bm.summary(res, mem, ("kb", 2 * G)) == {
        "reserved_kb": 4 * G, "limit_kb": 6 * G, "memory_total_kb": 8 * G, "memory_reserve_kb": 2 * G,
        "words": "hugepagesz=1G hugepages=0:2,1:2",
        "nodes": [{"node": 0, "reserved_kb": 2 * G, "memory_total_kb": 4 * G, "limit_kb": 3 * G},
                  {"node": 1, "reserved_kb": 2 * G, "memory_total_kb": 4 * G, "limit_kb": 3 * G}]}
