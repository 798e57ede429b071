/**
 * Eta templates of the public pages (src/web/render.ts loads them by name). `<%= %>` escapes;
 * `<%~ %>` is used only for other templates and for HTML built by src/web/text.ts, which
 * escapes every character of user text itself. Kept in a module so the build carries them.
 */

const layout = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<% if (it.noReferrer) { %><meta name="referrer" content="no-referrer">
<% } %>
<title><%= it.pageTitle %> · <%= it.brand.name %></title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/convene.css">
<link rel="stylesheet" href="/assets/brand.css?v=<%= it.brand.accentColor.slice(1) %>">
<script src="/assets/convene.js" defer></script>
</head>
<body<% if (it.embed) { %> class="embed"<% } %>>
<% if (!it.embed) { %>
<a class="skip" href="#main">Skip to content</a>
<header class="site"><a class="brand" href="<%= it.brand.website || '/' %>"><% if (it.brand.logoUrl) { %><img class="brand-logo" src="<%= it.brand.logoUrl %>" alt="<%= it.brand.name %>"><span aria-hidden="true"><%= it.brand.name %></span><% } else { %><%= it.brand.name %><% } %></a></header>
<% } %>
<main id="main" tabindex="-1">
<%~ it.body %>
</main>
<% if (it.brand.privacyUrl) { %><footer class="site"><p><a href="<%= it.brand.privacyUrl %>"<% if (it.embed) { %> target="_blank" rel="noopener"<% } %>>Privacy notice</a></p></footer>
<% } %>
</body>
</html>
`;

/*
 * Times, local first. The server writes every time in the session's zone with its short name and
 * place ("2:00 PM – 3:30 PM CST in Chicago"): right without JavaScript. Our script (SCRIPT in
 * src/web/assets.ts, Intl only) rewrites three kinds of markup in the visitor's own zone when its
 * clock differs from the session's:
 * - a session's time range, the `@when` partial (data: whenText, startIso, endIso, timezone;
 *   src/web/times.ts whenView): `<p class="when" data-starts data-ends data-zone>` holding
 *   `<strong class="when-primary">` (becomes the visitor's time, short zone name) and an empty
 *   `<span class="when-secondary">` (becomes "2:00 PM – 3:30 PM CST in Chicago, the organizer's time");
 * - one instant, the `@instant` partial (InstantView: iso, text, zone):
 *   `<time class="local-instant" datetime data-zone>` (becomes "… 3:45 PM EST (2:45 PM CST in Chicago)");
 * - a range inside a sentence, the `@range` partial (same data as `@when`):
 *   `<span class="local-range" data-starts data-ends data-zone>` (becomes the visitor's time only).
 * It also fills every `input[type=hidden][name=timezone]` with the browser's zone, and runs the
 * join page's countdown (`[data-countdown]`, see `@join`).
 */
const when = `<p class="when" data-starts="<%= it.startIso %>" data-ends="<%= it.endIso %>" data-zone="<%= it.timezone %>"><strong class="when-primary"><%= it.whenText %></strong> <span class="when-secondary"></span></p>
`;

const range = `<span class="local-range" data-starts="<%= it.startIso %>" data-ends="<%= it.endIso %>" data-zone="<%= it.timezone %>"><%= it.whenText %></span>`;

// How to join (src/web/join-views.ts HowToJoinView): the public variant has no passcode, instructions or link.
const howToJoin = `<% const h = it; %>
<section class="how-to-join" aria-labelledby="how-to-join-title">
<h2 id="how-to-join-title">How to join</h2>
<p class="join-platform"><%= h.platformText %></p>
<% if (h.personal) { %>
<% if (h.passcode) { %><p class="passcode-line">Passcode: <strong class="passcode"><%= h.passcode %></strong></p>
<% } %>
<% if (h.instructionsHtml) { %><h3>Instructions</h3>
<div class="instructions"><%~ h.instructionsHtml %></div>
<% } %>
<% if (h.joinUrl) { %><p class="actions"><a class="button join" href="<%= h.joinUrl %>">Join the session now</a></p>
<% } else if (h.opensLater) { %><p>Your personal join link opens the meeting from <%~ include('@instant', h.opens) %>, <%= h.minutesBefore %> minutes before the start.</p>
<% } %>
<p class="yours">This link is yours: please don't forward it.</p>
<% } else { %>
<p>Once you are registered, we e-mail you a personal join link. It opens the meeting from <%~ include('@instant', h.opens) %>, <%= h.minutesBefore %> minutes before the start.</p>
<% } %>
</section>
`;

const field = `<% const f = it; const hintId = f.id + '-hint'; const errorId = f.id + '-error'; %>
<% const described = [f.hint ? hintId : '', f.error ? errorId : ''].filter(Boolean).join(' '); %>
<div class="field<%= f.error ? ' invalid' : '' %>">
<% if (f.kind === 'checkbox') { %>
<% if (f.error) { %><p class="field-error" id="<%= errorId %>"><span class="visually-hidden">Error: </span><%= f.error %></p>
<% } %>
<div class="check">
<input type="checkbox" id="<%= f.id %>" name="<%= f.name %>" value="on"<% if (f.checked) { %> checked<% } %><% if (f.required) { %> required aria-required="true"<% } %><% if (f.error) { %> aria-invalid="true"<% } %><% if (described) { %> aria-describedby="<%= described %>"<% } %><% if (f.autofocus) { %> autofocus<% } %>>
<label for="<%= f.id %>"><%= f.label %><% if (f.required) { %> <span class="req">(required)</span><% } %></label>
</div>
<% if (f.hint) { %><p class="hint" id="<%= hintId %>"><%= f.hint %></p>
<% } %>
<% } else { %>
<label for="<%= f.id %>"><%= f.label %><% if (f.required) { %> <span class="req">(required)</span><% } %></label>
<% if (f.hint) { %><p class="hint" id="<%= hintId %>"><%= f.hint %></p>
<% } %>
<% if (f.error) { %><p class="field-error" id="<%= errorId %>"><span class="visually-hidden">Error: </span><%= f.error %></p>
<% } %>
<% if (f.kind === 'textarea') { %>
<textarea id="<%= f.id %>" name="<%= f.name %>" rows="4"<% if (f.maxlength) { %> maxlength="<%= f.maxlength %>"<% } %><% if (f.required) { %> required aria-required="true"<% } %><% if (f.error) { %> aria-invalid="true"<% } %><% if (described) { %> aria-describedby="<%= described %>"<% } %><% if (f.autofocus) { %> autofocus<% } %>><%= f.value %></textarea>
<% } else if (f.kind === 'select') { %>
<select id="<%= f.id %>" name="<%= f.name %>"<% if (f.required) { %> required aria-required="true"<% } %><% if (f.error) { %> aria-invalid="true"<% } %><% if (described) { %> aria-describedby="<%= described %>"<% } %><% if (f.autofocus) { %> autofocus<% } %>>
<option value="">Choose…</option>
<% for (const option of f.options) { %><option value="<%= option %>"<% if (option === f.value) { %> selected<% } %>><%= option %></option>
<% } %>
</select>
<% } else { %>
<input type="<%= f.kind %>" id="<%= f.id %>" name="<%= f.name %>" value="<%= f.value %>"<% if (f.autocomplete) { %> autocomplete="<%= f.autocomplete %>"<% } %><% if (f.kind === 'email') { %> inputmode="email" spellcheck="false" autocapitalize="off"<% } %><% if (f.maxlength) { %> maxlength="<%= f.maxlength %>"<% } %><% if (f.required) { %> required aria-required="true"<% } %><% if (f.error) { %> aria-invalid="true"<% } %><% if (described) { %> aria-describedby="<%= described %>"<% } %><% if (f.autofocus) { %> autofocus<% } %>>
<% } %>
<% } %>
</div>
`;

const form = `<% const form = it; %>
<% if (form.errors.length > 0) { %>
<div class="error-summary" id="error-summary" tabindex="-1" aria-labelledby="error-summary-title"<% if (form.focusSummary) { %> autofocus<% } %>>
<h2 id="error-summary-title">There is a problem</h2>
<ul>
<% for (const error of form.errors) { %><li><% if (error.href) { %><a href="<%= error.href %>"><%= error.text %></a><% } else { %><%= error.text %><% } %></li>
<% } %>
</ul>
</div>
<% } %>
<form method="post" action="<%= form.action %>" novalidate>
<input type="hidden" name="timezone" value="" data-attendee-zone>
<% for (const f of form.fields) { %><%~ include('@field', f) %><% } %>
<div class="hp" aria-hidden="true">
<label for="f-<%= form.honeypotName %>">Leave this field empty</label>
<input type="text" id="f-<%= form.honeypotName %>" name="<%= form.honeypotName %>" value="" tabindex="-1" autocomplete="off">
</div>
<%~ include('@field', form.consent) %>
<div class="actions"><button type="submit"><%= form.submitLabel %></button></div>
</form>
`;

const sessionBlock = `<% const s = it.session; %>
<h1><%= s.title %></h1>
<%~ include('@when', s) %>
<% if (s.summary) { %><p class="muted"><%= s.summary %></p>
<% } %>
`;

const availability = `<div class="status <%= it.tone %>"><p><%= it.text %><% if (it.opensAt) { %> <%~ include('@instant', it.opensAt) %>.<% } %></p></div>
`;

// One instant: the session zone's text, which our script rewrites in the reader's zone.
const instant = `<time class="local-instant" datetime="<%= it.iso %>" data-zone="<%= it.zone %>"><%= it.text %></time>`;

// A status as words in a badge; the colour only repeats them.
const badge = `<span class="badge <%= it.tone %>"><%= it.label %><% if (it.opensAt) { %> <%~ include('@instant', it.opensAt) %><% } %></span>`;

// Add to calendar: this one session, as buttons; the subscriptions under "More".
const calendar = `<% const c = it; %>
<div class="calendar-buttons">
<a class="button secondary" href="<%= c.google %>" rel="noopener noreferrer" target="_blank">Google Calendar</a>
<a class="button secondary" href="<%= c.outlook %>" rel="noopener noreferrer" target="_blank">Outlook.com</a>
<a class="button secondary" href="<%= c.ics %>" download>Apple / other (.ics)</a>
</div>
<details class="calendar-more">
<summary>More</summary>
<ul class="links">
<% for (const link of c.more) { %><li><a href="<%= link.href %>" rel="noopener noreferrer"><%= link.text %></a></li>
<% } %>
</ul>
</details>
`;

// A list of sessions with their status badges (the home page, and the other sessions on a closed session's page).
const sessionList = `<ul class="sessions">
<% for (const s of it.sessions) { %>
<li>
<h<%= it.level %>><a href="<%= s.pageUrl %>"><%= s.title %></a></h<%= it.level %>>
<p class="status-line"><%~ include('@badge', s.badge) %></p>
<%~ include('@when', s) %>
<% if (s.summary) { %><p class="muted"><%= s.summary %></p>
<% } %>
</li>
<% } %>
</ul>
`;

const index = `<% layout('@layout') %>
<h1>Upcoming sessions</h1>
<% if (it.sessions.length === 0) { %>
<p>No sessions are open at the moment. Please check again soon.</p>
<% } else { %>
<%~ include('@session-list', { sessions: it.sessions, level: 2 }) %>
<% } %>
`;

const session = `<% layout('@layout') %>
<%~ include('@session-block', it) %>
<%~ include('@availability', it.session.availability) %>
<% if (it.cancelReason) { %><p class="cancel-reason"><strong>The organizer’s reason:</strong> <%= it.cancelReason %></p>
<% } %>
<% if (it.followUp) { %>
<h2>After the session</h2>
<% if (it.followUp.messageHtml) { %><div class="description"><%~ it.followUp.messageHtml %></div>
<% } %>
<% if (it.followUp.recordingUrl) { %><p class="actions"><a class="button" href="<%= it.followUp.recordingUrl %>" rel="noopener noreferrer">Watch the recording</a></p>
<% } %>
<% } %>
<% if (it.session.descriptionHtml) { %><div class="description"><%~ it.session.descriptionHtml %></div>
<% } %>
<% if (it.howToJoin) { %><%~ include('@how-to-join', it.howToJoin) %><% } %>
<% if (it.calendar) { %>
<h2>Add to your calendar</h2>
<%~ include('@calendar', it.calendar) %>
<% } %>
<% if (it.form && it.approval) { %>
<h2 id="register">Request a place</h2>
<p class="muted">The organizers approve each request. No account needed: we e-mail you when they decide (with a calendar invite if you get a seat) and a personal link to see or withdraw your request.</p>
<%~ include('@form', it.form) %>
<% } else if (it.form) { %>
<h2 id="register">Register</h2>
<p class="muted">It takes a minute. No account needed: we e-mail you a calendar invite and a personal link to manage your registration.</p>
<%~ include('@form', it.form) %>
<% } %>
<% if (it.others && it.others.length > 0) { %>
<h2>Other upcoming sessions</h2>
<%~ include('@session-list', { sessions: it.others, level: 3 }) %>
<% } else if (it.others) { %>
<p><a href="/">See all upcoming sessions</a></p>
<% } %>
<h2>Questions?</h2>
<p>Write to <%= it.session.contact.name %>: <a href="mailto:<%= it.session.contact.email %>"><%= it.session.contact.email %></a>.</p>
`;

const embed = `<% layout('@layout') %>
<%~ include('@session-block', it) %>
<%~ include('@availability', it.session.availability) %>
<% if (it.cancelReason) { %><p class="cancel-reason"><strong>The organizer’s reason:</strong> <%= it.cancelReason %></p>
<% } %>
<% if (it.form) { %><%~ include('@form', it.form) %><% } else if (it.others) { %><p><a href="/" target="_top">See other upcoming sessions</a></p>
<% } %>
`;

// Says nothing of seats or places: the same page follows every accepted post, and the e-mail tells.
// With approval, every post is a request (a new address's or a repeat's alike): the words say so for all.
const registered = `<% layout('@layout') %>
<% const s = it.session; %>
<div class="status info"><h1><%= it.approval ? 'Your request is sent: check your inbox' : 'Check your inbox' %></h1>
<p>We have received your <%= it.approval ? 'request' : 'registration' %> for “<%= s.title %>”.</p>
<p><% if (it.sentTo) { %>We are sending an e-mail to <strong class="sent-to"><%= it.sentTo %></strong>. Not your address? <a href="<%= it.formUrl %>">Register again with the right one</a>.<% } else { %>We are sending an e-mail to the address you gave.<% } %></p></div>
<%~ include('@when', s) %>
<h2>What happens next</h2>
<ul>
<li>The e-mail comes from <strong><%= it.sender %></strong>, within a few minutes.</li>
<% if (it.approval) { %>
<li>It confirms that your request arrived. The organizers approve each request; when they decide, we e-mail you again, with a calendar invite if you get a seat.</li>
<li>It also brings your personal link to see or withdraw your request. If you had already registered with this address, it brings that link again.</li>
<% } else { %>
<li>If you have a seat, it confirms your registration and brings a calendar invite. If the session is full, it tells you your place on the waitlist; when a seat opens up, we e-mail you again.</li>
<li>It also brings your personal link to manage or cancel your registration. If you had already registered with this address, it brings that link again.</li>
<% } %>
<li>Nothing after a few minutes? Look in your spam or junk folder.</li>
</ul>
<h2>Add to your calendar</h2>
<%~ include('@calendar', it.calendar) %>
<% if (it.backUrl) { %><p><a href="<%= it.backUrl %>">Back to the session</a> · <a href="/">See all upcoming sessions</a></p>
<% } %>
`;

const manage = `<% layout('@layout') %>
<% const s = it.session; const r = it.registration; %>
<p class="muted">Your registration</p>
<h1><%= s.title %></h1>
<%~ include('@when', s) %>
<% if (it.notice) { const n = it.notice; %>
<div class="status info change-notice" role="status">
<h2>This session has changed</h2>
<% if (n.previousWhen) { %><p>This session moved: was <%~ include('@range', n.previousWhen) %>, now <%~ include('@range', n.currentWhen) %>.</p>
<% } %>
<% if (n.previousTitle) { %><p>Its title was “<%= n.previousTitle %>”; it is now “<%= s.title %>”.</p>
<% } %>
<p<% if (n.previousWhen || n.previousTitle) { %> class="muted"<% } %>>Updated on <%~ include('@instant', n.changedAt) %>.</p>
</div>
<% } %>
<% if (it.message) { %><div class="status info" role="status"><p><%= it.message %></p></div>
<% } %>
<div class="status <%= it.tone %>">
<h2><%= it.headline %><% if (it.headlineUntil) { %> <%~ include('@instant', it.headlineUntil) %><% } %></h2>
<% if (it.detail) { %><p><%= it.detail %></p>
<% } %>
<% if (it.cancelReason) { %><p>The organisers’ reason: <%= it.cancelReason %></p>
<% } %>
</div>
<% if (it.offer) { %>
<form method="post" action="<%= it.offer.acceptUrl %>">
<div class="actions">
<button type="submit">Accept the seat</button>
<a class="button secondary" href="<%= it.offer.declineUrl %>">Decline the seat</a>
</div>
</form>
<% } %>
<% if (it.followUp) { %>
<h2>From the organisers</h2>
<div class="description"><%~ it.followUp.messageHtml %></div>
<% if (it.followUp.recordingUrl) { %><p class="actions"><a class="button" href="<%= it.followUp.recordingUrl %>" rel="noopener noreferrer">Watch the recording</a></p>
<% } %>
<% } %>
<% if (it.howToJoin) { %><%~ include('@how-to-join', it.howToJoin) %><% } %>
<% if (it.calendar) { %>
<h2>Add to your calendar</h2>
<%~ include('@calendar', it.calendar) %>
<% } %>
<h2>Your details</h2>
<dl class="details">
<dt>Name</dt><dd><%= r.name %></dd>
<dt>E-mail</dt><dd><%= r.email %></dd>
<% if (r.organization) { %><dt>Organisation</dt><dd><%= r.organization %></dd>
<% } %>
</dl>
<% if (it.cancel) { %>
<h2><%= it.cancel.heading %></h2>
<p><%= it.cancel.explanation %></p>
<p class="actions"><a class="button secondary" href="<%= it.cancel.url %>"><%= it.cancel.label %></a></p>
<% } %>
<% if (it.registerAgain) { %><p class="actions"><a class="button" href="<%= it.registerAgain %>">Register again</a></p>
<% } else if (it.sessionUrl) { %><p><a href="<%= it.sessionUrl %>">See the session page</a> · <a href="/">See all upcoming sessions</a></p>
<% } %>
<h2>Questions?</h2>
<p>Write to <%= s.contact.name %>: <a href="mailto:<%= s.contact.email %>"><%= s.contact.email %></a>.<% if (it.linkWarning) { %> Keep this page's link to yourself: anyone with it can <%= it.linkWarning %>.<% } %></p>
`;

const cancel = `<% layout('@layout') %>
<% const s = it.session; %>
<h1><%= it.heading %></h1>
<p><%= s.title %></p>
<%~ include('@when', s) %>
<p><%= it.explanation %></p>
<form method="post" action="<%= it.action %>">
<div class="actions">
<button type="submit" class="danger"><%= it.confirmLabel %></button>
<a class="button secondary" href="<%= it.backUrl %>"><%= it.backLabel %></a>
</div>
</form>
`;

const message = `<% layout('@layout') %>
<h1><%= it.title %></h1>
<p><%= it.message %></p>
<% if (it.link) { %><p><a href="<%= it.link.href %>"><%= it.link.text %></a></p>
<% } %>
`;

// A join link that does not open the meeting now (src/web/join-views.ts JoinPageData). The
// countdown's data-seconds is the time left when the page was made (not the visitor's clock):
// at zero the script opens data-href, this same link, which then leads to the meeting.
const join = `<% layout('@layout') %>
<% if (it.session) { %><p class="muted">Your join link: <%= it.session.title %></p>
<% } %>
<h1><%= it.heading %></h1>
<% if (it.session) { %><%~ include('@when', it.session.when) %>
<% } %>
<div class="status <%= it.tone %>">
<p><%= it.message %></p>
<% if (it.countdown) { const c = it.countdown; %>
<p>The link opens at <%~ include('@instant', c.opens) %>.</p>
<p class="countdown" data-countdown data-seconds="<%= c.seconds %>" data-href="<%= c.href %>" role="timer">Opens in <span class="countdown-left"><%= c.text %></span>.</p>
<% } %>
</div>
<% if (it.retry) { %><p class="actions"><a class="button" href="<%= it.retry.href %>"><%= it.retry.label %></a></p>
<% } %>
<% if (it.howToJoin) { %><%~ include('@how-to-join', it.howToJoin) %><% } %>
<% if (it.manageUrl || it.calendarUrl) { %>
<h2>Your registration</h2>
<ul class="links">
<% if (it.manageUrl) { %><li><a href="<%= it.manageUrl %>">Manage your registration</a>: your details, the calendar, cancelling</li>
<% } %>
<% if (it.calendarUrl) { %><li><a href="<%= it.calendarUrl %>" download="invite.ics">Add it to your calendar</a> (.ics, for Outlook, Apple Calendar and others)</li>
<% } %>
</ul>
<% } %>
<% if (it.contact) { %>
<h2>Questions?</h2>
<p>Write to <%= it.contact.name %>: <a href="mailto:<%= it.contact.email %>"><%= it.contact.email %></a>.</p>
<% } else { %><p><a href="/">See all upcoming sessions</a></p>
<% } %>
`;

export const TEMPLATES: Record<string, string> = {
  '@layout': layout,
  '@when': when,
  '@field': field,
  '@form': form,
  '@session-block': sessionBlock,
  '@availability': availability,
  '@instant': instant,
  '@badge': badge,
  '@calendar': calendar,
  '@session-list': sessionList,
  '@index': index,
  '@session': session,
  '@embed': embed,
  '@registered': registered,
  '@manage': manage,
  '@cancel': cancel,
  '@message': message,
  '@range': range,
  '@how-to-join': howToJoin,
  '@join': join,
};
