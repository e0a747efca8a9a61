"""Every plugin and role of nfv.dpdk renders with ansible-doc, with its documentation complete.

Runs ansible-doc against the collection linked by scripts/setup (.build/collections), the way a user
reads the docs: `ansible-doc -t module nfv.dpdk.<name>`, `ansible-doc -t role nfv.dpdk.<role>`.
"""

import json
import os
import subprocess

import pytest

from module_call import REPO, VENV_BIN, ansible_env

PLUGIN_TYPES = {"module": "modules", "filter": "filter", "callback": "callback"}


def plugin_names(kind):
    folder = os.path.join(REPO, "plugins", PLUGIN_TYPES[kind])
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".py") and not name.startswith("_"))


def role_names():
    return sorted(name for name in os.listdir(os.path.join(REPO, "roles"))
                  if os.path.isfile(os.path.join(REPO, "roles", name, "meta", "argument_specs.yml")))


def ansible_doc(*args):
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-doc"), *args], env=ansible_env(), cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 0, "ansible-doc %s failed:\n%s" % (" ".join(args), proc.stderr)
    assert "[WARNING]" not in proc.stderr and "[ERROR]" not in proc.stderr, proc.stderr
    return proc.stdout


def option_problems(options, where):
    """Options without a description or a type, recursively through suboptions."""
    problems = []
    for name, spec in (options or {}).items():
        if not spec.get("description"):
            problems.append("%s.%s: no description" % (where, name))
        if "type" not in spec:
            problems.append("%s.%s: no type" % (where, name))
        problems += option_problems(spec.get("suboptions") or spec.get("options"), "%s.%s" % (where, name))
    return problems


def test_the_collection_has_plugins_and_roles():
    assert plugin_names("module") and plugin_names("filter") and plugin_names("callback") and role_names()


@pytest.mark.parametrize("kind", sorted(PLUGIN_TYPES))
def test_plugins_render_with_complete_documentation(kind):
    names = plugin_names(kind)
    fqcns = ["nfv.dpdk." + name for name in names]
    docs = json.loads(ansible_doc("-t", kind, "--json", *fqcns))
    assert sorted(docs) == fqcns
    problems = []
    for fqcn, entry in docs.items():
        doc = entry.get("doc") or {}
        declared = doc.get("module") if kind == "module" else doc.get("name")
        if declared != fqcn.rsplit(".", 1)[1]:
            problems.append("%s: DOCUMENTATION names it %r" % (fqcn, declared))
        for key in ("short_description", "description", "author"):
            if not doc.get(key):
                problems.append("%s: no %s" % (fqcn, key))
        problems += option_problems(doc.get("options"), fqcn)
        if kind in ("module", "filter") and not (entry.get("examples") or "").strip():
            problems.append("%s: no EXAMPLES" % fqcn)
        if kind in ("module", "filter") and not entry.get("return"):
            problems.append("%s: no RETURN" % fqcn)
        for key, ret in (entry.get("return") or {}).items():
            if not ret.get("description"):
                problems.append("%s: return value %s has no description" % (fqcn, key))
        if kind == "module":
            attributes = doc.get("attributes") or {}
            for attribute in ("check_mode", "diff_mode", "platform"):
                if attribute not in attributes:
                    problems.append("%s: attribute %s not documented" % (fqcn, attribute))
    assert problems == []
    # the text rendering a user reads works too, for every plugin at once
    text = ansible_doc("-t", kind, *fqcns)
    for fqcn in fqcns:
        assert fqcn in text


def test_roles_render_their_argument_specs():
    roles = role_names()
    fqcns = ["nfv.dpdk." + name for name in roles]
    problems = []
    for fqcn in fqcns:
        docs = json.loads(ansible_doc("-t", "role", "--json", fqcn))
        entry_points = (docs.get(fqcn) or {}).get("entry_points") or {}
        if "main" not in entry_points:
            problems.append("%s: no main entry point in meta/argument_specs.yml" % fqcn)
            continue
        main = entry_points["main"]
        if not main.get("short_description"):
            problems.append("%s: main has no short_description" % fqcn)
        problems += option_problems(main.get("options"), fqcn)
        text = ansible_doc("-t", "role", fqcn)
        assert "ENTRY POINT: *main*" in text or "ENTRY POINT: main" in text, text
    assert problems == []
