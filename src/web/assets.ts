import { createHash } from 'node:crypto';

/**
 * The two static assets of the public pages. They live in a module (not loose files) so that
 * the compiled service carries them wherever dist/ goes; src/routes/pages serves them at fixed
 * paths. No inline script or style anywhere: the pages' CSP allows only these.
 */

export const STYLESHEET_PATH = '/assets/convene.css';
export const SCRIPT_PATH = '/assets/convene.js';

export const STYLESHEET = `/* Convene public pages: phone first, system fonts, WCAG AA contrast. */
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 1.0625rem;
  line-height: 1.5;
  color: #1b1b1b;
  background: #ffffff;
}
a { color: #0b4fb3; text-underline-offset: 0.15em; }
a:hover { color: #06306e; }
:focus-visible { outline: 3px solid #f5b800; outline-offset: 2px; }
.skip { position: absolute; left: -10000px; top: 0; }
.skip:focus { left: 0.5rem; top: 0.5rem; background: #ffffff; padding: 0.5rem 0.75rem; z-index: 10; }
header.site { background: #16325c; padding: 0.75rem 1rem; }
header.site .brand { color: #ffffff; font-weight: 700; text-decoration: none; font-size: 1.125rem; }
header.site .brand:hover { text-decoration: underline; }
main { display: block; max-width: 40rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
main:focus { outline: none; }
body.embed main { padding: 0.75rem; max-width: none; }
h1 { font-size: 1.625rem; line-height: 1.25; margin: 0.5rem 0 0.75rem; }
h2 { font-size: 1.25rem; line-height: 1.3; margin: 1.75rem 0 0.5rem; }
body.embed h1 { font-size: 1.25rem; }
p, ul, ol { margin: 0 0 0.875rem; }
.muted { color: #4a4a4a; }
.when { font-weight: 600; margin-bottom: 0.25rem; }
.local-time { color: #4a4a4a; margin-top: 0; }
.status { border-left: 5px solid #16325c; background: #eef2f8; padding: 0.75rem 1rem; margin: 1rem 0; }
.status.good { border-color: #1d6b35; background: #ecf6ef; }
.status.wait { border-color: #8a5a00; background: #fbf4e6; }
.status.stop { border-color: #9b1c1c; background: #fbeeee; }
.status p:last-child { margin-bottom: 0; }
.sessions { list-style: none; padding: 0; }
.sessions li { border-bottom: 1px solid #d0d5dd; padding: 0.875rem 0; }
.sessions h2 { margin: 0 0 0.25rem; font-size: 1.125rem; }
.field { margin: 0 0 1.25rem; }
.field label, .field .label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
.field .hint { display: block; color: #4a4a4a; font-size: 0.9375rem; margin: 0 0 0.25rem; }
.req { font-weight: 400; color: #4a4a4a; }
input[type="text"], input[type="email"], select, textarea {
  display: block; width: 100%; font: inherit; color: inherit; background: #ffffff;
  border: 2px solid #5a5a5a; border-radius: 4px; padding: 0.5rem 0.625rem; min-height: 2.75rem;
}
textarea { min-height: 6rem; resize: vertical; }
.check { display: flex; gap: 0.625rem; align-items: flex-start; }
.check input { width: 1.5rem; height: 1.5rem; margin: 0.125rem 0 0; flex: none; accent-color: #16325c; }
.check label { font-weight: 400; margin: 0; }
.field.invalid input[type="text"], .field.invalid input[type="email"], .field.invalid select, .field.invalid textarea { border-color: #b0191e; }
.field.invalid { border-left: 4px solid #b0191e; padding-left: 0.75rem; }
.field-error { color: #b0191e; font-weight: 600; margin: 0 0 0.25rem; }
.error-summary { border: 4px solid #b0191e; padding: 0.75rem 1rem; margin: 1rem 0 1.5rem; }
.error-summary:focus { outline: 3px solid #f5b800; }
.error-summary h2 { margin-top: 0; font-size: 1.125rem; }
.error-summary ul { margin: 0; padding-left: 1.25rem; }
.error-summary a { color: #b0191e; font-weight: 600; }
.button, button {
  display: inline-block; font: inherit; font-weight: 600; line-height: 1.25; text-align: center; text-decoration: none;
  color: #ffffff; background: #1d6b35; border: 2px solid transparent; border-radius: 4px;
  padding: 0.625rem 1.25rem; min-height: 2.75rem; cursor: pointer;
}
.button:hover, button:hover { background: #14522a; color: #ffffff; }
.button.secondary { color: #16325c; background: #ffffff; border-color: #16325c; }
.button.secondary:hover { background: #eef2f8; color: #16325c; }
button.danger { background: #9b1c1c; }
button.danger:hover { background: #7a1515; }
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; margin: 1rem 0; }
.links { padding-left: 1.25rem; }
.links li { margin-bottom: 0.5rem; }
.hp { position: absolute !important; left: -10000px !important; top: auto; width: 1px; height: 1px; overflow: hidden; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0 0 1rem; }
dl.details dt { font-weight: 600; }
dl.details dd { margin: 0; overflow-wrap: anywhere; }
.description { overflow-wrap: anywhere; }
/* The organizer console (body.console): wider pages, a header with the nav, tables. */
body.console main { max-width: 72rem; }
.console-header { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.5rem; }
.console-header .brand-sub { font-weight: 400; opacity: 0.85; }
.console-nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; }
.console-nav a { color: #ffffff; text-decoration: none; padding: 0.25rem 0; display: inline-block; }
.console-nav a:hover, .console-nav a[aria-current="page"] { text-decoration: underline; text-decoration-thickness: 2px; }
.console-user { margin-left: auto; display: flex; align-items: center; gap: 0.75rem; color: #ffffff; }
.console-user form { margin: 0; }
.console-header :focus-visible { outline-color: #f5b800; }
button.link-button { background: transparent; color: #ffffff; border: 2px solid #ffffff; padding: 0.25rem 0.75rem; min-height: 2.25rem; font-weight: 600; }
button.link-button:hover { background: #ffffff; color: #16325c; }
input[type="password"], input[type="number"], input[type="url"], input[type="search"], input[type="datetime-local"] {
  display: block; width: 100%; font: inherit; color: inherit; background: #ffffff;
  border: 2px solid #5a5a5a; border-radius: 4px; padding: 0.5rem 0.625rem; min-height: 2.75rem;
}
.field.invalid input { border-color: #b0191e; }
.narrow { max-width: 28rem; margin: 0 auto; }
.page-head { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.5rem 1rem; }
.page-head p { margin: 0; }
.status.info { border-color: #16325c; }
.count { font-weight: 400; color: #4a4a4a; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 0 0 1.5rem; }
th, td { text-align: left; vertical-align: top; padding: 0.5rem 0.625rem; border-bottom: 1px solid #d0d5dd; }
thead th { border-bottom: 2px solid #16325c; font-size: 0.9375rem; }
tbody th { font-weight: 600; }
.badge { display: inline-block; padding: 0.125rem 0.5rem; border-radius: 999px; font-size: 0.875rem; font-weight: 600; border: 1px solid currentColor; }
.badge.good { color: #1d6b35; }
.badge.info { color: #16325c; }
.badge.stop { color: #9b1c1c; }
.badge.muted { color: #4a4a4a; }
meter.seats { display: block; width: 100%; max-width: 10rem; height: 0.875rem; margin-top: 0.25rem; }
ul.hosts li { margin-bottom: 0.5rem; }
form.inline { display: inline-block; margin: 0 0 0 0.75rem; }
form.inline .button { min-height: 2.25rem; padding: 0.25rem 0.75rem; }
.copy-status { color: #1d6b35; font-weight: 600; }
/* Admin pages: a role select beside its button in a table cell; audit details wrap anywhere. */
form.row-form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin: 0; }
form.row-form select { width: auto; min-width: 9rem; }
form.row-form .button, form.row-form button { min-height: 2.25rem; padding: 0.25rem 0.75rem; }
.admin-table .button { min-height: 2.25rem; padding: 0.25rem 0.75rem; }
code.details-json { overflow-wrap: anywhere; font-size: 0.875rem; }
@media (max-width: 40rem) {
  .console-user { margin-left: 0; }
}
/* Eight columns fit a laptop: long addresses wrap, and the row's actions stack in their own cell. */
.people-table th, .people-table td { padding: 0.5rem 0.4rem; }
.people-table td { overflow-wrap: anywhere; }
.people-table td[data-label="Actions"], .people-table .badge { overflow-wrap: normal; white-space: nowrap; }
.people-table td[data-label="Actions"] form.inline { display: block; margin: 0 0 0.375rem; }
/* The filters of a table sit in one row on a laptop, so the table starts within the first screen. */
@media (min-width: 48rem) {
  form.filters { display: flex; flex-wrap: wrap; gap: 0 1rem; align-items: flex-end; }
  form.filters .field { flex: 1 1 12rem; margin-bottom: 1rem; }
  form.filters .actions { margin-bottom: 1rem; }
}
/*
 * Console tables on a phone (class="stacked"): a card per row, each value named by its column
 * (the cell's data-label), empty values taking no room. The header row moves off screen rather
 * than away, and no cell is removed, so screen readers still read a table with its headers.
 */
@media (max-width: 40rem) {
  table.stacked thead { position: absolute; left: -10000px; }
  table.stacked, table.stacked tbody, table.stacked tr, table.stacked th, table.stacked td { display: block; }
  table.stacked caption { display: block; text-align: left; }
  table.stacked tr { border-bottom: 2px solid #d0d5dd; padding: 0.5rem 0; }
  table.stacked th, table.stacked td { border: 0; padding: 0.125rem 0; overflow-wrap: anywhere; }
  table.stacked td[data-label]:not(:empty)::before { content: attr(data-label) ": "; font-weight: 600; }
  table.stacked td:empty { padding: 0; }
  table.stacked form.inline { margin: 0 0.75rem 0 0; }
}
/* E-mails and follow-up pages: failed deliveries stand out; a saved message keeps its lines. */
.emails-table tr.failed th, .emails-table tr.failed td { background: #fbeeee; }
.emails-table tr.failed th { box-shadow: inset 5px 0 0 #9b1c1c; }
.message-text { white-space: pre-wrap; }
`;

/**
 * Progressive enhancement only; every page works without it. Adds the visitor's local time
 * beside the session's own zone when the two differ.
 */
export const SCRIPT = `(function () {
  'use strict';
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone || !document.querySelectorAll) return;
  var nodes = document.querySelectorAll('[data-local-time]');
  for (var i = 0; i < nodes.length; i += 1) {
    var node = nodes[i];
    if (node.getAttribute('data-zone') === zone) continue;
    var start = new Date(node.getAttribute('data-start'));
    var end = new Date(node.getAttribute('data-end'));
    if (isNaN(start.getTime()) || isNaN(end.getTime())) continue;
    var day = { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' };
    var time = { hour: 'numeric', minute: '2-digit' };
    var zoned = { hour: 'numeric', minute: '2-digit', timeZoneName: 'short' };
    var sameDay = start.toDateString() === end.toDateString();
    var text = start.toLocaleDateString(undefined, day) + ', ' + start.toLocaleTimeString(undefined, time) + ' – ' +
      (sameDay ? '' : end.toLocaleDateString(undefined, day) + ', ') + end.toLocaleTimeString(undefined, zoned);
    node.textContent = 'Your local time: ' + text + ' (' + zone + ')';
    node.hidden = false;
  }
})();
(function () {
  'use strict';
  // Console: a Copy button after each read-only field marked data-copy (links, the embed snippet).
  if (!document.querySelectorAll || !navigator.clipboard) return;
  var fields = document.querySelectorAll('[data-copy]');
  for (var i = 0; i < fields.length; i += 1) {
    (function (field) {
      var label = document.querySelector('label[for="' + field.id + '"]');
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'button secondary copy';
      button.textContent = 'Copy';
      button.setAttribute('aria-label', 'Copy ' + (label ? label.textContent : 'the text'));
      var status = document.createElement('span');
      status.className = 'copy-status';
      status.setAttribute('role', 'status');
      button.addEventListener('click', function () {
        navigator.clipboard.writeText(field.value).then(function () {
          status.textContent = 'Copied';
        }, function () {
          field.select();
          status.textContent = 'Selected: press Ctrl+C (or Cmd+C) to copy';
        });
      });
      var row = document.createElement('div');
      row.className = 'actions';
      row.appendChild(button);
      row.appendChild(status);
      field.parentNode.insertBefore(row, field.nextSibling);
    })(fields[i]);
  }
})();
`;

function etag(text: string): string {
  return `"${createHash('sha256').update(text).digest('base64url').slice(0, 16)}"`;
}

export const STYLESHEET_ETAG = etag(STYLESHEET);
export const SCRIPT_ETAG = etag(SCRIPT);
