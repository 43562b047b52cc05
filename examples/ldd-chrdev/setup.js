// The same preparation as setup.json, as a hook: mmaplab check --setup setup.js
// runs this on every descriptor it opens, before it maps.
const MMAP_LDD_ALLOC = 0x40086d01; // _IOW('m', 1, __u64)

module.exports = (fd, dev) => {
  const size = new Uint8Array(8);
  new DataView(size.buffer).setBigUint64(0, 16384n, true); // the buffer's bytes, little-endian
  dev.ioctl(MMAP_LDD_ALLOC, size);
};
