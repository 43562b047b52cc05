/**
 * When a VM dies, /dev/kmsg died with it: what the kernel printed is on the
 * serial console only. Turn console lines into kmsg-like records so the same
 * classifier reads them.
 */
import { classify, type Finding, type KmsgRecord } from '../kmsg';

const STAMP = /^\[\s*(\d+)\.(\d+)\]\s?(.*)$/;

export function consoleRecords(lines: readonly string[]): KmsgRecord[] {
  return lines.map((raw, i) => {
    const [, seconds, fraction, message] = STAMP.exec(raw) ?? [];
    const stamped = seconds !== undefined && fraction !== undefined && message !== undefined;
    return {
      seq: i,
      level: 4,
      facility: 0,
      timestampUs: stamped ? Number(seconds) * 1e6 + Number(fraction.padEnd(6, '0').slice(0, 6)) : 0,
      flags: '-',
      message: stamped ? message : raw,
      dict: {},
    };
  });
}

export function classifyConsole(lines: readonly string[]): Finding[] {
  return classify(consoleRecords(lines));
}
