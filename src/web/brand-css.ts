/**
 * /assets/brand.css: the organisation's accent colour on the public pages' header and buttons
 * (the pages' CSP allows no inline style, so the colour comes as a stylesheet of its own, linked
 * after convene.css). Rules are limited to the public pages (not body.console), and to
 * `.brand-preview`, the console Branding page's preview of the header.
 */

export const BRAND_STYLESHEET_PATH = '/assets/brand.css';

/** `#16325c` -> `16325c`: the stylesheet's version in its URL, the colour itself. */
export function brandStylesheetVersion(accentColor: string): string {
  return accentColor.replace(/^#/, '').toLowerCase();
}

/** The address the layouts link: a new colour is a new address, so the old one may be cached for good. */
export function brandStylesheetHref(accentColor: string): string {
  return `${BRAND_STYLESHEET_PATH}?v=${brandStylesheetVersion(accentColor)}`;
}

/** The colour darkened by a fifth, for hover: darker keeps white text on it at least as readable. */
function darker(hex: string): string {
  const channels = [1, 3, 5].map((offset) => Math.round(parseInt(hex.slice(offset, offset + 2), 16) * 0.8));
  return `#${channels.map((value) => value.toString(16).padStart(2, '0')).join('')}`;
}

const PUBLIC = ':where(body:not(.console))';

/** The stylesheet for an `#rrggbb` accent colour (already checked: the service's contrast rule). */
export function brandStylesheet(accentColor: string): string {
  return `/* The organisation's accent colour (PATCH /api/v1/settings). */
:root { --accent: ${accentColor}; --accent-dark: ${darker(accentColor)}; }
${PUBLIC} header.site, .brand-preview header.site { background: var(--accent); }
${PUBLIC} .button, ${PUBLIC} button, .brand-preview .button { background: var(--accent); color: #ffffff; }
${PUBLIC} .button:hover, ${PUBLIC} button:hover, .brand-preview .button:hover { background: var(--accent-dark); color: #ffffff; }
${PUBLIC} .button.secondary { color: var(--accent); background: #ffffff; border-color: var(--accent); }
${PUBLIC} .button.secondary:hover { color: var(--accent); background: #ffffff; text-decoration: underline; }
${PUBLIC} .check input { accent-color: var(--accent); }
header.site .brand { display: inline-flex; align-items: center; gap: 0.625rem; }
header.site .brand-logo { display: block; height: 2.5rem; width: auto; max-width: 12rem; object-fit: contain; background: #ffffff; border-radius: 4px; padding: 0.125rem; }
footer.site { max-width: 40rem; margin: 0 auto; padding: 1rem 1rem 2rem; border-top: 1px solid #d0d5dd; font-size: 0.9375rem; }
body.embed footer.site { max-width: none; padding: 0.5rem 0.75rem 1rem; }
.brand-preview { border: 1px solid #d0d5dd; border-radius: 4px; margin: 0 0 1.5rem; max-width: 40rem; }
.brand-preview header.site { border-radius: 4px 4px 0 0; }
.brand-preview .preview-body { padding: 0.75rem 1rem; }
`;
}
