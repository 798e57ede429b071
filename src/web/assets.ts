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
.when-primary { display: block; }
.when-secondary { display: block; font-weight: 400; color: #4a4a4a; }
.when-secondary:empty { display: none; }
/* How to join, the manage page's change notice, the join page's countdown. */
.how-to-join { border: 2px solid #d0d5dd; border-radius: 6px; padding: 0.25rem 1rem 0.5rem; margin: 1.25rem 0; }
.how-to-join h2 { margin-top: 0.75rem; }
.how-to-join h3 { font-size: 1.0625rem; margin: 1rem 0 0.25rem; }
.join-platform { font-weight: 600; }
.passcode { font-size: 1.25rem; letter-spacing: 0.05em; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.instructions { overflow-wrap: anywhere; }
.yours { color: #4a4a4a; }
.change-notice h2 { font-size: 1.125rem; }
.status > h2:first-child { margin-top: 0; }
.countdown { font-weight: 600; font-variant-numeric: tabular-nums; }
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
.button.secondary, button.secondary { color: #16325c; background: #ffffff; border-color: #16325c; }
.button.secondary:hover, button.secondary:hover { background: #eef2f8; color: #16325c; }
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
.message-preview { display: block; width: 100%; height: 44rem; border: 1px solid #c4cad3; border-radius: 4px; background: #ffffff; }
/* Public session pages: status badges on the list, add-to-calendar buttons, closed sessions. */
.badge.wait { color: #8a5a00; }
.status-line { margin: 0 0 0.25rem; }
.sessions .badge { white-space: normal; }
.calendar-buttons { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.5rem 0 0.75rem; }
.calendar-buttons .button { flex: 1 1 11rem; }
.calendar-more { margin: 0 0 1rem; }
.calendar-more summary { cursor: pointer; font-weight: 600; color: #0b4fb3; padding: 0.25rem 0; }
.calendar-more ul { margin-top: 0.5rem; }
.calendar-more a, .sent-to { overflow-wrap: anywhere; }
.cancel-reason { border-left: 5px solid #9b1c1c; padding: 0.25rem 0 0.25rem 1rem; }
`;

/**
 * Progressive enhancement only; every page works without it. Rewrites times in the visitor's
 * own zone (local first), puts the browser's zone into the registration form, counts down to
 * the join window; then the console's Copy buttons.
 */
export const SCRIPT = `(function () {
  'use strict';
  // Times, local first (markup described in src/web/templates.ts above '@when'), the browser's
  // zone into the registration form, and the join page's countdown. Intl only, no library.
  if (!document.querySelectorAll || typeof Intl === 'undefined') return;
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  var each = function (selector, run) {
    var nodes = document.querySelectorAll(selector);
    for (var i = 0; i < nodes.length; i += 1) run(nodes[i]);
  };

  if (zone) {
    // Only the registration form's marked field: the console's forms carry the session's zone
    // in hidden fields of the same name, which must never become the organizer's own zone.
    each('input[type="hidden"][data-attendee-zone]', function (input) { input.value = zone; });
  }

  var formatters = {};
  var format = function (date, timeZone, kind) {
    var key = timeZone + '|' + kind;
    if (!formatters[key]) {
      var options = { timeZone: timeZone };
      if (kind === 'day') { options.weekday = 'long'; options.year = 'numeric'; options.month = 'long'; options.day = 'numeric'; }
      if (kind === 'time') { options.hour = 'numeric'; options.minute = '2-digit'; }
      if (kind === 'zone') { options.hour = 'numeric'; options.timeZoneName = 'short'; }
      if (kind === 'clock') { options.year = 'numeric'; options.month = '2-digit'; options.day = '2-digit'; options.hour = '2-digit'; options.minute = '2-digit'; options.hourCycle = 'h23'; }
      formatters[key] = new Intl.DateTimeFormat('en-US', options);
    }
    if (kind !== 'zone') return formatters[key].format(date);
    var parts = formatters[key].formatToParts(date);
    for (var i = 0; i < parts.length; i += 1) if (parts[i].type === 'timeZoneName') return parts[i].value;
    return timeZone;
  };
  var place = function (timeZone) {
    if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 'UTC';
    return timeZone.split('/').pop().replace(/_/g, ' ');
  };
  // The same wall clock at these instants: nothing to rewrite.
  var sameClock = function (dates, other) {
    for (var i = 0; i < dates.length; i += 1) if (format(dates[i], zone, 'clock') !== format(dates[i], other, 'clock')) return false;
    return true;
  };
  var valid = function (date) { return !isNaN(date.getTime()); };
  // "Friday, December 4, 2026, 3:00 PM – 4:30 PM EST"; the first day left out when skipDay (shown already).
  var rangeText = function (start, end, timeZone, skipDay) {
    var startDay = format(start, timeZone, 'day');
    var endDay = format(end, timeZone, 'day');
    return (skipDay ? '' : startDay + ', ') + format(start, timeZone, 'time') + ' – ' +
      (endDay === startDay ? '' : endDay + ', ') + format(end, timeZone, 'time') + ' ' + format(end, timeZone, 'zone');
  };
  var instantText = function (at, timeZone, skipDay) {
    return (skipDay ? '' : format(at, timeZone, 'day') + ', ') + format(at, timeZone, 'time') + ' ' + format(at, timeZone, 'zone');
  };
  if (zone) {
    each('.when[data-starts]', function (node) {
      var start = new Date(node.getAttribute('data-starts'));
      var end = new Date(node.getAttribute('data-ends'));
      var other = node.getAttribute('data-zone');
      if (!other || !valid(start) || !valid(end)) return;
      try {
        if (sameClock([start, end], other)) return;
        var primary = node.querySelector('.when-primary');
        var secondary = node.querySelector('.when-secondary');
        if (!primary || !secondary) return;
        var sameDay = format(start, zone, 'day') === format(start, other, 'day');
        primary.textContent = rangeText(start, end, zone, false);
        secondary.textContent = rangeText(start, end, other, sameDay) + ' in ' + place(other) + ', the organizer\\u2019s time';
      } catch (e) { /* an unknown zone: the server's text stays */ }
    });
    each('time.local-instant[datetime]', function (node) {
      var at = new Date(node.getAttribute('datetime'));
      var other = node.getAttribute('data-zone');
      if (!other || !valid(at)) return;
      try {
        if (sameClock([at], other)) return;
        var sameDay = format(at, zone, 'day') === format(at, other, 'day');
        node.textContent = instantText(at, zone, false) + ' (' + instantText(at, other, sameDay) + ' in ' + place(other) + ')';
      } catch (e) { /* the server's text stays */ }
    });
    each('.local-range[data-starts]', function (node) {
      var start = new Date(node.getAttribute('data-starts'));
      var end = new Date(node.getAttribute('data-ends'));
      var other = node.getAttribute('data-zone');
      if (!other || !valid(start) || !valid(end)) return;
      try {
        if (!sameClock([start, end], other)) node.textContent = rangeText(start, end, zone, false);
      } catch (e) { /* the server's text stays */ }
    });
  }

  // The join page before the window: count down from the server's figure (not this device's
  // clock, which may be wrong), then open the same join link, which leads to the meeting.
  var units = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  var duration = function (seconds) {
    var words = [];
    for (var i = 0; i < units.length && words.length < 2; i += 1) {
      var n = Math.floor(seconds / units[i][0]);
      seconds -= n * units[i][0];
      if (n > 0) words.push(n + ' ' + units[i][1] + (n === 1 ? '' : 's'));
      else if (words.length > 0) break;
    }
    return words.length ? words.join(', ') : '0 seconds';
  };
  each('[data-countdown]', function (node) {
    var seconds = Number(node.getAttribute('data-seconds'));
    var href = node.getAttribute('data-href');
    var left = node.querySelector('.countdown-left');
    if (!(seconds > 0) || !href || !left) return;
    var opensAt = Date.now() + seconds * 1000;
    var timer;
    var tick = function () {
      var remaining = Math.ceil((opensAt - Date.now()) / 1000);
      if (remaining > 0) {
        left.textContent = duration(remaining);
        return;
      }
      clearInterval(timer);
      left.textContent = 'a moment: opening the meeting';
      window.location.replace(href);
    };
    timer = setInterval(tick, 1000);
    tick();
  });
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
