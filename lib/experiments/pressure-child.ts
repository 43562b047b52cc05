/**
 * The writer of the 'pressure' trigger, in its own process so that only it
 * lives in the memory-limited cgroup and only it can be OOM-killed: joins
 * the cgroup given as argv[2], writes through a page-cache mapping, tells
 * the parent the store's id and the time of the writes, then, on 'go',
 * allocates anonymous memory until the parent says 'stop' (or the kernel
 * kills it). The mapping stays until then, so nothing but reclaim and the
 * flusher can move the dirty pages.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Device } from '../device/device';
import { nativeConstants } from '../device/native';

export interface PressureReady {
  type: 'ready';
  id: string;
  t0: string;
  pages: number;
}

const [cgroup, devicePath, sizeArg, seedArg] = process.argv.slice(2);
if (cgroup === undefined || devicePath === undefined || sizeArg === undefined || seedArg === undefined) {
  process.stderr.write('usage: pressure-child.js CGROUP DEVICE SIZE SEED\n');
  process.exit(2);
}
fs.writeFileSync(path.join(cgroup, 'cgroup.procs'), String(process.pid));

const dev = Device.open(devicePath);
dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: Number(sizeArg) });
dev.fill(1);
const mapping = dev.map();
mapping.touch('read');
mapping.writePattern(Number(seedArg));
const t0 = process.hrtime.bigint();
const id = dev.store({ pages: false }).id;
const ready: PressureReady = {
  type: 'ready',
  id: String(id),
  t0: String(t0),
  pages: Math.ceil(Number(sizeArg) / nativeConstants().PAGE_SIZE),
};
process.send?.(ready);

const hog: Buffer[] = [];
let stop = false;
process.on('message', (m: unknown) => {
  if (m === 'stop') {
    stop = true;
    mapping.unmap();
    dev.close();
    process.disconnect();
  }
  if (m === 'go') {
    const grab = (): void => {
      if (stop || hog.length >= 512) return;
      // 1 MiB at a time, every page touched, so it is really charged.
      hog.push(Buffer.alloc(1 << 20, 1));
      setImmediate(grab);
    };
    grab();
  }
});
