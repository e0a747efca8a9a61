# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest's description: nfv.dpdk.qemu_vm's options validated and normalized into a spec.

`guest_spec(params)` is pure (it reads nothing from the host) and raises one NfvError listing every problem,
each naming its option. Host facts (page sizes, nodes, CPUs, devices, users) are checked by the module after
it read the host. The NICs are qemu_nic_spec's, the path rules unit_paths'.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import CpuOutOfRange, cpus_of, format_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hugepages import kb_to_label, parse_memory_mb, size_to_kb
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.nic_spec import nic_specs
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.unit_paths import (
    SUN_PATH_MAX,
    path_problem,
    run_dir_problem,
)

UNIT_PREFIX = "nfv-qemu-"
HELPER_NAME = "nfv-qemu-powerdown"  # the guest units' helper program, installed in helper_dir
# patterns used with fullmatch: "$" also matches before a final newline ("vm1\n")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,47}")
USER_RE = re.compile(r"[a-z_][a-z0-9_-]*[$]?")  # user and group names
# a QEMU machine type name (q35, pc-q35-9.2, pc-i440fx-8.2, microvm), never machine options: "q35,x=y" would
# set properties the unit's hardening does not expect
MACHINE_RE = re.compile(r"[a-z][a-z0-9._-]{0,63}")
Q35_RE = re.compile(r"q35|pc-q35-[0-9.]+")  # q35 and its versioned names
ACCOUNT_PREFIX = UNIT_PREFIX  # a guest's own account (user and group): nfv-qemu-<name>
ACCOUNT_MAX = 31  # systemd's and useradd's safe length for user names
MAX_VCPUS = 1024  # QEMU's q35 limit with x2APIC and the KVM limit of common kernels
MAX_MEMORY_MB = 64 * 1024 * 1024  # 64T: more than any host this collection targets
MAX_MEMORY_LABEL = "64T"
DEFAULTS = {
    "user": None,  # None: the guest's own account (guest_account), created and removed by qemu_vm
    "group": "nfv-qemu",  # the shared service group: the guest's group, or with its own account a supplementary one
    "unit_dir": "/etc/systemd/system",
    "run_dir": "/run/nfv-qemu",
    "helper_dir": "/usr/local/libexec/nfv-dpdk",
    "machine": "q35",
    "stop_timeout": 60,
}


def unit_name(name):
    return "%s%s.service" % (UNIT_PREFIX, name)


def guest_account(name):
    """The user and group name of guest `name`'s own account: nfv-qemu-<name>, or for a name that is too long
    or not lower case, its first letters and a hash of the whole name (still one account per guest)."""
    plain = ACCOUNT_PREFIX + name
    if len(plain) <= ACCOUNT_MAX and USER_RE.fullmatch(plain) and plain == plain.lower():
        return plain
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    keep = ACCOUNT_MAX - len(ACCOUNT_PREFIX) - len(digest) - 1
    return "%s%s-%s" % (ACCOUNT_PREFIX, name.lower()[:keep].rstrip("-_") or "g", digest)


def _account(p, spec):
    """User=, Group= and the supplementary service group of the unit; spec['own_account'] when qemu_vm owns it."""
    problems = []
    spec["own_account"] = not p.get("user")
    spec["service_group"] = p["group"]
    if spec["own_account"]:
        spec["user"] = spec["group"] = guest_account(spec["name"]) if NAME_RE.fullmatch(spec["name"]) else None
    else:
        spec["user"], spec["group"] = p["user"], p["group"]
    for key, value in (("user", None if spec["own_account"] else spec["user"]), ("group", spec["service_group"])):
        if value is None:
            continue
        if not USER_RE.fullmatch(value or ""):
            problems.append("%s %r is not a valid user/group name" % (key, value))
        elif value == "root":
            problems.append("%s root is refused: the guest runs under a non-root service %s (only the unit's "
                            "preparation steps run as root); leave user unset for the guest's own account"
                            % (key, key))
    return problems


def _base(p, name):
    """The guest's names, service user and directories."""
    problems = []
    if not NAME_RE.fullmatch(name):
        problems.append("name %r is not usable as a unit and file name: use 1-48 letters, digits, '-' or '_', "
                        "starting with a letter or digit" % (name,))
    spec = {"name": name, "state": p.get("state", "started"), "unit": unit_name(name)}
    for key in ("machine", "unit_dir", "run_dir", "helper_dir"):
        spec[key] = p[key]
    problems += _account(p, spec)
    spec["stop_timeout"] = int(p["stop_timeout"])
    if not isinstance(spec["machine"], str) or not MACHINE_RE.fullmatch(spec["machine"]):
        problems.append("machine %r is not a QEMU machine type name (like q35 or pc-q35-9.2; machine options "
                        "are not taken)" % (spec["machine"],))
    for key in ("unit_dir", "helper_dir"):
        problems.append(path_problem(key, spec[key]))
    why = path_problem("run_dir", spec["run_dir"], unit_list=True)
    problems.append(why)
    if not why and not spec["run_dir"].startswith("/run/"):
        problems.append("run_dir must be a directory under /run (systemd creates the guest's runtime "
                        "directory there), got %r" % (spec["run_dir"],))
    elif not why:
        problems.append(run_dir_problem("run_dir", spec["run_dir"]))
    if spec["stop_timeout"] < 1:
        problems.append("stop_timeout must be at least 1 second")
    spec["run_subdir"] = os.path.join(spec["run_dir"], name)
    spec["qmp_socket"] = os.path.join(spec["run_subdir"], "qmp.sock")
    blen = len(spec["qmp_socket"].encode("utf-8"))
    if blen > SUN_PATH_MAX:
        problems.append("QMP socket path %s is %d bytes, over the %d-byte limit of unix sockets; use a shorter "
                        "run_dir or name" % (spec["qmp_socket"], blen, SUN_PATH_MAX))
    return spec, problems


def _memory(p, spec):
    memory = p.get("memory", "1G")
    problems = []
    try:
        spec["memory_mb"] = parse_memory_mb(memory)
        if spec["memory_mb"] < 16:
            problems.append("memory %s is too small (at least 16M)" % (memory,))
        elif spec["memory_mb"] > MAX_MEMORY_MB:
            problems.append("memory %s is more than the %s a guest may have" % (memory, MAX_MEMORY_LABEL))
            spec["memory_mb"] = None
    except ValueError:
        spec["memory_mb"] = None
        problems.append("memory %r is not a size (examples: 512M, 4G)" % (memory,))
    try:
        spec["vcpus"] = int(p.get("vcpus", 1))
        if not 1 <= spec["vcpus"] <= MAX_VCPUS:
            raise ValueError
    except (TypeError, ValueError):
        problems.append("vcpus must be an integer from 1 to %d, got %r" % (MAX_VCPUS, p.get("vcpus")))
        spec["vcpus"] = 1
    return problems


def _hugepages(p, spec):
    hugepages = p.get("hugepages")
    spec["hugepages"] = None
    if not hugepages:
        return []
    size = hugepages.get("size") or "2M"
    try:
        size_kb = size_to_kb(size)
    except ValueError:
        return ["hugepages.size %r is not a page size (examples: 2M, 1G)" % (size,)]
    if not size_kb:
        return []
    label = kb_to_label(size_kb)
    path = hugepages.get("path") or ("/dev/hugepages" if size_kb == 2048 else "/dev/hugepages" + label)
    problems = [path_problem("hugepages.path", path, unit_list=True)]
    if path == "/":
        problems.append("hugepages.path must be the hugetlbfs mount of the page size, not /")
    spec["hugepages"] = {"size": label, "size_kb": size_kb, "path": path,
                         "mem_dir": os.path.join(path, UNIT_PREFIX + spec["name"])}  # the guest's own
    if spec["memory_mb"] and (spec["memory_mb"] * 1024) % size_kb:
        problems.append("memory %s is not a multiple of the %s page size" % (p.get("memory", "1G"), label))
    return problems


def _cpu_list(value):
    """(sorted CPUs, None) of a CPU-list option, or ([], what to add to the "is not a CPU list" message)."""
    try:
        return cpus_of(value), None
    except CpuOutOfRange as exc:
        return [], ": %s" % exc
    except (TypeError, ValueError):
        return [], ""


def _cpus(p, spec):
    """numa_node, cpu_affinity, and vcpu_pins (one CPU list per vCPU) with emulator_cpus; the unit's CPUAffinity
    becomes the union of the pins (or stays cpu_affinity, which must then hold them all)."""
    problems = []
    spec["numa_node"] = None if p.get("numa_node") is None else int(p["numa_node"])
    if spec["numa_node"] is not None and spec["numa_node"] < 0:
        problems.append("numa_node must be >= 0")
    spec["cpu_affinity"], bad = _cpu_list(p.get("cpu_affinity"))
    if bad is not None:
        problems.append("cpu_affinity %r is not a CPU list (examples: '2-3', [2, 3])%s" % (p.get("cpu_affinity"), bad))
    pins, emulator = p.get("vcpu_pins"), p.get("emulator_cpus")
    spec["vcpu_pins"], spec["emulator_cpus"] = [], []
    if pins in (None, []):
        if emulator not in (None, "", []):
            problems.append("emulator_cpus needs vcpu_pins: without them every QEMU thread runs on cpu_affinity")
        return problems
    if not isinstance(pins, (list, tuple)):
        return problems + ["vcpu_pins must be a list with one host CPU or CPU list per vCPU (like [2, 3] or "
                           "['2', '3']), got %r" % (pins,)]
    for index, value in enumerate(pins):
        cpus, bad = _cpu_list(value)
        if bad is not None or not cpus:
            problems.append("vcpu_pins[%d] %r is not a host CPU or CPU list (examples: 2, '2-3')%s"
                            % (index, value, bad or ""))
        spec["vcpu_pins"].append(cpus)
    if len(pins) != spec["vcpus"]:
        problems.append("vcpu_pins has %d entr%s but vcpus is %d: give one host CPU (or CPU list) per vCPU"
                        % (len(pins), "y" if len(pins) == 1 else "ies", spec["vcpus"]))
    spec["emulator_cpus"], bad = _cpu_list(emulator)
    if bad is not None:
        problems.append("emulator_cpus %r is not a CPU list (examples: '0', [0, 8])%s" % (emulator, bad))
    union = sorted(set(c for cpus in spec["vcpu_pins"] for c in cpus) | set(spec["emulator_cpus"]))
    outside = [c for c in union if spec["cpu_affinity"] and c not in spec["cpu_affinity"]]
    if outside:
        problems.append("vcpu_pins/emulator_cpus name CPUs %s outside cpu_affinity %s: leave cpu_affinity out "
                        "(the unit's CPUAffinity is then their union) or include them"
                        % (format_cpulist(outside), format_cpulist(spec["cpu_affinity"])))
    elif not spec["cpu_affinity"]:
        spec["cpu_affinity"] = union
    return problems


def _boot(p, spec):
    """Direct kernel boot (kernel, initrd, append) and disks."""
    problems = []
    for key in ("kernel", "initrd", "append"):
        spec[key] = p.get(key)
    for key in ("kernel", "initrd"):
        if spec[key]:
            problems.append(path_problem(key, spec[key]))
    if (spec["initrd"] or spec["append"]) and not spec["kernel"]:
        problems.append("initrd and append need kernel (direct kernel boot)")
    spec["disks"] = []
    for index, disk in enumerate(p.get("disks") or []):
        path, fmt = disk.get("path"), disk.get("format") or "raw"
        problems.append(path_problem("disks[%d].path" % index, path, unit_list=True))
        if fmt not in ("raw", "qcow2"):
            problems.append("disks[%d].format must be raw or qcow2, got %r" % (index, fmt))
        spec["disks"].append({"path": path, "format": fmt, "readonly": bool(disk.get("readonly", False))})
    if spec["state"] in ("started", "present", "stopped") and not spec["kernel"] and not spec["disks"]:
        problems.append("a guest needs kernel (direct boot) or disks to boot from")
    return problems


def _iommu(p, spec):
    """iommu: a guest vIOMMU, QEMU's intel-iommu, which only the q35 machine has."""
    spec["iommu"] = bool(p.get("iommu"))
    if spec["iommu"] and not Q35_RE.fullmatch(str(spec["machine"])):
        return ["iommu needs the q35 machine (QEMU's intel-iommu is a q35 device; the guest's PCIe root ports "
                "carry its NICs' ATS), got machine %r" % (spec["machine"],)]
    return []


def guest_spec(params):
    """Validate and normalize the module options; raise NfvError listing every problem."""
    p = dict(DEFAULTS)
    p.update(dict((k, v) for k, v in params.items() if v is not None))
    name = p.get("name") or ""
    spec, problems = _base(p, name)
    problems += _memory(p, spec)
    problems += _hugepages(p, spec)
    problems += _cpus(p, spec)
    problems += _boot(p, spec)
    spec["nics"], nic_problems = nic_specs(name, p.get("nics"), spec["qmp_socket"])
    problems += _iommu(p, spec)
    problems = [why for why in problems + nic_problems if why]
    if problems:
        raise NfvError("invalid guest definition for %r: %s" % (name, "; ".join(problems)), problems=problems)
    return spec
