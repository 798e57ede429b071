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
<title><%= it.pageTitle %> · Convene</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/convene.css">
<script src="/assets/convene.js" defer></script>
</head>
<body<% if (it.embed) { %> class="embed"<% } %>>
<% if (!it.embed) { %>
<a class="skip" href="#main">Skip to content</a>
<header class="site"><a class="brand" href="/">Convene</a></header>
<% } %>
<main id="main" tabindex="-1">
<%~ it.body %>
</main>
</body>
</html>
`;

const when = `<p class="when"><time datetime="<%= it.startIso %>"><%= it.whenText %></time></p>
<p class="local-time" data-local-time data-start="<%= it.startIso %>" data-end="<%= it.endIso %>" data-zone="<%= it.timezone %>" hidden></p>
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

const availability = `<div class="status <%= it.tone %>"><p><%= it.text %></p></div>
`;

const index = `<% layout('@layout') %>
<h1>Upcoming sessions</h1>
<% if (it.sessions.length === 0) { %>
<p>No sessions are open at the moment. Please check again soon.</p>
<% } else { %>
<ul class="sessions">
<% for (const s of it.sessions) { %>
<li>
<h2><a href="<%= s.pageUrl %>"><%= s.title %></a></h2>
<%~ include('@when', s) %>
<% if (s.summary) { %><p class="muted"><%= s.summary %></p>
<% } %>
<p><%= s.availability.text %></p>
</li>
<% } %>
</ul>
<% } %>
`;

const session = `<% layout('@layout') %>
<%~ include('@session-block', it) %>
<%~ include('@availability', it.session.availability) %>
<% if (it.session.descriptionHtml) { %><div class="description"><%~ it.session.descriptionHtml %></div>
<% } %>
<% if (it.form) { %>
<h2 id="register">Register</h2>
<p class="muted">It takes a minute. No account needed: we e-mail you a calendar invite and a personal link to manage your registration.</p>
<%~ include('@form', it.form) %>
<% } %>
<h2>Questions?</h2>
<p>Write to <%= it.session.contact.name %>: <a href="mailto:<%= it.session.contact.email %>"><%= it.session.contact.email %></a>.</p>
`;

const embed = `<% layout('@layout') %>
<%~ include('@session-block', it) %>
<%~ include('@availability', it.session.availability) %>
<% if (it.form) { %><%~ include('@form', it.form) %><% } %>
`;

// Says nothing of seats or places: the same page follows every accepted post, and the e-mail tells.
const registered = `<% layout('@layout') %>
<% const s = it.session; %>
<div class="status info"><h1>Check your inbox</h1>
<p>We have received your registration for “<%= s.title %>”.</p></div>
<%~ include('@when', s) %>
<p>An e-mail is on its way to the address you gave. It tells you whether you have a seat or a place on the waitlist, and brings a personal link to manage or cancel your registration (with a calendar invite once your seat is confirmed). If you had already registered with this address, it brings your personal link again.</p>
<p>If it has not arrived in a few minutes, look in your spam folder.</p>
<% if (it.backUrl) { %><p><a href="<%= it.backUrl %>">Back to the session</a></p>
<% } %>
`;

const manage = `<% layout('@layout') %>
<% const s = it.session; const r = it.registration; %>
<p class="muted">Your registration</p>
<h1><%= s.title %></h1>
<%~ include('@when', s) %>
<% if (it.notice) { %><div class="status info" role="status"><p><%= it.notice %></p></div>
<% } %>
<div class="status <%= it.tone %>">
<h2><%= it.headline %></h2>
<% if (it.detail) { %><p><%= it.detail %></p>
<% } %>
</div>
<% if (it.join) { %>
<p class="actions"><a class="button" href="<%= it.join.url %>">Join the session now</a></p>
<% } else if (it.joinLater) { %>
<p><%= it.joinLater %></p>
<% } %>
<% if (it.calendar) { %>
<h2>Add to your calendar</h2>
<ul class="links">
<li><a href="<%= it.calendar.ics %>" download="invite.ics">Download the invite (.ics)</a> for Outlook, Apple Calendar and others</li>
<% if (it.calendar.webcal) { %><li><a href="<%= it.calendar.webcal %>">Subscribe to your sessions</a> in your calendar app (webcal)</li>
<% } %>
<% if (it.calendar.google) { %><li><a href="<%= it.calendar.google %>" rel="noopener noreferrer">Subscribe in Google Calendar</a></li>
<% } %>
</ul>
<% } %>
<h2>Your details</h2>
<dl class="details">
<dt>Name</dt><dd><%= r.name %></dd>
<dt>E-mail</dt><dd><%= r.email %></dd>
<% if (r.organization) { %><dt>Organisation</dt><dd><%= r.organization %></dd>
<% } %>
</dl>
<% if (it.cancel) { %>
<h2>Cannot make it?</h2>
<p><%= it.registration.status === 'confirmed' ? 'If you cancel, your seat goes to the next person on the waitlist.' : 'You can leave the waitlist at any time.' %></p>
<p class="actions"><a class="button secondary" href="<%= it.cancel.url %>"><%= it.cancel.label %></a></p>
<% } %>
<% if (it.registerAgain) { %><p><a href="<%= it.registerAgain %>">Register again</a></p>
<% } %>
<h2>Questions?</h2>
<p>Write to <%= s.contact.name %>: <a href="mailto:<%= s.contact.email %>"><%= s.contact.email %></a>. Keep this page's link to yourself: anyone with it can cancel your registration.</p>
`;

const cancel = `<% layout('@layout') %>
<% const s = it.session; %>
<h1><%= it.status === 'confirmed' ? 'Cancel your registration?' : 'Leave the waitlist?' %></h1>
<p><%= s.title %></p>
<%~ include('@when', s) %>
<p><%= it.status === 'confirmed' ? 'Your seat will go to the next person on the waitlist. You can register again later if seats are left.' : 'You will lose your place on the waitlist.' %></p>
<form method="post" action="<%= it.action %>">
<div class="actions">
<button type="submit" class="danger"><%= it.status === 'confirmed' ? 'Yes, cancel my registration' : 'Yes, leave the waitlist' %></button>
<a class="button secondary" href="<%= it.backUrl %>">No, keep it</a>
</div>
</form>
`;

const message = `<% layout('@layout') %>
<h1><%= it.title %></h1>
<p><%= it.message %></p>
<% if (it.link) { %><p><a href="<%= it.link.href %>"><%= it.link.text %></a></p>
<% } %>
`;

export const TEMPLATES: Record<string, string> = {
  '@layout': layout,
  '@when': when,
  '@field': field,
  '@form': form,
  '@session-block': sessionBlock,
  '@availability': availability,
  '@index': index,
  '@session': session,
  '@embed': embed,
  '@registered': registered,
  '@manage': manage,
  '@cancel': cancel,
  '@message': message,
};
