"""Shared fixtures for component tests.

`ovs_lab`: a private OVS-DPDK (see ovs_lab.py), started once per test module that asks for it
and torn down (daemons, hugetlbfs mount, 2M pages, run directory) when that module is done.
A module that needs other settings builds its own: `ovs_lab = ovs_lab_fixture(socket_mem=1024)`.
"""

from ovs_lab import ovs_lab_fixture

ovs_lab = ovs_lab_fixture()
