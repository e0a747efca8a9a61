# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/cpus.py: the one parser of cpulists and CPU masks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import (
    MAX_CPUS,
    BadValue,
    CpuOutOfRange,
    cpu_mask,
    cpus_of,
    format_cpulist,
    mask_cpus,
    parse_cpulist,
)


def test_cpulist_round_trip():
    assert parse_cpulist("0-3,8,10-11") == [0, 1, 2, 3, 8, 10, 11]
    assert parse_cpulist("0-7:2") == [0, 2, 4, 6]
    assert parse_cpulist("") == []
    assert parse_cpulist("0-1\n") == [0, 1]
    assert format_cpulist([11, 0, 1, 2, 3, 8, 10]) == "0-3,8,10-11"


def test_what_an_operator_writes():
    assert cpus_of("2-3,8") == [2, 3, 8]
    assert cpus_of(" 2-3 ") == [2, 3]
    assert cpus_of([3, "2"]) == [2, 3]
    assert cpus_of(4) == [4]
    assert cpus_of(None) == [] and cpus_of("") == [] and cpus_of([]) == []


@pytest.mark.parametrize("bad", ["2-x", "-1", "2-3\n", True, [1.5], [True], [-1], "0x2"])
def test_not_a_cpulist(bad):
    with pytest.raises(BadValue):
        cpus_of(bad)


def test_masks():
    assert mask_cpus("0x6") == [1, 2]
    assert mask_cpus("06") == mask_cpus("0X6") == [1, 2]
    assert cpu_mask([1, 2]) == "0x6"
    assert cpu_mask(mask_cpus("0x0006")) == "0x6"


@pytest.mark.parametrize("bad", ["0x0", "0", "zz", "0x", True, "0x6\n", ""])
def test_not_a_mask(bad):
    with pytest.raises(BadValue):
        mask_cpus(bad)


@pytest.mark.parametrize("value", ["0-4000000000", "8192", [2, 8192], "0-99999999999999999999:2", "1,9000-9001"])
def test_cpu_numbers_no_host_can_have_are_refused_before_expansion(value):
    with pytest.raises(CpuOutOfRange, match="above 8191, the highest CPU number a host can have"):
        cpus_of(value)


def test_a_mask_wider_than_any_host_is_refused():
    assert mask_cpus("0x" + "f" * (MAX_CPUS // 4)) == list(range(MAX_CPUS))
    with pytest.raises(CpuOutOfRange):
        mask_cpus("0x1" + "0" * (MAX_CPUS // 4))


@pytest.mark.parametrize("value", ["3-1", "0-15:0"])
def test_reversed_ranges_and_zero_steps_are_not_cpu_lists(value):
    with pytest.raises(BadValue):
        cpus_of(value)


def test_the_highest_cpu_number_is_taken():
    assert cpus_of("8190-8191") == [8190, 8191]
