/**
 * Eta templates of the console's API keys page (src/routes/console/api-keys.ts loads them with
 * addConsoleTemplates): the caller's keys with the New key form, the new key shown once, and the
 * confirmation of deleting one. `<%= %>` escapes; `<%~ %>` only includes other templates. Every
 * POST form carries `_csrf`. The data types are below, beside their templates.
 */
import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

export interface ApiKeyRowView {
  id: string;
  name: string;
  prefix: string;
  createdText: string;
  createdIso: string;
  /** Null: never used. */
  lastUsedText: string | null;
  lastUsedIso: string | null;
}

/** `@console-api-keys`. */
export interface ApiKeysPageData {
  csrf: string;
  /** An admin's key reaches every session: the hint says so. */
  isAdmin: boolean;
  /** The zone of the times shown, named in the columns' headers. */
  zone: string;
  rows: ApiKeyRowView[];
  /** The key just made: in the answer to the New key form only, never in a URL or a later page. */
  created: { name: string; key: string } | null;
  /** The New key form; null when the organizer holds the most keys one may. */
  add: { fields: ConsoleFieldView[]; errors: ConsoleErrorItem[] } | null;
  max: number;
}

/** `@console-api-key-delete`. */
export interface DeleteApiKeyData {
  csrf: string;
  id: string;
  name: string;
  prefix: string;
  createdText: string;
  lastUsedText: string;
}

const list = `<h1>API keys</h1>
<p class="hint">An API key lets a program call the Convene API as you: it sees and changes what you may (the sessions you host<% if (it.isAdmin) { %>, and as an admin every session<% } %>). Send it in the <code>Authorization</code> header as <code>Bearer</code> followed by the key. It works until you delete it, or until your account is disabled.</p>
<% if (it.created) { %>
<section class="status good" aria-labelledby="new-key-title">
<h2 id="new-key-title">Your new key “<%= it.created.name %>”</h2>
<div class="field">
<label for="new-key">API key</label>
<p class="hint" id="new-key-hint"><strong>Copy it now: it is not shown again.</strong> Only a fingerprint of it is kept, so nobody can show it to you later; if it is lost, delete it and make a new one.</p>
<input type="text" id="new-key" value="<%= it.created.key %>" readonly autocomplete="off" spellcheck="false" autocapitalize="off" aria-describedby="new-key-hint" data-copy>
</div>
</section>
<% } %>
<section aria-labelledby="keys-title">
<h2 id="keys-title">Your keys <span class="count">(<%= it.rows.length %>)</span></h2>
<% if (it.rows.length === 0) { %><p class="muted">You have no API key.</p>
<% } else { %>
<div class="table-wrap">
<table class="admin-table api-keys-table stacked">
<caption class="visually-hidden">Your API keys, newest first</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">Created (<%= it.zone %>)</th><th scope="col">Last used (<%= it.zone %>)</th><th scope="col">Delete</th></tr></thead>
<tbody>
<% for (const row of it.rows) { %>
<tr>
<th scope="row"><%= row.name %></th>
<td data-label="Starts with"><code><%= row.prefix %></code></td>
<td data-label="Created"><time datetime="<%= row.createdIso %>"><%= row.createdText %></time></td>
<td data-label="Last used"><% if (row.lastUsedIso) { %><time datetime="<%= row.lastUsedIso %>"><%= row.lastUsedText %></time><% } else { %><span class="muted">Never</span><% } %></td>
<td data-label="Delete"><a class="button secondary" href="/console/api-keys/<%= row.id %>/delete" aria-label="Delete <%= row.name %>">Delete</a></td>
</tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
</section>
<section aria-labelledby="add-title">
<h2 id="add-title">New key</h2>
<% if (it.add) { %>
<%~ include('@console-errors', it.add) %>
<form method="post" action="/console/api-keys" novalidate>
<%~ include('@console-csrf', it) %>
<% for (const f of it.add.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions"><button type="submit">Make the key</button></div>
</form>
<% } else { %><p>You have <%= it.max %> keys, the most one may have. Delete one you no longer use to make another.</p>
<% } %>
</section>
`;

const deleteKey = `<h1>Delete the API key “<%= it.name %>”?</h1>
<dl class="details">
<dt>Starts with</dt><dd><code><%= it.prefix %></code></dd>
<dt>Created</dt><dd><%= it.createdText %></dd>
<dt>Last used</dt><dd><%= it.lastUsedText %></dd>
</dl>
<p>Every program using this key is refused from its next request on. This cannot be undone: to give a program access again, make a new key.</p>
<form method="post" action="/console/api-keys/<%= it.id %>/delete">
<%~ include('@console-csrf', it) %>
<div class="actions">
<button type="submit" class="danger">Delete the key</button>
<a class="button secondary" href="/console/api-keys">Keep it</a>
</div>
</form>
`;

export const API_KEYS_TEMPLATES: Record<string, string> = {
  '@console-api-keys': list,
  '@console-api-key-delete': deleteKey,
};
