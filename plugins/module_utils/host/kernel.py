# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel state that is not per device: command line, CPU flags, isolated CPUs, IOMMU."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import parse_cpulist

# CPU flags that decide what a DPDK host can do
RELEVANT_CPU_FLAGS = ("pdpe1gb", "pse", "sse4_2", "avx2", "avx512f", "vmx", "svm", "hypervisor")


def split_cmdline(text):
    """Split a kernel command line into words the way the kernel does (double quotes group)."""
    words, current, quoted, started = [], [], False, False
    for char in (text or "").strip():
        if char == '"':
            quoted = not quoted
            current.append(char)
            started = True
        elif char.isspace() and not quoted:
            if started:
                words.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        words.append("".join(current))
    return words


def parse_cmdline(text):
    """Kernel parameters in order as [{'key', 'value'}]; value None for flags.

    Words after a bare '--' go to init, not to the kernel, and are left out.
    """
    params = []
    for word in split_cmdline(text):
        if word == "--":
            break
        key, sep, value = word.partition("=")
        params.append({"key": key, "value": value if sep else None})
    return params


CPU_ROOT = "/sys/devices/system/cpu"


def read_siblings(fs, online):
    """Thread sibling groups of the online CPUs ([[0, 8], [1, 9], ...]), each CPU once; a CPU whose
    topology is unreadable is a group of its own."""
    groups, seen = [], set()
    for cpu in online:
        if cpu in seen:
            continue
        group = [c for c in parse_cpulist(fs.read("%s/cpu%d/topology/thread_siblings_list" % (CPU_ROOT, cpu), ""))
                 if c in online and c not in seen] or [cpu]
        if cpu not in group:
            group = sorted(group + [cpu])
        seen.update(group)
        groups.append(group)
    return sorted(groups)


def read_cpu(fs):
    """Vendor, relevant flags, the kernel's CPU lists, the thread sibling groups and PID 1's CPUs."""
    vendor, flags = None, set()
    for line in (fs.read("/proc/cpuinfo") or "").splitlines():
        name, _sep, value = line.partition(":")
        name = name.strip()
        if name == "vendor_id" and vendor is None:
            vendor = value.strip()
        elif name == "flags" and not flags:
            flags = set(value.split())
    online = parse_cpulist(fs.read(CPU_ROOT + "/online", ""))
    return {
        "vendor": vendor,
        "flags": sorted(flag for flag in RELEVANT_CPU_FLAGS if flag in flags),
        "online": online,
        "present": parse_cpulist(fs.read(CPU_ROOT + "/present", "")) or online,
        "isolated": parse_cpulist(fs.read(CPU_ROOT + "/isolated", "")),
        "nohz_full": parse_cpulist(fs.read(CPU_ROOT + "/nohz_full", "").replace("(null)", "")),
        "siblings": read_siblings(fs, online),
        "init_affinity": read_cpus_allowed(fs, 1),  # PID 1's CPUs: systemd's CPUAffinity where systemd runs
    }


def read_cpus_allowed(fs, pid):
    """The CPUs a process may run on (Cpus_allowed_list of /proc/PID/status); None when it is gone."""
    for line in (fs.read("/proc/%s/status" % pid) or "").splitlines():
        name, _sep, value = line.partition(":")
        if name == "Cpus_allowed_list":
            return parse_cpulist(value.strip())
    return None


def read_task_names(fs, pid):
    """{tid: name} of a process's threads (/proc/PID/task/TID/comm, like 'CPU 0/KVM'); {} when it is gone."""
    names = {}
    for tid in fs.listdir("/proc/%s/task" % pid):
        if tid.isdigit():
            name = fs.read("/proc/%s/task/%s/comm" % (pid, tid))
            if name is not None:
                names[tid] = name.rstrip("\n")
    return names


# ACPI tables that describe the platform's IOMMU, whatever the CPU reports (TCG's "max" CPU is AMD-branded)
IOMMU_ACPI_TABLES = (("DMAR", "intel"), ("IVRS", "amd"))


def iommu_hardware(fs):
    """intel (VT-d, ACPI DMAR table), amd (AMD-Vi, ACPI IVRS table) or None when firmware announces none."""
    for table, kind in IOMMU_ACPI_TABLES:
        if fs.exists("/sys/firmware/acpi/tables/" + table):
            return kind
    return None


def iommu_on_arg(cpu_vendor, hardware):
    """The kernel argument that turns the IOMMU on: by the firmware's IOMMU (iommu_hardware) when it
    names one, else by CPU vendor."""
    if hardware == "amd" or (hardware is None and cpu_vendor in ("AuthenticAMD", "HygonGenuine")):
        return "amd_iommu=on"
    return "intel_iommu=on"


def read_iommu(fs, cmdline_params, cpu_vendor=None):
    """IOMMU state: enabled when the kernel created IOMMU groups."""
    groups = [g for g in fs.listdir("/sys/kernel/iommu_groups") if g.isdigit()]
    hardware = iommu_hardware(fs)
    args = dict((p["key"], p["value"]) for p in cmdline_params
                if p["key"] in ("intel_iommu", "amd_iommu", "iommu"))
    noiommu = fs.read("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode")
    return {
        "enabled": bool(groups),
        "hardware": hardware,
        "on_arg": iommu_on_arg(cpu_vendor, hardware),
        "groups": len(groups),
        "units": fs.listdir("/sys/class/iommu"),
        "cmdline": args,
        "vfio_noiommu": noiommu in ("Y", "1"),
        "vfio_loaded": fs.isdir("/sys/module/vfio_pci") or fs.isdir("/sys/bus/pci/drivers/vfio-pci"),
    }


def kvm_available(fs):
    return fs.exists("/dev/kvm")
