# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What modules share is written once: attributes in the doc fragment nfv.dpdk.attributes, shared options in
plugins/module_utils/core/common_options.py (the spec) and the doc fragment nfv.dpdk.common_options (the docs).

A module's own `attributes:` may hold only the `details` of an attribute the fragments give it; an option of
common_options is merged into the module's argument spec and documented by the fragment variant of its name,
never by the module; and each variant documents exactly the options, types and defaults of its dict.
"""

import ast
import glob
import importlib
import os
from unittest import mock

import pytest
import yaml
from ansible.module_utils import basic

from ansible_collections.nfv.dpdk.plugins.doc_fragments import attributes as attributes_fragment
from ansible_collections.nfv.dpdk.plugins.doc_fragments import common_options as options_fragment
from ansible_collections.nfv.dpdk.plugins.module_utils.core import common_options

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(TOP, "plugins", "modules", "*.py")))
ATTRIBUTES = "nfv.dpdk.attributes"
SUPPORT_VARIANTS = ("nfv.dpdk.attributes.full", "nfv.dpdk.attributes.read_only")
OPTIONS = "nfv.dpdk.common_options"
# what an option's documentation and its argument spec must agree on, with the value each means when left out
SPEC_KEYS = {"type": "str", "elements": None, "default": None, "required": False, "choices": None, "aliases": None}


def module_doc(name):
    """The module's own DOCUMENTATION, before any fragment is merged."""
    module = importlib.import_module("ansible_collections.nfv.dpdk.plugins.modules." + name)
    return yaml.safe_load(module.DOCUMENTATION)


class Captured(Exception):
    pass


def argument_spec(name):
    """The argument spec the module hands to AnsibleModule (as validate-modules reads it)."""
    module = importlib.import_module("ansible_collections.nfv.dpdk.plugins.modules." + name)

    def capture(self, argument_spec, **kwargs):
        raise Captured(argument_spec)

    with mock.patch.object(basic.AnsibleModule, "__init__", capture), pytest.raises(Captured) as caught:
        module.main()
    return caught.value.args[0]


def variants(fragment_module):
    """{variant name as a module names it (lowercase, DOCUMENTATION as ''): parsed YAML} of a fragment file."""
    cls = fragment_module.ModuleDocFragment
    return dict(("" if key == "DOCUMENTATION" else key.lower(), yaml.safe_load(getattr(cls, key)))
                for key in vars(cls) if key.isupper())


def fragment_doc(slug):
    """The parsed variant a slug of extends_documentation_fragment names, or None when it is not ours."""
    for base, fragment_module in ((ATTRIBUTES, attributes_fragment), (OPTIONS, options_fragment)):
        if slug == base or slug.startswith(base + "."):
            return variants(fragment_module).get(slug[len(base) + 1:])
    return None


def extended(doc):
    return list(doc.get("extends_documentation_fragment") or [])


def merged_attributes(doc):
    """The attributes as ansible-doc merges them: the module's own first, then each fragment in order."""
    result = {}
    for source in [doc] + [fragment_doc(slug) or {} for slug in extended(doc)]:
        for name, entry in (source.get("attributes") or {}).items():
            for key, value in (entry or {}).items():
                result.setdefault(name, {}).setdefault(key, value)
    return result


def option_differences(documented, spec, where):
    """How documented options and an argument spec differ: names, SPEC_KEYS, suboptions (recursively)."""
    problems = []
    for name in sorted(set(documented) | set(spec)):
        if name not in spec:
            problems.append("%s.%s is documented but not in the spec" % (where, name))
        elif name not in documented:
            problems.append("%s.%s is in the spec but not documented" % (where, name))
        else:
            doc, arg = documented[name] or {}, spec[name]
            for key, unset in SPEC_KEYS.items():
                if doc.get(key, unset) != arg.get(key, unset):
                    problems.append("%s.%s: %s %r documented, %r in the spec"
                                    % (where, name, key, doc.get(key, unset), arg.get(key, unset)))
            problems += option_differences(doc.get("suboptions") or {}, arg.get("options") or {},
                                           "%s.%s" % (where, name))
    return problems


def test_the_fragments_exist_and_hold_their_variants():
    assert set(variants(attributes_fragment)) == {"", "full", "read_only", "facts"}
    assert set(variants(options_fragment)) == set(name.lower() for name in common_options.SHARED)
    assert MODULES


@pytest.mark.parametrize("name", MODULES)
def test_a_module_takes_its_attributes_from_the_fragment(name):
    doc = module_doc(name)
    slugs = extended(doc)
    problems = []
    if ATTRIBUTES not in slugs:
        problems.append("extends_documentation_fragment lacks %s" % ATTRIBUTES)
    support = [slug for slug in slugs if slug in SUPPORT_VARIANTS]
    if len(support) != 1:
        problems.append("extends %s, not exactly one of %s" % (support, ", ".join(SUPPORT_VARIANTS)))
    problems += ["extends %s: the attributes come from %s" % (slug, ATTRIBUTES)
                 for slug in slugs if slug.startswith("ansible.builtin.action_common_attributes")]
    problems += ["extends %s, which is no fragment variant of the collection" % slug
                 for slug in slugs if slug.startswith("nfv.dpdk.") and fragment_doc(slug) is None]
    given = set()
    for slug in slugs:
        given.update(((fragment_doc(slug) or {}).get("attributes") or {}))
    for attribute, entry in (doc.get("attributes") or {}).items():
        if attribute not in given:
            problems.append("attributes.%s is spelled in the module; no fragment it extends gives it" % attribute)
        own = sorted(set(entry or {}) - {"details"})
        if own or not entry:
            problems.append("attributes.%s spells %s in the module; only its details belong there, the rest "
                            "comes from %s" % (attribute, ", ".join(own) or "nothing", ATTRIBUTES))
    assert problems == [], "plugins/modules/%s.py: %s" % (name, "; ".join(problems))


@pytest.mark.parametrize("name", MODULES)
def test_every_attribute_of_a_module_has_a_description_and_a_support_level(name):
    attributes = merged_attributes(module_doc(name))
    assert {"check_mode", "diff_mode", "platform"} <= set(attributes)
    incomplete = sorted(attribute for attribute, entry in attributes.items()
                        if not entry.get("description") or not entry.get("support"))
    assert incomplete == []
    assert attributes["platform"].get("platforms") == "posix"


@pytest.mark.parametrize("variant", sorted(common_options.SHARED))
def test_a_shared_option_is_documented_as_its_spec_says(variant):
    documented = variants(options_fragment)[variant.lower()]
    assert set(documented) == {"options"}, "%s.%s documents more than options" % (OPTIONS, variant.lower())
    assert option_differences(documented["options"], common_options.SHARED[variant],
                              "%s.%s" % (OPTIONS, variant.lower())) == []


@pytest.mark.parametrize("name", MODULES)
def test_a_module_merges_and_extends_the_shared_options_it_takes(name):
    doc, spec = module_doc(name), argument_spec(name)
    own = doc.get("options") or {}
    problems = []
    for variant, options in sorted(common_options.SHARED.items()):
        slug = "%s.%s" % (OPTIONS, variant.lower())
        taken = sorted(set(options) & set(spec))
        if slug in extended(doc) and taken != sorted(options):
            problems.append("extends %s but its argument spec lacks %s" % (slug, sorted(set(options) - set(spec))))
        if taken and slug not in extended(doc):
            problems.append("takes %s without extending %s" % (", ".join(taken), slug))
        problems += ["%s: spec %r, common_options.%s has %r" % (option, spec[option], variant, options[option])
                     for option in taken if spec[option] != options[option]]
        problems += ["options.%s is documented in the module; %s documents it" % (option, slug)
                     for option in taken if option in own]
    assert problems == [], "plugins/modules/%s.py: %s" % (name, "; ".join(problems))


@pytest.mark.parametrize("variant", sorted(common_options.SHARED))
def test_a_shared_option_is_shared(variant):
    slug = "%s.%s" % (OPTIONS, variant.lower())
    users = [name for name in MODULES if slug in extended(module_doc(name))]
    assert len(users) >= 2, "%s is used by %s only: document the option in its module" % (slug, users)


def spelled_specs(path):
    """(line, option) of every option spec of a shared option written out in a file: `name=dict(type=...)` or
    `"name": {"type": ...}`."""
    def is_spec(node):
        if isinstance(node, ast.Dict):
            return any(isinstance(k, ast.Constant) and k.value == "type" for k in node.keys)
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict"
                and any(k.arg == "type" for k in node.keywords))

    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    shared = set(name for options in common_options.SHARED.values() for name in options)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            found += [(node.lineno, k.value) for k, v in zip(node.keys, node.values)
                      if isinstance(k, ast.Constant) and k.value in shared and is_spec(v)]
        elif isinstance(node, ast.Call):
            found += [(node.lineno, k.arg) for k in node.keywords if k.arg in shared and is_spec(k.value)]
    return found


def test_a_shared_option_is_specified_once():
    own = os.path.join(TOP, "plugins", "module_utils", "core", "common_options.py")
    files = glob.glob(os.path.join(TOP, "plugins", "modules", "*.py"))
    files += glob.glob(os.path.join(TOP, "plugins", "module_utils", "**", "*.py"), recursive=True)
    again = ["%s:%d %s" % (os.path.relpath(path, TOP), line, option)
             for path in sorted(files) if path != own for line, option in spelled_specs(path)]
    assert again == [], "merge these from core/common_options.py instead: %s" % ", ".join(again)


def test_merged_refuses_an_option_defined_twice():
    spec = common_options.merged({"a": {"type": "int"}}, common_options.DB)
    assert spec == {"a": {"type": "int"}, "db": {"type": "str"}}
    assert spec["db"] is not common_options.DB["db"]  # a copy: no module can change another's spec
    with pytest.raises(ValueError, match="db"):
        common_options.merged({"db": {"type": "str"}}, common_options.DB)
