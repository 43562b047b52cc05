/**
 * Terminal escapes in text a console or a saved log carries: CSI sequences
 * (colours, cursor, "ESC[?7l"), other two-character escapes ("ESC c"), and
 * stray control characters (tab and newline kept).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is what this pattern is for
const ESCAPES = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|\x1b.|[\x00-\x08\x0b-\x1f\x7f]/g;

/** `text` without its terminal escapes and stray control characters. */
export function withoutEscapes(text: string): string {
  return text.replace(ESCAPES, '');
}
