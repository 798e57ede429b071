import { escapeHtml } from '../text.js';

/** Trailing characters that end a sentence rather than a URL. */
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"']+/g;

/** Escapes one line and turns http(s) URLs into links (escaped first, so nothing else becomes markup). */
function inline(line: string): string {
  let html = '';
  let last = 0;
  for (const match of line.matchAll(URL_IN_TEXT)) {
    let url = match[0];
    const trailing = /[.,;:!?)\]]+$/.exec(url)?.[0] ?? '';
    url = url.slice(0, url.length - trailing.length);
    const start = match.index ?? 0;
    html += escapeHtml(line.slice(last, start));
    html += `<a href="${escapeHtml(url)}" rel="noopener noreferrer nofollow">${escapeHtml(url)}</a>`;
    last = start + url.length;
  }
  return html + escapeHtml(line.slice(last));
}

/**
 * A session description (plain text, or light Markdown) as safe HTML: paragraphs at blank lines,
 * line breaks kept, lists of "- " or "* " lines, "#" headings as emphasised paragraphs, and
 * http(s) links. Every character of the text is escaped; no markup of the author's survives.
 */
export function richText(text: string | null | undefined): string {
  if (!text) return '';
  const blocks = text
    .replace(/\r\n?/g, '\n')
    .trim()
    .split(/\n\s*\n/)
    .map((block) => block.split('\n').filter((line) => line.trim() !== ''))
    .filter((lines) => lines.length > 0);
  return blocks
    .map((lines) => {
      if (lines.every((line) => /^\s*[-*+]\s+/.test(line))) {
        return `<ul>${lines.map((line) => `<li>${inline(line.replace(/^\s*[-*+]\s+/, ''))}</li>`).join('')}</ul>`;
      }
      if (lines.length === 1 && /^#{1,6}\s+/.test(lines[0]!)) {
        return `<p><strong>${inline(lines[0]!.replace(/^#{1,6}\s+/, ''))}</strong></p>`;
      }
      return `<p>${lines.map(inline).join('<br>\n')}</p>`;
    })
    .join('\n');
}
