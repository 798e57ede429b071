import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

/**
 * Eta template of the console's Branding page (src/routes/console/branding.ts loads it with
 * addConsoleTemplates): the settings form, a preview of the public header in the accent colour
 * (its stylesheet is /assets/brand.css: the CSP allows no inline style), and the logo's forms.
 * `<%= %>` escapes; `<%~ %>` only includes other templates. Every POST form carries `_csrf`.
 */

/** `BrandingPageData`. */
const branding = `<h1>Branding</h1>
<p class="hint">What the public pages and e-mails show of your organisation: the name and logo at the top of every page, the accent colour of its header and buttons, the sender's name and footer of e-mails, and the link to your privacy notice.</p>
<link rel="stylesheet" href="<%= it.preview.stylesheetHref %>">
<section aria-labelledby="preview-title">
<h2 id="preview-title">Preview</h2>
<div class="brand-preview">
<header class="site"><span class="brand"><% if (it.preview.logoUrl) { %><img class="brand-logo" src="<%= it.preview.logoUrl %>" alt=""><% } %><span><%= it.preview.name %></span></span></header>
<div class="preview-body">
<p>The top of every public page, and a button, in the accent colour <code><%= it.preview.accentColor %></code> (contrast with white text: <%= it.preview.contrastText %>).</p>
<p><span class="button">Register</span></p>
</div>
</div>
</section>
<section aria-labelledby="settings-title">
<h2 id="settings-title">Settings</h2>
<%~ include('@console-errors', it.form) %>
<form method="post" action="/console/branding" novalidate>
<%~ include('@console-csrf', it) %>
<% for (const f of it.form.fields) { %><%~ include('@console-field', f) %><% } %>
<div class="actions"><button type="submit">Save</button></div>
</form>
</section>
<section aria-labelledby="logo-title">
<h2 id="logo-title">Logo</h2>
<%~ include('@console-errors', it.logo) %>
<% if (it.logo.currentUrl) { %><p>The current logo:</p>
<p><img class="current-logo" src="<%= it.logo.currentUrl %>" alt="The current logo of <%= it.preview.name %>"></p>
<% } else { %><p class="muted">No logo yet: pages show the name alone.</p>
<% } %>
<form method="post" action="/console/branding/logo" enctype="multipart/form-data" novalidate>
<%~ include('@console-csrf', it) %>
<% const f = it.logo.field; const described = f.id + '-hint' + (f.error ? ' ' + f.id + '-error' : ''); %>
<div class="field<%= f.error ? ' invalid' : '' %>">
<label for="<%= f.id %>"><%= f.label %></label>
<p class="hint" id="<%= f.id %>-hint"><%= f.hint %></p>
<% if (f.error) { %><p class="field-error" id="<%= f.id %>-error"><span class="visually-hidden">Error: </span><%= f.error %></p>
<% } %>
<input type="file" id="<%= f.id %>" name="<%= f.name %>" accept="image/png,image/jpeg" aria-describedby="<%= described %>"<% if (f.error) { %> aria-invalid="true" autofocus<% } %>>
</div>
<div class="actions"><button type="submit">Upload logo</button></div>
</form>
<% if (it.logo.currentUrl) { %>
<form method="post" action="/console/branding/logo/remove">
<%~ include('@console-csrf', it) %>
<div class="actions"><button type="submit" class="danger">Remove the logo</button></div>
</form>
<% } %>
</section>
`;

export const BRANDING_TEMPLATES = { '@console-branding': branding };

export interface BrandingPageData {
  csrf: string;
  preview: { name: string; logoUrl: string | null; accentColor: string; contrastText: string; stylesheetHref: string };
  form: { fields: ConsoleFieldView[]; errors: ConsoleErrorItem[] };
  logo: { currentUrl: string | null; field: ConsoleFieldView; errors: ConsoleErrorItem[] };
}
