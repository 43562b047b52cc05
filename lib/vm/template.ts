/**
 * Boot once, restore many. A template is a VM booted to a waiting agent and
 * saved: its RAM in a file (memory-backend-file, share=on) and its device
 * state in a small stream file, saved with QEMU's x-ignore-shared migration
 * capability so the RAM stays out of the stream. A restored copy maps the
 * same RAM file copy-on-write (share=off), loads the stream with
 * `-incoming defer` + migrate-incoming, resumes, and gets its job on the
 * control port: a fresh kernel in a fraction of a cold boot.
 *
 * Templates are cached like the vmlinux and initramfs: keyed by everything
 * that went into them, verified before use (the stream's sha256, the RAM
 * file's size and mtime), rebuilt when stale or corrupt. Nothing 9p is
 * mounted in a template (a mounted 9p export blocks migration): its root is
 * the runtime image (lib/vm/runtime-image) on a read-only virtio-blk disk.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v from 'valibot';
import { cacheDir } from '../paths';
import { MmaplabError } from '../util/errors';
import { cacheProblem, sealFile } from '../util/verified-cache';
import { jsonOf } from '../util/schema';
import { ControlPort } from './control-port';
import { MSIZE, ensureInitramfs, imageRootMissing, planInitramfs } from './initramfs';
import type { Kernel } from './kernels';
import { Qmp, qmpText, sleep } from './qmp';
import { boot, type BootOutcome, type BootSpec } from './qemu';
import { isAlive, runtimeImage } from './runtime-image';
import { ensureBootImage, type BootImage } from './vmlinux';

/** Bump when how a template is made or restored changes: every cached one becomes stale. */
export const TEMPLATE_VERSION = 1;
/** From QEMU's start to the template's agent waiting (a cold boot, with room for a busy host). */
export const TEMPLATE_READY_MS = 120_000;
/** Saving (the stream is under a MiB) or loading a state. */
export const MIGRATE_MS = 60_000;
/** A restored agent's answer to its order (mounting the run directory). */
export const RESUMED_MS = 30_000;
/** A template's QEMU process-wide VM budget: boot, wait and save. */
const TEMPLATE_VM_MS = TEMPLATE_READY_MS + MIGRATE_MS + 30_000;
/** migrate-set-parameters max-bandwidth, bytes/s (QEMU 7.2's default is 128 MiB/s). */
const MAX_BANDWIDTH = 64 * 2 ** 30;

/** The VM shape a template is saved with; a restored copy must have the same. */
export interface TemplateShape {
  accel: 'tcg' | 'kvm';
  cpus: number;
  memoryMb: number;
  bootPath: 'vmlinux' | 'bzimage';
  /** Kernel command-line words beyond the defaults (boot profile, debug options). */
  cmdline: readonly string[];
}

const TemplateMetaSchema = v.object({
  version: v.number(),
  key: v.string(),
  kernel: v.string(),
  stateBytes: v.number(),
  ramBytes: v.number(),
  ramMtimeMs: v.number(),
  /** ms from QEMU's start to template-ready, and to the saved state. */
  readyMs: v.number(),
  savedMs: v.number(),
  createdAt: v.string(),
});
export type TemplateMeta = v.InferOutput<typeof TemplateMetaSchema>;

/** A template's meta.json: its content, or why it cannot be used ('missing', 'unreadable meta.json (...)'). */
function readTemplateMeta(dir: string): { value: TemplateMeta } | { problem: string } {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, META_FILE), 'utf8');
  } catch (err) {
    return { problem: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable meta.json' };
  }
  const read = jsonOf(TemplateMetaSchema, text);
  return 'problem' in read ? { problem: `unreadable meta.json (${read.problem})` } : read;
}

export interface Template {
  key: string;
  dir: string;
  state: string;
  ram: string;
  image: BootImage;
  /** Every command-line word it booted with (the kernel's, then the shape's). */
  cmdline: readonly string[];
  initramfs: string;
  runtimeImage: string;
  shape: TemplateShape;
  meta: TemplateMeta;
  /** True when this call built it (a cold boot and a save), false when it came from the cache. */
  built: boolean;
}

export const STATE_FILE = 'state';
export const RAM_FILE = 'ram';
export const META_FILE = 'meta.json';

export function templatesDir(): string {
  return path.join(cacheDir(), 'templates');
}

/** The cache key: everything that goes into the saved VM. */
export function templateKey(parts: {
  kernel: string;
  image: string;
  initramfs: string;
  runtimeKey: string;
  qemu: string;
  shape: TemplateShape;
}): string {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ v: TEMPLATE_VERSION, ...parts }));
  return h.digest('hex').slice(0, 16);
}

/** Why the template in `dir` cannot be used for `key`, or null when it can. */
export function templateProblem(dir: string, key: string, memoryMb: number): string | null {
  const read = readTemplateMeta(dir);
  if ('problem' in read) return read.problem;
  const meta = read.value;
  if (meta.version !== TEMPLATE_VERSION || meta.key !== key) return 'made by another version or for other inputs';
  const state = cacheProblem(path.join(dir, STATE_FILE));
  if (state !== null) return `saved state: ${state}`;
  let ram: fs.Stats;
  try {
    ram = fs.statSync(path.join(dir, RAM_FILE));
  } catch {
    return 'RAM file missing';
  }
  if (ram.size !== memoryMb * 2 ** 20 || ram.size !== meta.ramBytes) return `RAM file size ${ram.size}, expected ${meta.ramBytes}`;
  if (ram.mtimeMs !== meta.ramMtimeMs) return 'RAM file changed since it was saved';
  return null;
}

/** Where the log line about templates goes (tests replace it). */
export const templateLog = {
  write: (line: string): void => {
    process.stderr.write(`mmaplab: ${line}\n`);
  },
};

/** A short-lived directory for unix sockets (their paths are limited to 107 bytes). */
function socketDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-vm-'));
}

/** Polls query-migrate until the outgoing migration completed; throws if it failed. */
async function migrationCompleted(qmp: Qmp, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + MIGRATE_MS;
  for (;;) {
    const info = await qmp.exec('query-migrate');
    const status = qmpText(info['status'], 'none');
    if (status === 'completed') return;
    if (status === 'failed' || status === 'cancelled') {
      throw new MmaplabError('ERESTORE', `saving the VM failed: ${qmpText(info['error-desc'], status)}`);
    }
    if (!alive() || Date.now() > deadline) throw new MmaplabError('ERESTORE', `saving the VM did not complete (${status})`);
    await sleep(10);
  }
}

/** On a restored copy: waits while the state loads (the guest was saved stopped, so it arrives paused). */
async function incomingLoaded(qmp: Qmp, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + MIGRATE_MS;
  for (;;) {
    const mig = await qmp.exec('query-migrate');
    if (mig['status'] === 'failed') {
      throw new MmaplabError('ERESTORE', `loading the saved state failed: ${qmpText(mig['error-desc'], 'failed')}`);
    }
    const st = await qmp.exec('query-status');
    if (st['status'] !== 'inmigrate') return;
    if (!alive() || Date.now() > deadline) throw new MmaplabError('ERESTORE', 'the saved state did not load');
    await sleep(5);
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface TemplateInputs {
  image: BootImage;
  /** The kernel's own command-line words (a built kernel's profile), then the shape's. */
  cmdline: readonly string[];
  initramfs: string;
  runtimeImage: string;
  key: string;
}

/** The inputs of the template for this kernel and shape (builds the boot image, initramfs and runtime image if needed). */
export function templateInputs(kernel: Kernel, shape: TemplateShape, qemu: string): TemplateInputs {
  const missing = imageRootMissing(planInitramfs(kernel));
  if (missing !== null) throw new MmaplabError('ERESTORE', `${kernel.release} cannot be restored: ${missing}`);
  const image = ensureBootImage(kernel, shape.bootPath);
  const initramfs = ensureInitramfs(kernel);
  const rt = runtimeImage();
  const key = templateKey({ kernel: kernel.release, image: image.path, initramfs, runtimeKey: rt.key, qemu, shape });
  return { image, cmdline: [...(kernel.cmdline ?? []), ...shape.cmdline], initramfs, runtimeImage: rt.path, key };
}

function templateOf(dir: string, inputs: TemplateInputs, shape: TemplateShape, built: boolean): Template {
  const read = readTemplateMeta(dir);
  if ('problem' in read) throw new MmaplabError('ERESTORE', `template ${dir}: ${read.problem}`);
  const meta = read.value;
  return {
    key: inputs.key,
    dir,
    state: path.join(dir, STATE_FILE),
    ram: path.join(dir, RAM_FILE),
    image: inputs.image,
    cmdline: inputs.cmdline,
    initramfs: inputs.initramfs,
    runtimeImage: inputs.runtimeImage,
    shape,
    meta,
    built,
  };
}

/**
 * Removes a template (stale, corrupt or refused): the next use builds it
 * again. With `createdAt`, only the save made then: a newer one in its
 * place (another job or process saved it again meanwhile) stays.
 */
export function discardTemplate(dir: string, createdAt?: string): void {
  if (createdAt !== undefined) {
    const read = readTemplateMeta(dir);
    // no readable meta: nothing worth keeping
    if ('value' in read && read.value.createdAt !== createdAt) return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

export interface SaveResult {
  outcome: BootOutcome;
  template: Template | null;
}

/**
 * Boots a template VM and saves it into the cache. `runDir` keeps its
 * console. Resolves with the template, or null and the boot's outcome when
 * it never got saved (the caller says why and falls back).
 */
export async function saveTemplate(
  kernel: Kernel,
  shape: TemplateShape,
  inputs: TemplateInputs,
  runDir: string,
  options: { prune?: boolean } = {},
): Promise<SaveResult> {
  const final = path.join(templatesDir(), inputs.key);
  const tmp = `${final}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp, { recursive: true });
  const sockets = socketDir();
  try {
    const saved = await saveInto(kernel, shape, inputs, runDir, { final, tmp, sockets });
    // Bench templates (prune: false) are discarded by their maker and must not evict the others.
    if (saved.template !== null && options.prune !== false) pruneTemplates();
    return saved;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    fs.rmSync(sockets, { recursive: true, force: true });
  }
}

/** When the template VM was ready and when its state was saved, in ms after its boot began (0: not yet). */
interface SaveTimes {
  readyMs: number;
  savedMs: number;
}

/**
 * The template VM's afterSpawn: once its agent says it is ready, the VM is
 * stopped, its device state migrated to `state` (the RAM stays in its
 * shared file) and QEMU told to quit.
 */
function saveWhenReady(
  control: ControlPort,
  qmpSocket: string,
  state: string,
  t0: number,
  times: SaveTimes,
): (alive: () => boolean) => Promise<void> {
  return async (alive) => {
    await control.expect('template-ready', TEMPLATE_READY_MS, alive);
    times.readyMs = Date.now() - t0;
    const qmp = await Qmp.connect(qmpSocket, MIGRATE_MS, alive);
    try {
      await qmp.exec('stop');
      await qmp.exec('migrate-set-capabilities', {
        capabilities: [{ capability: 'x-ignore-shared', state: true }],
      });
      await qmp.exec('migrate-set-parameters', { 'max-bandwidth': MAX_BANDWIDTH });
      const partial = `${state}.partial`;
      await qmp.exec('migrate', { uri: `exec:cat > ${shellQuote(partial)} && mv ${shellQuote(partial)} ${shellQuote(state)}` });
      await migrationCompleted(qmp, alive);
      times.savedMs = Date.now() - t0;
      await qmp.exec('quit').catch(() => undefined); // QEMU may close the socket before it answers
    } finally {
      qmp.close();
    }
  };
}

/** The template VM's boot: the runtime image as its root, its RAM in a shared file, the control port and QMP. */
function templateSpec(
  shape: TemplateShape,
  inputs: TemplateInputs,
  runDir: string,
  wiring: { ram: string; controlSocket: string; qmpSocket: string },
  afterSpawn: BootSpec['afterSpawn'],
): BootSpec {
  return {
    image: inputs.image,
    initramfs: inputs.initramfs,
    runDir,
    accel: shape.accel,
    cpus: shape.cpus,
    memoryMb: shape.memoryMb,
    timeoutMs: TEMPLATE_VM_MS,
    cmdline: [...inputs.cmdline],
    snapshot: {
      runtimeImage: inputs.runtimeImage,
      ramFile: wiring.ram,
      share: true,
      controlSocket: wiring.controlSocket,
      qmpSocket: wiring.qmpSocket,
      incoming: false,
    },
    afterSpawn,
  };
}

/** The saved state and RAM sealed and described in META_FILE, in the temporary directory. */
function writeMeta(kernel: Kernel, inputs: TemplateInputs, tmp: string, files: { state: string; ram: string }, times: SaveTimes): void {
  const sealed = sealFile(files.state);
  const ramStat = fs.statSync(files.ram);
  const meta: TemplateMeta = {
    version: TEMPLATE_VERSION,
    key: inputs.key,
    kernel: kernel.release,
    stateBytes: sealed.size,
    ramBytes: ramStat.size,
    ramMtimeMs: ramStat.mtimeMs,
    readyMs: times.readyMs,
    savedMs: times.savedMs,
    createdAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(tmp, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
}

/** The temporary directory renamed to its final name; whether a usable template is there (ours, or one another process saved first). */
function moveIntoPlace(tmp: string, final: string, inputs: TemplateInputs, shape: TemplateShape): boolean {
  try {
    fs.renameSync(tmp, final);
  } catch {
    // Another process saved the same template first: use theirs if it is good.
    fs.rmSync(tmp, { recursive: true, force: true });
    if (templateProblem(final, inputs.key, shape.memoryMb) !== null) return false;
  }
  return true;
}

async function saveInto(
  kernel: Kernel,
  shape: TemplateShape,
  inputs: TemplateInputs,
  runDir: string,
  where: { final: string; tmp: string; sockets: string },
): Promise<SaveResult> {
  const { final, tmp, sockets } = where;
  const control = await ControlPort.listen(path.join(sockets, 'ctl'));
  const state = path.join(tmp, STATE_FILE);
  const ram = path.join(tmp, RAM_FILE);
  const times: SaveTimes = { readyMs: 0, savedMs: 0 };
  const t0 = Date.now();
  const qmpSocket = path.join(sockets, 'qmp');
  const afterSpawn = saveWhenReady(control, qmpSocket, state, t0, times);
  const spec = templateSpec(shape, inputs, runDir, { ram, controlSocket: control.socket, qmpSocket }, afterSpawn);
  let outcome: BootOutcome;
  try {
    outcome = await boot(spec);
  } finally {
    control.close();
  }
  // `migrate` reports completed before its `cat` has exited and renamed the file.
  for (let i = 0; i < 200 && !fs.existsSync(state) && outcome.end === 'exited'; i++) await sleep(10);
  if (times.savedMs === 0 || !fs.existsSync(state)) {
    fs.rmSync(tmp, { recursive: true, force: true });
    return { outcome, template: null };
  }
  writeMeta(kernel, inputs, tmp, { state, ram }, times);
  if (!moveIntoPlace(tmp, final, inputs, shape)) return { outcome, template: null };
  return { outcome, template: templateOf(final, inputs, shape, true) };
}

/** The cached template for these inputs, or null (with the reason logged when one was there but unusable). */
export function cachedTemplate(inputs: TemplateInputs, shape: TemplateShape, release: string): Template | null {
  const dir = path.join(templatesDir(), inputs.key);
  const problem = templateProblem(dir, inputs.key, shape.memoryMb);
  if (problem === null) {
    const now = new Date();
    fs.utimesSync(path.join(dir, META_FILE), now, now); // most recently used: pruned last
    return templateOf(dir, inputs, shape, false);
  }
  if (problem !== 'missing') {
    templateLog.write(`the saved VM for ${release} is unusable (${problem}); saving it again`);
    discardTemplate(dir);
  }
  return null;
}

/**
 * Templates kept in the cache, most recently used first: two kernels with
 * two boot profiles each, and the same again for inputs that just changed.
 * Each holds up to a GiB of RAM file (about 150 MB of it written).
 */
export const KEEP_TEMPLATES = 8;

/** When a template was last used: its meta.json's mtime (touched on every use). */
function lastUsed(dir: string): number {
  return fs.statSync(path.join(dir, META_FILE), { throwIfNoEntry: false })?.mtimeMs ?? 0;
}

/**
 * Removes all but the `keep` most recently used templates, and what saves
 * that died left behind. A process still restoring from a removed template
 * keeps its mapped RAM file; its next copy fails to load, and it saves the
 * template again.
 */
export function pruneTemplates(keep: number = KEEP_TEMPLATES, dir: string = templatesDir()): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const kept: string[] = [];
  for (const n of names) {
    const tmp = /\.tmp-(\d+)-/.exec(n);
    if (tmp === null) kept.push(n);
    else if (!isAlive(Number(tmp[1]))) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  }
  kept.sort((a, b) => lastUsed(path.join(dir, b)) - lastUsed(path.join(dir, a)));
  for (const n of kept.slice(keep)) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
}

/**
 * The spec of a restored copy of `t`: the template's command line with the
 * RAM file mapped copy-on-write, its own sockets and run directory, and
 * -incoming defer; after QEMU starts, the state is loaded, the guest resumed
 * and its order sent. `rest` is what a cold boot would get (deadline, marks,
 * idle watch, console hooks).
 */
export async function restoredSpec(
  t: Template,
  rest: Omit<BootSpec, 'image' | 'initramfs' | 'accel' | 'cpus' | 'memoryMb' | 'cmdline' | 'snapshot' | 'afterSpawn'>,
): Promise<{ spec: BootSpec; release: () => void; timings: RestoreTimings }> {
  const sockets = socketDir();
  const control = await ControlPort.listen(path.join(sockets, 'ctl'));
  const qmpSocket = path.join(sockets, 'qmp');
  const timings: RestoreTimings = { loadedMs: null, resumedMs: null };
  const t0 = Date.now();
  const spec: BootSpec = {
    ...rest,
    image: t.image,
    initramfs: t.initramfs,
    accel: t.shape.accel,
    cpus: t.shape.cpus,
    memoryMb: t.shape.memoryMb,
    cmdline: [...t.cmdline],
    snapshot: {
      runtimeImage: t.runtimeImage,
      ramFile: t.ram,
      share: false,
      controlSocket: control.socket,
      qmpSocket,
      incoming: true,
    },
    afterSpawn: async (alive) => {
      const qmp = await Qmp.connect(qmpSocket, MIGRATE_MS, alive);
      try {
        await qmp.exec('migrate-set-capabilities', {
          capabilities: [{ capability: 'x-ignore-shared', state: true }],
        });
        await qmp.exec('migrate-incoming', { uri: `exec:cat ${shellQuote(t.state)}` });
        await incomingLoaded(qmp, alive);
        timings.loadedMs = Date.now() - t0;
        await qmp.exec('cont');
      } finally {
        qmp.close();
      }
      await control.send({ type: 'resume', epochMs: Date.now(), msize: MSIZE }, RESUMED_MS, alive);
      await control.expect('resumed', RESUMED_MS, alive);
      timings.resumedMs = Date.now() - t0;
    },
  };
  const release = (): void => {
    control.close();
    fs.rmSync(sockets, { recursive: true, force: true });
  };
  return { spec, release, timings };
}

/** ms from a restored copy's QEMU start to its state loaded, and to its agent's answer. */
export interface RestoreTimings {
  loadedMs: number | null;
  resumedMs: number | null;
}
