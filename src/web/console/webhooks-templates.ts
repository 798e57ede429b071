/**
 * Eta templates of the console's webhook pages (src/routes/console/webhooks.ts loads them with
 * addConsoleTemplates): the list of endpoints, the Add form, an endpoint's page (its details, the
 * secret shown once after adding or rotating, the delivery log, the Edit form, Send a test event)
 * and the confirmations of rotating the secret and deleting. `<%= %>` escapes; `<%~ %>` only
 * includes other templates. Every POST form carries `_csrf`. The data types are in
 * src/web/console/webhooks-views.ts.
 */

/** A status as a badge, its time in `<time>`: `WebhookStatusView`. */
const status = `<span class="badge <%= it.tone %>"><% if (it.sinceIso) { %><time datetime="<%= it.sinceIso %>"><%= it.text %></time><% } else { %><%= it.text %><% } %></span>`;

/** The list: `WebhooksPageData`. */
const list = `<div class="page-head">
<h1>Webhooks</h1>
<% if (!it.full) { %><p><a class="button" href="/console/webhooks/new">Add endpoint</a></p><% } %>
</div>
<p class="hint">A webhook endpoint is an address of yours that Convene calls when something happens: a registration is made, a session changes. Each call is signed, so your receiver can check that it comes from Convene. It gets the events of the sessions you host<% if (it.isAdmin) { %>, and as an admin of every session<% } %>.</p>
<% if (it.full) { %><p>You have <%= it.max %> endpoints, the most one may have. Delete one you no longer use to add another.</p>
<% } %>
<section aria-labelledby="endpoints-title">
<h2 id="endpoints-title"><%= it.isAdmin ? 'Every organizer’s endpoints' : 'Your endpoints' %> <span class="count">(<%= it.rows.length %>)</span></h2>
<% if (it.rows.length === 0) { %><p class="muted"><%= it.isAdmin ? 'No organizer has a webhook endpoint.' : 'You have no webhook endpoint.' %></p>
<% } else { %>
<div class="table-wrap">
<table class="admin-table webhooks-table stacked">
<caption class="visually-hidden"><%= it.isAdmin ? 'Every organizer’s webhook endpoints' : 'Your webhook endpoints' %>, oldest first</caption>
<thead><tr><th scope="col">URL</th><% if (it.isAdmin) { %><th scope="col">Owner</th><% } %><th scope="col">Events</th><th scope="col">Status</th><th scope="col">Created (<%= it.zone %>)</th></tr></thead>
<tbody>
<% for (const row of it.rows) { %>
<tr>
<th scope="row"><a href="<%= row.href %>"><%= row.url %></a><% if (row.description) { %><br><span class="muted"><%= row.description %></span><% } %></th>
<% if (it.isAdmin) { %><td data-label="Owner"><% if (row.owner) { %><%= row.owner.name %><br><span class="muted"><%= row.owner.email %></span><% } %></td>
<% } %>
<td data-label="Events"><%= row.eventTexts.join(', ') %></td>
<td data-label="Status"><%~ include('@console-webhook-status', row.status) %></td>
<td data-label="Created"><time datetime="<%= row.createdIso %>"><%= row.createdText %></time></td>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
</section>
`;

/** The Events checkboxes, in a fieldset with their error: `WebhookEventsView`. */
const events = `<% const described = ['f-events-hint', it.error ? 'f-events-error' : ''].filter(Boolean).join(' '); %>
<fieldset class="field<%= it.error ? ' invalid' : '' %>" id="f-events" aria-describedby="<%= described %>">
<legend>Events <span class="req">(required)</span></legend>
<p class="hint" id="f-events-hint"><%= it.hint %></p>
<% if (it.error) { %><p class="field-error" id="f-events-error"><span class="visually-hidden">Error: </span><%= it.error %></p>
<% } %>
<% for (const choice of it.choices) { %>
<div class="check">
<input type="checkbox" id="<%= choice.id %>" name="<%= choice.name %>" value="on"<% if (choice.checked) { %> checked<% } %><% if (it.error) { %> aria-invalid="true"<% } %>>
<label for="<%= choice.id %>"><%= choice.label %> <code>(<%= choice.event %>)</code></label>
</div>
<% } %>
</fieldset>
`;

/** The Add form: `NewWebhookData`. */
const addForm = `<p class="muted"><a href="/console/webhooks">← Webhooks</a></p>
<h1>Add a webhook endpoint</h1>
<p class="hint">Convene will POST the events you choose to this address, signed with a secret shown to you once the endpoint is added. It gets the events of the sessions you host<% if (it.isAdmin) { %>, and as an admin of every session<% } %>.</p>
<%~ include('@console-errors', it.form) %>
<form method="post" action="/console/webhooks" novalidate>
<%~ include('@console-csrf', it) %>
<input type="hidden" name="formId" value="<%= it.formId %>">
<%~ include('@console-field', it.form.url) %>
<%~ include('@console-webhook-events', it.form.events) %>
<%~ include('@console-field', it.form.description) %>
<div class="actions"><button type="submit">Add endpoint</button> <a class="button secondary" href="/console/webhooks">Cancel</a></div>
</form>
`;

/** How a receiver checks a delivery: under every secret shown. */
const verifyNote = `<h3>How your receiver checks a delivery</h3>
<p>Deliveries follow the <a href="https://www.standardwebhooks.com/">Standard Webhooks</a> specification: each is a POST of JSON <code>{type, timestamp, data}</code> with the headers <code>webhook-id</code>, <code>webhook-timestamp</code> and <code>webhook-signature</code>. The signature is <code>v1,</code> followed by the base64 HMAC-SHA256 of <code>{webhook-id}.{webhook-timestamp}.{body}</code>, keyed with the secret (the base64 after <code>whsec_</code>, decoded); the Standard Webhooks libraries check it for you, given the secret.</p>
<p>Refuse a delivery whose signature does not match, or whose timestamp is more than a few minutes from now. After a rotation the header holds two signatures separated by a space: accept the delivery when one of them matches. A retry carries the same <code>webhook-id</code>, so your receiver can ignore an event it has already handled.</p>
`;

/** An endpoint's page: `WebhookPageData`. */
const endpoint = `<p class="muted"><a href="/console/webhooks">← Webhooks</a></p>
<h1>Webhook endpoint</h1>
<% if (it.notice) { %><div class="status info" role="status"><p><%= it.notice %></p></div>
<% } %>
<% if (it.shown) { %>
<section class="status good" aria-labelledby="secret-title">
<h2 id="secret-title"><%= it.shown.heading %></h2>
<div class="field">
<label for="signing-secret">Signing secret</label>
<p class="hint" id="signing-secret-hint"><strong>Copy it now: it is not shown again.</strong> It is kept encrypted, and no page or API answer shows it later; if it is lost, rotate the secret to get a new one.</p>
<input type="text" id="signing-secret" value="<%= it.shown.secret %>" readonly autocomplete="off" spellcheck="false" autocapitalize="off" aria-describedby="signing-secret-hint" data-copy>
</div>
<% if (it.shown.previousUntilText) { %><p>The previous secret also signs every delivery until <%= it.shown.previousUntilText %>, so your receiver keeps working while you give it the new one; after that only the new secret signs.</p>
<% } %>
<%~ include('@console-webhook-verify', it) %>
</section>
<% } %>
<dl class="details">
<dt>URL</dt><dd><code><%= it.url %></code></dd>
<% if (it.description) { %><dt>Description</dt><dd><%= it.description %></dd>
<% } %>
<% if (it.owner) { %><dt>Owner</dt><dd><%= it.owner.name %> <span class="muted">(<%= it.owner.email %>)</span></dd>
<% } %>
<dt>Events</dt><dd><%= it.eventTexts.join(', ') %></dd>
<dt>Status</dt><dd><%~ include('@console-webhook-status', it.status) %></dd>
<dt>Created</dt><dd><time datetime="<%= it.createdIso %>"><%= it.createdText %></time></dd>
<% if (it.previousUntilText) { %><dt>Previous secret</dt><dd>Also signs until <time datetime="<%= it.previousUntilIso %>"><%= it.previousUntilText %></time></dd>
<% } %>
</dl>
<section aria-labelledby="test-title">
<h2 id="test-title">Send a test event</h2>
<p class="hint">A <code>ping</code> event goes to this endpoint alone, signed and retried like any other, even while the endpoint is disabled. Its outcome shows in the delivery log below.</p>
<form method="post" action="<%= it.base %>/test">
<%~ include('@console-csrf', it) %>
<div class="actions"><button type="submit">Send a test event</button></div>
</form>
</section>
<section aria-labelledby="log-title">
<h2 id="log-title">Delivery log</h2>
<% if (it.logNote) { %><p class="muted"><%= it.logNote %></p>
<% } %>
<% if (it.deliveries.length === 0) { %><p class="muted"><%= it.newestHref ? 'No older deliveries.' : 'Nothing sent yet: each event for this endpoint shows here, with its outcome.' %></p>
<% } else { %>
<div class="table-wrap">
<table class="admin-table webhook-deliveries-table stacked">
<caption>Deliveries to this endpoint, newest first</caption>
<thead><tr><th scope="col">Time (<%= it.zone %>)</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th></tr></thead>
<tbody>
<% for (const row of it.deliveries) { %>
<tr<% if (row.status.tone === 'stop') { %> class="failed"<% } %>>
<th scope="row"><time datetime="<%= row.timeIso %>"><%= row.timeText %></time></th>
<td data-label="Event"><%= row.eventText %> <code>(<%= row.event %>)</code></td>
<td data-label="Status"><%~ include('@console-webhook-status', row.status) %></td>
<td data-label="Attempts"><%= row.attempts %></td>
<td data-label="Last answer"><%= row.answerText %></td>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
<% if (it.olderHref || it.newestHref) { %>
<nav aria-label="Pages of the delivery log" class="pager">
<% if (it.newestHref) { %><a href="<%= it.newestHref %>">Newest</a> <% } %>
<% if (it.olderHref) { %><a href="<%= it.olderHref %>" rel="next">Older</a><% } %>
</nav>
<% } %>
</section>
<section aria-labelledby="edit-title">
<h2 id="edit-title">Edit</h2>
<%~ include('@console-errors', it.edit) %>
<form method="post" action="<%= it.base %>" novalidate>
<%~ include('@console-csrf', it) %>
<%~ include('@console-field', it.edit.url) %>
<%~ include('@console-webhook-events', it.edit.events) %>
<%~ include('@console-field', it.edit.description) %>
<% if (it.edit.enabled) { %><%~ include('@console-field', it.edit.enabled) %><% } %>
<div class="actions"><button type="submit">Save</button></div>
</form>
</section>
<section aria-labelledby="secret-rotate-title">
<h2 id="secret-rotate-title">Signing secret</h2>
<p>The secret was shown once, when it was made. Rotate it when it may have leaked, or when it is lost: a new one is made and shown once, and the current one keeps signing for 24 hours beside it.</p>
<p><a class="button secondary" href="<%= it.base %>/rotate">Rotate the secret</a></p>
</section>
<section aria-labelledby="delete-title">
<h2 id="delete-title">Delete</h2>
<p><a class="button secondary" href="<%= it.base %>/delete">Delete this endpoint</a></p>
</section>
`;

/** The confirmation of a rotation: `RotateWebhookData`. */
const rotate = `<h1>Rotate the signing secret?</h1>
<dl class="details">
<dt>Endpoint</dt><dd><code><%= it.url %></code></dd>
</dl>
<p>A new secret is made and shown to you once, on the next page. For 24 hours every delivery carries two signatures, with the new secret and with the current one, so your receiver keeps working while you give it the new secret; after that only the new one signs.</p>
<% if (it.previousUntilText) { %><div class="status stop"><p><strong>The secret before the current one still signs until <%= it.previousUntilText %>.</strong> Rotating again stops it at once: only the current secret and the new one sign from now on.</p></div>
<% } %>
<form method="post" action="<%= it.base %>/rotate">
<%~ include('@console-csrf', it) %>
<input type="hidden" name="formId" value="<%= it.formId %>">
<div class="actions">
<button type="submit">Rotate the secret</button>
<a class="button secondary" href="<%= it.base %>">Keep the current secret</a>
</div>
</form>
`;

/** The confirmation of deleting: `DeleteWebhookData`. */
const deleteEndpoint = `<h1>Delete this webhook endpoint?</h1>
<dl class="details">
<dt>URL</dt><dd><code><%= it.url %></code></dd>
<% if (it.description) { %><dt>Description</dt><dd><%= it.description %></dd>
<% } %>
<dt>Events</dt><dd><%= it.eventTexts.join(', ') %></dd>
</dl>
<p>No event is sent to it from now on, not even those waiting for a retry, and its delivery log is deleted with it. This cannot be undone: to receive events again, add an endpoint, which gets a new secret.</p>
<form method="post" action="<%= it.base %>/delete">
<%~ include('@console-csrf', it) %>
<div class="actions">
<button type="submit" class="danger">Delete the endpoint</button>
<a class="button secondary" href="<%= it.base %>">Keep it</a>
</div>
</form>
`;

export const WEBHOOKS_TEMPLATES: Record<string, string> = {
  '@console-webhook-status': status,
  '@console-webhooks': list,
  '@console-webhook-events': events,
  '@console-webhook-new': addForm,
  '@console-webhook-verify': verifyNote,
  '@console-webhook': endpoint,
  '@console-webhook-rotate': rotate,
  '@console-webhook-delete': deleteEndpoint,
};
