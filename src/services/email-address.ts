import { domainToASCII } from 'node:url';

const MAX_LENGTH = 254;
const LOCAL_PART = /^[^\s@<>()[\]\\,;:"]{1,64}$/;
const ASCII_DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

/**
 * The identity of an attendee's address: trimmed, Unicode NFC, lower-cased, with the domain
 * IDNA-encoded, so `Ana@Exämple.org ` and `ana@xn--exmple-cua.org` are one person.
 * Returns null when the text is not an address we can send to.
 */
export function normalizeEmail(raw: string): string | null {
  const text = raw.trim().normalize('NFC');
  if (text.length === 0 || text.length > MAX_LENGTH || /[\u0000-\u001f\u007f]/.test(text)) return null;
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return null;
  const local = text.slice(0, at).toLowerCase();
  const domain = domainToASCII(text.slice(at + 1).toLowerCase());
  if (!LOCAL_PART.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) return null;
  if (!domain || !ASCII_DOMAIN.test(domain)) return null;
  const normalized = `${local}@${domain}`;
  return normalized.length <= MAX_LENGTH ? normalized : null;
}

export function emailDomain(normalizedEmail: string): string {
  return normalizedEmail.slice(normalizedEmail.lastIndexOf('@') + 1);
}

/**
 * A domain name as typed by an organizer ("Exämple.org", "@city.gov"): its ASCII (IDNA) form,
 * lower-case, as addresses are stored; null when it is not a domain name of two labels or more.
 */
export function normalizeDomain(domain: string): string | null {
  const ascii = domainToASCII(domain.trim().replace(/^@/, '').toLowerCase());
  return ascii && ASCII_DOMAIN.test(ascii) ? ascii : null;
}

/** The domain and each parent of it with two labels or more: `a.city.gov` → a.city.gov, city.gov. */
export function domainAndParents(domain: string): string[] {
  const labels = domain.split('.');
  return labels.slice(0, -1).map((_, index) => labels.slice(index).join('.'));
}
