/**
 * Eta template of the console's follow-up page (src/routes/console/follow-up.ts loads it with
 * addConsoleTemplates): composing the message sent after a session, sending it once (after a
 * confirmation step), and what was sent. `<%= %>` escapes; `<%~ %>` only includes other
 * templates. Every POST form carries `_csrf`.
 */

/** The follow-up of a session: `FollowUpPageData` of src/web/console/follow-up-views.ts. */
const followUp = `<p class="muted"><a href="<%= it.base %>">← <%= it.title %></a></p>
<div class="page-head">
<h1>Follow-up</h1>
</div>
<p class="when"><%= it.title %> · <%= it.whenText %></p>
<%~ include('@console-errors', it) %>
<% if (it.confirm) { %>
<section aria-labelledby="confirm-title" class="status info">
<h2 id="confirm-title"><%= it.confirm.question %></h2>
<% for (const line of it.confirm.details) { %><p><%= line %></p>
<% } %>
<form method="post" action="<%= it.base %>/follow-up/send">
<%~ include('@console-csrf', it) %>
<input type="hidden" name="confirm" value="1">
<div class="actions">
<button type="submit">Send now</button>
<a class="button secondary" href="<%= it.base %>/follow-up">Not yet</a>
</div>
</form>
</section>
<% } %>
<% if (it.sent) { %>
<section aria-labelledby="sent-title">
<h2 id="sent-title">Sent</h2>
<p><strong>Sent <time datetime="<%= it.sent.sentIso %>"><%= it.sent.atText %></time></strong></p>
<p><%= it.sent.recipientsText %> <a href="<%= it.sent.emailsHref %>">See their delivery in E-mails</a></p>
</section>
<% } %>
<section aria-labelledby="message-title">
<h2 id="message-title">What it says</h2>
<% if (it.compose) { %>
<p class="hint">Those who came read it after “Thank you for joining”, confirmed people who did not come after “We missed you”; each e-mail ends with the person’s own manage link.</p>
<form method="post" action="<%= it.base %>/follow-up" novalidate>
<%~ include('@console-csrf', it) %>
<% for (const f of it.compose.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions"><button type="submit">Save</button></div>
</form>
<% } else if (it.saved) { %>
<dl class="details">
<dt>Message</dt><dd class="message-text"><%= it.saved.message %></dd>
<dt>Recording link</dt><dd><% if (it.saved.recordingUrl) { %><a href="<%= it.saved.recordingUrl %>" rel="noopener noreferrer"><%= it.saved.recordingUrl %></a><% } else { %>None<% } %></dd>
</dl>
<% } %>
<% if (it.composeNote) { %><p class="muted"><%= it.composeNote %></p>
<% } %>
</section>
<% if (!it.sent) { %>
<section aria-labelledby="send-title">
<h2 id="send-title">Send</h2>
<p><%= it.send.text %></p>
<% if (it.send.offered && !it.confirm) { %>
<form method="post" action="<%= it.base %>/follow-up/send">
<%~ include('@console-csrf', it) %>
<div class="actions"><button type="submit">Send follow-up</button></div>
</form>
<p class="hint">You will be asked to confirm; it can be sent only once.</p>
<% } %>
</section>
<% } %>
`;

export const FOLLOW_UP_TEMPLATES: Record<string, string> = {
  '@console-follow-up': followUp,
};
