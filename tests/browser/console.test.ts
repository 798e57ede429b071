import t from 'tap';
import { accessible, fitsWidth, launchChromium, screenshotsIn, withChromium } from '../helpers/browser.js';
import { buildTestApp, sessionBody, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { freePort } from '../helpers/processes.js';
import { registered } from '../helpers/registrations.js';
import { makeOrganizer, PASSWORD } from '../console/support.js';

/**
 * The organizer console in a real browser (Debian's Chromium, driven by playwright-core) at
 * 1280 x 800 and on a phone (390 x 844): sign in (first with a wrong password), see the
 * dashboard with the organizer's sessions, open the account page, sign out. axe-core checks
 * every page; screenshots go to test-artifacts/console (ignored by git).
 */

const ARTIFACTS = 'test-artifacts/console';


const shot = screenshotsIn(ARTIFACTS);

async function run(): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app } = await buildTestApp(t, { env: { PUBLIC_BASE_URL: base } });
  await app.listen({ port, host: '127.0.0.1' });

  const organizer = await makeOrganizer(app, 'organizer', 'Programme Officer');
  const actor = { id: organizer.id, name: organizer.name, email: organizer.email };
  const title = `Online Privacy and Security for Mayors ${uniqueSuffix()}`;
  const published = await app.services.sessions.create(sessionBody({ title, capacity: 2, waitlist: { enabled: true } }) as never, actor);
  await app.services.sessions.publish(published.id, actor);
  for (let i = 0; i < 3; i += 1) await registered(app, published.slug, { name: `Person ${i}`, email: uniqueEmail('console-browser') });
  await app.services.sessions.create(sessionBody({ title: `Draft follow-up ${uniqueSuffix()}`, capacity: null }) as never, actor);

  const browser = await launchChromium(t);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    // A wrong password answers 401 on purpose; Chromium logs any 4xx document.
    if (/status of 401 \(Unauthorized\)/.test(text)) return;
    if (message.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(text);
  });
  page.on('pageerror', (error) => problems.push(error.message));

  await t.test('sign in, first with a wrong password, and land where the link pointed', async (t) => {
    await page.goto(`${base}/console/account`);
    await page.waitForURL(`${base}/console/login?next=%2Fconsole%2Faccount`);
    t.equal(await page.locator('h1').textContent(), 'Sign in');
    await accessible(t, page, 'login page');
    await shot(page, '01-login');
    await page.getByLabel('E-mail').fill(organizer.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/console/login`);
    t.match(await page.locator('#error-summary').textContent(), /Wrong e-mail or password/);
    t.equal(await page.getByLabel('E-mail').inputValue(), organizer.email, 'the e-mail is kept');
    t.equal(await page.getByLabel('Password').inputValue(), '', 'the password is not');
    t.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'f-password', 'focus on the password');
    await accessible(t, page, 'login with an error');
    await shot(page, '02-login-error');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/console/account`);
    t.equal(await page.locator('h1').textContent(), 'Account', 'next was followed');
    const cookies = await context.cookies();
    const cookie = cookies.find((c) => c.name === 'convene-console');
    t.ok(cookie?.httpOnly, 'the cookie is HttpOnly');
    t.equal(cookie?.sameSite, 'Lax');
    t.equal(await page.evaluate('document.cookie'), '', 'no script can read it');
    await accessible(t, page, 'account page');
    await shot(page, '03-account');
  });

  await t.test('the dashboard at 1280 x 800', async (t) => {
    await page.getByRole('link', { name: 'Sessions', exact: true }).click();
    await page.waitForURL(`${base}/console`);
    t.equal(await page.locator('h1').textContent(), 'Sessions');
    const row = page.getByRole('row', { name: new RegExp(title) });
    t.match(await row.textContent(), /\(America\/Chicago\)/, 'the time in the session zone, named');
    t.match(await row.textContent(), /2 \/ 2/);
    t.equal(await row.locator('meter').getAttribute('value'), '2', 'the seats bar');
    t.equal(await row.locator('td[data-label="Waitlisted"]').textContent(), '1');
    t.equal(await page.getByRole('link', { name: title }).getAttribute('href'), `/console/sessions/${published.id}`);
    t.ok(await page.getByRole('link', { name: 'New session' }).isVisible());
    t.ok(await fitsWidth(page), 'nothing wider than the window');
    await accessible(t, page, 'dashboard');
    await shot(page, '04-dashboard');
  });

  await t.test('the dashboard on a phone (390 x 844)', async (t) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    t.ok(await fitsWidth(page), 'nothing wider than the window');
    t.ok(await page.getByRole('button', { name: 'Sign out' }).isVisible(), 'Sign out reachable');
    await accessible(t, page, 'dashboard on a phone');
    await shot(page, '05-dashboard-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await t.test('sign out', async (t) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/console/login?m=signed-out`);
    t.match(await page.locator('main').textContent(), /You have signed out/);
    t.same((await context.cookies()).filter((c) => c.name === 'convene-console'), [], 'the cookie is gone');
    await accessible(t, page, 'signed out');
    await shot(page, '06-signed-out');
    await page.goto(`${base}/console`);
    await page.waitForURL(`${base}/console/login`);
    t.pass('the dashboard leads to the login page again');
  });

  t.same(problems, [], 'no console errors and no CSP violations on any page');
}

await withChromium(run);
