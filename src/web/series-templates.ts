/**
 * The series pages (src/routes/pages/series.ts): the page with its one form, and the page after a
 * post. They reuse the public pages' layout and partials (`@layout`, `@form`, `@field`, `@when`,
 * `@badge`, `@instant`) from src/web/templates.ts; src/web/render.ts loads them into the one
 * engine of the public pages.
 */

const seriesPage = `<% layout('@layout') %>
<p class="muted">A series of sessions</p>
<h1><%= it.series.title %></h1>
<% if (it.series.descriptionHtml) { %><div class="description"><%~ it.series.descriptionHtml %></div>
<% } %>
<h2>The sessions</h2>
<% if (it.sessions.length === 0) { %><p>No session of this series is coming up.</p>
<% } else { %>
<ol class="sessions">
<% for (const entry of it.sessions) { const s = entry.session; %>
<li>
<h3><a href="<%= s.pageUrl %>"><%= s.title %></a></h3>
<p class="status-line"><%~ include('@badge', s.badge) %></p>
<%~ include('@when', s) %>
<% if (s.summary) { %><p class="muted"><%= s.summary %></p>
<% } %>
<% if (entry.note) { %><p class="hint"><%= entry.note %><% if (!entry.seriesForm) { %> <a href="<%= s.pageUrl %>">Register on its page</a>.<% } %></p>
<% } %>
</li>
<% } %>
</ol>
<% } %>
<% if (it.calendar) { %>
<h2>Add the series to your calendar</h2>
<ul class="links">
<li><a href="<%= it.calendar.webcal %>" rel="noopener noreferrer">Subscribe in your calendar app</a></li>
<li><a href="<%= it.calendar.google %>" rel="noopener noreferrer" target="_blank">Subscribe in Google Calendar</a></li>
<li><a href="<%= it.calendar.ics %>" download>Download the sessions (.ics)</a></li>
</ul>
<% } %>
<% if (it.form) { %>
<h2 id="register">Register for the series</h2>
<p class="muted">One form registers you for each session of the series that is open to you. Each session seats you or puts you on its waitlist on its own, and e-mails you its calendar invite; one more e-mail lists them all with a personal link to manage each.</p>
<%~ include('@form', it.form) %>
<% } else if (it.closedText) { %><div class="status info"><p><%= it.closedText %></p></div>
<% } %>
<% if (it.contact) { %>
<h2>Questions?</h2>
<p>Write to <%= it.contact.name %>: <a href="mailto:<%= it.contact.email %>"><%= it.contact.email %></a>.</p>
<% } %>
`;

// Says nothing of seats or places: the same page follows every accepted post, and the e-mails tell.
const seriesRegistered = `<% layout('@layout') %>
<div class="status info"><h1>Check your inbox</h1>
<p>We have received your registration for the series “<%= it.series.title %>”.</p>
<p>We are sending e-mails to the address you gave.</p></div>
<h2>What happens next</h2>
<ul>
<li>The e-mails come from <strong><%= it.sender %></strong>, within a few minutes.</li>
<li>Each session of the series that took your registration e-mails you on its own: a confirmation with its calendar invite if you have a seat, or your place on its waitlist.</li>
<li>One more e-mail lists them all, each with your personal link to manage or cancel it. If you had already registered with this address, the e-mails bring those links again.</li>
<li>Nothing after a few minutes? Look in your spam or junk folder.</li>
</ul>
<% if (it.calendar) { %>
<h2>Add the series to your calendar</h2>
<ul class="links">
<li><a href="<%= it.calendar.webcal %>" rel="noopener noreferrer">Subscribe in your calendar app</a></li>
<li><a href="<%= it.calendar.google %>" rel="noopener noreferrer" target="_blank">Subscribe in Google Calendar</a></li>
</ul>
<% } %>
<p><a href="<%= it.backUrl %>">Back to the series</a> · <a href="/">See all upcoming sessions</a></p>
`;

export const SERIES_TEMPLATES: Record<string, string> = {
  '@series': seriesPage,
  '@series-registered': seriesRegistered,
};
