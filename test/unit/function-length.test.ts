/**
 * No function in lib/ is longer than 80 lines, from its first line to its
 * closing brace (nested functions count on their own and inside their
 * parent): the fuzzer's 492-line generator and the probe's 281-line
 * scenario runner became tables and steps, and this keeps them so. Read
 * with the TypeScript compiler's own parser, so a brace in a string or a
 * comment cannot fool it.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { REPO_ROOT } from '../../lib/paths';
import { filesUnder } from './repo-files';

const MAX_LINES = 80;

/** Functions of a source file longer than MAX_LINES: "file:line name (n lines)". */
function longFunctions(file: string): string[] {
  const src = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body !== undefined) {
      const first = src.getLineAndCharacterOfPosition(n.getStart(src)).line;
      const last = src.getLineAndCharacterOfPosition(n.end).line;
      const lines = last - first + 1;
      const name = n.name?.getText(src) ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText(src) : '(anonymous)');
      if (lines > MAX_LINES) out.push(`${path.relative(REPO_ROOT, file)}:${first + 1} ${name} (${lines} lines)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

describe('function length in lib/', function () {
  it('counts a long function as long (the measure itself)', function () {
    const body = Array.from({ length: MAX_LINES }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-fnlen-'));
    try {
      const file = path.join(dir, 'long.ts');
      fs.writeFileSync(file, `export function long(): void {\n${body}\n}\nexport const short = (): number => 1;\n`);
      assert.deepEqual(
        longFunctions(file).map((l) => l.replace(/^.*:/, '')),
        [`1 long (${MAX_LINES + 2} lines)`],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`has no function over ${MAX_LINES} lines`, function () {
    const files = filesUnder('lib', /\.ts$/);
    assert.ok(files.length > 100, `lib/ has its TypeScript files (${files.length})`);
    assert.deepEqual(
      files.flatMap((f) => longFunctions(path.join(REPO_ROOT, f))),
      [],
    );
  });
});
