/** lib/util/schema: how a value that does not fit its schema is named, and what the checks return. */
import { strict as assert } from 'node:assert';
import * as v from 'valibot';
import {
  catalogueName,
  checkShape,
  count,
  describeExpects,
  describeValue,
  formatPath,
  parseJson,
  parseShape,
  schemaProblem,
  u32,
} from '../../lib/util/schema';
import { caught } from './caught';
import { deleteAt, setAt } from './json-edit';

describe('schema checks (lib/util/schema.ts)', function () {
  it('writes a path as code would: indexes in brackets, odd keys quoted', function () {
    assert.equal(formatPath(['cells', 12, 'observation', 'signal']), 'cells[12].observation.signal');
    assert.equal(formatPath(['distribution', 'wrong-data kernel->user']), 'distribution["wrong-data kernel->user"]');
    assert.equal(formatPath([3, 'op']), '[3].op');
    assert.equal(formatPath([]), '');
  });

  it('says what a value is: its type, and the value when it is short', function () {
    assert.equal(describeValue(undefined), 'nothing');
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue(11), 'number 11');
    assert.equal(describeValue(false), 'boolean false');
    assert.equal(describeValue('x'.repeat(70)), `string "${'x'.repeat(60)}..."`);
    assert.equal(describeValue([1]), 'array');
    assert.equal(describeValue({}), 'object');
  });

  it("puts valibot's expectations in words, a long list cut short", function () {
    assert.equal(describeExpects('(string | null)'), 'string or null');
    assert.equal(describeExpects('Object'), 'object');
    assert.equal(describeExpects('("a" | "b" | "c")'), 'one of "a", "b", "c"');
    const ten = `(${[...'abcdefghij'].map((c) => `"${c}"`).join(' | ')})`;
    assert.equal(describeExpects(ten), 'one of "a", "b", "c", "d", "e", "f", "g", "h", ... (10 in all)');
  });

  const Stat = v.object({ median: v.number(), n: count });
  const Shape = v.object({
    name: v.string(),
    note: v.nullable(v.string()),
    rows: v.array(
      v.variant('kind', [
        v.object({ kind: v.literal('stat'), stat: Stat }),
        v.object({ kind: v.literal('text'), text: v.string(), flags: u32 }),
      ]),
    ),
    strict: v.optional(v.strictObject({ a: v.number() })),
    either: v.optional(v.union([v.object({ x: v.number() }), v.object({ y: v.object({ z: v.string() }) })])),
    step: v.optional(catalogueName(['open', 'close'] as const, 'a step name')),
  });
  const good = {
    name: 'n',
    note: null,
    rows: [
      { kind: 'stat', stat: { median: 1, n: 3 } },
      { kind: 'text', text: 't', flags: 0 },
    ],
  };
  const problem = (mutate: (j: unknown) => void): string | undefined => {
    const j: unknown = JSON.parse(JSON.stringify(good));
    mutate(j);
    return schemaProblem(Shape, j)?.message;
  };

  it('names the first bad place and what the schema wanted there', function () {
    assert.equal(schemaProblem(Shape, good), null);
    assert.equal(
      problem((j) => setAt(j, 'rows[0].stat.median', '2')),
      'rows[0].stat.median: expected number, got string "2"',
    );
    assert.equal(
      problem((j) => setAt(j, 'note', 4)),
      'note: expected string or null, got number 4',
    );
    assert.equal(
      problem((j) => deleteAt(j, 'note')),
      'note: expected string or null, got nothing',
    );
    assert.equal(
      problem((j) => deleteAt(j, 'rows[1].text')),
      'rows[1].text: expected string, got nothing',
    );
    assert.equal(
      problem((j) => deleteAt(j, 'rows[0].stat.n')),
      'rows[0].stat.n: expected number, got nothing',
    );
    assert.equal(
      problem((j) => setAt(j, 'rows[1].kind', 'chart')),
      'rows[1].kind: expected "stat" or "text", got string "chart"',
    );
    assert.equal(
      problem((j) => setAt(j, 'rows[0].stat.n', -1)),
      'rows[0].stat.n: expected a number ≥ 0, got number -1',
    );
    assert.equal(
      problem((j) => setAt(j, 'rows[1].flags', 2 ** 32)),
      'rows[1].flags: expected a number ≤ 4294967295, got number 4294967296',
    );
    assert.equal(
      problem((j) => setAt(j, 'rows[1].flags', 0.5)),
      'rows[1].flags: expected an integer, got number 0.5',
    );
    assert.equal(
      problem((j) => setAt(j, 'strict', { a: 1, b: 2 })),
      'strict.b: expected no such field, got number 2',
    );
    assert.equal(
      problem((j) => setAt(j, 'either', { y: { z: 1 } })),
      'either.y.z: expected string, got number 1',
    );
    assert.equal(
      problem((j) => setAt(j, 'step', 3)),
      'step: expected a step name, got number 3',
    );
    const Either = v.union([v.strictObject({ a: v.number() }), v.strictObject({ b: v.pipe(v.string(), v.regex(/^b+$/, "b's")) })]);
    assert.equal(
      schemaProblem(Either, { b: 'x' })?.message,
      'b: expected b\'s, got string "x"',
      'the option the value fits but for a value',
    );
    assert.equal(
      problem((j) => setAt(j, 'step', 'shut')),
      undefined,
      'a catalogue name of a newer version is read as it is',
    );
    assert.equal(
      problem((j) => setAt(j, 'rows', {})),
      'rows: expected array, got object',
    );
    assert.equal(schemaProblem(Shape, 5)?.message, 'expected object, got number 5');
  });

  it('checkShape returns the very value it checked; a misfit is the MmaplabError asked for, with the path', function () {
    const j: unknown = JSON.parse(JSON.stringify(good));
    setAt(j, 'extra', { kept: true });
    assert.equal(checkShape(Shape, j, 'x.json', 'EREPORT'), j);
    setAt(j, 'rows[0].stat.median', null);
    const err = caught(() => checkShape(Shape, j, 'x.json', 'EBENCHFORMAT', { file: 'x.json' }));
    assert.equal(err.code, 'EBENCHFORMAT');
    assert.equal(err.message, 'x.json: rows[0].stat.median: expected number, got null');
    assert.deepEqual(err.details, { file: 'x.json', path: 'rows[0].stat.median' });
  });

  it("parseShape returns valibot's output, for schemas that normalise", function () {
    const Hex = v.pipe(v.string(), v.regex(/^[0-9a-f]+$/i, 'hex digits'), v.toLowerCase());
    assert.equal(parseShape(Hex, 'AB', 'f', 'EUSAGE'), 'ab');
    assert.equal(caught(() => parseShape(Hex, 'xy', 'f', 'EUSAGE')).message, 'f: expected hex digits, got string "xy"');
  });

  it('parseJson says which text is not JSON', function () {
    const err = caught(() => parseJson('{"a": ', 'job.json', 'EGUEST'));
    assert.equal(err.code, 'EGUEST');
    assert.match(err.message, /^job\.json is not JSON: /);
    assert.deepEqual(parseJson('[1]', 'x', 'EGUEST'), [1]);
  });
});
