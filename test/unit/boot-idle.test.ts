/**
 * boot()'s idle clock (lib/vm/qemu.ts) against a stand-in for QEMU on PATH:
 * a shell script that prints console lines on a schedule. The first window
 * (idle.bootMs) covers a cold boot until the first reset line; after it
 * every window is idle.ms again.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { boot, QEMU, type BootSpec } from '../../lib/vm/qemu';

/** `qemu-system-x86_64 --version`, which boot() asks before it starts a VM. */
const VERSION = 'if [ "$1" = --version ]; then echo "QEMU emulator version 0 (a stand-in)"; exit 0; fi\n';

/** The console the stand-in prints: boots quietly for 0.8 s, then the agent and two cells 0.2 s apart. */
const SLOW_BOOT = `#!/bin/sh
${VERSION}sleep 0.8
echo agent-ready
sleep 0.2
echo cell-done
sleep 0.2
echo cell-done
exit 0
`;

/** Boots quietly for 0.8 s, starts the agent, then goes quiet for good (short sleeps: a kill ends it at once). */
const WEDGED_AFTER_BOOT = `#!/bin/sh
${VERSION}sleep 0.8
echo agent-ready
while :; do sleep 0.1; done
`;

describe('boot(): the idle clock of a cold boot', function () {
  this.timeout(20_000);
  let dir: string;
  let savedPath: string | undefined;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-fake-qemu-'));
    savedPath = process.env.PATH;
  });
  after(function () {
    process.env.PATH = savedPath;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function run(script: string, idle: NonNullable<BootSpec['idle']>, name: string) {
    const bin = path.join(dir, `bin-${name}`);
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, QEMU), script, { mode: 0o755 });
    process.env.PATH = `${bin}:${savedPath ?? ''}`;
    return boot({
      image: { path: path.join(dir, 'no-bzImage'), kind: 'bzimage' },
      initramfs: path.join(dir, 'no-initramfs'),
      runDir: path.join(dir, `run-${name}`),
      accel: 'tcg',
      cpus: 1,
      memoryMb: 64,
      timeoutMs: 10_000,
      marks: ['agent-ready', 'cell-done'],
      idle,
    });
  }

  it('without a boot window, a boot quieter than idle.ms is ended as a hang', async function () {
    const o = await run(SLOW_BOOT, { ms: 500, resetOn: ['agent-ready', 'cell-done'] }, 'no-window');
    assert.equal(o.end, 'timeout');
    assert.equal(o.marks['agent-ready'], undefined, 'killed before the agent started');
  });

  it('with idle.bootMs the same boot runs to its end, each later window idle.ms', async function () {
    const o = await run(SLOW_BOOT, { ms: 500, bootMs: 2000, resetOn: ['agent-ready', 'cell-done'] }, 'window');
    assert.equal(o.end, 'exited');
    assert.equal(o.qemuStatus, 0);
    assert.ok(o.marks['cell-done'] !== undefined, 'the cells were seen');
  });

  it('after the first reset line the window is idle.ms again: a guest wedged after its boot is ended within it', async function () {
    const o = await run(WEDGED_AFTER_BOOT, { ms: 500, bootMs: 5000, resetOn: ['agent-ready', 'cell-done'] }, 'wedged');
    assert.equal(o.end, 'timeout');
    const ready = o.marks['agent-ready'];
    assert.ok(ready !== undefined);
    assert.ok(o.durationMs < ready + 3000, `ended ${o.durationMs - ready} ms after the agent's start, not after the 5 s boot window`);
  });
});
