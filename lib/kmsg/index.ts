/**
 * lib/kmsg: what the kernel said during a cell, and what it means.
 *
 *   const since = currentSeq(); const t0 = readTaint();
 *   ... run the cell ...
 *   const t1 = readTaint();            // before the log: see lib/runner/cell-runner.ts
 *   const window = readSince(since);
 *   const { findings, summary } = analyzeWindow(window.records);
 *   const taint = diffTaint(t0, t1);
 *
 * Everything returned is plain JSON-serialisable data. Errors are MmaplabError
 * with the codes in KMSG_ERRORS.
 */

export { KMSG_ERRORS, KmsgErrorCode } from './errors';

export {
  KmsgLevel,
  KmsgLevelName,
  KmsgRecord,
  LEVEL_NAMES,
  FACILITY_KERNEL,
  FACILITY_USER,
  parseRecord,
  tryParseRecord,
  unescapeKmsg,
  escapeKmsg,
  formatRecord,
  formatRecordHuman,
} from './record';

export {
  KMSG_PATH,
  KMSG_RECORD_MAX,
  DEFAULT_MAX_RECORDS,
  KmsgWindow,
  KmsgReadOptions,
  RejectedChunk,
  ParsedKmsgText,
  currentSeq,
  readSince,
  writeKmsg,
  windowFrom,
  parseKmsgText,
  readKmsgFile,
  windowFromText,
} from './reader';

export {
  FINDING_KINDS,
  FindingKind,
  Severity,
  SEVERITY_ORDER,
  SignatureSpec,
  SIGNATURES,
  ContextSpec,
  CONTEXT_LINES,
  CONTEXT_DISTANCE,
  FRAME_LINE,
  UNRECOGNISED_FRAME,
} from './signatures';

export {
  EvidenceLine,
  Finding,
  WindowSummary,
  SummaryOptions,
  classify,
  classifyWindow,
  summarize,
  compareSeverity,
  describeFinding,
  analyzeWindow,
} from './classify';

export {
  TAINT_PATH,
  TaintFlag,
  TAINT_FLAGS,
  TAINT_FIELD_WIDTH_6_X,
  TROUBLE_BITS,
  TROUBLE_MASK,
  MODULE_OWN_BITS,
  MODULE_OWN_MASK,
  DecodedTaint,
  TaintDiff,
  maskOf,
  hasBit,
  decodeTaint,
  taintString,
  parseTaintString,
  readTaint,
  diffTaint,
  taintGained,
  troubleFlags,
} from './taint';
