/**
 * Eta template of the console's participation page (src/routes/console/participation.ts loads it
 * with addConsoleTemplates): the range form, the table per member organisation and the CSV link.
 * `<%= %>` escapes; `<%~ %>` only includes other templates. Data: ParticipationPageData.
 */

const participation = `<h1>Participation</h1>
<p class="hint">Per member organisation, over the published sessions that start in the range (drafts and cancelled sessions left out). Each registration counts for the organisation its address belonged to when it was made. <strong>Registrations</strong>: every registration made, whatever became of it; those cancelled since are also under <strong>Cancelled</strong>. <strong>Attended</strong>: confirmed and checked in or joined. <strong>No-shows</strong>: confirmed, the session has ended, neither checked in nor joined. <strong>Sessions attended</strong>: the sessions at least one of its people attended.</p>
<%~ include('@console-errors', it) %>
<form method="get" action="/console/participation" class="filters" novalidate>
<% for (const f of it.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions"><button type="submit">Show</button></div>
</form>
<% if (it.report) { const r = it.report; %>
<p><%= r.summary %></p>
<p class="actions"><a class="button secondary" href="<%= r.csvHref %>" download>Download CSV</a></p>
<p class="hint">The download is recorded in the audit log.</p>
<% if (r.rows.length === 0) { %><p class="muted">No member organisation yet: add them on the Organisations page.</p>
<% } else { %>
<div class="table-wrap">
<table class="participation-table stacked">
<caption><%= r.caption %></caption>
<thead><tr><% for (const column of r.columns) { %><th scope="col"><%= column %></th><% } %></tr></thead>
<tbody>
<% for (const row of r.rows) { %>
<tr>
<th scope="row"><%= row.name %></th>
<td data-label="<%= r.columns[1] %>"><span class="badge <%= row.statusTone %>"><%= row.statusText %></span></td>
<% row.figures.forEach((figure, i) => { %><td data-label="<%= r.columns[i + 2] %>"><%= figure %></td>
<% }) %>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
<% } %>
`;

export const PARTICIPATION_TEMPLATES: Record<string, string> = {
  '@console-participation': participation,
};
