/**
 * `mmaplab check --setup FILE.js|FILE.ts`: a setup hook, for a driver whose
 * preparation a list of ioctls cannot say (a buffer size read back from
 * one ioctl and passed to the next, data computed before it is written).
 * The file is a CommonJS module whose export (module.exports, `default` or
 * `setup`) is a synchronous function called with the freshly opened
 * descriptor and a small device API:
 *
 *   module.exports = (fd, dev) => {
 *     const info = dev.ioctl(0xc0086d03, new Uint8Array(8)); // returns the argument after the call
 *     dev.write(info.subarray(0, 4));
 *   };
 *
 * It runs in the guest on every descriptor a scenario or use opens, after
 * the JSON steps if any. A .ts file is transpiled on the host (the
 * project's TypeScript); either is checked for syntax there, and travels
 * in the job as source.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { MmaplabError } from '../util/errors';

/** A hook travels in job.json: ./schema defines it. */
export type { SetupHook } from './schema';
import type { SetupHook } from './schema';

/** What the hook gets besides the descriptor. */
export interface SetupApi {
  /** The node opened. */
  device: string;
  /** ioctl(2) with a pointer to `arg` (in and out), or with 0 when `arg` is absent; `arg` after the call, or null. */
  ioctl(request: number, arg?: Uint8Array): Uint8Array | null;
  /** write(2) of the bytes (a string is UTF-8); the count written. */
  write(data: Uint8Array | string): number;
  /** read(2) of up to `length` bytes. */
  read(length: number): Buffer;
}

/** The native calls a hook's API is made of (the addon's, in the guest). */
export interface HookSyscalls {
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  ioctlNoArg(fd: number, request: number): number;
}

const HOOK_EXTENSIONS = ['.js', '.cjs', '.ts'];

export function isHookFile(file: string): boolean {
  return HOOK_EXTENSIONS.includes(path.extname(file));
}

/**
 * The package that transpiles a .ts hook: on the host only. Named through a
 * constant, not a literal require, because the runtime image keeps every
 * package dist/ requires by a literal name (lib/vm/runtime-packages), and
 * the guest never loads the compiler.
 */
const TYPESCRIPT_PACKAGE = 'typescript';

/** The TypeScript compiler, if this installation has it (a development checkout does). */
function typescript(file: string): typeof import('typescript') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand by a non-literal name, so the guest image leaves the compiler out (see above)
    return require(TYPESCRIPT_PACKAGE) as typeof import('typescript');
  } catch {
    throw new MmaplabError(
      'EUSAGE',
      `--setup ${file}: a .ts hook needs the typescript package (npm install typescript), or give it as .js`,
    );
  }
}

/** The hook's source, transpiled when it is TypeScript, checked for syntax; a usage error says what is wrong. */
export function readHook(file: string): SetupHook {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MmaplabError('EUSAGE', `--setup ${file}: cannot read it: ${(err as Error).message}`);
  }
  let source = text;
  if (path.extname(file) === '.ts') {
    const ts = typescript(file);
    const out = ts.transpileModule(text, {
      fileName: path.basename(file),
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    });
    const errors = (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    if (errors.length > 0) throw new MmaplabError('EUSAGE', `--setup ${file}: ${errors.join('; ')}`);
    source = out.outputText;
  }
  try {
    new vm.Script(`(function (exports, require, module, __filename, __dirname) {\n${source}\n})`, { filename: file });
  } catch (err) {
    throw new MmaplabError('EUSAGE', `--setup ${file}: not valid JavaScript: ${(err as Error).message}`);
  }
  return { file, source };
}

type HookFunction = (fd: number, dev: SetupApi) => unknown;

const loaded = new Map<string, HookFunction>();

/** The hook's function, loaded once per process from a file of its own. */
function hookFunction(hook: SetupHook): HookFunction {
  const key = createHash('sha256').update(hook.source).digest('hex').slice(0, 16);
  const known = loaded.get(key);
  if (known !== undefined) return known;
  const file = path.join(os.tmpdir(), `mmaplab-setup-hook-${key}.js`);
  fs.writeFileSync(file, hook.source);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's hook, a CommonJS file written at run time and loaded synchronously
  const mod = require(file) as unknown;
  const m = mod as { default?: unknown; setup?: unknown };
  const fn = typeof mod === 'function' ? mod : typeof m.default === 'function' ? m.default : typeof m.setup === 'function' ? m.setup : null;
  if (fn === null) throw new Error('it exports no function (module.exports, default or setup)');
  loaded.set(key, fn as HookFunction);
  return fn as HookFunction;
}

/** Runs the hook on `fd`; throws what it threw, or that it returned a promise (it must be synchronous). */
export function runHook(hook: SetupHook, fd: number, device: string, sys: HookSyscalls): void {
  const api: SetupApi = {
    device,
    ioctl: (request, arg) => {
      if (arg === undefined) {
        sys.ioctlNoArg(fd, request);
        return null;
      }
      sys.ioctl(fd, request, arg);
      return arg;
    },
    write: (data) => fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data),
    read: (length) => {
      const buf = Buffer.alloc(length);
      return buf.subarray(0, fs.readSync(fd, buf, 0, length, null));
    },
  };
  const out = hookFunction(hook)(fd, api);
  if (out instanceof Promise) {
    out.catch(() => undefined);
    throw new Error('it returned a promise: a setup hook is synchronous');
  }
}
