"""playbooks/site.yml ends with one summary of the reboots the hosts owe, printed in a run where nothing fails.

Runs site.yml in check mode on this machine with an empty description: only the read-only host facts run,
every stage is skipped. The owed reboot itself is given as extra vars (they outrank the role's set_fact),
so the summary's wording is checked without a host whose kernel command line changes.
"""

import json
import os
import subprocess

from module_call import REPO, VENV_BIN, ansible_env

OWED = {"host_reboot_required": True,
        "host_reboot_reasons": ["kernel parameters of host_kernel_args",
                                "boot-time hugepages (hugepagesz=1G hugepages=4)"]}

LOCAL = {"ansible_connection": "local"}


def run_site(tmp_path, *args, extra=None, inventory=None):
    inventory_file = tmp_path / "hosts.json"
    inventory_file.write_text(json.dumps(inventory or {"all": {"hosts": {"localhost": LOCAL}}}))
    extra_file = tmp_path / "extra.json"
    extra_file.write_text(json.dumps(dict({"nfv_dpdk_targets": "all"}, **(extra or {}))))
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(inventory_file), "--check",
                           "-e", "ansible_python_interpreter=/usr/bin/python3", "-e", "@%s" % extra_file,
                           *args, os.path.join(REPO, "playbooks", "site.yml")],
                          env=ansible_env(), cwd=str(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False)
    return proc.returncode, proc.stdout


def summary(output):
    assert "TASK [Summarize the reboots the hosts still owe]" in output, output
    return output.split("TASK [Summarize the reboots the hosts still owe]", 1)[1].split("PLAY RECAP", 1)[0]


def test_a_clean_run_says_that_no_host_owes_a_reboot(tmp_path):
    rc, out = run_site(tmp_path)
    assert rc == 0, out
    assert "check mode: no host owes a reboot (1 host(s) checked)" in summary(out)
    assert "changed=0" in out and "failed=0" in out


def test_an_owed_reboot_is_printed_with_its_reasons(tmp_path):
    rc, out = run_site(tmp_path, extra=OWED)
    assert rc == 0, out
    text = summary(out)
    assert "check mode: 1 of 1 host(s) owe a reboot" in text, text
    assert "localhost: kernel parameters of host_kernel_args; boot-time hugepages (hugepagesz=1G hugepages=4)" in text


def test_the_summary_runs_under_any_tag_and_says_which_stages_it_covers(tmp_path):
    rc, out = run_site(tmp_path, "--tags", "vms", extra=OWED)
    assert rc == 0, out
    text = summary(out)
    assert "1 of 1 host(s) owe a reboot" in text and "only the stages selected with --tags (vms) were checked" in text


def test_a_host_lost_on_the_way_is_named(tmp_path):
    inventory = {"all": {"hosts": {"localhost": LOCAL,
                                   "gone": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1",
                                            "ansible_port": 9, "ansible_ssh_common_args": "-o ConnectTimeout=5"}}}}
    rc, out = run_site(tmp_path, inventory=inventory)
    assert rc != 0, out
    text = summary(out)
    assert "no host owes a reboot (1 host(s) checked)" in text, text
    assert "reboot state unknown, failed or unreachable in this run: gone" in text, text
