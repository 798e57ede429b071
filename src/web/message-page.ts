import { escapeHtml } from '../services/email/format.js';

/** A small self-contained page that says one thing (join link refused, and the like). */
export function messagePage(title: string, message: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Convene</title>
</head>
<body style="font-family: system-ui, sans-serif; line-height: 1.5; max-width: 36em; margin: 2rem auto; padding: 0 1rem">
<main>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
</main>
</body>
</html>
`;
}
