/**
 * When a VM dies, /dev/kmsg died with it: what the kernel printed is on the
 * serial console only. Turn console lines into kmsg-like records so the same
 * classifier reads them.
 */
import { classify, type Finding, type KmsgRecord } from '../kmsg';

const STAMP = /^\[\s*(\d+)\.(\d+)\]\s?(.*)$/;

export function consoleRecords(lines: readonly string[]): KmsgRecord[] {
  return lines.map((raw, i) => {
    const m = STAMP.exec(raw);
    return {
      seq: i,
      level: 4,
      facility: 0,
      timestampUs: m ? Number(m[1]) * 1e6 + Number((m[2] as string).padEnd(6, '0').slice(0, 6)) : 0,
      flags: '-',
      message: m ? (m[3] as string) : raw,
      dict: {},
    };
  });
}

export function classifyConsole(lines: readonly string[]): Finding[] {
  return classify(consoleRecords(lines));
}
