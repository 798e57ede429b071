/**
 * Eta template of the console's e-mails page (src/routes/console/emails.ts loads it with
 * addConsoleTemplates): the delivery log of one session, failures first to the eye.
 * `<%= %>` escapes; `<%~ %>` only includes other templates. The page only reads: no form posts.
 */

/** The delivery log: `EmailsPageData` of src/web/console/emails-views.ts. */
const emails = `<p class="muted"><a href="<%= it.base %>">← <%= it.title %></a></p>
<div class="page-head">
<h1>E-mails</h1>
</div>
<p class="when"><%= it.title %> · <%= it.whenText %></p>
<% if (it.message) { %><p>The e-mails of the message “<%= it.message.subject %>”. <a href="<%= it.message.backHref %>">Back to Messages</a></p>
<% } %>
<p><%= it.totalsText %></p>
<% if (it.failedCount > 0) { %><div class="status stop">
<p><strong><%= it.failedCount === 1 ? '1 e-mail failed' : it.failedCount + ' e-mails failed' %></strong> and will not be retried; the mail server's reason is in <%= it.failedCount === 1 ? 'its row' : 'each row' %>.<% if (it.failedHref) { %> <a href="<%= it.failedHref %>">Failed only</a><% } %></p>
</div>
<% } %>
<form method="get" action="<%= it.base %>/emails" class="filters">
<% if (it.message) { %><input type="hidden" name="message" value="<%= it.message.hidden %>">
<% } %>
<%~ include('@console-field', it.filter.status) %>
<div class="actions"><button type="submit">Show</button><% if (it.filter.active) { %> <a href="<%= it.base %>/emails">All e-mails</a><% } %></div>
</form>
<% if (it.rows.length === 0) { %><p class="muted"><%= it.emptyText %></p>
<% } else { %>
<div class="table-wrap">
<table class="emails-table stacked">
<caption><%= it.caption %></caption>
<thead><tr><th scope="col">E-mail</th><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Written (<%= it.zone %>)</th><th scope="col">Sent (<%= it.zone %>)</th><th scope="col">Reason</th></tr></thead>
<tbody>
<% for (const row of it.rows) { %>
<tr<% if (row.failed) { %> class="failed"<% } %>>
<th scope="row"><%= row.kindText %></th>
<td data-label="Recipient"><% if (row.recipientEmail) { %><%= row.recipientName %><br><span class="muted"><%= row.recipientEmail %></span><% } else { %><span class="muted">No longer registered</span><% } %></td>
<td data-label="Status"><span class="badge <%= row.statusTone %>"><%= row.statusText %></span><% if (row.attempts > 1) { %> <span class="muted">(<%= row.attempts %> attempts)</span><% } %></td>
<td data-label="Written"><time datetime="<%= row.writtenIso %>"><%= row.writtenText %></time></td>
<td data-label="Sent"><% if (row.sentIso) { %><time datetime="<%= row.sentIso %>"><%= row.sentText %></time><% } %></td>
<td data-label="Reason"><%= row.reasonText %></td>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
<%~ include('@console-pager', { label: 'Pages of e-mails', firstHref: it.firstHref, nextHref: it.nextHref }) %>
`;

export const EMAILS_TEMPLATES: Record<string, string> = {
  '@console-emails': emails,
};
