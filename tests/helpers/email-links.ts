/**
 * The links of a rendered e-mail and the rule that their words say where they lead: a link
 * whose words speak of joining goes to the personal join link (/j/), one about the registration
 * (view, cancel, the waitlist place) to the manage page (/m/), the recording to the recording, the
 * privacy notice and the website to the organisation's addresses.
 */

export interface FoundLink {
  label: string;
  href: string;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&middot;': '·', '&nbsp;': ' ' };

export function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|middot|nbsp);/g, (entity) => ENTITIES[entity] ?? entity);
}

/** Every anchor of an HTML document: its words (tags removed, or an image's alt) and its address. */
export function htmlLinks(html: string): FoundLink[] {
  const links: FoundLink[] = [];
  for (const match of html.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi)) {
    const href = /\bhref="([^"]*)"/i.exec(match[1]!)?.[1];
    if (href === undefined) continue;
    const alt = /\balt="([^"]*)"/i.exec(match[2]!)?.[1] ?? '';
    const words = unescapeHtml(match[2]!.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();
    links.push({ label: words || unescapeHtml(alt), href: unescapeHtml(href) });
  }
  return links;
}

/** The "Words: https://..." lines of a plain-text part. */
export function textLinks(text: string): FoundLink[] {
  const links: FoundLink[] = [];
  for (const line of text.split('\n')) {
    const match = /^(.*?):\s+(https?:\/\/\S+)$/.exec(line.trim());
    if (match) links.push({ label: match[1]!.replace(/^.*[.?!]\s+/, ''), href: match[2]! });
  }
  return links;
}

export interface LinkTargets {
  website?: string | null;
  privacyUrl?: string | null;
  recordingUrl?: string | null;
}

/** Why a link's words do not match where it leads; null when they do. */
export function linkMismatch(link: FoundLink, targets: LinkTargets): string | null {
  const { label, href } = link;
  const path = (() => {
    try {
      return new URL(href).pathname;
    } catch {
      return '';
    }
  })();
  const isJoin = path.startsWith('/j/');
  const isManage = path.startsWith('/m/');
  if (/\bjoin\b/i.test(label)) return isJoin ? null : `"${label}" speaks of joining but leads to ${href}`;
  if (/cancel|registration|waitlist|request|seat/i.test(label)) return isManage ? null : `"${label}" speaks of the registration but leads to ${href}`;
  if (/recording/i.test(label)) return href === targets.recordingUrl ? null : `"${label}" is not the recording: ${href}`;
  if (/privacy/i.test(label)) return href === targets.privacyUrl ? null : `"${label}" is not the privacy notice: ${href}`;
  if (targets.website && href === targets.website) {
    return label.length > 0 && targets.website.includes(label) ? null : `"${label}" does not name the website ${href}`;
  }
  if (isJoin || isManage) return `"${label}" does not say that it leads to ${href}`;
  return `"${label}" leads somewhere unexpected: ${href}`;
}
