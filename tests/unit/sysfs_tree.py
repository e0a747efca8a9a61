"""Build sysfs/procfs fixture trees that copy the kernel's real layout.

Directories, files and relative symlinks are laid out as the kernel does
(/sys/bus/pci/devices/ADDR -> ../../../devices/pci0000:00/ADDR, driver and
iommu_group links, /sys/class/net/IF -> the device's net/IF, virtio netdevs
under a virtio child), so HostFS(root) reads them with the same code as a
real host. Two ready hosts: one_node_host (like the CI machine) and
two_node_host (a dual-socket DPDK server).
"""

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist

KB_2M = 2048
KB_1G = 1048576


class SysfsTree:
    def __init__(self, root):
        self.root = str(root)
        self.write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz-6.1.0-27-amd64 root=/dev/sda1 ro quiet")
        self.write("/proc/mounts", "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n")
        self.write("/proc/net/route",
                   "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n")
        self.write("/proc/sys/kernel/osrelease", "6.1.0-27-amd64")
        self.mkdir("/sys/kernel/mm/hugepages")
        self.mkdir("/sys/bus/pci/devices")
        self.mkdir("/sys/class/net")

    # -- primitives --------------------------------------------------------
    def p(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def mkdir(self, path):
        os.makedirs(self.p(path), exist_ok=True)

    def write(self, path, content):
        self.mkdir(os.path.dirname(path))
        with open(self.p(path), "w") as handle:
            handle.write(content if content.endswith("\n") else content + "\n")

    def symlink(self, path, target_abs):
        """Create `path` as a relative symlink to host-absolute `target_abs`."""
        self.mkdir(os.path.dirname(path))
        rel = os.path.relpath(self.p(target_abs), os.path.dirname(self.p(path)))
        if os.path.lexists(self.p(path)):
            os.unlink(self.p(path))
        os.symlink(rel, self.p(path))

    # -- host pieces -------------------------------------------------------
    def cpu(self, online, vendor="GenuineIntel", flags="fpu pse sse4_2 avx2 pdpe1gb vmx", isolated=""):
        self.write("/sys/devices/system/cpu/online", online)
        self.write("/sys/devices/system/cpu/isolated", isolated)
        self.write("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: %s\nflags\t\t: %s\n" % (vendor, flags))

    def meminfo(self, hugepagesize_kb=KB_2M, total_kb=32 * 1024 * 1024):
        self.write("/proc/meminfo", "MemTotal:       %d kB\nHugepagesize:       %d kB\n" % (total_kb, hugepagesize_kb))

    def hugepage_sizes(self, sizes_kb=(KB_2M, KB_1G)):
        for size in sizes_kb:
            base = "/sys/kernel/mm/hugepages/hugepages-%dkB" % size
            for name in ("nr_hugepages", "free_hugepages", "surplus_hugepages", "resv_hugepages",
                         "nr_overcommit_hugepages", "nr_hugepages_mempolicy"):
                self.write("%s/%s" % (base, name), "0")

    def pool(self, size_kb, node=None, total=0, free=None, surplus=0):
        if node is None:
            base = "/sys/kernel/mm/hugepages/hugepages-%dkB" % size_kb
        else:
            base = "/sys/devices/system/node/node%d/hugepages/hugepages-%dkB" % (node, size_kb)
        self.write(base + "/nr_hugepages", str(total))
        self.write(base + "/free_hugepages", str(total if free is None else free))
        self.write(base + "/surplus_hugepages", str(surplus))

    def numa_node(self, node, cpulist, mem_total_kb, mem_free_kb, sizes_kb=(KB_2M, KB_1G)):
        base = "/sys/devices/system/node/node%d" % node
        self.write(base + "/cpulist", cpulist)
        self.write(base + "/meminfo", "Node %d MemTotal:       %d kB\nNode %d MemFree:        %d kB\n"
                   % (node, mem_total_kb, node, mem_free_kb))
        for size in sizes_kb:
            self.pool(size, node)
        nodes = sorted(int(e[4:]) for e in os.listdir(self.p("/sys/devices/system/node")) if e.startswith("node"))
        self.write("/sys/devices/system/node/online", ",".join(str(n) for n in nodes))

    def pci(self, address, vendor, device, pci_class="0x020000", driver=None, numa_node=-1,
            iommu_group=None, netdev=None, virtio=False):
        dev = "/sys/devices/pci0000:00/%s" % address
        self.write(dev + "/vendor", vendor)
        self.write(dev + "/device", device)
        self.write(dev + "/class", pci_class)
        self.write(dev + "/numa_node", str(numa_node))
        self.write(dev + "/driver_override", "(null)")
        self.symlink("/sys/bus/pci/devices/%s" % address, dev)
        if driver:
            self.bind(address, driver)
        if iommu_group is not None:
            self.symlink(dev + "/iommu_group", "/sys/kernel/iommu_groups/%d" % iommu_group)
            self.symlink("/sys/kernel/iommu_groups/%d/devices/%s" % (iommu_group, address), dev)
        if netdev:
            parent = dev + "/virtio0" if virtio else dev
            self.netdev(netdev, parent)
        return dev

    def bind(self, address, driver):
        dev = "/sys/devices/pci0000:00/%s" % address
        self.symlink(dev + "/driver", "/sys/bus/pci/drivers/%s" % driver)
        self.symlink("/sys/bus/pci/drivers/%s/%s" % (driver, address), dev)

    def netdev(self, name, parent, operstate="up", mac="52:54:00:12:34:56", carrier=1):
        base = parent + "/net/" + name
        self.write(base + "/operstate", operstate)
        self.write(base + "/address", mac)
        self.write(base + "/carrier", str(carrier))
        self.write(base + "/mtu", "1500")
        self.symlink(base + "/device", parent)
        self.symlink("/sys/class/net/%s" % name, base)

    def virtual_netdev(self, name, lowers=(), bridge_ports=()):
        """A bond/bridge/VLAN under /sys/devices/virtual/net, stacked on `lowers`."""
        base = "/sys/devices/virtual/net/" + name
        self.write(base + "/operstate", "up")
        self.write(base + "/address", "52:54:00:ff:ff:ff")
        self.symlink("/sys/class/net/%s" % name, base)
        for lower in lowers:
            self.symlink("%s/lower_%s" % (base, lower), "/sys/class/net/%s" % lower)
        for port in bridge_ports:
            self.symlink("%s/brif/%s" % (base, port), "/sys/class/net/%s/brport" % port)

    def default_route(self, iface):
        with open(self.p("/proc/net/route"), "a") as handle:
            handle.write("%s\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" % iface)

    def cmdline(self, text):
        self.write("/proc/cmdline", text)


def one_node_host(root):
    """Like the CI machine: one NUMA node, virtio NIC with the default route, no IOMMU."""
    tree = SysfsTree(root)
    tree.cpu("0-1", vendor="AuthenticAMD")
    tree.meminfo()
    tree.hugepage_sizes()
    tree.numa_node(0, "0-1", 4810528, 3527476)
    tree.pci("0000:00:00.0", "0x8086", "0x0d57", pci_class="0x060000")
    tree.pci("0000:00:02.0", "0x1af4", "0x1042", pci_class="0x018000", driver="virtio-pci")
    tree.pci("0000:00:03.0", "0x1af4", "0x1041", driver="virtio-pci", netdev="eth0", virtio=True)
    tree.default_route("eth0")
    return tree


def two_node_host(root):
    """A dual-socket DPDK server: two nodes, IOMMU on, four NICs, management on a bond."""
    tree = SysfsTree(root)
    tree.cpu("0-7", isolated="2-3,6-7")
    tree.meminfo(hugepagesize_kb=KB_1G)
    tree.hugepage_sizes()
    tree.numa_node(0, "0-3", 16 * 1024 * 1024, 12 * 1024 * 1024)
    tree.numa_node(1, "4-7", 16 * 1024 * 1024, 14 * 1024 * 1024)
    tree.pool(KB_1G, total=4, free=3)
    tree.pool(KB_1G, node=0, total=2, free=1)
    tree.pool(KB_1G, node=1, total=2, free=2)
    tree.cmdline("BOOT_IMAGE=/vmlinuz-6.1.0-27-amd64 root=/dev/sda1 ro intel_iommu=on iommu=pt "
                 "default_hugepagesz=1G hugepagesz=1G hugepages=4 isolcpus=2-3,6-7")
    tree.pci("0000:00:00.0", "0x8086", "0x2020", pci_class="0x060000", numa_node=0, iommu_group=0)
    # management: two ports of an i350 in bond0, bond0 in bridge br-mgmt with the default route
    tree.pci("0000:01:00.0", "0x8086", "0x1521", driver="igb", numa_node=0, iommu_group=10, netdev="eno1")
    tree.pci("0000:01:00.1", "0x8086", "0x1521", driver="igb", numa_node=0, iommu_group=11, netdev="eno2")
    tree.virtual_netdev("bond0", lowers=("eno1", "eno2"))
    tree.virtual_netdev("br-mgmt", lowers=("bond0",), bridge_ports=("bond0",))
    tree.default_route("br-mgmt")
    # data plane: X710 on node 0 (one port already on vfio-pci), another on node 1
    tree.pci("0000:03:00.0", "0x8086", "0x1572", driver="vfio-pci", numa_node=0, iommu_group=20)
    tree.pci("0000:03:00.1", "0x8086", "0x1572", driver="i40e", numa_node=0, iommu_group=21, netdev="ens3f1",
             )
    tree.pci("0000:81:00.0", "0x15b3", "0x1017", driver="mlx5_core", numa_node=1, iommu_group=40, netdev="ens81f0")
    # a multi-function card whose functions share one group (split group case)
    tree.pci("0000:82:00.0", "0x8086", "0x10c9", driver="igb", numa_node=1, iommu_group=41, netdev="ens82f0")
    tree.pci("0000:82:00.1", "0x8086", "0x10c9", driver="igb", numa_node=1, iommu_group=41, netdev="ens82f1")
    for group in (20, 21, 40, 41):
        tree.mkdir("/sys/kernel/iommu_groups/%d/devices" % group)
    tree.mkdir("/sys/class/iommu/dmar0")
    tree.write("/sys/firmware/acpi/tables/DMAR", "DMAR")  # the firmware announces VT-d
    return tree


# -- helpers added for pci_driver tests (append-only) ------------------------------------------
def unbind_driver(tree, address):
    """Take a fixture device off its driver (both links), as the kernel's unbind does."""
    dev = "/sys/devices/pci0000:00/%s" % address
    link = tree.p(dev + "/driver")
    if os.path.lexists(link):
        driver = os.path.basename(os.readlink(link))
        os.unlink(link)
        back = tree.p("/sys/bus/pci/drivers/%s/%s" % (driver, address))
        if os.path.lexists(back):
            os.unlink(back)


def rebind_driver(tree, address, driver, drop_netdevs=True):
    """Move a fixture device to `driver`; its netdevs vanish as when a NIC goes to vfio-pci."""
    unbind_driver(tree, address)
    tree.bind(address, driver)
    if drop_netdevs:
        net = tree.p("/sys/devices/pci0000:00/%s/net" % address)
        if os.path.isdir(net):
            for name in os.listdir(net):
                remove_netdev(tree, name)


def remove_netdev(tree, name):
    """Remove /sys/class/net/NAME and the device's net/NAME directory."""
    import shutil
    link = tree.p("/sys/class/net/%s" % name)
    if os.path.lexists(link):
        real = os.path.realpath(link)
        os.unlink(link)
        if os.path.isdir(real):
            shutil.rmtree(real)


def block_device(tree, name, parent):
    """A disk under a PCI device (virtio: parent is the device's virtioN child), linked from /sys/class/block."""
    base = parent + "/block/" + name
    tree.write(base + "/size", "41943040")
    tree.symlink("/sys/class/block/%s" % name, base)


# -- CPU topology (cpu_layout tests; append-only) ------------------------------------------------
def cpu_topology(tree, siblings, present=None, offline=()):
    """Per-CPU sysfs as the kernel lays it out: cpuN/online and cpuN/topology/thread_siblings_list
    for every group of `siblings` ([[0, 8], [1, 9]]); `offline` CPUs lose their topology directory
    and read 0 in cpuN/online, and drop out of /sys/devices/system/cpu/online."""
    cpus = sorted(c for group in siblings for c in group)
    online = [c for c in cpus if c not in offline]
    tree.write("/sys/devices/system/cpu/present", format_cpulist(present or cpus))
    tree.write("/sys/devices/system/cpu/online", format_cpulist(online))
    for group in siblings:
        for cpu in group:
            base = "/sys/devices/system/cpu/cpu%d" % cpu
            tree.write(base + "/online", "0" if cpu in offline else "1")
            if cpu not in offline:
                tree.write(base + "/topology/thread_siblings_list", format_cpulist(group))
                tree.write(base + "/topology/core_id", str(min(group)))


def one_node_cpu_host(root):
    """One NUMA node, four cores without SMT, one NIC without NUMA information, 2M pools."""
    tree = SysfsTree(root)
    tree.cpu("0-3")
    cpu_topology(tree, [[0], [1], [2], [3]])
    tree.meminfo()
    tree.hugepage_sizes()
    tree.numa_node(0, "0-3", 8 * 1024 * 1024, 6 * 1024 * 1024)
    tree.pool(KB_2M, total=1024, free=1024)
    tree.pool(KB_2M, node=0, total=1024, free=1024)
    tree.pci("0000:00:03.0", "0x8086", "0x100e", driver="vfio-pci", numa_node=-1, iommu_group=3)
    return tree


def two_node_smt_host(root):
    """A dual-socket server with SMT as Intel enumerates it: node 0 holds 0-3 and their siblings 8-11,
    node 1 holds 4-7 and 12-15; CPU 15 is offline. DPDK NICs: 0000:03:00.0 on node 0 (vfio-pci),
    0000:81:00.0 on node 1 (mlx5, bifurcated); 1G pools of 4 pages on each node."""
    tree = SysfsTree(root)
    tree.cpu("0-14", isolated="")
    cpu_topology(tree, [[0, 8], [1, 9], [2, 10], [3, 11], [4, 12], [5, 13], [6, 14], [7, 15]], offline=(15,))
    tree.meminfo(hugepagesize_kb=KB_1G)
    tree.hugepage_sizes()
    tree.numa_node(0, "0-3,8-11", 32 * 1024 * 1024, 20 * 1024 * 1024)
    tree.numa_node(1, "4-7,12-15", 32 * 1024 * 1024, 20 * 1024 * 1024)
    tree.pool(KB_1G, total=8, free=8)
    tree.pool(KB_1G, node=0, total=4, free=4)
    tree.pool(KB_1G, node=1, total=4, free=4)
    tree.pci("0000:03:00.0", "0x8086", "0x1572", driver="vfio-pci", numa_node=0, iommu_group=20)
    tree.pci("0000:81:00.0", "0x15b3", "0x1017", driver="mlx5_core", numa_node=1, iommu_group=40, netdev="ens81f0")
    return tree


def sriov_pf(tree, address, netdev, totalvfs, vf_addresses, vf_driver="iavf", first_group=60, numa_node=0,
             pf_driver="i40e", pf_group=50):
    """An SR-IOV PF with its VFs as the kernel lays them out: sriov_* attributes and virtfnN links on the PF,
    a physfn link on every VF, each VF in its own IOMMU group."""
    dev = tree.pci(address, "0x8086", "0x1572", driver=pf_driver, numa_node=numa_node, iommu_group=pf_group,
                   netdev=netdev)
    tree.write(dev + "/sriov_totalvfs", str(totalvfs))
    tree.write(dev + "/sriov_numvfs", str(len(vf_addresses)))
    tree.write(dev + "/sriov_drivers_autoprobe", "1")
    for index, vf in enumerate(vf_addresses):
        vf_dev = tree.pci(vf, "0x8086", "0x154c", driver=vf_driver, numa_node=numa_node,
                          iommu_group=first_group + index)
        tree.symlink("%s/virtfn%d" % (dev, index), vf_dev)
        tree.symlink(vf_dev + "/physfn", dev)
    return dev
