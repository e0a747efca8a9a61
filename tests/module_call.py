"""Run one of our modules through ansible-playbook on localhost and return its registered result.

This is the path a user's task takes (argument validation, check mode, diff,
the module on the real host), with the result read back as JSON.
"""

import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(REPO, ".venv", "bin")


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".build", "collections"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "PATH": VENV_BIN + os.pathsep + env.get("PATH", ""),
    })
    env.update(extra or {})
    return env


def run_module(name, args=None, check=False, diff=True, env=None, timeout=600):
    """Run `nfv.dpdk.<name>` with `args`; return the registered result dict (failed ones too)."""
    fqcn = name if "." in name else "nfv.dpdk." + name
    with tempfile.TemporaryDirectory(prefix="nfv-call-") as tmp:
        out = os.path.join(tmp, "result.json")
        play = [{
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": sys.executable if not os.path.exists("/usr/bin/python3")
                     else "/usr/bin/python3"},
            "tasks": [
                {"name": "call", fqcn: args or {}, "register": "result", "ignore_errors": True,
                 "check_mode": check, "diff": diff},
                {"name": "save", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": out},
                 "check_mode": False, "diff": False},
            ],
        }]
        playbook = os.path.join(tmp, "call.yml")
        with open(playbook, "w") as handle:
            json.dump(play, handle)
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", playbook],
                              env=ansible_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, check=False)
        if not os.path.exists(out):
            raise AssertionError("ansible-playbook produced no result (rc=%d):\n%s" % (proc.returncode, proc.stdout))
        with open(out) as handle:
            return json.load(handle)
