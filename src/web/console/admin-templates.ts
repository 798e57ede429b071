/**
 * Eta templates of the console's admin pages (src/routes/console/admin.ts loads them with
 * addConsoleTemplates): the organizer accounts with their actions and the add form, the
 * confirmation of disabling one, and the audit log with its filters.
 * `<%= %>` escapes; `<%~ %>` only includes other templates. Every POST form carries `_csrf`.
 */

/** The organizer accounts: `OrganizersPageData` of src/web/console/admin-views.ts. */
const organizers = `<h1>Organizers</h1>
<%~ include('@console-errors', { errors: it.actionErrors }) %>
<section aria-labelledby="organizers-title">
<h2 id="organizers-title">Accounts <span class="count">(<%= it.rows.length %>)</span></h2>
<p class="hint">An admin sees and changes every session, the organizers and the audit log; an organizer, only the sessions they host. Disabling an account signs it out of the console and ends its API tokens at once.</p>
<div class="table-wrap">
<table class="admin-table stacked">
<caption class="visually-hidden">Organizer accounts, oldest first</caption>
<thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Created (<%= it.zone %>)</th><th scope="col">Change role</th><th scope="col">Enable / disable</th></tr></thead>
<tbody>
<% for (const row of it.rows) { %>
<tr>
<th scope="row"><%= row.name %><% if (row.self) { %> <span class="muted">(you)</span><% } %></th>
<td data-label="E-mail"><%= row.email %></td>
<td data-label="Role"><%= row.roleText %></td>
<td data-label="Status"><span class="badge <%= row.enabled ? 'good' : 'muted' %>"><%= row.enabled ? 'Enabled' : 'Disabled' %></span></td>
<td data-label="Created"><time datetime="<%= row.createdIso %>"><%= row.createdText %></time></td>
<td data-label="Change role">
<form method="post" action="/console/organizers/<%= row.id %>/role" class="row-form">
<%~ include('@console-csrf', it) %>
<label class="visually-hidden" for="role-<%= row.id %>">Role of <%= row.name %></label>
<select id="role-<%= row.id %>" name="role">
<% for (const choice of it.roleChoices) { %><option value="<%= choice.value %>"<% if (choice.value === row.role) { %> selected<% } %>><%= choice.text %></option>
<% } %>
</select>
<button type="submit" class="button secondary" aria-label="Change role of <%= row.name %>">Change role</button>
</form>
</td>
<td data-label="Enable / disable">
<% if (row.self) { %><span class="muted">Your own account</span>
<% } else if (row.enabled) { %><a class="button secondary" href="/console/organizers/<%= row.id %>/disable" aria-label="Disable <%= row.name %>">Disable</a>
<% } else { %><form method="post" action="/console/organizers/<%= row.id %>/enable" class="row-form">
<%~ include('@console-csrf', it) %>
<button type="submit" aria-label="Enable <%= row.name %>">Enable</button>
</form>
<% } %>
</td>
</tr>
<% } %>
</tbody>
</table>
</div>
</section>
<section aria-labelledby="add-title">
<h2 id="add-title">Add organizer</h2>
<%~ include('@console-errors', it.add) %>
<form method="post" action="/console/organizers" novalidate>
<%~ include('@console-csrf', it) %>
<% for (const f of it.add.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions"><button type="submit">Add organizer</button></div>
</form>
</section>
`;

/** Disabling an account, confirmed before it happens: `DisableOrganizerData`. */
const disableOrganizer = `<h1>Disable <%= it.name %>?</h1>
<dl class="details">
<dt>E-mail</dt><dd><%= it.email %></dd>
<dt>Role</dt><dd><%= it.roleText %></dd>
</dl>
<p><%= it.name %> is signed out of the console in every browser, every API token of the account stops working, and signing in fails until an admin enables the account again.</p>
<form method="post" action="/console/organizers/<%= it.id %>/disable">
<%~ include('@console-csrf', it) %>
<div class="actions">
<button type="submit" class="danger">Disable the account</button>
<a class="button secondary" href="/console/organizers">Keep it enabled</a>
</div>
</form>
`;

/** The audit log: `AuditPageData`. */
const audit = `<h1>Audit log</h1>
<p class="hint">Every change by an organizer (sessions, registrations by hand, cancellations, check-ins, organizer accounts), every export and every erasure, newest first. Times in <%= it.zone %>.</p>
<%~ include('@console-errors', it.filters) %>
<form method="get" action="/console/audit" class="filters" novalidate>
<% for (const f of it.filters.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions"><button type="submit">Show</button><% if (it.filters.active) { %> <a href="/console/audit">Clear filters</a><% } %></div>
</form>
<% if (it.rows === null) { %><p class="muted">Correct the filters to see the log.</p>
<% } else if (it.rows.length === 0) { %><p class="muted">No entry matches.</p>
<% } else { %>
<div class="table-wrap">
<table class="admin-table audit-table stacked">
<caption><%= it.caption %></caption>
<thead><tr><th scope="col">Time (<%= it.zone %>)</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Subject</th><th scope="col">Details</th></tr></thead>
<tbody>
<% for (const row of it.rows) { %>
<tr>
<th scope="row"><time datetime="<%= row.atIso %>"><%= row.atText %></time></th>
<td data-label="Actor"><% if (row.actorHref) { %><a href="<%= row.actorHref %>"><%= row.actorText %></a><% } else { %><%= row.actorText %><% } %></td>
<td data-label="Action"><code><%= row.action %></code></td>
<td data-label="Subject"><%= row.subjectType %><% if (row.subjectId) { %> <% if (row.subjectHref) { %><a href="<%= row.subjectHref %>"><code><%= row.subjectId %></code></a><% } else { %><code><%= row.subjectId %></code><% } %><% } %></td>
<td data-label="Details"><% if (row.detailsText) { %><code class="details-json"><%= row.detailsText %></code><% } %></td>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
<%~ include('@console-pager', { label: 'Pages of the audit log', firstHref: it.firstHref, nextHref: it.nextHref }) %>
`;

export const ADMIN_TEMPLATES: Record<string, string> = {
  '@console-organizers': organizers,
  '@console-organizer-disable': disableOrganizer,
  '@console-audit': audit,
};
