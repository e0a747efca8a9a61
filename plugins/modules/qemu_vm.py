#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: qemu_vm
short_description: One QEMU guest as a hardened systemd unit (vhost-user, tap, user, vfio NICs)
version_added: "0.1.0"
description:
  - Writes the systemd unit C(nfv-qemu-<name>.service) that runs one QEMU guest, and starts, stops,
    installs or removes it.
  - The unit runs the exact QEMU argv (escaped for systemd) as a non-root service user with hardening
    (C(NoNewPrivileges), C(ProtectSystem=strict), C(PrivateTmp), C(DevicePolicy=closed) with
    C(DeviceAllow) for only the devices the guest needs, no capabilities, C(ProtectProc=invisible),
    C(ProcSubset=pid), a C(SystemCallFilter) deny list, only the address families its NICs need, and no network
    at all, C(PrivateNetwork) and C(IPAddressDeny=any), for a guest without tap or user NICs; every unit's
    C(systemd-analyze security) exposure is at most 2.0), QEMU's own seccomp sandbox (C(-sandbox
    on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny), as libvirt), a QMP socket, a graceful stop
    through QMP C(system_powerdown) with a timeout, and C(Restart=on-failure) with bounded restarts
    (C(RestartSec=10s); at most 3 starts within 300 s, C(StartLimitBurst=3) and C(StartLimitIntervalSec=300s)
    in C([Unit]), after which systemd leaves the unit failed instead of looping).
  - Guest memory on hugepages is a shared C(memory-backend-file) with preallocation; a guest with a
    vhost-user NIC and no hugepages gets shared memfd memory (vhost-user needs shared memory).
  - vhost-user NICs make QEMU the socket server (C(server=on,wait=off)); Open vSwitch connects as the
    client (C(dpdkvhostuserclient) ports, see M(nfv.dpdk.ovs_bridge)).
  - Every option is validated before anything is written, in check mode too, and an error names the option
    (names, MACs, unix socket path lengths, memory against the page size and the host's memory, NIC types,
    paths); the unit is checked with C(systemd-analyze verify) before it is installed when that tool exists.
    No option may contain a control character (a newline, a tab, a NUL); every module of the collection
    refuses them, so no value can end a unit line early.
  - Paths must be absolute and normalized (no C(.), C(..), C(//) or trailing C(/)). Paths that go into the
    unit's space-separated lists (O(disks[].path), O(nics[].socket), O(hugepages.path), O(run_dir)) cannot
    contain whitespace, control characters, quotes, backslashes, C(%) or C($).
  - A guest does not take what another guest in O(unit_dir) uses - a MAC address, a vhost-user socket, a tap
    device, a vfio device, its QMP socket or runtime directory - and one guest cannot use a socket, tap device
    or vfio device twice.
  - A changed definition of a running guest is written but the guest is not restarted, the result
    says C(restart_required=true); O(restart_on_change=true) restarts it.
  - After a start or restart the guest must stay active, with the same process and no automatic restart, for
    O(start_check_seconds). Otherwise the task fails with the cause, which is the guest's own journal lines
    (QEMU's stderr, the preparation steps) and the unit's state and result. C(journal) and C(serial_tail)
    are returned too.
  - The safe state after a failed start. The module stops the unit, so the guest is C(inactive) or C(failed),
    no automatic restart is pending and no hugepages are held. The unit file stays installed and keeps its
    enablement (enabled for O(state=started)), because the definition is what was asked for. Fix the cause
    and run again. Until then each boot gets the same bounded attempts and then leaves the unit failed.
  - The C(ExecStop=) helper runs under the host's system python3, never under the interpreter the module runs
    with. That is C(/usr/bin/python3), C(/bin/python3), C(/usr/local/bin/python3), or else C(python3) in PATH,
    and never a virtualenv's or one below C(/tmp), C(/var/tmp), C(/run), C(/dev/shm) or home directories,
    which the unit's C(PrivateTmp)/C(ProtectHome) can hide. A changed C(ansible_python_interpreter) does not
    rewrite the units. Without such a python3 the module fails and names what it tried.
  - O(state=absent) also deletes the tap devices the unit created and the stop helper when no other guest unit
    in O(unit_dir) uses it.
author:
  - nfv.dpdk contributors (@nfv-dpdk)
extends_documentation_fragment:
  - nfv.dpdk.attributes
  - nfv.dpdk.attributes.full
attributes:
  check_mode:
    details: Validates, probes KVM (once per host; the verdict cache is written) and verifies the unit; writes no
      managed file and changes no unit state.
  diff_mode:
    details: The unit file text (and the stop helper) before and after, plus state changes.
options:
  name:
    description:
      - Guest name; the unit is C(nfv-qemu-<name>.service). 1-48 letters, digits, C(-), C(_).
    type: str
    required: true
  state:
    description:
      - V(started) installs the unit, enables it (see O(enabled)) and starts the guest.
      - V(stopped) installs the unit and stops the guest.
      - V(present) installs the unit only; it works without a running systemd (the file is written,
        C(daemon-reload) is skipped with a warning).
      - V(absent) stops and disables the guest and removes the unit.
      - V(started) and V(stopped) fail on a host that does not run systemd.
    type: str
    choices: [started, stopped, present, absent]
    default: started
  memory:
    description:
      - Guest memory, like V(512M) or V(4G) (a bare number is MiB), at most V(64T).
      - With O(hugepages) it must be a multiple of the page size.
      - It cannot exceed the host's C(MemTotal), or with O(numa_node) that node's.
    type: str
    default: 1G
  vcpus:
    description:
      - Number of virtual CPUs, 1 to 1024. More vCPUs than the host has CPUs online is a warning.
    type: int
    default: 1
  hugepages:
    description:
      - Back guest memory with hugepages (shared, preallocated C(memory-backend-file)).
      - The unit creates C(<path>/nfv-qemu-<name>), the guest's own directory, when it is missing (C(root),
        the guest's group, mode 0770), where QEMU creates the file. When that directory exists already it must
        be a directory (not a symbolic link) owned by C(root) and the guest's group; the unit never re-owns or
        re-modes it. The mount itself is read-only to the guest (C(ReadOnlyPaths=)).
    type: dict
    suboptions:
      size:
        description: Page size, V(2M) or V(1G).
        type: str
        default: 2M
      path:
        description:
          - The hugetlbfs mount of that page size.
          - Defaults to C(/dev/hugepages) for 2M pages and C(/dev/hugepages1G) for 1G pages.
        type: path
  numa_node:
    description:
      - Host NUMA node to bind guest memory to (C(host-nodes=,policy=bind) on the memory backend and
        C(NUMAPolicy=bind) in the unit).
    type: int
  cpu_affinity:
    description:
      - Host CPUs for all QEMU threads (C(CPUAffinity=)), as a cpulist string like V(2-3) or a list of
        integers.
      - With O(vcpu_pins) it may be left out (the unit's C(CPUAffinity=) is then the union of O(vcpu_pins) and
        O(emulator_cpus)); when given it must hold them all.
    type: raw
  vcpu_pins:
    description:
      - Per-vCPU pinning, like libvirt's C(<vcpupin>) - one host CPU or cpulist per vCPU, in vCPU order; the list
        has exactly O(vcpus) entries, such as V([2, 3]) or V(["2", "3"]).
      - After QEMU starts, the unit's C(ExecStartPost=) runs the helper script (the C(nfv-qemu-powerdown) file of
        O(helper_dir), subcommand C(pin), as the service user with the system python3). It waits up to 75 s for
        QMP (QEMU answers after preallocating guest memory), asks C(query-cpus-fast) for each vCPU's thread and
        sets its affinity (C(sched_setaffinity)); the threads
        that are no vCPU go to O(emulator_cpus). A vCPU thread that cannot be pinned (for example vCPUs sharing
        one thread under single-threaded TCG) fails the start, with the cause in the journal.
      - Every CPU must be online. A changed pin set changes the unit, so it takes effect on restart.
    type: list
    elements: raw
  emulator_cpus:
    description:
      - Host CPUs (cpulist or list) for QEMU's threads that are no vCPU - the main loop, I/O and monitor threads,
        like libvirt's C(<emulatorpin>). Needs O(vcpu_pins).
      - Without it those threads keep the unit's C(CPUAffinity=).
    type: raw
  kernel:
    description: Kernel image for direct boot.
    type: path
  initrd:
    description: Initial ramdisk for direct boot (needs O(kernel)).
    type: path
  append:
    description: Kernel command line for direct boot (needs O(kernel)).
    type: str
  disks:
    description: Disk images, attached as virtio block devices in this order.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Image file.
        type: path
        required: true
      format:
        description: Image format.
        type: str
        choices: [raw, qcow2]
        default: raw
      readonly:
        description: Attach read-only.
        type: bool
        default: false
  nics:
    description: Network interfaces, all virtio-net-pci except vfio passthrough, in this order.
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description:
          - V(vhost-user) connects to Open vSwitch through a unix socket that QEMU serves.
          - V(tap) uses a tap device (created by the unit when missing, owned by O(user)), optionally
            added to an Open vSwitch O(nics[].bridge). QEMU, as O(user), opens C(/dev/net/tun) to attach it; a
            host where that device is missing or not open to O(user) (Debian's udev gives it 0666) is refused
            for a guest to run.
          - V(user) is QEMU user networking with port forwards (management access).
          - V(vfio) passes a host PCI device bound to vfio-pci through.
        type: str
        required: true
        choices: [vhost-user, tap, user, vfio]
      mac:
        description:
          - MAC address. When not given, a stable locally administered C(52:54:00:xx:xx:xx) address is
            derived from the guest name and the NIC's position.
        type: str
      socket:
        description:
          - vhost-user socket path (at most 107 bytes) in a directory named after the guest, below C(/run) or
            C(/var/run), such as C(/run/vhost/<name>/net0.sock); not in the runtime directory of other software
            (C(/run/systemd), C(/run/user), C(/run/openvswitch), ...). A socket in a directory shared with other
            guests (C(/run/vhost/vm1.sock)) is refused, as another guest could reach or replace it.
          - The unit creates that directory (C(root), the guest's group, mode 0770; a missing parent C(root)
            0755) at start when it is missing (after every reboot, as C(/run) is emptied). It never re-owns or
            re-modes an existing directory. One that exists already must be owned by C(root) and the guest's
            group and must not lead through a symbolic link; other directories are refused.
        type: path
      queues:
        description: vhost-user queue pairs; more than 1 enables multiqueue (C(mq=on,vectors=2N+2)).
        type: int
        default: 1
      ifname:
        description:
          - tap device name; an existing interface of that name must be a tap device.
        type: str
      bridge:
        description: Open vSwitch bridge the tap device joins (C(ovs-vsctl --may-exist add-port)).
        type: str
      forwards:
        description: Port forwards of user networking.
        type: list
        elements: dict
        suboptions:
          protocol:
            description: Protocol.
            type: str
            choices: [tcp, udp]
            default: tcp
          host_address:
            description: Host address to listen on.
            type: str
            default: 127.0.0.1
          host_port:
            description: Host port.
            type: int
            required: true
          guest_port:
            description: Guest port.
            type: int
            required: true
      host_access:
        description:
          - For V(user) networking, let the guest open connections to the host and beyond. By default the
            NIC is restricted (QEMU's C(restrict=on)); only the O(nics[].forwards) reach the guest, and the
            guest reaches nothing.
        type: bool
        default: false
      host:
        description:
          - PCI address of the vfio-pci device, like V(0000:0c:00.3) or V(0c:00.3).
          - When it is an SR-IOV VF and the boot unit of M(nfv.dpdk.sriov_vfs) (C(nfv-dpdk-sriov.service)) is
            installed, the guest's unit gets C(Requires=) and C(After=) on that unit, so the guest does not start
            when the VFs were not set up (that unit disables a VF whose setup failed, and then fails).
        type: str
      rx_queue_size:
        description:
          - The receive ring size of a virtio-net NIC (V(vhost-user), V(tap), V(user)), a power of two from 256 to
            1024 (QEMU's C(rx_queue_size)); 1024 is the usual NFV tuning. Not given - QEMU's default (256).
        type: int
      tx_queue_size:
        description:
          - The transmit ring size of a virtio-net NIC, a power of two from 256 to 1024 on a V(vhost-user) NIC and
            256 on the others (QEMU takes a larger tx ring only from a vhost-user backend and would silently keep
            256). Not given - QEMU's default (256).
        type: int
      packed:
        description:
          - Offer the packed virtqueue layout (VIRTIO_F_RING_PACKED, QEMU's C(packed=on)); the guest driver and
            the backend (OVS-DPDK's vhost library) negotiate it. Not given - QEMU's default (split rings).
        type: bool
      mtu:
        description:
          - The MTU the NIC advertises to the guest (VIRTIO_NET_F_MTU, QEMU's C(host_mtu)), 68 to 65535; the
            guest's driver sets its interface to it. For jumbo frames set it with the OVS port's C(mtu_request);
            M(nfv.dpdk.cpu_layout) (the host role) refuses a guest MTU above the MTU of the OVS port whose
            C(vhost-server-path) is the NIC's socket. Not given - not advertised (the guest uses 1500).
        type: int
      mrg_rxbuf:
        description:
          - Mergeable receive buffers (VIRTIO_NET_F_MRG_RXBUF, QEMU's C(mrg_rxbuf)). Not given - QEMU's default (on).
        type: bool
  accel:
    description:
      - V(auto) uses KVM only after a guest has really executed code under KVM as the unit's user. A
        512-byte boot payload (long mode, fifty million loop iterations with memory stores, a checked sum)
        must reach QEMU's C(isa-debug-exit) port within 10 seconds when run with the unit's credentials
        (O(user), O(group), the user's groups and the C(SupplementaryGroups=) below; for a guest with its own
        account, C(nobody) with those groups, once per host). A host may have
        C(/dev/kvm) and still fail (QEMU aborts with C(failed to set MSR), or starts while guests hang or
        crawl), or the device may not be open to that user; then TCG (C(-accel tcg -cpu max)) is used and
        a warning names the reason. The verdict is cached per host in O(accel_probe_cache), also in check
        mode, until QEMU, the kernel, C(/dev/kvm) or the credentials change.
      - V(kvm) uses KVM without a probe; a C(/dev/kvm) that the unit's credentials cannot open is an error
        for O(state=started), a warning otherwise.
      - With KVM, a C(/dev/kvm) of mode C(0660) owned by a group other than C(root) (C(kvm) on Debian) is
        opened through C(SupplementaryGroups=) in the unit, beside C(DeviceAllow=/dev/kvm rw).
    type: str
    choices: [auto, kvm, tcg]
    default: auto
  accel_probe_cache:
    description: Host-wide cache of KVM probe verdicts for O(accel=auto) (JSON, one entry per QEMU binary, kernel,
      C(/dev/kvm) and credentials); under C(/run), so a reboot probes again.
    type: path
    default: /run/nfv-dpdk/kvm-probe.json
  machine:
    description: QEMU machine type name (C(q35), C(pc-q35-9.2), C(microvm)); machine options such as
      C(q35,kernel-irqchip=split) are refused.
    type: str
    default: q35
  iommu:
    description:
      - Give the guest a vIOMMU, so that a DPDK application inside it can use vfio-pci on its NICs. QEMU's
        C(intel-iommu) with interrupt remapping, caching mode and a device IOTLB
        (C(intremap=on,caching-mode=on,device-iotlb=on), with C(kernel-irqchip=split)); each virtio NIC on a
        PCIe root port of its own with C(iommu_platform=on,ats=on). Needs a q35 O(machine); the guest's kernel
        needs C(intel_iommu=on).
      - DPDK's vhost library drops a packet whose guest address misses its IOTLB while QEMU answers the miss, so a
        kernel driver that maps and unmaps every buffer loses packets; DPDK in the guest maps its memory once, and
        C(iommu=pt) keeps the guest kernel's own NICs on identity mappings.
      - A vhost-user NIC then needs Open vSwitch's C(vhost-iommu-support) (nfv.dpdk.ovs_config
        O(nfv.dpdk.ovs_config#module:vhost_iommu_support)), which nfv.dpdk.cpu_layout checks for a host description.
    type: bool
    default: false
  restart_on_change:
    description: Restart a running guest whose unit changed (otherwise C(restart_required) is returned).
    type: bool
    default: false
  enabled:
    description:
      - Start the guest at boot. Defaults to V(true) for O(state=started), otherwise left as it is.
    type: bool
  user:
    description:
      - Unset (the default), the guest runs as an account of its own, user and group C(nfv-qemu-<name>)
        (a name over 31 characters or with capitals is shortened, with a hash of the whole name). The module
        creates it (a system user, no home, no shell, comment C(nfv.dpdk guest <name>)) before the unit and
        removes it with the guest (O(state=absent)); an existing user of that name with another comment is
        refused, never taken over. The guest's sockets, hugepage directory, disks and serial log are that
        account's alone, so code running as one guest's QEMU cannot open another guest's.
      - The guest's O(disks) are given to its account (owner and group, mode 0600) when it is defined and back
        to C(root:root) 0600 when it is removed. O(kernel), O(initrd) and qcow2 backing files stay as they
        are and must be readable through O(group) or by everyone.
      - Set, QEMU runs as this existing user and O(group) (the behaviour before 3.0); guests sharing a user can
        reach each other's sockets and memory. V(root), or any user with uid 0, is refused.
    type: str
  group:
    description:
      - The shared service group. With the guest's own account it is a supplementary group of the unit (it
        opens the C(/dev/vfio) groups the nfv.dpdk.vfio role gives it; C(DeviceAllow=) keeps each guest to its
        own); with O(user) set it is the unit's C(Group=).
      - V(root), or any group with gid 0, is refused.
    type: str
    default: nfv-qemu
  unit_dir:
    description: Directory of the unit file.
    type: path
    default: /etc/systemd/system
  run_dir:
    description:
      - Directory under C(/run) holding C(<name>/qmp.sock) (the unit's C(RuntimeDirectory)).
    type: path
    default: /run/nfv-qemu
  helper_dir:
    description: Directory of the C(nfv-qemu-powerdown) stop helper the units run.
    type: path
    default: /usr/local/libexec/nfv-dpdk
  qemu_binary:
    description: QEMU system emulator, a name looked up in PATH or an absolute path.
    type: str
    default: qemu-system-x86_64
  stop_timeout:
    description: Seconds the guest gets to power off after C(system_powerdown) before it is terminated.
    type: int
    default: 60
  start_check_seconds:
    description: Seconds after a start during which the unit must stay active, with the same main process and no
      automatic restart. A guest failing early is stopped and reported with its cause.
    type: int
    default: 3
notes:
  - The serial console goes to C(/var/log/nfv-qemu/<name>/serial.log), in the guest's own C(LogsDirectory=)
    (mode 0750, the guest's account), at most 4 MiB. C(ExecStart=) runs QEMU through the helper's console writer
    (C(nfv-qemu-powerdown console LOG MAX_BYTES -- QEMU...)), which execs QEMU (the unit's main process stays
    QEMU) and writes QEMU's standard output to the log; a log about to pass the bound is replaced by its last
    2 MiB, so it always ends with the latest output. The previous run's log is kept as C(serial.log.1) (its
    last MiB).
  - The unit's QMP socket is C(<run_dir>/<name>/qmp.sock).
  - tap devices are created persistent, owned by O(user) and O(group). O(state=absent) deletes those the unit
    created (the owner tells them apart) and removes their port from the OVS bridge the unit added them to.
    A tap device of another owner is left in place with a warning.
  - QEMU waits at start until Open vSwitch connects to each vhost-user socket; the unit is active
    meanwhile and the guest boots once the C(dpdkvhostuserclient) ports are connected.
  - The unit creates the directories of vhost-user sockets and C(<hugepages.path>/nfv-qemu-<name>) at start when
    they are missing (one C(ExecStartPre=+) step of the guest's helper, C(nfv-qemu-powerdown mkdir GROUP DIR...),
    that creates only a path where nothing exists; root-owned, the guest's group, mode 0770, a missing parent
    root 0755), so they come back after reboots of C(/run) and C(/dev). An existing directory is left exactly as
    it is. The unit's C(UMask=0077) keeps what QEMU creates (sockets, files) to the guest's account.
  - A changed definition is also detected when the running QEMU's command line differs from the unit
    (for example after an earlier run wrote the unit without a restart).
seealso:
  - module: nfv.dpdk.ovs_bridge
  - module: nfv.dpdk.hugepage_pool
"""

EXAMPLES = r"""
- name: Guest on 1G hugepages with a vhost-user NIC (OVS dpdkvhostuserclient port on the same socket)
  nfv.dpdk.qemu_vm:
    name: vm1
    memory: 4G
    vcpus: 2
    hugepages: {size: 1G}
    numa_node: 0
    cpu_affinity: "2-3"
    disks:
      - {path: /var/lib/nfv-qemu/vm1.qcow2, format: qcow2}
    nics:
      - {type: vhost-user, socket: /run/vhost/vm1/net0.sock, mac: "52:54:00:00:00:01", queues: 2,
         rx_queue_size: 1024, tx_queue_size: 1024, packed: true, mtu: 9000}  # OVS port: mtu_request 9000
      - {type: user, forwards: [{host_port: 2201, guest_port: 22}]}

- name: Per-vCPU pinning (libvirt's vcpupin/emulatorpin) - vCPU 0 on CPU 2, vCPU 1 on CPU 3, QEMU's own threads on 0
  nfv.dpdk.qemu_vm:
    name: vnf1
    memory: 2G
    vcpus: 2
    hugepages: {size: 2M}
    vcpu_pins: [2, 3]
    emulator_cpus: "0"
    disks:
      - {path: /var/lib/nfv-qemu/vnf1.qcow2, format: qcow2}

- name: Direct kernel boot on 2M pages, tap NIC on an OVS bridge, vfio passthrough
  nfv.dpdk.qemu_vm:
    name: vm2
    memory: 1G
    hugepages: {size: 2M}
    kernel: /var/lib/nfv-qemu/vmlinuz
    initrd: /var/lib/nfv-qemu/initrd.gz
    append: console=ttyS0
    nics:
      - {type: tap, ifname: tap-vm2, bridge: br-mgmt}
      - {type: vfio, host: "0c:00.3"}

- name: A guest vIOMMU, for DPDK with vfio-pci inside the guest (OVS needs vhost_iommu_support)
  nfv.dpdk.qemu_vm:
    name: vnf2
    memory: 4G
    hugepages: {size: 1G}
    iommu: true
    disks: [{path: /var/lib/nfv-qemu/vnf2.qcow2, format: qcow2}]
    nics:
      - {type: vhost-user, socket: /run/vhost/vnf2/net0.sock}

- name: Apply a changed definition by restarting the guest
  nfv.dpdk.qemu_vm:
    name: vm1
    memory: 4G
    hugepages: {size: 1G}
    disks: [{path: /var/lib/nfv-qemu/vm1.qcow2, format: qcow2}]
    restart_on_change: true

- name: Remove a guest
  nfv.dpdk.qemu_vm:
    name: vm2
    state: absent
"""

RETURN = r"""
unit:
  description: Unit name.
  returned: always
  type: str
  sample: nfv-qemu-vm1.service
unit_path:
  description: Unit file path.
  returned: always
  type: str
  sample: /etc/systemd/system/nfv-qemu-vm1.service
unit_text:
  description: The unit text (as written, or as it would be written in check mode).
  returned: when state is not absent
  type: str
argv:
  description: The exact argv of the unit's ExecStart=.
  returned: when state is not absent
  type: list
  elements: str
accel:
  description: Accelerator in the unit, V(kvm) or V(tcg).
  returned: when state is not absent
  type: str
  sample: tcg
accel_probe:
  description: Verdict of the KVM probe for O(accel=auto) (C(usable), C(reason), C(seconds) the payload took,
    C(cached)), else null.
  returned: when state is not absent
  type: dict
  sample: {"usable": false, "cached": true, "seconds": 11.02, "reason": "QEMU started under KVM, but the guest did
           not finish the probe payload within 10 s (TCG needs well under 1 s): guests hang or crawl under KVM on
           this host"}
macs:
  description: MAC addresses of the guest's virtio NICs in order (given or generated).
  returned: when state is not absent
  type: list
  elements: str
qmp_socket:
  description: QMP socket of the running guest.
  returned: when state is not absent
  type: str
serial_log:
  description: File receiving the guest's serial console (its latest output, at most 4 MiB).
  returned: when state is not absent
  type: str
restart_required:
  description: The unit of a running guest changed and the guest was not restarted.
  returned: always
  type: bool
systemd:
  description: Whether systemd manages units on this host (false means the file was only written).
  returned: always
  type: bool
verify:
  description: C(systemd-analyze verify) result (C(ran), C(output)).
  returned: when state is not absent
  type: dict
active_state:
  description: The unit's ActiveState after the run.
  returned: when systemd runs and not in check mode
  type: str
enabled_state:
  description: The unit's UnitFileState after the run.
  returned: when systemd runs and not in check mode
  type: str
changes:
  description: The plan (key, action, before, after).
  returned: always
  type: list
  elements: dict
journal:
  description: The end of the unit's journal when the guest failed to start.
  returned: on start failure
  type: list
  elements: str
serial_tail:
  description: The last lines of the guest's serial log when the guest failed to start (empty without one).
  returned: on start failure
  type: list
  elements: str
unit_state:
  description: The unit's state after the module stopped a guest that failed to start (C(active), C(sub),
    C(enabled), C(result), C(n_restarts), ...).
  returned: on start failure
  type: dict
"""

from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import run_module
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.vm import QemuVm

FORWARD_SPEC = dict(
    protocol=dict(type="str", choices=["tcp", "udp"], default="tcp"),
    host_address=dict(type="str", default="127.0.0.1"),
    host_port=dict(type="int", required=True),
    guest_port=dict(type="int", required=True),
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["started", "stopped", "present", "absent"], default="started"),
    memory=dict(type="str", default="1G"),
    vcpus=dict(type="int", default=1),
    hugepages=dict(type="dict", options=dict(
        size=dict(type="str", default="2M"),
        path=dict(type="path"),
    )),
    numa_node=dict(type="int"),
    cpu_affinity=dict(type="raw"),
    vcpu_pins=dict(type="list", elements="raw"),
    emulator_cpus=dict(type="raw"),
    kernel=dict(type="path"),
    initrd=dict(type="path"),
    append=dict(type="str"),
    disks=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="path", required=True),
        format=dict(type="str", choices=["raw", "qcow2"], default="raw"),
        readonly=dict(type="bool", default=False),
    )),
    nics=dict(type="list", elements="dict", default=[], options=dict(
        type=dict(type="str", required=True, choices=["vhost-user", "tap", "user", "vfio"]),
        mac=dict(type="str"),
        socket=dict(type="path"),
        queues=dict(type="int", default=1),
        ifname=dict(type="str"),
        bridge=dict(type="str"),
        forwards=dict(type="list", elements="dict", options=FORWARD_SPEC),
        host_access=dict(type="bool", default=False),
        host=dict(type="str"),
        rx_queue_size=dict(type="int"),
        tx_queue_size=dict(type="int"),
        packed=dict(type="bool"),
        mtu=dict(type="int"),
        mrg_rxbuf=dict(type="bool"),
    )),
    accel=dict(type="str", choices=["auto", "kvm", "tcg"], default="auto"),
    accel_probe_cache=dict(type="path", default="/run/nfv-dpdk/kvm-probe.json"),
    machine=dict(type="str", default="q35"),
    iommu=dict(type="bool", default=False),
    restart_on_change=dict(type="bool", default=False),
    enabled=dict(type="bool"),
    user=dict(type="str"),
    group=dict(type="str", default="nfv-qemu"),
    unit_dir=dict(type="path", default="/etc/systemd/system"),
    run_dir=dict(type="path", default="/run/nfv-qemu"),
    helper_dir=dict(type="path", default="/usr/local/libexec/nfv-dpdk"),
    qemu_binary=dict(type="str", default="qemu-system-x86_64"),
    stop_timeout=dict(type="int", default=60),
    start_check_seconds=dict(type="int", default=3),
)


def main():
    run_module(QemuVm, ARGUMENT_SPEC)


if __name__ == "__main__":
    main()
