/**
 * Escaping for every output format. Report text comes from the kernel log
 * and from the probe, so it may hold anything: markup, quotes, control
 * characters, lone surrogates. Nothing is written out without going
 * through one of these.
 */

/** Characters XML 1.0 cannot hold at all, not even as a character reference; also lone surrogates. */
const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function stripInvalidXml(s: string): string {
  return s.replace(XML_INVALID, '');
}

/** Text content of an XML (or HTML) element. */
export function xmlText(s: string): string {
  return stripInvalidXml(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A double- or single-quoted attribute value; tabs and newlines survive attribute normalisation. */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

/** HTML text or attribute value (quotes included); control characters dropped as in XML. */
export function html(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * JSON for a <script type="application/json"> element: no '<' at all, so
 * neither "</script" nor "<!--" can appear in it; JSON.parse reads \u003c back.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * A YAML double-quoted scalar that is also a JSON string: only the escapes
 * both share (\" \\ \n \t \uXXXX), and every character YAML does not count
 * as printable (C0, DEL, C1, BOM, noncharacters) escaped. Lone surrogates are dropped.
 */
export function yamlString(s: string): string {
  let out = '"';
  for (const ch of s.replace(/[\uD800-\uDFFF]/gu, '')) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0xfeff || cp === 0xfffe || cp === 0xffff) {
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

/**
 * Text inside a Markdown table cell or paragraph: one line, no markup.
 * Inline Markdown punctuation (and '$', GitHub's math) is backslash-escaped;
 * '<', '>' and '&' become entities (GitHub renders inline HTML). For inline
 * positions only: it does not guard a '#' or '-' starting a line.
 */
export function md(s: string): string {
  return stripInvalidXml(s)
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~$]/g, (c) => `\\${c}`);
}
