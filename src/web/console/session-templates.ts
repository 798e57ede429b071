/**
 * Eta templates of the console's session pages (src/routes/console/sessions.ts loads them with
 * addConsoleTemplates): the session form, the confirmation of a change, the overview, and the
 * confirmation pages of cancelling and deleting. `<%= %>` escapes; `<%~ %>` only includes
 * other templates. Every POST form carries the `_csrf` field (`@console-csrf`).
 */

/** The session form (new and edit): `SessionFormData` of src/web/console/session-views.ts. */
const sessionForm = `<% const f = it.form.fields; %>
<h1><%= it.heading %></h1>
<%~ include('@console-errors', it.form) %>
<form method="post" action="<%= it.action %>" novalidate class="session-form">
<%~ include('@console-csrf', it) %>
<fieldset>
<legend>The session</legend>
<%~ include('@console-field', f.title) %>
<%~ include('@console-field', f.summary) %>
<%~ include('@console-field', f.description) %>
</fieldset>
<fieldset>
<legend>When</legend>
<%~ include('@console-field', f.timezone) %>
<%~ include('@console-field', f.startsAt) %>
<%~ include('@console-field', f.endsAt) %>
</fieldset>
<fieldset>
<legend>Seats</legend>
<%~ include('@console-field', f.capacity) %>
<%~ include('@console-field', f.waitlist) %>
<%~ include('@console-field', f.waitlistLimit) %>
<%~ include('@console-field', f.waitlistMode) %>
<%~ include('@console-field', f.offerFor) %>
<%~ include('@console-field', f.offerUnit) %>
</fieldset>
<fieldset>
<legend>Approval</legend>
<%~ include('@console-field', f.approval) %>
</fieldset>
<fieldset>
<legend>Registration window</legend>
<p class="hint">Both in the session's time zone.</p>
<%~ include('@console-field', f.registrationOpensAt) %>
<%~ include('@console-field', f.registrationClosesAt) %>
</fieldset>
<fieldset<% if (it.form.audienceError) { %> aria-describedby="f-audience-error"<% } %>>
<legend>Audience: who may register</legend>
<% if (it.form.audienceError) { %><p class="field-error" id="f-audience-error"><span class="visually-hidden">Error: </span><%= it.form.audienceError %></p>
<% } %>
<% for (const choice of it.audienceChoices) { %>
<div class="check">
<input type="radio" id="f-audience-<%= choice.value %>" name="audience" value="<%= choice.value %>"<% if (choice.value === it.form.audience) { %> checked<% } %>>
<label for="f-audience-<%= choice.value %>"><%= choice.text %></label>
</div>
<% } %>
<%~ include('@console-field', f.audienceDomains) %>
<%~ include('@console-field', f.audienceCode) %>
<%~ include('@console-field', f.perOrganisationLimit) %>
</fieldset>
<fieldset>
<legend>Questions on the registration form</legend>
<p class="hint">Name, e-mail, organisation and job title are always asked. Add up to 30 questions of your own; more empty rows appear after saving.</p>
<% it.form.questionRows.forEach((row, index) => { %>
<fieldset class="question-row">
<legend><%= row.legend %></legend>
<input type="hidden" name="q<%= index %>-id" value="<%= row.idValue %>">
<% for (const qf of row.fields) { %><%~ include('@console-field', qf) %><% } %>
</fieldset>
<% }) %>
</fieldset>
<fieldset>
<legend>Reminders and joining</legend>
<%~ include('@console-field', f.reminders) %>
<%~ include('@console-field', f.joinUrl) %>
<%~ include('@console-field', f.joinInstructions) %>
</fieldset>
<fieldset>
<legend>Your words in the e-mails</legend>
<p class="hint">A paragraph of your own at the top of these e-mails, before what Convene writes.</p>
<%~ include('@console-field', f.emailTextConfirmation) %>
<%~ include('@console-field', f.emailTextWaitlisted) %>
<%~ include('@console-field', f.emailTextReminder) %>
</fieldset>
<fieldset>
<legend>Contact for attendees' questions</legend>
<%~ include('@console-field', f.contactName) %>
<%~ include('@console-field', f.contactEmail) %>
</fieldset>
<div class="actions">
<button type="submit">Save</button>
<a class="button secondary" href="<%= it.backHref %>">Back without saving</a>
</div>
</form>
`;

/** What a change will send, before it is applied: `ConfirmChangeData`. */
const confirmChange = `<h1>Apply this change?</h1>
<p>“<%= it.title %>”</p>
<h2>What changes</h2>
<ul>
<% for (const change of it.changes) { %><li><%= change %></li>
<% } %>
</ul>
<h2>What it will send</h2>
<div class="status <%= it.effects.length === 0 ? 'good' : 'info' %>">
<% if (it.effects.length === 0) { %><p>Nothing is sent: nobody is e-mailed and no calendar changes.</p>
<% } else { %>
<ul>
<% for (const effect of it.effects) { %><li><%= effect %></li>
<% } %>
</ul>
<% } %>
</div>
<form method="post" action="<%= it.action %>">
<%~ include('@console-csrf', it) %>
<% for (const hidden of it.hidden) { %><input type="hidden" name="<%= hidden.name %>" value="<%= hidden.value %>">
<% } %>
<div class="actions">
<button type="submit" name="confirm" value="1">Apply the change</button>
<button type="submit" name="back" value="1" class="button secondary">Back to the form</button>
</div>
</form>
`;

/** The overview of one session: `SessionOverviewData`. */
const overview = `<% const s = it.session; %>
<div class="page-head">
<h1><%= s.title %></h1>
<p><span class="badge <%= s.statusTone %>"><%= s.statusText %></span></p>
</div>
<p class="when"><time datetime="<%= s.startIso %>"><%= s.whenText %></time></p>
<% if (s.cancelReason) { %><div class="status stop"><p>Cancelled: <%= s.cancelReason %></p></div>
<% } %>
<section aria-labelledby="counts-title">
<h2 id="counts-title">Registrations</h2>
<dl class="details">
<% const taken = s.confirmed + s.offered; %>
<dt>Confirmed</dt><dd><%= s.confirmed %> of <%= s.capacity === null ? 'unlimited seats' : s.capacity + ' seats' %>
<% if (s.capacity !== null && s.capacity > 0) { %>
<meter class="seats" min="0" max="<%= s.capacity %>" value="<%= taken %>" aria-label="Seats taken<%= s.offered > 0 ? ' or on offer' : '' %>: <%= taken %> of <%= s.capacity %>"><%= taken %> of <%= s.capacity %></meter>
<% } %></dd>
<% if (s.showOffered) { %><dt>Seats offered</dt><dd><%= s.offered %><% if (s.offered > 0) { %> <a href="<%= it.base %>/registrations?status=offered">See the offers</a><% } %></dd>
<% } %>
<dt>Waitlisted</dt><dd><%= s.waitlisted %><%= s.waitlistText %></dd>
<% if (s.showPending) { %><dt>Awaiting approval</dt><dd><%= s.pending %><% if (s.pending > 0) { %> <a href="<%= it.base %>/registrations?status=pending">Review the requests</a><% } %></dd>
<% } %>
<dt>Cancelled</dt><dd><%= s.cancelled %></dd>
</dl>
<p class="actions"><a class="button secondary" href="<%= it.base %>/registrations">People</a> <a class="button secondary" href="<%= it.base %>/messages">Messages</a> <a class="button secondary" href="<%= it.base %>/emails">E-mails</a> <a class="button secondary" href="<%= it.base %>/follow-up">Follow-up</a></p>
</section>
<section aria-labelledby="actions-title">
<h2 id="actions-title">Actions</h2>
<div class="actions">
<% if (it.actions.publish) { %>
<form method="post" action="<%= it.base %>/publish">
<%~ include('@console-csrf', it) %>
<button type="submit">Publish</button>
</form>
<% } %>
<% if (it.actions.edit) { %><a class="button secondary" href="<%= it.base %>/edit">Edit</a><% } %>
<% if (it.actions.cancel) { %><a class="button secondary" href="<%= it.base %>/cancel">Cancel session</a><% } %>
<% if (it.actions.remove) { %><a class="button secondary" href="<%= it.base %>/delete">Delete</a><% } %>
</div>
<% if (it.actions.note) { %><p class="muted"><%= it.actions.note %></p>
<% } %>
</section>
<section aria-labelledby="share-title">
<h2 id="share-title">Share</h2>
<% if (it.share.note) { %><p class="muted"><%= it.share.note %></p>
<% } %>
<div class="field">
<label for="share-page">Public page</label>
<p><a id="share-page-link" href="<%= it.share.page %>"><%= it.share.page %></a></p>
<input type="text" id="share-page" value="<%= it.share.page %>" readonly data-copy>
</div>
<div class="field">
<label for="share-embed">Embed snippet</label>
<p class="hint" id="share-embed-hint">Paste it into your website's page to show the registration form there.</p>
<textarea id="share-embed" rows="3" readonly aria-describedby="share-embed-hint" data-copy><%= it.share.embed %></textarea>
</div>
<div class="field">
<label for="share-feed">Calendar feed</label>
<p class="hint" id="share-feed-hint">The session as an iCalendar feed, for calendar apps.</p>
<input type="text" id="share-feed" value="<%= it.share.feed %>" readonly aria-describedby="share-feed-hint" data-copy>
</div>
</section>
<section aria-labelledby="details-title">
<h2 id="details-title">Details</h2>
<dl class="details">
<% for (const row of it.details) { %><dt><%= row.term %></dt><dd><%= row.value %></dd>
<% } %>
</dl>
</section>
<section aria-labelledby="hosts-title">
<h2 id="hosts-title">Hosts</h2>
<p class="hint">Hosts (and admins) see and run this session here and through the API.</p>
<%~ include('@console-errors', it.hostsForm) %>
<ul class="hosts">
<% for (const host of it.hosts) { %><li><%= host.text %>
<% if (it.hosts.length > 1 && it.hostsForm.open) { %>
<form method="post" action="<%= it.base %>/hosts" class="inline">
<%~ include('@console-csrf', it) %>
<input type="hidden" name="remove" value="<%= host.id %>">
<button type="submit" class="button secondary" aria-label="Remove <%= host.name %> as host">Remove</button>
</form>
<% } %>
</li>
<% } %>
</ul>
<% if (it.hostsForm.open) { %>
<form method="post" action="<%= it.base %>/hosts" novalidate>
<%~ include('@console-csrf', it) %>
<%~ include('@console-field', it.hostsForm.email) %>
<div class="actions"><button type="submit" class="button secondary">Add host</button></div>
</form>
<% } %>
</section>
`;

/** Cancelling, with a reason: `CancelSessionData`. */
const cancel = `<h1>Cancel “<%= it.title %>”?</h1>
<p class="when"><%= it.whenText %></p>
<%~ include('@console-errors', it) %>
<div class="status stop"><p><%= it.consequence %></p></div>
<form method="post" action="<%= it.action %>" novalidate>
<%~ include('@console-csrf', it) %>
<%~ include('@console-field', it.reason) %>
<div class="actions">
<button type="submit" class="danger">Cancel session</button>
<a class="button secondary" href="<%= it.backHref %>">Keep the session</a>
</div>
</form>
`;

/** Deleting a draft: `DeleteSessionData`. */
const remove = `<h1>Delete the draft “<%= it.title %>”?</h1>
<p>The draft is removed for good. Nobody is e-mailed: a draft has no registrations.</p>
<form method="post" action="<%= it.action %>">
<%~ include('@console-csrf', it) %>
<div class="actions">
<button type="submit" class="danger">Delete</button>
<a class="button secondary" href="<%= it.backHref %>">Keep the draft</a>
</div>
</form>
`;

export const SESSION_TEMPLATES: Record<string, string> = {
  '@console-session-form': sessionForm,
  '@console-session-confirm': confirmChange,
  '@console-session-overview': overview,
  '@console-session-cancel': cancel,
  '@console-session-delete': remove,
};
