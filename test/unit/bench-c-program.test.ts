/**
 * The addon-overhead benchmark's C program: built on the host into a cache
 * named after its content, a clear error with the compiler's output when it
 * does not build. (Running it needs the device: the guest suite does.)
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildCycleProgram, CYCLE_PROGRAM_SOURCE } from '../../lib/bench/c-program';
import { MmaplabError } from '../../lib/util/errors';
import { thrown } from './device-asserts';

describe('bench cycle program (lib/bench/c-program.ts)', function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-cycle-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('compiles native/bench-cycle.c once into the cache, named by its content hash', () => {
    const out = buildCycleProgram({ outDir: dir });
    assert.match(path.basename(out), /^bench-cycle-[0-9a-f]{16}$/);
    assert.equal(path.dirname(out), dir);
    assert.ok(fs.statSync(out).mode & 0o100, 'executable');
    const mtime = fs.statSync(out).mtimeMs;
    assert.equal(buildCycleProgram({ outDir: dir }), out, 'the same source gives the same path');
    assert.equal(fs.statSync(out).mtimeMs, mtime, 'not compiled again');
    assert.deepEqual(fs.readdirSync(dir), [path.basename(out)], 'no temporary file left behind');
  });

  it('the program checks its arguments and names what fails', () => {
    const out = buildCycleProgram({ outDir: dir });
    const usage = spawnSync(out, [], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage: bench-cycle SIZE CYCLES/);
    const bad = spawnSync(out, ['4096', '0'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /CYCLES must be an integer/);
    // Not the device: CONFIGURE fails, and says so.
    const notDevice = spawnSync(out, ['4096', '1', '/dev/null'], { encoding: 'utf8' });
    assert.equal(notDevice.status, 1);
    assert.match(notDevice.stderr, /^bench-cycle: CONFIGURE: /);
  });

  it('a source that does not compile is an ECOMPILE error carrying the compiler output', () => {
    const source = path.join(dir, 'broken.c');
    fs.writeFileSync(source, 'int main(void) { return undeclared_name; }\n');
    const err = thrown(() => buildCycleProgram({ source, outDir: dir }));
    assert.ok(err instanceof MmaplabError, String(err));
    assert.equal(err.code, 'ECOMPILE');
    assert.match(err.message, /undeclared_name/);
    assert.match(String(err.details['output']), /error/);
    assert.deepEqual(fs.readdirSync(dir), ['broken.c'], 'no binary or temporary file left behind');
  });

  it('a compiler that cannot run, or a missing source, is an ECOMPILE error too', () => {
    const noCc = thrown(() => buildCycleProgram({ cc: path.join(dir, 'no-such-cc'), outDir: dir }));
    assert.ok(noCc instanceof MmaplabError && noCc.code === 'ECOMPILE', String(noCc));
    assert.match(noCc.message, /cannot run/);
    const noSource = thrown(() => buildCycleProgram({ source: path.join(dir, 'missing.c'), outDir: dir }));
    assert.ok(noSource instanceof MmaplabError && noSource.code === 'ECOMPILE', String(noSource));
  });

  it('the default source is the one in native/', () => {
    assert.ok(fs.existsSync(CYCLE_PROGRAM_SOURCE), CYCLE_PROGRAM_SOURCE);
    assert.equal(path.basename(path.dirname(CYCLE_PROGRAM_SOURCE)), 'native');
  });
});
