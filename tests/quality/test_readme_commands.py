"""README's two newcomer commands are the ones CI runs: Molecule default converges with the first
(molecule/default/converge.yml reads it from README.md), `.ci/run` calls the second; both are
programs in the tree. scripts/lab's own Python piece (scripts/lab_run.py) is tested here too."""

import os
import re
import sys

import yaml

from module_call import REPO

BLOCK = re.compile(r"\n<!-- newcomer-commands[^\n]*-->\n(.*?)\n<!-- /newcomer-commands -->", re.S)

sys.path.insert(0, os.path.join(REPO, "scripts"))
import lab_run  # noqa: E402  (scripts/ is not a package)


def readme_commands():
    """The commands of README's newcomer block: each indented line without its indent and comment."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        match = BLOCK.search(handle.read())
    assert match, "README.md has no block between <!-- newcomer-commands --> and <!-- /newcomer-commands -->"
    lines = match.group(1).split("\n")
    assert all(line.startswith("    ") for line in lines), lines
    return [re.sub(r" +#.*$", "", line.strip()) for line in lines]


def test_readme_opens_with_the_two_commands():
    assert readme_commands() == ["./scripts/lab", "./scripts/test"]
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        head = handle.read().split("\n## ", 2)
    assert "<!-- newcomer-commands" in head[1], "the newcomer block belongs to README's first section"


def test_both_commands_are_programs_in_the_tree():
    for command in readme_commands():
        path = os.path.join(REPO, command)
        assert os.path.isfile(path) and os.access(path, os.X_OK), command


def test_ci_calls_the_second_command():
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#")]
    test_command = readme_commands()[1]
    assert any(re.fullmatch(r"(exec )?(bash )?%s( .*)?" % re.escape(test_command.lstrip("./")), line.replace("./", ""))
               for line in lines), lines


def test_molecule_default_converges_with_the_first_command():
    """converge.yml reads the same block and insists on the same first command; destroy uses its `down`."""
    with open(os.path.join(REPO, "molecule", "default", "converge.yml"), encoding="utf-8") as handle:
        converge = handle.read()
    assert "<!-- newcomer-commands[^\\n]*-->" in converge and "<!-- /newcomer-commands -->" in converge
    assert "__command == '%s'" % readme_commands()[0] in converge
    with open(os.path.join(REPO, "molecule", "default", "destroy.yml"), encoding="utf-8") as handle:
        destroy = yaml.safe_load(handle)
    argv = destroy[0]["tasks"][0]["ansible.builtin.command"]["argv"]
    assert argv[0].endswith("/" + readme_commands()[0].lstrip("./")) and argv[1:] == ["down"], argv
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        assert "`%s down`" % readme_commands()[0] in handle.read()


def test_lab_connection_inventory():
    instance = {"instance": "nfv-lab", "address": "127.0.0.1", "user": "root", "port": 2299,
                "identity_file": "/x/id_ed25519", "pid": 1, "root": "/r"}
    inventory = yaml.safe_load(lab_run.connection(instance))
    host = inventory["all"]["hosts"]["nfv-lab"]
    assert host["ansible_port"] == 2299 and host["ansible_host"] == "127.0.0.1"
    assert host["ansible_private_key_file"] == "/x/id_ed25519" and host["ansible_user"] == "root"


def test_lab_changes_summary():
    lines, ok = lab_run.changes({"hosts": {"nfv-lab": {"changed": [], "failed": [], "unreachable": False}}})
    assert ok and lines == ["[lab] nfv-lab: this run changed nothing (the lab is as described)"]
    report = {"hosts": {"nfv-lab": {"changed": [{"task": "Copy kernel and initramfs", "item": "vmlinuz"},
                                                {"task": "Bridges and ports"}], "failed": [], "unreachable": False}}}
    lines, ok = lab_run.changes(report)
    assert ok and lines == ["[lab] nfv-lab: this run changed 2 things:",
                            "[lab]   Copy kernel and initramfs (vmlinuz)", "[lab]   Bridges and ports"]
    lines, ok = lab_run.changes({"hosts": {"nfv-lab": {"changed": [], "failed": [{"msg": "boom"}]}}})
    assert not ok and lines == ["[lab] nfv-lab: FAILED (boom)"]
    assert lab_run.changes({"hosts": {}}) == (["[lab] the report names no host: nothing was provisioned"], False)
    quiet = {"hosts": {"localhost": {"changed": []}, "nfv-lab": {"changed": []}}}
    assert lab_run.changes(quiet) == (["[lab] nfv-lab: this run changed nothing (the lab is as described)"], True)
