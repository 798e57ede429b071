/**
 * Eta templates of the organizer console (src/web/console/render.ts loads them by name).
 * `<%= %>` escapes; `<%~ %>` is used only for other templates and for fields whose name ends
 * in `Html` (markup built by a template). Partials other pages reuse:
 * - `@console-field` (a ConsoleFieldView): label, hint, error at the field, the control;
 * - `@console-errors` (`{ errors: ConsoleErrorItem[] }`): the summary at the top of a form;
 * - `@console-csrf` (`{ csrf }`): the hidden `_csrf` input every POST form carries.
 */

const layout = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title><%= it.pageTitle %> · Convene console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/convene.css">
<script src="/assets/convene.js" defer></script>
</head>
<body class="console">
<a class="skip" href="#main">Skip to content</a>
<header class="site console-header">
<a class="brand" href="/console">Convene <span class="brand-sub">console</span></a>
<% if (it.organizer) { %>
<nav class="console-nav" aria-label="Console">
<ul>
<% for (const item of it.nav) { %><li><a href="<%= item.href %>"<% if (item.current) { %> aria-current="page"<% } %>><%= item.text %></a></li>
<% } %>
</ul>
</nav>
<div class="console-user">
<span class="who"><span class="visually-hidden">Signed in as </span><%= it.organizer.name %></span>
<form method="post" action="/console/logout" class="signout">
<%~ include('@console-csrf', { csrf: it.csrf }) %>
<button type="submit" class="link-button">Sign out</button>
</form>
</div>
<% } %>
</header>
<main id="main" tabindex="-1">
<% if (it.flash) { %><div class="status <%= it.flash.tone %>" role="status"><p><%= it.flash.text %></p></div>
<% } %>
<%~ it.bodyHtml %>
</main>
</body>
</html>
`;

/** Next and First page links of a paginated table: `{ label, firstHref, nextHref }`; nothing when there is one page. */
const pager = `<% if (it.nextHref || it.firstHref) { %>
<nav aria-label="<%= it.label %>" class="pager">
<% if (it.firstHref) { %><a href="<%= it.firstHref %>">First page</a> <% } %>
<% if (it.nextHref) { %><a href="<%= it.nextHref %>" rel="next">Next page</a><% } %>
</nav>
<% } %>
`;

const csrf = `<input type="hidden" name="_csrf" value="<%= it.csrf %>">
`;

const errors = `<% if (it.errors.length > 0) { %>
<div class="error-summary" id="error-summary" tabindex="-1" role="alert" aria-labelledby="error-summary-title">
<h2 id="error-summary-title">There is a problem</h2>
<ul>
<% for (const error of it.errors) { %><li><% if (error.href) { %><a href="<%= error.href %>"><%= error.text %></a><% } else { %><%= error.text %><% } %></li>
<% } %>
</ul>
</div>
<% } %>
`;

const field = `<% const f = it; const hintId = f.id + '-hint'; const errorId = f.id + '-error'; %>
<% const described = [f.hint ? hintId : '', f.error ? errorId : ''].filter(Boolean).join(' '); %>
<% const common = (f.required ? ' required aria-required="true"' : '') + (f.error ? ' aria-invalid="true"' : '') + (described ? ' aria-describedby="' + described + '"' : '') + (f.autofocus ? ' autofocus' : ''); %>
<div class="field<%= f.error ? ' invalid' : '' %>">
<% if (f.kind === 'checkbox') { %>
<% if (f.error) { %><p class="field-error" id="<%= errorId %>"><span class="visually-hidden">Error: </span><%= f.error %></p>
<% } %>
<div class="check">
<input type="checkbox" id="<%= f.id %>" name="<%= f.name %>" value="on"<% if (f.checked) { %> checked<% } %><%~ common %>>
<label for="<%= f.id %>"><%= f.label %></label>
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
<textarea id="<%= f.id %>" name="<%= f.name %>" rows="<%= f.rows || 5 %>"<% if (f.maxlength) { %> maxlength="<%= f.maxlength %>"<% } %><%~ common %>><%= f.value %></textarea>
<% } else if (f.kind === 'select') { %>
<select id="<%= f.id %>" name="<%= f.name %>"<%~ common %>>
<% for (const option of (f.options || [])) { %><option value="<%= option.value %>"<% if (option.value === f.value) { %> selected<% } %>><%= option.text %></option>
<% } %>
</select>
<% } else { %>
<input type="<%= f.kind %>" id="<%= f.id %>" name="<%= f.name %>"<% if (f.kind !== 'password') { %> value="<%= f.value %>"<% } %><% if (f.autocomplete) { %> autocomplete="<%= f.autocomplete %>"<% } %><% if (f.kind === 'email') { %> inputmode="email" spellcheck="false" autocapitalize="off"<% } %><% if (f.maxlength) { %> maxlength="<%= f.maxlength %>"<% } %><% if (f.min) { %> min="<%= f.min %>"<% } %><% if (f.max) { %> max="<%= f.max %>"<% } %><% if (f.step) { %> step="<%= f.step %>"<% } %><%~ common %>>
<% } %>
<% } %>
</div>
`;

const message = `<h1><%= it.title %></h1>
<p><%= it.message %></p>
<% if (it.link) { %><p><a href="<%= it.link.href %>"><%= it.link.text %></a></p>
<% } %>
`;

const login = `<div class="narrow">
<h1>Sign in</h1>
<% if (it.notice) { %><div class="status info" role="status"><p><%= it.notice %></p></div>
<% } %>
<%~ include('@console-errors', it) %>
<form method="post" action="/console/login" novalidate>
<% if (it.next) { %><input type="hidden" name="next" value="<%= it.next %>">
<% } %>
<% for (const f of it.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions"><button type="submit">Sign in</button></div>
</form>
<p class="muted">The console is for organizers of Convene sessions. To register for a session, <a href="/">see the upcoming sessions</a>.</p>
</div>
`;

const dashboard = `<div class="page-head">
<h1>Sessions</h1>
<p><a class="button" href="/console/sessions/new">New session</a></p>
</div>
<% if (it.truncatedNote) { %><p class="muted"><%= it.truncatedNote %></p>
<% } %>
<% for (const group of it.groups) { %>
<section aria-labelledby="<%= group.id %>-title">
<h2 id="<%= group.id %>-title"><%= group.title %> <span class="count">(<%= group.rows.length %>)</span></h2>
<% if (group.rows.length === 0) { %><p class="muted"><%= group.empty %></p>
<% } else { %>
<div class="table-wrap">
<table class="sessions-table stacked">
<caption class="visually-hidden"><%= group.title %></caption>
<thead><tr><th scope="col">Session</th><th scope="col">When</th><th scope="col">Status</th><th scope="col">Confirmed / capacity</th><% if (group.showOffered) { %><th scope="col">Seats offered</th><% } %><th scope="col">Waitlisted</th><% if (group.showPending) { %><th scope="col">Awaiting approval</th><% } %></tr></thead>
<tbody>
<% for (const row of group.rows) { %>
<tr>
<th scope="row"><a href="<%= row.href %>"><%= row.title %></a></th>
<td data-label="When"><time datetime="<%= row.startIso %>"><%= row.whenText %></time></td>
<td data-label="Status"><span class="badge <%= row.statusTone %>"><%= row.statusText %></span></td>
<td data-label="Confirmed / capacity">
<% if (row.capacity === null) { %><%= row.confirmed %> / unlimited
<% } else { %><%= row.confirmed %> / <%= row.capacity %>
<% const taken = row.confirmed + row.offered; %>
<meter class="seats" min="0" max="<%= row.capacity %>" value="<%= taken %>" aria-label="Seats taken<%= row.offered > 0 ? ' or on offer' : '' %>: <%= taken %> of <%= row.capacity %>"><%= taken %> of <%= row.capacity %></meter>
<% } %>
</td>
<% if (group.showOffered) { %><td data-label="Seats offered"><%= row.offered %></td>
<% } %>
<td data-label="Waitlisted"><%= row.waitlisted %></td>
<% if (group.showPending) { %><td data-label="Awaiting approval"><% if (row.pending > 0) { %><a href="<%= row.href %>/registrations?status=pending"><%= row.pending %><span class="visually-hidden"> awaiting approval: review</span></a><% } else { %>0<% } %></td>
<% } %>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
</section>
<% } %>
`;

const account = `<h1>Account</h1>
<dl class="details">
<dt>E-mail</dt><dd><%= it.email %></dd>
<dt>Role</dt><dd><%= it.role %></dd>
</dl>
<section aria-labelledby="name-title">
<h2 id="name-title">Name</h2>
<%~ include('@console-errors', it.nameForm) %>
<form method="post" action="/console/account" novalidate>
<%~ include('@console-csrf', it) %>
<input type="hidden" name="change" value="name">
<% for (const f of it.nameForm.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions"><button type="submit">Save name</button></div>
</form>
</section>
<section aria-labelledby="password-title">
<h2 id="password-title">Password</h2>
<p class="muted">Changing the password signs you out everywhere: in every browser and every API token. Sign in again with the new password.</p>
<%~ include('@console-errors', it.passwordForm) %>
<form method="post" action="/console/account" novalidate>
<%~ include('@console-csrf', it) %>
<input type="hidden" name="change" value="password">
<% for (const f of it.passwordForm.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions"><button type="submit">Change password</button></div>
</form>
</section>
`;

export const CONSOLE_TEMPLATES: Record<string, string> = {
  '@console-layout': layout,
  '@console-csrf': csrf,
  '@console-pager': pager,
  '@console-errors': errors,
  '@console-field': field,
  '@console-message': message,
  '@console-login': login,
  '@console-dashboard': dashboard,
  '@console-account': account,
};
