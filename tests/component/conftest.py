"""Shared fixtures for component tests.

`ovs_lab`: a private OVS-DPDK (see ovs_lab.py), started once per test module that asks for it
and torn down (daemons, hugetlbfs mount, 2M pages, run directory) when that module is done.
A module that needs other settings builds its own: `ovs_lab = ovs_lab_fixture(socket_mem=1024)`.

`processes`: a list a test appends the QEMU processes it starts to; they are stopped (SIGTERM, then
SIGKILL after 10 s) whatever happens.
"""

import signal
import subprocess

import pytest

from ovs_lab import ovs_lab_fixture

ovs_lab = ovs_lab_fixture()


@pytest.fixture
def processes():
    """QEMU processes started by a test; killed whatever happens."""
    started = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
