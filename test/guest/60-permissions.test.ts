/**
 * Guest suite: who may open /dev/mmaplab and who may ask for a hazard, on
 * the real module. The node is root's alone (0600) unless the module is
 * loaded with dev_mode; whoever can open it, a hazard needs both
 * allow_hazards=1 and CAP_SYS_ADMIN in the kernel. The unprivileged side runs
 * in child node processes: as nobody (uid and gid 65534, no supplementary
 * groups, no capabilities), or as root with CAP_SYS_ADMIN dropped by
 * setpriv. The only hazard configured for real is never mapped: CONFIGURE
 * then close allocates and frees a vmalloc_user buffer, and the hazard of
 * fault_page_noref (a page handed out without a reference) only exists once
 * a page is faulted in.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConfigureOptions } from '../../lib/device';
import { classifyWindow, currentSeq, readSince } from '../../lib/kmsg';
import { isLoaded, loadModule, moduleParam } from '../../lib/runner/module';
import { koPath } from './ko-path';

const NOBODY = 65534;
const DEVICE = '/dev/mmaplab';
const CAP_SYS_ADMIN = 21;
const SETPRIV = '/usr/bin/setpriv';

const SAFE: ConfigureOptions = { allocator: 'vmalloc_user', technique: 'remap_vmalloc_range', size: 16384 };
/** A hazard whose CONFIGURE and close are harmless: nothing is freed wrongly until a page is faulted in. */
const HAZARD: ConfigureOptions = { allocator: 'vmalloc_user', technique: 'fault_page_noref', size: 16384, hazards: true };

/** The compiled device API the child requires (the host tree is world-readable, 9p shows it as such). */
const DEVICE_API = path.resolve(__dirname, '../../lib/device');

/**
 * The child: opens the node with fs.openSync (no addon involved), then, if
 * that worked, configures each request in its own session and closes it.
 * Prints one JSON line: its effective capabilities, the open's outcome and
 * each request's errno and module reason ('ok' when accepted).
 */
const CHILD = `
const fs = require('node:fs');
const [api, requests] = process.argv.slice(1);
const capEff = /^CapEff:\\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
const out = { uid: process.getuid(), capEff, open: 'ok', configure: {} };
try {
  fs.closeSync(fs.openSync('${DEVICE}', 'r+'));
} catch (err) {
  out.open = err.code;
}
if (out.open === 'ok') {
  const { Device, failureReason } = require(api);
  for (const [name, options] of Object.entries(JSON.parse(requests))) {
    const dev = Device.open();
    try {
      dev.configure(options);
      out.configure[name] = 'ok';
    } catch (err) {
      out.configure[name] = err.code + '/' + (failureReason(err)?.reason ?? '-');
    } finally {
      dev.close();
    }
  }
}
process.stdout.write(JSON.stringify(out));
`;

interface ChildResult {
  uid: number;
  capEff: string;
  open: string;
  configure: Record<string, string>;
}

type As = 'nobody' | 'root-without-sys-admin' | 'root';

function child(as: As, requests: Record<string, ConfigureOptions> = {}): ChildResult {
  const args = ['-e', CHILD, DEVICE_API, JSON.stringify(requests)];
  let cmd = process.execPath;
  let argv = args;
  if (as === 'root-without-sys-admin') {
    assert.ok(fs.existsSync(SETPRIV), `${SETPRIV} (util-linux) is on the host and so in the guest`);
    cmd = SETPRIV;
    argv = ['--inh-caps=-sys_admin', '--bounding-set=-sys_admin', '--', process.execPath, ...args];
  }
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    cwd: '/',
    timeout: 60_000,
    ...(as === 'nobody' ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  assert.equal(r.error, undefined, `cannot run the child as ${as}: ${r.error?.message}`);
  assert.equal(r.status, 0, `the child as ${as} failed (${r.signal ?? r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as ChildResult;
  const hasSysAdmin = (BigInt(`0x${out.capEff}`) >> BigInt(CAP_SYS_ADMIN)) & 1n;
  assert.equal(out.uid, as === 'nobody' ? NOBODY : 0, `the child's uid as ${as}`);
  assert.equal(hasSysAdmin, as === 'root' ? 1n : 0n, `CAP_SYS_ADMIN in the child's CapEff ${out.capEff} as ${as}`);
  return out;
}

function nodeMode(): { mode: number; uid: number; gid: number } {
  const st = fs.statSync(DEVICE);
  assert.ok(st.isCharacterDevice(), `${DEVICE} is a character device`);
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

describe(`permissions of /dev/mmaplab on ${os.release()}`, function () {
  let seq0 = 0;
  before(function () {
    loadModule(koPath(), {});
    seq0 = currentSeq();
  });
  // The rest of the suite expects the module loaded with the defaults.
  after(() => loadModule(koPath(), {}));

  describe('module loaded with the defaults', function () {
    before(() => loadModule(koPath(), {}));

    it('the node is a character device, mode 0600, owned by root:root', function () {
      assert.equal(moduleParam('dev_mode'), String(0o600));
      assert.deepEqual(nodeMode(), { mode: 0o600, uid: 0, gid: 0 });
    });

    it('nobody cannot open it: EACCES', function () {
      assert.equal(child('nobody').open, 'EACCES');
    });
  });

  describe('module loaded with dev_mode=0666, allow_hazards=0', function () {
    before(() => loadModule(koPath(), { dev_mode: '0666' }));

    it('the node is mode 0666, still owned by root:root', function () {
      assert.equal(moduleParam('dev_mode'), String(0o666));
      assert.deepEqual(nodeMode(), { mode: 0o666, uid: 0, gid: 0 });
    });

    it('nobody opens it and configures a safe pair; a hazard is EPERM (hazard-disabled)', function () {
      const r = child('nobody', { safe: SAFE, hazard: HAZARD });
      assert.deepEqual(r, { ...r, open: 'ok', configure: { safe: 'ok', hazard: 'EPERM/hazard-disabled' } });
    });
  });

  describe('module loaded with dev_mode=0666, allow_hazards=1', function () {
    before(() => loadModule(koPath(), { dev_mode: '0666', allow_hazards: '1' }));

    it('nobody configures a safe pair; a hazard is EPERM: no CAP_SYS_ADMIN (hazard-cap)', function () {
      const r = child('nobody', { safe: SAFE, hazard: HAZARD });
      assert.deepEqual(r, { ...r, open: 'ok', configure: { safe: 'ok', hazard: 'EPERM/hazard-cap' } });
    });
  });

  describe('module loaded with allow_hazards=1 (mode 0600)', function () {
    before(() => loadModule(koPath(), { allow_hazards: '1' }));

    it('root without CAP_SYS_ADMIN (setpriv): opens it, a safe pair is accepted, a hazard is EPERM (hazard-cap)', function () {
      const r = child('root-without-sys-admin', { safe: SAFE, hazard: HAZARD });
      assert.deepEqual(r, { ...r, open: 'ok', configure: { safe: 'ok', hazard: 'EPERM/hazard-cap' } });
    });

    it('root with CAP_SYS_ADMIN: the hazard is accepted at CONFIGURE (closed unmapped, nothing else done)', function () {
      const seq = currentSeq();
      const r = child('root', { hazard: HAZARD });
      assert.deepEqual(r, { ...r, open: 'ok', configure: { hazard: 'ok' } });
      const w = readSince(seq);
      assert.ok(
        w.records.some((rec) => /hazard configuration: alloc \d+, method \d+, 16384 bytes/.test(rec.message)),
        `the module logged the hazard configuration\n${w.records.map((rec) => rec.message).join('\n')}`,
      );
      assert.deepEqual(classifyWindow(w.records), [], w.records.map((rec) => rec.message).join('\n'));
    });
  });

  describe('an invalid dev_mode', function () {
    for (const mode of ['04755', '01000', '02660', '0']) {
      it(`dev_mode=${mode}: insmod fails, the module is not loaded, the log names the parameter`, function () {
        const seq = currentSeq();
        assert.throws(
          () => loadModule(koPath(), { dev_mode: mode }),
          (err: Error & { code?: string }) => err.code === 'EMODLOAD',
        );
        assert.equal(isLoaded(), false, 'the module is not loaded');
        assert.equal(fs.existsSync(DEVICE), false, `no ${DEVICE}`);
        const errors = readSince(seq).records.filter((rec) => rec.level <= 3 && /^mmaplab: dev_mode=/.test(rec.message));
        assert.equal(errors.length, 1, 'one pr_err naming dev_mode');
      });
    }

    it('loading with the defaults afterwards works: mode 0600 again', function () {
      loadModule(koPath(), {});
      assert.deepEqual(nodeMode(), { mode: 0o600, uid: 0, gid: 0 });
    });
  });

  // In a describe of its own: mocha runs a suite's own tests before its sub-suites.
  describe('at the end', function () {
    it('the permission tests left no complaint in the log; the module is back with its defaults', function () {
      loadModule(koPath(), {});
      assert.equal(moduleParam('allow_hazards'), 'N');
      assert.deepEqual(nodeMode(), { mode: 0o600, uid: 0, gid: 0 });
      const w = readSince(seq0);
      assert.deepEqual(classifyWindow(w.records), [], w.records.map((r) => r.message).join('\n'));
    });
  });
});
