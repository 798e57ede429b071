/**
 * Eta templates of the console's people page (src/routes/console/people.ts loads them with
 * addConsoleTemplates): the registrations of a session with filters, per-row actions (approving
 * requests one by one or ticked together), the add-by-hand form and the export links, and the
 * confirmations of cancelling for someone and of declining a request.
 * `<%= %>` escapes; `<%~ %>` only includes other templates. Every POST form carries `_csrf`.
 */

/** The people of a session: `PeoplePageData` of src/web/console/people-views.ts. */
const people = `<% const c = it.counts; %>
<p class="muted"><a href="<%= it.base %>">← <%= it.title %></a></p>
<div class="page-head">
<h1>People</h1>
</div>
<p class="when"><%= it.title %> · <%= it.whenText %></p>
<p>Confirmed <%= c.confirmed %> of <%= c.capacity === null ? 'unlimited seats' : c.capacity + ' seats' %><% if (c.offered > 0) { %> · Seats offered <%= c.offered %><% } %> · Waitlisted <%= c.waitlisted %><% if (c.pending > 0) { %> · Awaiting approval <%= c.pending %><% } %> · Cancelled <%= c.cancelled %></p>
<section aria-labelledby="export-title">
<h2 id="export-title">Export</h2>
<p class="actions"><% for (const link of it.exports) { %><a class="button secondary" href="<%= link.href %>" download><%= link.text %></a> <% } %></p>
<p class="hint">Confirmed and waitlisted people, every column and answer; each download is recorded in the audit log.</p>
</section>
<section aria-labelledby="people-title">
<h2 id="people-title">Registrations</h2>
<form method="get" action="<%= it.base %>/registrations" class="filters">
<%~ include('@console-field', it.filters.q) %>
<%~ include('@console-field', it.filters.status) %>
<%~ include('@console-field', it.filters.attendance) %>
<%~ include('@console-field', it.filters.organisation) %>
<%~ include('@console-field', it.filters.sort) %>
<div class="actions"><button type="submit">Show</button><% if (it.filters.active) { %> <a href="<%= it.filters.clearHref %>">Clear filters</a><% } %></div>
</form>
<% if (it.rows.length === 0) { %><p class="muted">Nobody matches.</p>
<% } else { %>
<div class="table-wrap">
<table class="people-table stacked">
<caption><%= it.caption %></caption>
<thead><tr><th scope="col"<% if (it.sortedBy === 'name') { %> aria-sort="ascending"<% } %>><a href="<%= it.sortHrefs.name %>" title="Sort by name">Name</a></th><th scope="col">E-mail</th><th scope="col">Organisation</th><th scope="col">Member organisation</th><th scope="col">Status</th><th scope="col">Waitlist position</th><th scope="col"<% if (it.sortedBy === 'registered') { %> aria-sort="ascending"<% } %>><a href="<%= it.sortHrefs.registered %>" title="Sort by registration time">Registered (<%= it.zone %>)</a></th><th scope="col">Checked in / joined (<%= it.zone %>)</th><th scope="col">Actions</th></tr></thead>
<tbody>
<% for (const row of it.rows) { %>
<tr>
<th scope="row"><%= row.name %></th>
<td data-label="E-mail"><%= row.email %></td>
<td data-label="Organisation"><%= row.organization %></td>
<td data-label="Member organisation"><%= row.memberOrganisation %></td>
<td data-label="Status"><span class="badge <%= row.statusTone %>"><%= row.statusText %></span><% if (row.forced) { %> <span class="muted">(beyond capacity)</span><% } %><% if (row.statusNote) { %> <span class="muted"><%= row.statusNote.text %> <time datetime="<%= row.statusNote.iso %>"><%= row.statusNote.timeText %></time></span><% } %></td>
<td data-label="Waitlist position"><%= row.position %></td>
<td data-label="Registered (<%= it.zone %>)"><time datetime="<%= row.registeredIso %>"><%= row.registeredText %></time></td>
<td data-label="Checked in / joined"><%= row.attendanceText %></td>
<td data-label="Actions">
<% if (row.approve) { %><div class="check">
<input type="checkbox" id="select-<%= row.id %>" name="ids" value="<%= row.id %>" form="approve-selected">
<label for="select-<%= row.id %>">Select<span class="visually-hidden"> <%= row.name %></span></label>
</div>
<form method="post" action="<%= it.base %>/registrations/<%= row.id %>/approve<%= it.back %>" class="inline">
<%~ include('@console-csrf', it) %>
<button type="submit" aria-label="Approve <%= row.name %>">Approve</button>
</form>
<% } %>
<% if (row.declineHref) { %><a href="<%= row.declineHref %>" aria-label="Decline <%= row.name %>">Decline</a>
<% } %>
<% if (row.checkIn) { %><form method="post" action="<%= it.base %>/registrations/<%= row.id %>/check-in<%= it.back %>" class="inline">
<%~ include('@console-csrf', it) %>
<button type="submit" aria-label="Check in <%= row.name %>">Check in</button>
</form>
<% } %>
<% if (row.cancelHref) { %><a href="<%= row.cancelHref %>" aria-label="Cancel <%= row.name %>">Cancel</a>
<% } %>
</td>
</tr>
<% } %>
</tbody>
</table>
</div>
<% if (it.bulkApprove) { %>
<form id="approve-selected" method="post" action="<%= it.bulkApprove.action %>">
<%~ include('@console-csrf', it) %>
<div class="actions"><button type="submit">Approve selected</button></div>
<p class="hint">The ticked requests are approved in the table's order: each takes a free seat while one is left and nobody waits, then a waitlist place; each person is e-mailed.</p>
</form>
<% } %>
<% } %>
<%~ include('@console-pager', { label: 'Pages of registrations', firstHref: it.firstHref, nextHref: it.nextHref }) %>
</section>
<section aria-labelledby="add-title">
<h2 id="add-title">Add someone by hand</h2>
<% if (it.add) { %>
<p class="hint">No e-mail address is checked against the audience; they get the confirmation e-mail with their calendar invite.</p>
<%~ include('@console-errors', it.add) %>
<form method="post" action="<%= it.base %>/registrations" novalidate>
<%~ include('@console-csrf', it) %>
<% for (const f of it.add.fields) { %><%~ include('@console-field', f) %><% } %>
<% if (it.add.questions.length > 0) { %><fieldset>
<legend>The session's questions</legend>
<% for (const f of it.add.questions) { %><%~ include('@console-field', f) %><% } %>
</fieldset>
<% } %>
<%~ include('@console-field', it.add.force) %>
<div class="actions"><button type="submit">Add person</button></div>
</form>
<% } else { %><p class="muted"><%= it.addNote %></p>
<% } %>
</section>
`;

/** Cancelling for someone, confirmed before it happens: `CancelPersonData`. */
const cancelPerson = `<h1>Cancel the registration of <%= it.name %>?</h1>
<dl class="details">
<dt>Session</dt><dd><%= it.title %></dd>
<dt>E-mail</dt><dd><%= it.email %></dd>
<dt>Status</dt><dd><%= it.statusText %></dd>
</dl>
<p><%= it.consequence %></p>
<form method="post" action="<%= it.action %><%= it.back %>">
<%~ include('@console-csrf', it) %>
<div class="actions">
<button type="submit" class="danger">Cancel the registration</button>
<a class="button secondary" href="<%= it.backHref %><%= it.back %>">Keep it</a>
</div>
</form>
`;

/** Declining a request, confirmed before it happens, with an optional reason: `DeclinePersonData`. */
const declinePerson = `<h1>Decline the request of <%= it.name %>?</h1>
<dl class="details">
<dt>Session</dt><dd><%= it.title %></dd>
<dt>E-mail</dt><dd><%= it.email %></dd>
<dt>Status</dt><dd><%= it.statusText %></dd>
</dl>
<p><%= it.name %> is e-mailed that the request is declined, with your reason if you give one. This cannot be undone.</p>
<%~ include('@console-errors', it) %>
<form method="post" action="<%= it.action %><%= it.back %>" novalidate>
<%~ include('@console-csrf', it) %>
<%~ include('@console-field', it.reason) %>
<div class="actions">
<button type="submit" class="danger">Decline the request</button>
<a class="button secondary" href="<%= it.backHref %><%= it.back %>">Keep it waiting</a>
</div>
</form>
`;

export const PEOPLE_TEMPLATES: Record<string, string> = {
  '@console-people': people,
  '@console-person-cancel': cancelPerson,
  '@console-person-decline': declinePerson,
};
