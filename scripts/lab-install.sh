#!/bin/sh
# Install mmaplab.ko on a lab machine with DKMS, once: the module is built
# for the running kernel now and for every kernel installed later, and
# `modprobe mmaplab` loads it. Needs root, dkms and the running kernel's
# headers (Debian/Ubuntu: apt-get install dkms linux-headers-$(uname -r);
# Fedora: dnf install dkms kernel-devel-$(uname -r)).
#
#   sh scripts/lab-install.sh            install for the running kernel
#   sh scripts/lab-install.sh remove     take it off again
#
# MMAPLAB_DKMS_ROOT=DIR keeps everything under DIR and only builds, for the
# kernel named by MMAPLAB_DKMS_KERNEL (what the test suite does).
set -eu
cd "$(dirname "$0")/.."

VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
[ -n "$VERSION" ] || { echo "mmaplab: no version in package.json" >&2; exit 1; }
command -v dkms >/dev/null || {
	echo "mmaplab: dkms is missing: apt-get install dkms (Debian, Ubuntu) or dnf install dkms (Fedora)" >&2
	exit 1
}

ROOT=${MMAPLAB_DKMS_ROOT:-}
if [ -n "$ROOT" ]; then
	SRC_TREE=$ROOT/src
	mkdir -p "$ROOT/dkms" "$ROOT/install"
	set -- "${1:-build}"
	TREES="--sourcetree $SRC_TREE --dkmstree $ROOT/dkms --installtree $ROOT/install"
	KERNEL=${MMAPLAB_DKMS_KERNEL:?MMAPLAB_DKMS_KERNEL names the kernel to build for}
else
	[ "$(id -u)" = 0 ] || { echo "mmaplab: installing a module needs root: sudo sh scripts/lab-install.sh" >&2; exit 1; }
	SRC_TREE=/usr/src
	TREES=""
	KERNEL=$(uname -r)
fi
SRC=$SRC_TREE/mmaplab-$VERSION

# Whatever an earlier install of this version left is replaced.
# shellcheck disable=SC2086
dkms remove mmaplab/"$VERSION" --all $TREES >/dev/null 2>&1 || true
[ "${1:-install}" = remove ] && { rm -rf "$SRC"; echo "mmaplab: removed"; exit 0; }

rm -rf "$SRC"
mkdir -p "$SRC"
# The sources only: no objects a local build left.
tar -C kmod --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
	--exclude=Module.symvers --exclude=modules.order -cf - . | tar -C "$SRC" -xf -

# shellcheck disable=SC2086
dkms add mmaplab/"$VERSION" $TREES
if [ "${1:-install}" = build ]; then
	# shellcheck disable=SC2086
	dkms build mmaplab/"$VERSION" -k "$KERNEL" $TREES
	exit 0
fi
# shellcheck disable=SC2086
dkms install mmaplab/"$VERSION" -k "$KERNEL" $TREES
echo "mmaplab: installed for $KERNEL (and built for each kernel installed from now on); load it with: modprobe mmaplab"
