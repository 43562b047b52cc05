/** What the expectations table predicts for a catalogue cell, as "verdict (detail)": shared by the unit tests. */
import { strict as assert } from 'node:assert';
import { FULL_CATALOGUE } from '../../lib/experiments/catalogue';
import { expectationFor } from '../../lib/experiments/expectations';

export function prediction(id: string, series: string): string {
  const c = FULL_CATALOGUE.find((x) => x.id === id);
  assert.ok(c, `${id} is a cell of the catalogue`);
  const e = expectationFor(c, series);
  assert.ok(e, `${id} has a prediction`);
  return `${e.verdict}${e.detail !== undefined ? ` (${e.detail})` : ''}`;
}
