import { renderPage } from './render.js';

/**
 * A small page that says one thing (join link refused, and the like), in the site's layout and
 * stylesheet (no inline style: the pages' CSP allows none). It sends no Referer: these pages
 * sit on token URLs.
 */
export function messagePage(title: string, message: string, link: { href: string; text: string } | null = null): string {
  return renderPage('@message', { pageTitle: title, title, message, link, noReferrer: true });
}
