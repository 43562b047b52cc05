/**
 * The shipped GitHub workflows, parsed as YAML: every mmaplab command they run
 * parses with the CLI's own parser (for every value of their job matrix), the
 * kernels they name are names --kernel takes and setup-host.sh installs (or
 * `mmaplab kernel build` builds), the shards cover the whole selection, and
 * the npm scripts, setup-host.sh sets and job dependencies they use exist.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { parseArgs } from '../../lib/cli/args';
import { REPO_ROOT } from '../../lib/paths';
import { parseBuildName } from '../../lib/vm/kernel-build';
import { DEBIAN_FLAVOURS, flavourPackages, parseKernelName, REQUIRED_SERIES } from '../../lib/vm/kernels';

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  strategy?: { matrix?: Record<string, unknown[]> };
  steps: Step[];
  container?: { image?: string; options?: string };
}
interface Workflow {
  name: string;
  on: unknown;
  jobs: Record<string, Job>;
}

const DIR = path.join(REPO_ROOT, '.github', 'workflows');

function workflows(): Array<{ file: string; wf: Workflow }> {
  return fs
    .readdirSync(DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((file) => ({ file, wf: parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as Workflow }));
}

/** Every combination of a job's matrix values (one empty one without a matrix). */
function combinations(job: Job): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{}];
  for (const [key, values] of Object.entries(job.strategy?.matrix ?? {})) {
    if (!Array.isArray(values)) continue;
    out = out.flatMap((c) => values.map((v) => ({ ...c, [key]: String(v) })));
  }
  return out;
}

function expand(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{\{\s*matrix\.(\w+)\s*\}\}/g, (_m, k: string) => {
    const v = values[k];
    assert.ok(v !== undefined, `matrix.${k} is used but not defined`);
    return v;
  });
}

/** Shell words, with '...' quoting (all the workflows use). */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].flatMap(([, quoted, bare]) => {
    const word = quoted ?? bare;
    return word === undefined ? [] : [word];
  });
}

/** The mmaplab command lines of a run: block (folded lines joined). */
function mmaplabCommands(run: string): string[][] {
  return run
    .replace(/\\\n/g, ' ')
    .split(/\n|&&/)
    .map((l) => words(l.trim()))
    .filter((w) => w[0] === 'node' && w[1] === 'dist/lib/cli.js')
    .map((w) => w.slice(2));
}

/** setup-host.sh's sets: name -> the packages it adds (from its case arms, not its comments). */
function setupSets(): Map<string, string[]> {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'scripts', 'setup-host.sh'), 'utf8');
  const base = (/^PACKAGES="([^"]*)"$/m.exec(text)?.[1] ?? '').split(/\s+/).filter((w) => w !== '');
  const sets = new Map<string, string[]>();
  for (const [, name, body] of text.matchAll(/^([a-z-]+)\) ([^;]*);;/gm)) {
    assert.ok(name !== undefined && body !== undefined, 'a case arm has a name and a body');
    const added = /PACKAGES="([^"]*)"/.exec(body)?.[1] ?? '';
    const words = added.split(/\s+/).filter((w) => w !== '' && w !== '$PACKAGES');
    sets.set(name, added.includes('$PACKAGES') || body.trim() === '' ? [...base, ...words] : words);
  }
  return sets;
}

/** The packages a job installs: every setup-host.sh set its steps run. */
function installedBy(job: Job, sets: Map<string, string[]>): string[] {
  return job.steps.flatMap((st) =>
    [...(st.run ?? '').matchAll(/setup-host\.sh (\S+)/g)].flatMap(([, set]) => (set === undefined ? [] : (sets.get(set) ?? []))),
  );
}

describe('the shipped workflows', () => {
  const all = workflows();

  it('are there, parse, and every job has steps', () => {
    assert.deepEqual(
      all.map((w) => w.file),
      ['matrix.yml', 'pr.yml'],
    );
    for (const { file, wf } of all) {
      assert.equal(typeof wf.name, 'string', file);
      for (const [id, job] of Object.entries(wf.jobs)) assert.ok(job.steps.length > 0, `${file}: ${id}`);
    }
  });

  it('every mmaplab command they run parses, for every value of the job matrix', () => {
    let count = 0;
    for (const { file, wf } of all) {
      for (const [id, job] of Object.entries(wf.jobs)) {
        for (const values of combinations(job)) {
          for (const step of job.steps) {
            if (step.run === undefined) continue;
            for (const argv of mmaplabCommands(expand(step.run, values))) {
              assert.doesNotThrow(() => parseArgs(argv), `${file} ${id} ${JSON.stringify(values)}: mmaplab ${argv.join(' ')}`);
              count++;
            }
          }
        }
      }
    }
    assert.ok(count >= 20, `read ${count} command lines`);
  });

  it('name kernels as --kernel takes them, never a release, each installed by the setup-host.sh sets its job runs (or built from sources they install)', () => {
    const sets = setupSets();
    let named = 0;
    for (const { file, wf } of all) {
      for (const [id, job] of Object.entries(wf.jobs)) {
        const installs = installedBy(job, sets);
        for (const c of combinations(job)) {
          const k = c['kernel'];
          if (k === undefined) continue;
          named++;
          const where = `${file} ${id} ${k}`;
          const built = parseBuildName(k);
          if (built !== null) {
            assert.ok(
              built.profile.series.includes(built.series),
              `${where}: profile ${built.profile.name} is not built for ${built.series}`,
            );
            for (const pkg of [`linux-source-${built.series}`, `linux-config-${built.series}`, 'openssl', 'flex', 'bison']) {
              assert.ok(installs.includes(pkg), `${where}: the job installs ${pkg}`);
            }
            continue;
          }
          const name = parseKernelName(k);
          assert.ok(name !== null, `${where} is a series or series-flavour name`);
          assert.ok(
            REQUIRED_SERIES.some((r) => r.series === name.series),
            `${where}: a series setup-host.sh installs`,
          );
          assert.ok(name.flavour === 'generic' || (DEBIAN_FLAVOURS as readonly string[]).includes(name.flavour), where);
          for (const pkg of flavourPackages(name.series, name.flavour).split(' '))
            assert.ok(installs.includes(pkg), `${where}: the job installs ${pkg}`);
        }
      }
    }
    assert.ok(named >= 8, `${named} kernel values`);
  });

  it('shard the matrix into i/n for every i from 1 to n, with one n', () => {
    const { wf } = all.find((w) => w.file === 'matrix.yml') as { wf: Workflow };
    const shards = (wf.jobs['shard']?.strategy?.matrix?.['shard'] ?? []).map(String);
    const n = Number(shards[0]?.split('/')[1]);
    assert.ok(n >= 1);
    assert.deepEqual(
      shards,
      Array.from({ length: n }, (_, i) => `${i + 1}/${n}`),
    );
  });

  it('use only npm scripts package.json has, setup-host.sh sets it takes, and jobs that exist', () => {
    const scripts = Object.keys((JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: object }).scripts);
    const sets = [...setupSets().keys()];
    assert.deepEqual(sets, ['matrix', 'test', 'flavours', 'kernel-build']);
    for (const { file, wf } of all) {
      for (const [id, job] of Object.entries(wf.jobs)) {
        for (const need of [job.needs ?? []].flat()) assert.ok(need in wf.jobs, `${file} ${id} needs ${need}`);
        for (const step of job.steps) {
          for (const [, script] of (step.run ?? '').matchAll(/npm run ([\w:-]+)/g))
            assert.ok(script !== undefined && scripts.includes(script), `${file}: npm run ${script}`);
          for (const [, set] of (step.run ?? '').matchAll(/setup-host\.sh (\S+)/g))
            assert.ok(set !== undefined && sets.includes(set), `${file}: setup-host.sh ${set}`);
        }
      }
    }
  });

  it('run the VM jobs in a privileged Debian 12 container (KVM comes in where the runner has it)', () => {
    for (const { file, wf } of all) {
      for (const [id, job] of Object.entries(wf.jobs)) {
        assert.equal(job.container?.image, 'debian:bookworm', `${file} ${id}`);
        const boots = job.steps.some((s) =>
          mmaplabCommands(s.run ?? '').some(([command]) => command !== undefined && ['matrix', 'test-guest'].includes(command)),
        );
        if (boots) assert.match(job.container?.options ?? '', /--privileged/, `${file} ${id}`);
      }
    }
  });

  it('the merge job downloads what the shard and built jobs upload', () => {
    const { wf } = all.find((w) => w.file === 'matrix.yml') as { wf: Workflow };
    const pattern = String(wf.jobs['merge']?.steps.find((s) => s.uses?.startsWith('actions/download-artifact'))?.with?.['pattern']);
    const prefixes = /^\{([^}]+)\}-\*$/.exec(pattern)?.[1]?.split(',') ?? [];
    for (const id of ['shard', 'built']) {
      const naming = wf.jobs[id]?.steps.find((s) => s.name === 'Name the artifacts')?.run ?? '';
      assert.ok(
        prefixes.some((p) => naming.includes(`name=${p}-`)),
        `${id}'s artifacts match ${pattern}`,
      );
    }
  });
});
