import { strict as assert } from 'node:assert';
import { checkPattern, patternWord, writePattern } from '../../lib/device/pattern';

/*
 * Reference values of mmaplab_pattern_word() from the uapi header, obtained
 * once by compiling a tiny C program with gcc 12 on x86_64:
 *
 *   #include <stdio.h>
 *   #include <linux/mmaplab.h>   // gcc -I kmod/include/uapi
 *   int main(void) { printf("0x%08x\n", mmaplab_pattern_word(SEED, INDEX)); }
 */
const REFERENCE: readonly [seed: number, index: number, word: number][] = [
  [1, 0, 0x688990c0],
  [1, 1, 0xc580324c],
  [1, 2, 0x4d586d55],
  [1, 3, 0x35a88ea3],
  [0, 0, 0x00000000],
  [0xdeadbeef, 1000, 0xa9577d7b],
  [0xffffffff, 0xffffffff, 0xc580324c],
  [42, 1048575, 0xb87be37d],
];

describe('pattern (lib/device/pattern.ts)', () => {
  for (const [seed, index, word] of REFERENCE) {
    it(`patternWord(0x${seed.toString(16)}, ${index}) equals the header's mmaplab_pattern_word: 0x${word
      .toString(16)
      .padStart(8, '0')}`, () => {
      assert.equal(patternWord(seed, index), word);
    });
  }

  it('patternWord always returns an unsigned 32-bit integer', () => {
    for (let i = 0; i < 10000; i++) {
      const w = patternWord(0x9e3779b9, i);
      assert.ok(Number.isInteger(w) && w >= 0 && w <= 0xffffffff, `word ${i} = ${w}`);
    }
  });

  it('writePattern lays word i at byte offset 4*i, little-endian', () => {
    const ab = new ArrayBuffer(16);
    writePattern(ab, 1);
    const view = new DataView(ab);
    for (let i = 0; i < 4; i++) assert.equal(view.getUint32(4 * i, true), REFERENCE[i]?.[2]);
  });

  it('checkPattern finds no mismatch in what writePattern wrote', () => {
    const ab = new ArrayBuffer(64 * 1024);
    writePattern(ab, 0xdeadbeef);
    assert.equal(checkPattern(ab, 0xdeadbeef), null);
    assert.equal(checkPattern(new Uint32Array(ab), 0xdeadbeef), null);
  });

  it('checkPattern reports the byte offset, expected and found word of the first bad word', () => {
    const ab = new ArrayBuffer(4096);
    writePattern(ab, 5);
    const words = new Uint32Array(ab);
    words[700] = 0x12345678;
    words[900] = 0;
    assert.deepEqual(checkPattern(ab, 5), { offset: 2800, expected: patternWord(5, 700), found: 0x12345678 });
  });

  it('checkPattern with another seed fails at offset 0', () => {
    const ab = new ArrayBuffer(4096);
    writePattern(ab, 5);
    assert.equal(checkPattern(ab, 6)?.offset, 0);
  });

  it('firstIndex shifts the pattern for a mapping at a non-zero offset', () => {
    const whole = new ArrayBuffer(8192);
    writePattern(whole, 9);
    const secondPage = new Uint32Array(whole, 4096);
    assert.equal(checkPattern(secondPage, 9, 1024), null);
    assert.equal(checkPattern(secondPage, 9)?.offset, 0);
    secondPage[3] = ~(secondPage[3] ?? 0) >>> 0;
    assert.equal(checkPattern(secondPage, 9, 1024)?.offset, 4096 + 12);
  });

  it('bytes past the last whole word are not part of the pattern', () => {
    const ab = new ArrayBuffer(10);
    writePattern(ab, 1);
    const bytes = new Uint8Array(ab);
    assert.deepEqual([bytes[8], bytes[9]], [0, 0]);
    bytes[9] = 0xff;
    assert.equal(checkPattern(ab, 1), null);
  });
});
