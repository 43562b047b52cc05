/**
 * The child half of runIsolated(): argv[2] is the plan (JSON), argv[3] the
 * progress file. Runs the plan's steps on one mapping; before each step it
 * stores the step index in the progress file, and page loops store the page
 * they are on, so a death by signal still says where it happened. Each
 * finished step prints {"result": ...} on stdout; a JavaScript exception
 * prints {"error": {code, message}} and exits with status 3.
 */
import * as fs from 'node:fs';
import { Device } from './device';
import { checkPlanArgument } from './isolated-schema';
import { mapFd, type Mapping } from './mapping';
import { native, nativeConstants } from './native';
import { mapProgressFile } from './progress';

function emit(msg: unknown): void {
  fs.writeSync(1, `${JSON.stringify(msg, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n`);
}

function main(): void {
  const plan = checkPlanArgument(
    JSON.parse(process.argv[2] ?? '', (_k, v: unknown) => (typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)),
  );
  const { step, page } = mapProgressFile(process.argv[3] ?? '');

  let dev: Device | null = null;
  let map: Mapping;
  if (plan.configure !== undefined) {
    dev = Device.open(plan.path);
    dev.configure(plan.configure);
    map = dev.map(plan.map);
  } else {
    const fd = native().open(plan.path, nativeConstants().sys.O_RDWR);
    map = mapFd(fd, plan.map.length, plan.map);
    native().close(fd);
  }

  for (const [i, s] of plan.steps.entries()) {
    step[0] = i;
    page[0] = -1;
    let result: unknown = null;
    switch (s.op) {
      case 'touch':
        result = map.touch(s.mode, page);
        break;
      case 'write-pattern':
        map.writePattern(s.seed, page);
        break;
      case 'check-pattern':
        result = map.checkPattern(s.seed, page);
        break;
      case 'protect':
        map.protect(s.prot);
        break;
      case 'advise-dontneed':
        map.advise('dontneed');
        break;
      case 'unmap-raw':
        native().unsafeMunmapKeepingBuffer(map.buffer);
        break;
      case 'free-while-mapped':
        need(dev, s.op).freeWhileMapped();
        break;
      case 'fill':
        need(dev, s.op).fill(s.seed);
        break;
      case 'verify':
        result = need(dev, s.op).verify(s.seed);
        break;
    }
    emit({ result });
  }
  step[0] = -1;
}

function need(dev: Device | null, op: string): Device {
  if (dev === null) throw new Error(`${op} needs the device (a plan with configure)`);
  return dev;
}

try {
  main();
} catch (err) {
  const e = err as { code?: unknown; message?: unknown };
  emit({ error: { code: typeof e.code === 'string' ? e.code : null, message: String(e.message ?? err) } });
  process.exitCode = 3;
}
