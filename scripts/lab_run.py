"""The two pieces of scripts/lab that are not shell:

    lab_run.py connection INSTANCE_JSON   the Ansible inventory that reaches the lab (nspawn-lab up's JSON)
    lab_run.py changes REPORT             what the run changed on each host (nfv.dpdk.change_report's
                                          JSON), one line a change; exit 1 when a host failed or was
                                          unreachable
"""

import json
import sys


def connection(instance):
    """An inventory of one host, nfv-lab, at the instance's address (SSH key of the lab, no known_hosts)."""
    host = {"ansible_host": instance["address"], "ansible_port": int(instance["port"]),
            "ansible_user": instance["user"], "ansible_private_key_file": instance["identity_file"],
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}
    return json.dumps({"all": {"hosts": {instance["instance"]: host}}}, indent=2)


def changes(report):
    """Lines that say what the run changed per host, and whether every host came through."""
    lines, ok = [], True
    for name, host in sorted(report.get("hosts", {}).items()):
        changed = host.get("changed", [])
        failed = host.get("unreachable") or host.get("failed")
        if failed:
            ok = False
            why = "unreachable" if host.get("unreachable") else "; ".join(str(f.get("msg")) for f in host["failed"])
            lines.append("[lab] %s: FAILED (%s)" % (name, why))
        if not changed:
            # a failed host said so above; the controller's own play (the guest image) is not the lab
            if not failed and name != "localhost":
                lines.append("[lab] %s: this run changed nothing (the lab is as described)" % name)
            continue
        lines.append("[lab] %s: this run changed %d things:" % (name, len(changed)))
        for entry in changed:
            item = entry.get("item")
            lines.append("[lab]   %s%s" % (entry["task"], "" if item is None else " (%s)" % item))
    if not report.get("hosts"):
        ok = False
        lines.append("[lab] the report names no host: nothing was provisioned")
    return lines, ok


def main(argv):
    if len(argv) == 3 and argv[1] == "connection":
        print(connection(json.loads(argv[2])))
        return 0
    if len(argv) == 3 and argv[1] == "changes":
        with open(argv[2]) as handle:
            lines, ok = changes(json.load(handle))
        print("\n".join(lines))
        return 0 if ok else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
