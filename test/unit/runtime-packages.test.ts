/**
 * lib/vm/runtime-packages on synthetic trees: which node_modules trees the
 * runtime image leaves out (only unrequired devDependencies reach them), how
 * a dependency resolves, and which packages compiled sources require.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  devOnlyPackages,
  packageOfSpecifier,
  readPackageTree,
  requiredPackages,
  resolvePackage,
  runtimeDependencies,
  type PackageTree,
} from '../../lib/vm/runtime-packages';

describe('runtime packages: which node_modules trees the guest never loads', () => {
  // typescript and a dev-only tool with its own dependency; mocha (dev, but
  // required by dist) shares one with the tool; one nested install.
  const tree: PackageTree = new Map<string, readonly string[]>([
    ['node_modules/node-gyp-build', []],
    ['node_modules/typescript', []],
    ['node_modules/tool', ['tar', 'shared']],
    ['node_modules/tar', ['minipass']],
    ['node_modules/minipass', []],
    ['node_modules/mocha', ['shared', 'minipass']],
    ['node_modules/mocha/node_modules/minipass', []],
    ['node_modules/shared', []],
    ['node_modules/stray', []],
  ]);
  const manifest = {
    dependencies: { 'node-gyp-build': '^4' },
    devDependencies: { typescript: '5', tool: '1', mocha: '11' },
  };

  it('leaves out what only unrequired devDependencies reach; keeps mocha (dist requires it), what it shares, and strays', () => {
    const left = devOnlyPackages(tree, manifest, new Set(['mocha']));
    const expected = ['node_modules/minipass', 'node_modules/tar', 'node_modules/tool', 'node_modules/typescript'];
    assert.deepEqual([...left].sort(), expected);
  });

  it('with mocha not required, mocha and its nested install go too', () => {
    const left = devOnlyPackages(tree, manifest, new Set());
    assert.ok(left.has('node_modules/mocha') && left.has('node_modules/mocha/node_modules/minipass'));
    assert.ok(!left.has('node_modules/node-gyp-build') && !left.has('node_modules/stray'));
  });

  it('follows a peer a package needs, not one it marks optional (valibot names typescript so)', () => {
    const peers: PackageTree = new Map<string, readonly string[]>([
      ...tree,
      [
        'node_modules/valibot',
        runtimeDependencies({ peerDependencies: { typescript: '>=5' }, peerDependenciesMeta: { typescript: { optional: true } } }),
      ],
      ['node_modules/plugin', runtimeDependencies({ peerDependencies: { tar: '*' } })],
    ]);
    const deps = { dependencies: { ...manifest.dependencies, valibot: '^1', plugin: '1' }, devDependencies: manifest.devDependencies };
    const left = devOnlyPackages(peers, deps, new Set(['mocha']));
    assert.deepEqual([...left].sort(), ['node_modules/tool', 'node_modules/typescript']);
  });

  it('resolves as node does: the nearest node_modules first, then the ancestors', () => {
    assert.equal(resolvePackage(tree, 'node_modules/mocha', 'minipass'), 'node_modules/mocha/node_modules/minipass');
    assert.equal(resolvePackage(tree, 'node_modules/tar', 'minipass'), 'node_modules/minipass');
    assert.equal(resolvePackage(tree, '', 'absent'), null);
  });

  it('reads package names from requires: subpaths and scopes; not builtins or relative paths', () => {
    const src = `require("mocha"); require('@s/p/lib/x'); require("a/b");\n` + `require("node:fs"); require("fs"); require("./x");`;
    assert.deepEqual([...requiredPackages([src])].sort(), ['@s/p', 'a', 'mocha']);
    assert.equal(packageOfSpecifier('../y'), null);
  });

  it('reads the tree from the installed package.json files: one without is no package, a malformed one is ERUNTIMEIMAGE naming the place', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-pkgs-'));
    const write = (dir: string, manifest: unknown): void => {
      fs.mkdirSync(path.join(root, dir), { recursive: true });
      fs.writeFileSync(path.join(root, dir, 'package.json'), JSON.stringify(manifest));
    };
    try {
      write('node_modules/a', {
        name: 'a',
        dependencies: { b: '^1' },
        peerDependencies: { t: '*' },
        peerDependenciesMeta: { t: { optional: true } },
      });
      write('node_modules/a/node_modules/b', { name: 'b' });
      fs.mkdirSync(path.join(root, 'node_modules', 'leftover'));
      assert.deepEqual(
        [...readPackageTree(root)],
        [
          ['node_modules/a', ['b']],
          ['node_modules/a/node_modules/b', []],
        ],
      );
      write('node_modules/c', { name: 'c', dependencies: { d: 1 } });
      const file = path.join(root, 'node_modules', 'c', 'package.json');
      assert.throws(() => readPackageTree(root), {
        code: 'ERUNTIMEIMAGE',
        message: `${file}: dependencies.d: expected string, got number 1`,
      });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
