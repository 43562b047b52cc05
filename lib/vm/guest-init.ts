/**
 * The initramfs /init: a busybox script that loads the few modules needed,
 * mounts the host's / read-only over 9p under a tmpfs overlay, mounts the
 * writable run directory, and runs the host-written guest.sh inside that root.
 * No udev: devtmpfs provides /dev/mmaplab as soon as the misc device exists.
 *
 * Its output goes to the serial console (saved by the host); the guest's
 * results travel only through the run directory.
 */
export const HOST_ROOT_TAG = 'hostroot';
export const RUN_DIR_TAG = 'mmaplabrun';
/** Where the run directory appears inside the guest's root. */
export const GUEST_RUN_DIR = '/run/mmaplab';
/** Printed by init when the root is ready, before node starts. */
export const MARK_ROOT_READY = 'mmaplab-init: root ready';

export function initScript(msize: number): string {
  return `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
fail() { echo "mmaplab-init: FAILED: $*"; $B poweroff -f; }
for m in $($B cat /etc/mmaplab-modules); do
  $B insmod /lib/mmaplab-initramfs/$m.ko || fail "insmod $m"
done
$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=${msize},cache=loose,ro \\
  ${HOST_ROOT_TAG} /host || fail "mount host root over 9p"
$B mount -t tmpfs -o mode=0755 rw /rw
$B mkdir -p /rw/upper /rw/work
$B mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work \\
  root /newroot || fail "mount overlay"
$B mount -t proc proc /newroot/proc
$B mount -t sysfs sys /newroot/sys
$B mount -t devtmpfs dev /newroot/dev
# No tmpfs over /tmp or /run: the overlay is already writable, and the
# checkout being tested may live under either on the host.
$B mkdir -p /newroot${GUEST_RUN_DIR}
$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=${msize},cache=none \\
  ${RUN_DIR_TAG} /newroot${GUEST_RUN_DIR} || fail "mount run directory over 9p"
# One memory cgroup, made and removed now: the first one switches the
# kernel's memcg static key on, which patches code that every vCPU runs
# (text_poke_bp). Under multi-threaded TCG another vCPU executing such a
# site mid-patch was seen to oops ("Oops: int3" in __alloc_pages), once, when
# the files run's pressure trigger made its cgroup. Here, before the agent
# is ready, a boot that dies of it is booted again (runJobReady).
$B mount -t cgroup2 none /newroot/sys/fs/cgroup &&
  echo +memory > /newroot/sys/fs/cgroup/cgroup.subtree_control &&
  $B mkdir /newroot/sys/fs/cgroup/mmaplab-boot &&
  $B rmdir /newroot/sys/fs/cgroup/mmaplab-boot ||
  echo "mmaplab-init: no memory cgroup (the pressure trigger will say why)"
echo "${MARK_ROOT_READY} $($B cut -d' ' -f1 /proc/uptime)"
$B chroot /newroot /bin/sh ${GUEST_RUN_DIR}/guest.sh
echo "mmaplab-init: guest.sh exited with $?"
$B sync
$B poweroff -f
`;
}
