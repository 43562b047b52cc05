/**
 * lib/experiments: what a cell is, which cells exist, what each is expected
 * to do and why, and how an observation becomes a verdict.
 */
export * from './types';
export { CATALOGUE, makeCell } from './catalogue';
export { compare, expectationFor, RULES, type Agreement } from './expectations';
export { FAULT_METHODS, HAZARD_ALLOCS, PFN_METHODS, support, type Support } from './support';
export * from './verdict';
