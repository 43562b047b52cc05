/**
 * The style checks of the TypeScript and JavaScript, for the unit tests:
 * ESLint (eslint.config.mjs) and Prettier (.prettierrc.json, whose scope
 * .prettierignore narrows) over the tree. Both are development
 * dependencies, run from node_modules/.bin as child processes: loading
 * either into a test's own process would make dist/ require it, and the
 * guest's runtime image keeps every package dist/ requires. A missing tool
 * is an error that names the install step, never a check left out.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import { MmaplabError } from '../lib/util/errors';
import type { StyleProblem } from './c-style';

/** What installs the tools: they are devDependencies of the package. */
export const SETUP_NPM = 'npm ci';

export type TsStyleTool = 'eslint' | 'prettier';

/** The tool's command in `root`'s node_modules/.bin. */
export function toolBin(tool: TsStyleTool, root: string = REPO_ROOT): string {
  return path.join(root, 'node_modules', '.bin', tool);
}

interface ToolRun {
  status: number;
  output: string;
}

/** Runs `tool` of `root` from `root` with `input` on its stdin; its exit status and what it printed. */
function runTool(tool: TsStyleTool, args: string[], root: string, input = ''): Promise<ToolRun> {
  const bin = toolBin(tool, root);
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { cwd: root, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err === null) resolve({ status: 0, output });
      else if (typeof err.code === 'number') resolve({ status: err.code, output });
      else reject(new MmaplabError('ENOTOOL', `cannot run ${bin} (${err.message}): run ${SETUP_NPM}`));
    });
    child.stdin?.end(input);
  });
}

/** What a tool said about `what` when it did not exit 0; null when it did. */
function problemOf(r: ToolRun, what: string): StyleProblem | null {
  return r.status === 0 ? null : { file: what, output: r.output.trim() };
}

/**
 * ESLint over `targets` (the whole tree by default, as eslint.config.mjs
 * scopes it), a warning counting as a problem: its report, or null when
 * clean.
 */
export async function eslint(targets: string[] = ['.'], root: string = REPO_ROOT): Promise<StyleProblem | null> {
  return problemOf(await runTool('eslint', ['--max-warnings', '0', '--no-color', ...targets], root), targets.join(' '));
}

/** ESLint over `text` as if it were the tree's file `name` (nothing is written). */
export async function eslintText(text: string, name: string, root: string = REPO_ROOT): Promise<StyleProblem | null> {
  const r = await runTool('eslint', ['--max-warnings', '0', '--no-color', '--stdin', '--stdin-filename', name], root, text);
  return problemOf(r, name);
}

/**
 * prettier --check over `targets` (the whole tree by default, less what
 * .prettierignore leaves out): the files whose layout it would change, or
 * null when there are none.
 */
export async function prettierCheck(targets: string[] = ['.'], root: string = REPO_ROOT): Promise<StyleProblem | null> {
  return problemOf(await runTool('prettier', ['--check', '--no-color', ...targets], root), targets.join(' '));
}

/** Whether Prettier leaves `file` (relative to the repository root) out: .prettierignore, or no parser for it. */
export async function prettierSkips(file: string): Promise<boolean> {
  const r = await runTool('prettier', ['--file-info', file], REPO_ROOT);
  if (r.status !== 0) throw new Error(`prettier --file-info ${file} exited ${r.status}: ${r.output}`);
  const info = JSON.parse(r.output) as { ignored?: unknown; inferredParser?: unknown };
  return info.ignored === true || info.inferredParser === null;
}
