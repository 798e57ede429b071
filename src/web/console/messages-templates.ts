/**
 * Eta templates of the console's messages page (src/routes/console/messages.ts loads them with
 * addConsoleTemplates): composing a message to the people of a session, its preview (a framed
 * document of its own, see `@console-message-preview`), a test to oneself, the confirmation step
 * and the history with each message's delivery. `<%= %>` escapes; `<%~ %>` only includes other
 * templates. Every POST form carries `_csrf`.
 */

/** The messages of a session: `MessagesPageData` of src/web/console/messages-views.ts. */
const messages = `<p class="muted"><a href="<%= it.base %>">← <%= it.title %></a></p>
<div class="page-head">
<h1>Messages</h1>
</div>
<p class="when"><%= it.title %> · <%= it.whenText %></p>
<%~ include('@console-errors', it) %>
<% if (it.confirm) { %>
<section aria-labelledby="confirm-title" class="status info">
<h2 id="confirm-title"><%= it.confirm.question %></h2>
<% for (const line of it.confirm.details) { %><p><%= line %></p>
<% } %>
<dl class="details">
<dt>Subject</dt><dd><%= it.confirm.subject %></dd>
<dt>Message</dt><dd class="message-text"><%= it.confirm.body %></dd>
</dl>
<form method="post" action="<%= it.base %>/messages">
<%~ include('@console-csrf', it) %>
<% for (const hidden of it.confirm.hidden) { %><input type="hidden" name="<%= hidden.name %>" value="<%= hidden.value %>">
<% } %>
<div class="actions">
<button type="submit" name="step" value="confirmed">Send now</button>
<button type="submit" name="step" value="edit" class="secondary">Change it</button>
</div>
</form>
</section>
<% } %>
<% if (it.compose) { %>
<section aria-labelledby="compose-title">
<h2 id="compose-title">Write to the people of this session</h2>
<p class="hint">Plain text: web addresses become links. Each person reads it after “Hello” and their name, followed by the session’s time and their own registration link.</p>
<form method="post" action="<%= it.base %>/messages" novalidate>
<%~ include('@console-csrf', it) %>
<input type="hidden" name="messageId" value="<%= it.compose.messageId %>">
<input type="hidden" name="testId" value="<%= it.compose.testId %>">
<% for (const f of it.compose.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions">
<button type="submit" name="step" value="send">Send…</button>
<button type="submit" formaction="<%= it.base %>/messages/preview" formtarget="message-preview" class="secondary">Preview</button>
<button type="submit" name="step" value="test" class="secondary">Send a test to me</button>
</div>
<p class="hint">The test goes to <%= it.compose.organizerEmail %> alone. Sending asks you to confirm first.</p>
</form>
</section>
<section aria-labelledby="preview-title">
<h2 id="preview-title">Preview</h2>
<p class="hint">Press Preview to see the e-mail here as its recipients will (with a placeholder for their name).</p>
<iframe name="message-preview" class="message-preview" title="Preview of the e-mail" sandbox src="about:blank"></iframe>
</section>
<% } else if (it.composeNote) { %><p class="muted"><%= it.composeNote %></p>
<% } %>
<section aria-labelledby="history-title">
<h2 id="history-title">Sent</h2>
<% if (it.history.length === 0) { %><p class="muted">No messages yet.</p>
<% } else { %>
<div class="table-wrap">
<table class="messages-table stacked">
<caption>Messages and tests of this session, newest first</caption>
<thead><tr><th scope="col">Subject</th><th scope="col">To</th><th scope="col">Sent</th><th scope="col">Recipients</th><th scope="col">Delivery</th></tr></thead>
<tbody>
<% for (const row of it.history) { %>
<tr>
<th scope="row"><%= row.subject %><% if (row.test) { %> <span class="badge muted">Test</span><% } %></th>
<td data-label="To"><%= row.audienceText %></td>
<td data-label="Sent"><time datetime="<%= row.sentIso %>"><%= row.sentText %></time></td>
<td data-label="Recipients"><%= row.recipientsText %></td>
<td data-label="Delivery"><% if (row.failed > 0) { %><span class="badge stop"><%= row.failed %> failed</span> <% } %><%= row.deliveryText %> <a href="<%= row.logHref %>">Delivery log<span class="visually-hidden"> of “<%= row.subject %>”</span></a></td>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
<p><a href="<%= it.emailsHref %>">All e-mails of this session</a></p>
</section>
`;

/**
 * The preview of a message: a document of its own, shown in the page's sandboxed frame, with the
 * e-mail's header lines above the e-mail itself (`it.emailHtml`: rendered by renderEmail, which
 * escapes every typed value) and its plain-text part below.
 */
const preview = `<div style="font:14px/1.5 system-ui,sans-serif;padding:12px 16px;border-bottom:1px solid #ccd;background:#f5f6f8;color:#222">
<div><strong>From:</strong> <%= it.from %></div>
<div><strong>To:</strong> <%= it.to %></div>
<div><strong>Subject:</strong> <%= it.subject %></div>
</div>`;

const previewProblem = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Preview</title></head>
<body style="font:15px/1.5 system-ui,sans-serif;margin:16px;color:#222">
<p><strong>No preview yet.</strong></p>
<ul><% for (const problem of it.problems) { %><li><%= problem %></li><% } %></ul>
</body></html>`;

const previewText = `<details style="font:14px/1.5 system-ui,sans-serif;margin:16px">
<summary>Plain-text version</summary>
<pre style="white-space:pre-wrap;font:13px/1.5 ui-monospace,monospace"><%= it.text %></pre>
</details>`;

export const MESSAGES_TEMPLATES: Record<string, string> = {
  '@console-messages': messages,
  '@console-message-preview-head': preview,
  '@console-message-preview-text': previewText,
  '@console-message-preview-problem': previewProblem,
};
