"""The tags the README promises for playbooks/site.yml are the tags the playbook has
(`ansible-playbook --list-tags`), and the host role's documentation names the same."""

import os
import re
import subprocess

import yaml

from module_call import REPO, VENV_BIN, ansible_env

TAG = re.compile(r"`([a-z_]+)`")


def readme_tags():
    """The backticked tags of the README paragraph that starts with 'Stages are tagged'."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    start = text.index("Stages are")
    paragraph = text[start:].split("\n\n", 1)[0]
    assert paragraph.startswith("Stages are\ntagged ") or paragraph.startswith("Stages are tagged "), paragraph
    return set(TAG.findall(paragraph))


def playbook_tags(playbook):
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "--list-tags", "-i", "localhost,",
                           os.path.join(REPO, "playbooks", playbook)],
                          env=ansible_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout
    tags = set()
    for listed in re.findall(r"(?:TASK TAGS|TAGS): \[([^\]]*)\]", proc.stdout):
        tags.update(tag.strip() for tag in listed.split(",") if tag.strip())
    assert tags, proc.stdout
    return tags


def test_readme_tags_are_the_tags_of_site_yml():
    assert readme_tags() == playbook_tags("site.yml")


def test_host_role_documents_the_same_stage_tags():
    with open(os.path.join(REPO, "roles", "host", "meta", "argument_specs.yml")) as handle:
        description = " ".join(yaml.safe_load(handle)["argument_specs"]["main"]["description"])
    documented = set(re.findall(r"C\(([a-z_]+)\)", description)) & (playbook_tags("site.yml") | {"facts"})
    assert documented == playbook_tags("site.yml")
