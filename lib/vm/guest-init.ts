/**
 * The initramfs /init: a busybox script that loads the few modules needed,
 * builds the guest's root as a tmpfs overlay over a read-only lower layer and
 * starts the guest agent inside it. No udev: devtmpfs provides /dev/mmaplab
 * as soon as the misc device exists. Two roots, chosen by the kernel command
 * line:
 *
 * - cold boot (default): the lower layer is the host's / over 9p; init mounts
 *   the writable run directory and runs the host-written guest.sh.
 * - `mmaplab.root=image`, the template a VM is saved from (lib/vm/template):
 *   the lower layer is the runtime image on /dev/vda (9p would block the
 *   save), nothing of the host is mounted, and the agent starts with
 *   `--template`: it waits on its control port, where every restored copy
 *   receives its job and mounts its own run directory.
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
/** The kernel command-line word that makes init build the root from the runtime image. */
export const IMAGE_ROOT_WORD = 'mmaplab.root=image';
/** The modules (beyond the common ones) that only the image root loads, listed in this initramfs file. */
export const IMAGE_MODULES_FILE = 'etc/mmaplab-modules-image';

/**
 * /init. `templateAgent` is the command (in the image root) that starts the
 * agent in template mode; null when this kernel cannot have an image root
 * (a module it needs is missing), and then `mmaplab.root=image` fails loudly.
 */
export function initScript(msize: number, templateAgent: string | null = null): string {
  const imageRoot =
    templateAgent === null
      ? `  fail "this initramfs has no image root (a module it needs is missing)"`
      : `  for m in $($B cat /${IMAGE_MODULES_FILE}); do
    $B insmod /lib/mmaplab-initramfs/$m.ko || fail "insmod $m"
  done
  i=0
  while [ ! -b /dev/vda ]; do
    i=$((i+1)); [ $i -gt 500 ] && fail "no /dev/vda (the runtime image)"
    $B usleep 10000
  done
  $B mount -t ext4 -o ro /dev/vda /host || fail "mount the runtime image (ext4, ro)"`;
  return `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
fail() { echo "mmaplab-init: FAILED: $*"; $B poweroff -f; }
ROOT=9p
$B grep -qw ${IMAGE_ROOT_WORD} /proc/cmdline && ROOT=image
for m in $($B cat /etc/mmaplab-modules); do
  $B insmod /lib/mmaplab-initramfs/$m.ko || fail "insmod $m"
done
if [ $ROOT = image ]; then
${imageRoot}
else
  $B mount -t 9p -o trans=virtio,version=9p2000.L,msize=${msize},cache=loose,ro \\
    ${HOST_ROOT_TAG} /host || fail "mount host root over 9p"
fi
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
# The template's run directory is mounted by each restored copy's agent.
[ $ROOT = image ] || $B mount -t 9p -o trans=virtio,version=9p2000.L,msize=${msize},cache=none \\
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
if [ $ROOT = image ]; then
  $B chroot /newroot ${templateAgent ?? 'false'}
else
  $B chroot /newroot /bin/sh ${GUEST_RUN_DIR}/guest.sh
fi
echo "mmaplab-init: the agent exited with $?"
$B sync
$B poweroff -f
`;
}
