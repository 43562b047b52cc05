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
 *
 * With dev_mode=0666 users share the node but not their data: a backing
 * store (page_cache here) is read by id only by its owner, the euid that
 * opened the session which created it, or by a session opened with
 * CAP_SYS_ADMIN; anyone else gets EPERM, reason not-owner. A second
 * unprivileged user (uid and gid 65533, no groups) is made by setpriv.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Device, type ConfigureOptions } from '../../lib/device';
import { classifyWindow, currentSeq, readSince } from '../../lib/kmsg';
import { isLoaded, loadModule, moduleParam } from '../../lib/runner/module';
import { CHILD_START_TIMEOUT_MS } from '../../lib/util/child';
import { koPath } from './ko-path';

const NOBODY = 65534;
/** A second unprivileged user, for "another user's store": no passwd entry needed. */
const OTHER_USER = 65533;
const DEVICE = '/dev/mmaplab';
const CAP_SYS_ADMIN = 21;
const SETPRIV = '/usr/bin/setpriv';

const SAFE: ConfigureOptions = { alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 16384 };
/** A hazard whose CONFIGURE and close are harmless: nothing is freed wrongly until a page is faulted in. */
const HAZARD: ConfigureOptions = { alloc: 'vmalloc_user', method: 'fault_page_noref', size: 16384, hazards: true };

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

type As = 'nobody' | 'other-user' | 'root-without-sys-admin' | 'root';

const UID_AS: Readonly<Record<As, number>> = { nobody: NOBODY, 'other-user': OTHER_USER, 'root-without-sys-admin': 0, root: 0 };

/** setpriv's options for the identities it makes; nobody comes from spawn's uid and gid. */
const SETPRIV_AS: Partial<Readonly<Record<As, string[]>>> = {
  'root-without-sys-admin': ['--inh-caps=-sys_admin', '--bounding-set=-sys_admin'],
  'other-user': ['--reuid', String(OTHER_USER), '--regid', String(OTHER_USER), '--clear-groups'],
};

/**
 * Runs `script` in a child node as `as` (its argv: the device API, then
 * `args`) and returns the JSON line it printed, after checking that the
 * child really had that uid and had CAP_SYS_ADMIN exactly as root.
 */
function runAs<R extends { uid: number; capEff: string }>(as: As, script: string, args: string[]): R {
  let cmd = process.execPath;
  let argv = ['-e', script, DEVICE_API, ...args];
  const drop = SETPRIV_AS[as];
  if (drop !== undefined) {
    assert.ok(fs.existsSync(SETPRIV), `${SETPRIV} (util-linux) is on the host and so in the guest`);
    cmd = SETPRIV;
    argv = [...drop, '--', process.execPath, ...argv];
  }
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    cwd: '/',
    timeout: CHILD_START_TIMEOUT_MS,
    ...(as === 'nobody' ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  assert.equal(r.error, undefined, `cannot run the child as ${as}: ${r.error?.message}`);
  assert.equal(r.status, 0, `the child as ${as} failed (${r.signal ?? r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as R;
  const hasSysAdmin = (BigInt(`0x${out.capEff}`) >> BigInt(CAP_SYS_ADMIN)) & 1n;
  assert.equal(out.uid, UID_AS[as], `the child's uid as ${as}`);
  assert.equal(hasSysAdmin, as === 'root' ? 1n : 0n, `CAP_SYS_ADMIN in the child's CapEff ${out.capEff} as ${as}`);
  return out;
}

function child(as: As, requests: Record<string, ConfigureOptions> = {}): ChildResult {
  return runAs<ChildResult>(as, CHILD, [JSON.stringify(requests)]);
}

/** The size of the stores the ownership tests make, and the seed of what is written to them. */
const STORE_SIZE = 4 * 4096;
const STORE_SEED = 0x6001;

/**
 * The store child, one session: 'create' configures a page_cache session,
 * writes the pattern through its shared mapping, fsyncs, unmaps and closes
 * (so the store is kept, closed) and prints the store's id and the sha256
 * of what it wrote; 'read' asks for a store by id and prints either its
 * sha256 and open flag or the refusal's errno and module reason.
 */
const STORE_CHILD = `
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const [api, op, arg] = process.argv.slice(1);
const { Device, failureReason } = require(api);
const capEff = /^CapEff:\\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const out = { uid: process.getuid(), capEff };
const dev = Device.open();
try {
  if (op === 'create') {
    dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: ${STORE_SIZE} });
    const m = dev.map();
    m.writePattern(${STORE_SEED});
    dev.fsync();
    out.id = String(dev.store({ pages: false }).id);
    out.sha256 = sha256(Buffer.from(m.buffer, 0, m.length));
    m.unmap();
  } else {
    try {
      const st = dev.store({ id: BigInt(arg), data: true, pages: false });
      out.read = 'ok';
      out.open = st.open;
      out.sha256 = sha256(st.data);
    } catch (err) {
      out.read = err.code + '/' + (failureReason(err)?.reason ?? '-');
    }
  }
} finally {
  dev.close();
}
process.stdout.write(JSON.stringify(out));
`;

interface StoreChildResult {
  uid: number;
  capEff: string;
  /** create */
  id?: string;
  /** create: of the bytes written; read: of the bytes read */
  sha256?: string;
  /** read: 'ok' or 'ERRNO/reason' */
  read?: string;
  open?: boolean;
}

/** `as` creates a kept page_cache store: its id and the sha256 of its bytes. */
function createStore(as: As): { id: bigint; sha256: string } {
  const r = runAs<StoreChildResult>(as, STORE_CHILD, ['create']);
  assert.ok(r.id !== undefined && r.sha256 !== undefined, `the store child as ${as} created a store: ${JSON.stringify(r)}`);
  return { id: BigInt(r.id), sha256: r.sha256 };
}

/** `as`, in a session of its own, asks for store `id`. */
function readStore(as: As, id: bigint): StoreChildResult {
  return runAs<StoreChildResult>(as, STORE_CHILD, ['read', String(id)]);
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

  describe('module loaded with dev_mode=0666: a store is read by id only by its owner or with CAP_SYS_ADMIN', function () {
    let seq = 0;
    /** nobody's kept store, made by the first test. */
    let kept: { id: bigint; sha256: string } | undefined;
    const keptStore = (): { id: bigint; sha256: string } => {
      assert.ok(kept, "nobody's store was created by the first test of this block");
      return kept;
    };

    before(function () {
      loadModule(koPath(), { dev_mode: '0666' });
      seq = currentSeq();
    });

    it('nobody (uid 65534) creates a page_cache store, writes it through its mapping, fsyncs and closes: the store is kept', function () {
      kept = createStore('nobody');
      assert.ok(kept.id > 0n, `store id ${kept.id}`);
      // Root (CAP_SYS_ADMIN) sees that the session is gone and the store kept.
      using dev = Device.open();
      const st = dev.store({ id: kept.id, pages: false });
      assert.equal(st.open, false, 'its session is closed');
      assert.equal(st.size, BigInt(STORE_SIZE));
    });

    it('another unprivileged uid (65533, setpriv) asking for that store by id is refused: EPERM (not-owner)', function () {
      const r = readStore('other-user', keptStore().id);
      assert.equal(r.read, 'EPERM/not-owner');
      assert.equal(r.sha256, undefined, 'no bytes came back');
    });

    it('its owner, nobody, reads it by id from a new session after the close: the bytes written through the mapping', function () {
      const { id, sha256 } = keptStore();
      const r = readStore('nobody', id);
      assert.deepEqual(r, { ...r, read: 'ok', open: false, sha256 });
    });

    it('root without CAP_SYS_ADMIN (setpriv) is refused the store it does not own: EPERM (not-owner)', function () {
      assert.equal(readStore('root-without-sys-admin', keptStore().id).read, 'EPERM/not-owner');
    });

    it('root with CAP_SYS_ADMIN reads it by id: the same bytes', function () {
      const { id, sha256 } = keptStore();
      const r = readStore('root', id);
      assert.deepEqual(r, { ...r, read: 'ok', open: false, sha256 });
    });

    it("an open store too: root's open session's store is EPERM (not-owner) for uid 65533; root without CAP_SYS_ADMIN (same euid 0) reads it; id 0 reads it", function () {
      using dev = Device.open();
      dev.configure({ alloc: 'vmalloc', method: 'page_cache', size: STORE_SIZE });
      using m = dev.map();
      m.writePattern(STORE_SEED + 1);
      dev.fsync();
      const sha256 = createHash('sha256')
        .update(Buffer.from(m.buffer, 0, m.length))
        .digest('hex');
      const own = dev.store({ data: true, pages: false });
      assert.equal(own.open, true);
      assert.equal(createHash('sha256').update(own.data).digest('hex'), sha256, 'id 0: the session reads its own store');

      assert.equal(readStore('other-user', own.id).read, 'EPERM/not-owner');
      const r = readStore('root-without-sys-admin', own.id);
      assert.deepEqual(r, { ...r, read: 'ok', open: true, sha256 }, 'the owner is a uid: root without the capability is still uid 0');
    });

    it('the ownership tests left no complaint in the kernel log', function () {
      const w = readSince(seq);
      assert.deepEqual(classifyWindow(w.records), [], w.records.map((rec) => rec.message).join('\n'));
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
        w.records.some((rec) => /hazard configuration: alloc \d+, method \d+, flags (?:0x[0-9a-f]+|0), 16384 bytes/.test(rec.message)),
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
