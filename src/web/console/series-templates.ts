/**
 * Eta templates of the console's series pages (src/routes/console/series.ts loads them with
 * addConsoleTemplates): the list, the form (new and edit) with the sessions to pick, and the
 * confirmation of deleting a series. `<%= %>` escapes; `<%~ %>` only includes other templates.
 * Every POST form carries `_csrf`.
 */

/** `SeriesListData` of src/web/console/series-views.ts. */
const list = `<div class="page-head">
<h1>Series</h1>
<p><a class="button" href="/console/series/new">New series</a></p>
</div>
<p class="hint">A series gathers sessions you host under one public page, with one form that registers people for each of them and one calendar feed.</p>
<% if (it.rows.length === 0) { %><p class="muted">No series yet.</p>
<% } else { %>
<div class="table-wrap">
<table class="series-table admin-table stacked">
<caption class="visually-hidden">Your series, latest first</caption>
<thead><tr><th scope="col">Series</th><th scope="col">Sessions</th><th scope="col">Dates</th><th scope="col">Public page</th><th scope="col">Delete</th></tr></thead>
<tbody>
<% for (const row of it.rows) { %>
<tr>
<th scope="row"><a href="/console/series/<%= row.id %>/edit"><%= row.title %></a></th>
<td data-label="Sessions"><%= row.sessionCount %><% if (row.statusText) { %> <span class="muted">(<%= row.statusText %>)</span><% } %></td>
<td data-label="Dates"><%= row.datesText %></td>
<td data-label="Public page"><a href="<%= row.pageHref %>">/series/<%= row.slug %></a></td>
<td data-label="Delete"><a class="button secondary" href="/console/series/<%= row.id %>/delete" aria-label="Delete <%= row.title %>">Delete</a></td>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
`;

/** `SeriesFormData`: title, slug, description, and the sessions to pick with their order. */
const form = `<h1><%= it.heading %></h1>
<%~ include('@console-errors', it) %>
<form method="post" action="<%= it.action %>" novalidate>
<%~ include('@console-csrf', it) %>
<% for (const f of it.fields) { %><%~ include('@console-field', f) %><% } %>
<fieldset id="series-sessions">
<legend>Sessions</legend>
<p class="hint">Tick the sessions of the series: sessions you host that have not ended. Drafts stay off the public page until you publish them. A session that asks a required question of its own, or an access code, is shown on the series page but registered for on its own page.</p>
<% if (it.sessionsError) { %><p class="field-error" id="series-sessions-error"><span class="visually-hidden">Error: </span><%= it.sessionsError %></p>
<% } %>
<% if (it.candidatesNote) { %><p class="muted"><%= it.candidatesNote %></p>
<% } %>
<% if (it.candidates.length === 0) { %><p class="muted">You host no session that has not ended. <a href="/console/sessions/new">Create a session</a> first.</p>
<% } else { %>
<div class="table-wrap">
<table class="series-sessions-table admin-table stacked">
<caption class="visually-hidden">Sessions you may put into the series, soonest first</caption>
<thead><tr><th scope="col">Session</th><th scope="col">When</th><th scope="col">Status</th><th scope="col">Position</th></tr></thead>
<tbody>
<% for (const c of it.candidates) { %>
<tr>
<th scope="row"><div class="check"><input type="checkbox" id="s-<%= c.id %>" name="sessionIds" value="<%= c.id %>"<% if (c.checked) { %> checked<% } %>><label for="s-<%= c.id %>"><%= c.title %></label></div></th>
<td data-label="When"><time datetime="<%= c.startIso %>"><%= c.whenText %></time></td>
<td data-label="Status"><span class="badge <%= c.statusTone %>"><%= c.statusText %></span></td>
<td data-label="Position">
<label class="visually-hidden" for="p-<%= c.id %>">Position of <%= c.title %></label>
<% if (c.positionError) { %><p class="field-error" id="p-<%= c.id %>-error"><span class="visually-hidden">Error: </span><%= c.positionError %></p>
<% } %>
<input type="number" id="p-<%= c.id %>" name="position-<%= c.id %>" value="<%= c.position %>" min="1" max="999" step="1"<% if (c.positionError) { %> aria-invalid="true" aria-describedby="p-<%= c.id %>-error"<% } %>>
</td>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
<%~ include('@console-field', it.order) %>
</fieldset>
<div class="actions"><button type="submit"><%= it.submitLabel %></button> <a class="button secondary" href="<%= it.cancelHref %>">Cancel</a></div>
</form>
`;

/** Deleting a series, confirmed before it happens: `DeleteSeriesData`. */
const remove = `<h1>Delete the series “<%= it.title %>”?</h1>
<p>Its public page, its form and its calendar feed go away. Its <%= it.sessionCount %> <%= it.sessionCount === 1 ? 'session stays' : 'sessions stay' %> as <%= it.sessionCount === 1 ? 'it is' : 'they are' %>, with every registration.</p>
<form method="post" action="<%= it.action %>">
<%~ include('@console-csrf', it) %>
<div class="actions">
<button type="submit" class="danger">Delete the series</button>
<a class="button secondary" href="/console/series">Keep it</a>
</div>
</form>
`;

export const SERIES_TEMPLATES: Record<string, string> = {
  '@console-series-list': list,
  '@console-series-form': form,
  '@console-series-delete': remove,
};
