"""The host role with host_cpu on this machine: the layout is checked before any change, its derived values
reach the stages, and systemd's CPUAffinity drop-in is written in check mode as for real, once.

This machine has no boot loader tooling, so the kernel stage is left out (the derived kernel arguments are
read from the role's facts instead); GRUB is proven in the lab VM scenario.
"""

import json
import os
import subprocess

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist, parse_cpulist
from module_call import VENV_BIN, ansible_env

pytestmark = pytest.mark.component

DROPIN = "/etc/systemd/system.conf.d/60-nfv-dpdk-cpu-affinity.conf"
with open("/sys/devices/system/cpu/online") as _handle:
    ONLINE = parse_cpulist(_handle.read().strip())
needs_two_cpus = pytest.mark.skipif(len(ONLINE) < 2, reason="needs two online CPUs")


def run_role(tmp_path, description, check=True, tags="always"):
    out = tmp_path / "facts.json"
    play = [{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": dict(description, ansible_python_interpreter="/usr/bin/python3"),
        "roles": [{"role": "nfv.dpdk.host"}],
        "post_tasks": [{"name": "save", "tags": ["always"], "check_mode": False, "diff": False, "changed_when": False,
                        "ansible.builtin.copy": {"dest": str(out), "content": "{{ {'kernel_args': __host_kernel_args,"
                                                 " 'vms': __host_vms, 'layout': __host_cpu_layout.layout | default({}),"
                                                 " 'reasons': host_reboot_reasons} | to_json }}"}}],
    }]
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps(play))
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "--diff", "--tags", tags, str(playbook)]
    proc = subprocess.run(argv + (["--check"] if check else []), env=ansible_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False)
    facts = json.loads(out.read_text()) if out.exists() else None
    return proc.returncode, proc.stdout, facts


@pytest.fixture
def no_dropin():
    existed = os.path.exists(DROPIN)
    if existed:
        pytest.skip("%s exists on this machine; not touching it" % DROPIN)
    dir_existed = os.path.isdir(os.path.dirname(DROPIN))
    yield
    if os.path.exists(DROPIN):
        os.unlink(DROPIN)
    if not dir_existed and os.path.isdir(os.path.dirname(DROPIN)):
        os.rmdir(os.path.dirname(DROPIN))


@needs_two_cpus
def test_derived_values_reach_the_stages(tmp_path):
    vm = {"name": "vm1", "memory": "256M", "vcpus": 1, "kernel": "/boot/vmlinuz"}
    rc, output, facts = run_role(tmp_path, {"host_cpu": {"housekeeping_cores": 1, "pmd_cores": 0},
                                            "host_kernel_args": ["quiet", "nohz_full=%d" % ONLINE[-1]],
                                            "host_vms": [vm, dict(vm, name="vm2", cpu_affinity=[ONLINE[-1]])]})
    assert rc == 0, output
    rest = format_cpulist(ONLINE[1:])
    # the description's own nohz_full wins; the others are derived
    assert facts["kernel_args"] == ["quiet", "nohz_full=%d" % ONLINE[-1], "isolcpus=domain,managed_irq," + rest,
                                    "rcu_nocbs=" + rest, "irqaffinity=%d" % ONLINE[0]]
    # the guest's dedicated CPU as its vCPU pin; QEMU's other threads on housekeeping
    assert facts["vms"][0]["vcpu_pins"] == [facts["layout"]["vm_cpu_affinity"]["vm1"]]
    assert facts["vms"][0]["emulator_cpus"] == str(ONLINE[0]) and "cpu_affinity" not in facts["vms"][0]
    assert facts["vms"][1]["cpu_affinity"] == [ONLINE[-1]]  # explicit pinning kept
    assert facts["layout"]["systemd_cpu_affinity"] == str(ONLINE[0])


def test_conflicts_fail_before_any_change(tmp_path):
    rc, output, _facts = run_role(tmp_path, {
        "host_cpu": {"housekeeping_cpus": [0], "pmd_cpus": [0]},
        "host_vms": [{"name": "vm1", "memory": "256M", "cpu_affinity": "0"}]}, tags="all")
    assert rc != 0
    fatal = output.split("fatal:", 1)[-1]
    assert "host_cpu.housekeeping CPUs and host_cpu.pmd CPUs overlap on 0" in fatal
    assert "host_vms[vm1].cpu_affinity overlaps the PMD CPUs" in fatal
    assert "changed=0" in output
    assert "Check the CPU and NUMA layout" in output and "Take the CPU layout derived" not in output


@needs_two_cpus
def test_systemd_dropin_check_mode_predicts_the_real_run(tmp_path, no_dropin):
    # only systemd's CPUAffinity derived: no kernel arguments, so the kernel stage's boot loader is not needed
    description = {"host_cpu": {"housekeeping_cores": 1, "pmd_cores": 0, "isolcpus": False, "nohz_full": False,
                                "rcu_nocbs": False, "irqaffinity": False}}
    rc, output, facts = run_role(tmp_path, description, check=True, tags="kernel")
    assert rc == 0, output
    assert "+CPUAffinity=%d" % ONLINE[0] in output
    assert "changed=2" in output and not os.path.exists(DROPIN)
    assert any("systemd CPUAffinity of host_cpu" in r for r in facts["reasons"])
    rc, output, facts = run_role(tmp_path, description, check=False, tags="kernel")
    assert rc == 0, output
    assert "changed=2" in output
    with open(DROPIN) as handle:
        assert handle.read().splitlines()[1:] == ["[Manager]", "CPUAffinity=%d" % ONLINE[0]]
    rc, output, facts = run_role(tmp_path, description, check=False, tags="kernel")
    assert "changed=0" in output and facts["reasons"] == []
    # host_cpu gone: the drop-in goes, check mode first
    rc, output, _facts = run_role(tmp_path, {"host_cpu": {}}, check=True, tags="kernel")
    assert "changed=1" in output and os.path.exists(DROPIN)
    rc, output, _facts = run_role(tmp_path, {"host_cpu": {}}, check=False, tags="kernel")
    assert "changed=1" in output and not os.path.exists(DROPIN)


TUNED_VARIABLES = "/etc/tuned/cpu-partitioning-variables.conf"


@needs_two_cpus
def test_tuned_check_mode_on_a_host_without_tuned(tmp_path, no_dropin):
    """host_cpu.tuned in check mode on this machine (no tuned installed; a real run would install it and needs
    tuned's daemon under systemd, which this machine has not): the install, the variables file and the activation
    are predicted, no isolation argument or CPUAffinity drop-in of the role's own, and nothing is written."""
    if os.path.exists(TUNED_VARIABLES) or os.path.exists("/usr/sbin/tuned-adm"):
        pytest.skip("tuned is installed here; not touching it")
    description = {"host_cpu": {"housekeeping_cores": 1, "pmd_cores": 0, "tuned": True}}
    for _run in (1, 2):  # check mode changes nothing: a second check predicts the same
        rc, output, facts = run_role(tmp_path, description, check=True, tags="kernel")
        assert rc == 0, output
        rest = format_cpulist(ONLINE[1:])
        assert facts["kernel_args"] == [] and facts["layout"]["systemd_cpu_affinity"] == ""
        assert facts["layout"]["tuned"]["activate"] == "the active tuned profile is none, not cpu-partitioning"
        assert "+isolated_cores=%s\n" % rest in output and "+no_balance_cores=%s\n" % rest in output
        assert "TASK [nfv.dpdk.host : Check mode - predict tuned-adm profile cpu-partitioning]" in output
        # install, variables file, activation
        assert "changed=3" in output, output
        assert any("tuned's cpu-partitioning profile" in r for r in facts["reasons"])
        assert not os.path.exists(TUNED_VARIABLES) and not os.path.exists(DROPIN)


def test_tuned_with_own_isolation_arguments_fails_before_any_change(tmp_path):
    rc, output, _facts = run_role(tmp_path, {"host_cpu": {"housekeeping_cores": 1, "pmd_cores": 0, "tuned": True},
                                             "host_kernel_args": ["nohz_full=1"]}, tags="all")
    assert rc != 0
    assert "host_kernel_args sets nohz_full=1, which host_cpu.tuned" in output.split("fatal:", 1)[-1]
    assert "changed=0" in output and "Take the CPU layout derived" not in output
