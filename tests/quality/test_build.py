"""The collection as a user gets it: `ansible-galaxy collection build`, installed from the tarball into a
fresh collections path, runs its own playbook nfv.dpdk.facts (playbooks/facts.yml) on this machine."""

import os
import subprocess
import tarfile

import pytest

from module_call import REPO, VENV_BIN

# caches, virtualenvs and test output must stay out of the tarball (galaxy.yml build_ignore)
NOT_SHIPPED = (".ansible/", ".build/", ".cache/", ".venv/", ".pytest_cache/", ".ruff_cache/", "tests/output/",
               ".git/", "__pycache__/")


def clean_env(tmp_path, collections):
    """Only the fresh collections path: no repository ansible.cfg, no link to the working tree."""
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\nretry_files_enabled = false\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update({
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
    })
    return env


def run(argv, env, cwd):
    proc = subprocess.run(argv, env=env, cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)
    assert proc.returncode == 0, "%s failed (rc=%d):\n%s" % (" ".join(argv), proc.returncode, proc.stdout)
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("build")
    collections = tmp_path / "collections"
    env = clean_env(tmp_path, collections)
    dist = tmp_path / "dist"
    run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(dist), REPO],
        env, tmp_path)
    tarballs = sorted(dist.glob("nfv-dpdk-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", "--offline",
         "-p", str(collections), str(tarballs[0])], env, tmp_path)
    return {"tarball": tarballs[0], "root": collections / "ansible_collections" / "nfv" / "dpdk",
            "env": env, "tmp": tmp_path}


def test_tarball_ships_the_collection_without_caches(installed):
    with tarfile.open(str(installed["tarball"])) as tar:
        names = tar.getnames()
    for needed in ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "meta/execution-environment.yml",
                   "COPYING", "LICENSES/GPL-3.0-or-later.txt",
                   "requirements.txt", "bindep.txt", "plugins/modules/host_facts.py",
                   "roles/host/meta/argument_specs.yml", "playbooks/facts.yml", "changelogs/config.yaml"):
        assert needed in names, needed
    shipped = sorted(name for name in names
                     if any(name.startswith(prefix) or ("/" + prefix) in name for prefix in NOT_SHIPPED))
    assert shipped == []


def test_installed_collection_runs_its_facts_playbook(installed):
    root = installed["root"]
    assert (root / "MANIFEST.json").is_file() and not root.is_symlink()
    out = run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=/usr/bin/python3", "nfv.dpdk.facts"],
              installed["env"], installed["tmp"])
    assert "TASK [Gather nfv.dpdk host facts]" in out
    assert "kernel " + os.uname().release in out
    recap = [line for line in out.splitlines() if line.startswith("localhost")]
    # the targets check, the facts and their summary
    assert len(recap) == 1 and "failed=0" in recap[0] and "ok=3" in recap[0], out
    # the modules came from the installed copy, not from the working tree
    doc = run([os.path.join(VENV_BIN, "ansible-doc"), "-t", "module", "nfv.dpdk.host_facts"],
              installed["env"], installed["tmp"])
    assert str(root) in doc
