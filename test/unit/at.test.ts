/** lib/util/at: an element that must be there, or an Error that says which. */
import { strict as assert } from 'node:assert';
import { at } from '../../lib/util/at';

describe('at (lib/util/at.ts)', function () {
  it('gives the element at an index in range, of arrays, strings and typed arrays', function () {
    assert.equal(at(['a', 'b', 'c'], 2, 'a letter'), 'c');
    assert.equal(at('xyz', 0, 'a character'), 'x');
    assert.equal(at(new Uint32Array([7, 8]), 1, 'a word'), 8);
    assert.equal(at([undefined, 1], 0, 'a hole kept as a value'), undefined);
  });

  it('throws an Error naming what was missing for any other index', function () {
    for (const index of [-1, 3, 1.5, NaN]) {
      assert.throws(
        () => at(['a', 'b', 'c'], index, 'the third letter'),
        (err: unknown) => err instanceof Error && err.message === `the third letter: no element at index ${index} of 3`,
      );
    }
  });
});
