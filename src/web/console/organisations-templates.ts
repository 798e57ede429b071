/**
 * Eta templates of the console's Organisations pages (src/routes/console/organisations.ts loads
 * them with addConsoleTemplates): the list, the Add and Edit form, and the CSV import with its
 * preview. `<%= %>` escapes; `<%~ %>` only includes other templates. Every POST form carries `_csrf`.
 * Data types: src/web/console/organisations-views.ts.
 */

/** A list of domains (`DomainView[]`), the stored xn-- form beside a Unicode one. */
const domains = `<% it.domains.forEach((d, i) => { %><%= i > 0 ? ', ' : '' %><%= d.text %><% if (d.ascii) { %> <span class="muted">(<%= d.ascii %>)</span><% } %><% }) %>`;

/** `OrganisationsPageData`. */
const list = `<div class="page-head">
<h1>Organisations</h1>
<% if (it.canChange) { %><p><a class="button" href="/console/organisations/new">Add organisation</a> <a class="button secondary" href="/console/organisations/import">Import from CSV</a></p>
<% } %>
</div>
<p class="hint">The member organisations of the network. A person belongs to the organisation of the longest listed domain their e-mail address is at or ends in: someone@mail.cityofx.gov belongs to the organisation listing cityofx.gov. Members-only sessions admit the people of active organisations; the people of a lapsed one keep the registrations they have.</p>
<% if (it.rows.length === 0) { %><p class="muted">No organisation yet.<% if (it.canChange) { %> Add them one by one, or import a list from a CSV file.<% } %></p>
<% } else { %>
<div class="table-wrap">
<table class="admin-table organisations-table stacked">
<caption class="visually-hidden">Member organisations, by name</caption>
<thead><tr><th scope="col">Name</th><th scope="col">E-mail domains</th><th scope="col">Status</th><th scope="col">Changed (<%= it.zone %>)</th><% if (it.canChange) { %><th scope="col">Edit</th><% } %></tr></thead>
<tbody>
<% for (const row of it.rows) { %>
<tr>
<th scope="row"><%= row.name %></th>
<td data-label="E-mail domains"><% if (row.domains.length === 0) { %><span class="muted">None</span><% } else { %><%~ include('@console-organisation-domains', row) %><% } %></td>
<td data-label="Status"><span class="badge <%= row.statusTone %>"><%= row.statusText %></span></td>
<td data-label="Changed"><time datetime="<%= row.updatedIso %>"><%= row.updatedText %></time></td>
<% if (it.canChange) { %><td data-label="Edit"><a class="button secondary" href="/console/organisations/<%= row.id %>/edit" aria-label="Edit <%= row.name %>">Edit</a></td>
<% } %>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
`;

/** The Add and Edit forms: `OrganisationFormData`. */
const form = `<h1><%= it.heading %></h1>
<%~ include('@console-errors', it) %>
<form method="post" action="<%= it.action %>" novalidate>
<%~ include('@console-csrf', it) %>
<% for (const f of it.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions"><button type="submit"><%= it.submitText %></button> <a class="button secondary" href="/console/organisations">Cancel</a></div>
</form>
`;

/** The CSV upload (or paste): `ImportFormData`. */
const importForm = `<h1>Import organisations from CSV</h1>
<p class="hint">A CSV file (UTF-8) whose first line names the columns <code>name</code> and <code>domains</code>, then one organisation per line, its e-mail domains separated by spaces or semicolons. Each line gives the organisation's whole list of domains: an organisation already here (the same name, whatever the case) gets the domains added and removed that make its list the line's, and keeps its name and status; a new one is added as active.</p>
<pre class="sample"><code><%= it.sample %></code></pre>
<p>The next page shows what would change, line by line. Nothing changes until you press <strong>Apply</strong> there.</p>
<%~ include('@console-errors', it) %>
<form method="post" action="/console/organisations/import" enctype="multipart/form-data" novalidate>
<%~ include('@console-csrf', it) %>
<% const f = it.file; const described = f.id + '-hint' + (f.error ? ' ' + f.id + '-error' : ''); %>
<div class="field<%= f.error ? ' invalid' : '' %>">
<label for="<%= f.id %>"><%= f.label %></label>
<p class="hint" id="<%= f.id %>-hint"><%= f.hint %></p>
<% if (f.error) { %><p class="field-error" id="<%= f.id %>-error"><span class="visually-hidden">Error: </span><%= f.error %></p>
<% } %>
<input type="file" id="<%= f.id %>" name="<%= f.name %>" accept=".csv,text/csv,text/plain" aria-describedby="<%= described %>"<% if (f.error) { %> aria-invalid="true"<% } %><% if (f.autofocus) { %> autofocus<% } %>>
</div>
<%~ include('@console-field', it.text) %>
<div class="actions"><button type="submit">Preview the import</button> <a class="button secondary" href="/console/organisations">Cancel</a></div>
</form>
`;

/** What the import would change: `ImportPreviewData`. */
const preview = `<h1>Import preview</h1>
<%~ include('@console-errors', { errors: it.notice }) %>
<p><%= it.summary %></p>
<div class="table-wrap">
<table class="admin-table import-table stacked">
<caption>What each line of the CSV would do</caption>
<thead><tr><th scope="col">Line</th><th scope="col">Organisation</th><th scope="col">What happens</th><th scope="col">Domains</th></tr></thead>
<tbody>
<% for (const row of it.rows) { %>
<tr>
<td data-label="Line"><%= row.line %></td>
<th scope="row"><%= row.name || '(no name)' %><% if (row.existingName) { %> <span class="muted">(here as <%= row.existingName %>)</span><% } %></th>
<td data-label="What happens"><span class="badge <%= row.outcomeTone %>"><%= row.outcomeText %></span></td>
<td data-label="Domains">
<% if (row.reasons.length > 0) { %><ul class="reasons"><% for (const reason of row.reasons) { %><li><%= reason %></li><% } %></ul>
<% } else { %>
<% if (row.added.length > 0) { %><p>Added: <%~ include('@console-organisation-domains', { domains: row.added }) %></p><% } %>
<% if (row.removed.length > 0) { %><p>Removed: <%~ include('@console-organisation-domains', { domains: row.removed }) %></p><% } %>
<% if (row.kept.length > 0) { %><p><% if (row.added.length + row.removed.length > 0) { %>Kept: <% } %><%~ include('@console-organisation-domains', { domains: row.kept }) %></p><% } %>
<% } %>
</td>
</tr>
<% } %>
</tbody>
</table>
</div>
<% if (it.changes > 0) { %>
<form method="post" action="/console/organisations/import/apply">
<%~ include('@console-csrf', it) %>
<input type="hidden" name="csv" value="<%= it.csv %>">
<input type="hidden" name="digest" value="<%= it.digest %>">
<% if (it.refused > 0) { %><p>The refused lines are left out: correct them and import them again, or edit the organisations.</p>
<% } %>
<div class="actions"><button type="submit">Apply <%= it.changes %> <%= it.changes === 1 ? 'change' : 'changes' %></button> <a class="button secondary" href="/console/organisations/import">Start again</a></div>
</form>
<% } else { %>
<p>There is nothing to apply.</p>
<p><a class="button secondary" href="/console/organisations/import">Start again</a> <a href="/console/organisations">Back to the organisations</a></p>
<% } %>
`;

export const ORGANISATIONS_TEMPLATES: Record<string, string> = {
  '@console-organisation-domains': domains,
  '@console-organisations': list,
  '@console-organisation-form': form,
  '@console-organisations-import': importForm,
  '@console-organisations-import-preview': preview,
};
