#!/bin/sh
# Install mmaplab.ko on a lab machine with DKMS, once: the module is built
# for the running kernel now and for every kernel installed later, and
# `modprobe mmaplab` loads it. Needs root, dkms and the running kernel's
# headers (Debian/Ubuntu: apt-get install dkms linux-headers-$(uname -r);
# Fedora: dnf install dkms kernel-devel-$(uname -r)).
#
#   sh scripts/lab-install.sh            install for the running kernel
#   sh scripts/lab-install.sh remove     take every version of it off again
#
# MMAPLAB_DKMS_ROOT=DIR keeps everything under DIR and only builds, for the
# kernel named by MMAPLAB_DKMS_KERNEL (what the test suite does).
set -eu
cd "$(dirname "$0")/.."

ACTION=${1:-install}
case "$ACTION" in
install | remove) ;;
*) echo "mmaplab: lab-install.sh takes install (the default) or remove, not '$ACTION'" >&2; exit 2 ;;
esac

VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
[ -n "$VERSION" ] || { echo "mmaplab: no version in package.json" >&2; exit 1; }
command -v dkms >/dev/null || {
	echo "mmaplab: dkms is missing: apt-get install dkms (Debian, Ubuntu) or dnf install dkms (Fedora)" >&2
	exit 1
}

ROOT=${MMAPLAB_DKMS_ROOT:-}
if [ -n "$ROOT" ]; then
	SRC_TREE=$ROOT/src
	mkdir -p "$SRC_TREE" "$ROOT/dkms" "$ROOT/install"
	KERNEL=${MMAPLAB_DKMS_KERNEL:?MMAPLAB_DKMS_KERNEL names the kernel to build for}
	ACTION=build
else
	[ "$(id -u)" = 0 ] || { echo "mmaplab: installing a module needs root: sudo sh scripts/lab-install.sh" >&2; exit 1; }
	SRC_TREE=/usr/src
	KERNEL=$(uname -r)
fi

# dkms with this tree's folders (the system's, or the private ones under ROOT).
dk() {
	if [ -n "$ROOT" ]; then
		dkms "$@" --sourcetree "$SRC_TREE" --dkmstree "$ROOT/dkms" --installtree "$ROOT/install"
	else
		dkms "$@"
	fi
}

# Every registered version goes (an older one would still be rebuilt for new kernels).
for v in $(dk status mmaplab 2>/dev/null | sed -n 's|^mmaplab/\([^,: ]*\).*|\1|p' | sort -u); do
	dk remove "mmaplab/$v" --all || { echo "mmaplab: dkms could not remove mmaplab/$v" >&2; exit 1; }
	rm -rf "$SRC_TREE/mmaplab-$v"
done
if [ "$ACTION" = remove ]; then
	echo "mmaplab: removed"
	exit 0
fi

SRC=$SRC_TREE/mmaplab-$VERSION
rm -rf "$SRC"
mkdir -p "$SRC"
# The sources only: no objects a local build left.
tar -C kmod --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
	--exclude=Module.symvers --exclude=modules.order -cf - . | tar -C "$SRC" -xf -

dk add "mmaplab/$VERSION"
if [ "$ACTION" = build ]; then
	dk build "mmaplab/$VERSION" -k "$KERNEL"
	exit 0
fi
dk install "mmaplab/$VERSION" -k "$KERNEL"
echo "mmaplab: installed for $KERNEL (and built for each kernel installed from now on); load it with: modprobe mmaplab"
