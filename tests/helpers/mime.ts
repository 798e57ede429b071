/**
 * A small MIME reader: the structure of what was sent, independent of mailparser's flattening,
 * so a test can assert where each part sits in the tree.
 */

export interface MimePart {
  /** Lower-cased header names with their unfolded values, in order. */
  headers: Array<[string, string]>;
  type: string;
  params: Record<string, string>;
  children: MimePart[];
  /** The raw (still transfer-encoded) body, as latin1 text so bytes are kept. */
  body: string;
}

export function parseContentType(value: string): { type: string; params: Record<string, string> } {
  const [type = '', ...rest] = value.split(';');
  const params: Record<string, string> = {};
  const re = /\s*([^=\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)\s*(?:;|$)/g;
  const text = rest.join(';');
  for (let match = re.exec(text); match; match = re.exec(text)) {
    const raw = match[2]!.trim();
    params[match[1]!.toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return { type: type.trim().toLowerCase(), params };
}

export function parseMime(raw: Buffer | string): MimePart {
  const text = typeof raw === 'string' ? raw : raw.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  const body = split === -1 ? '' : text.slice(split + 4);
  const headers: Array<[string, string]> = [];
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  const contentType = headers.find(([name]) => name === 'content-type')?.[1] ?? 'text/plain';
  const { type, params } = parseContentType(contentType);
  const children: MimePart[] = [];
  if (type.startsWith('multipart/') && params.boundary) {
    const pieces = `\r\n${body}`.split(`\r\n--${params.boundary}`);
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith('--')) break;
      children.push(parseMime(piece.replace(/^[ \t]*\r\n/, '')));
    }
  }
  return { headers, type, params, children, body };
}

export function mimeParts(part: MimePart): MimePart[] {
  return [part, ...part.children.flatMap(mimeParts)];
}
