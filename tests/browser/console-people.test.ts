import { type Locator } from 'playwright-core';
import t from 'tap';
import { accessible, fitsWidth, launchChromium, screenshotsIn, withChromium } from '../helpers/browser.js';
import { buildTestApp, sessionBody, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { freePort } from '../helpers/processes.js';
import { registered } from '../helpers/registrations.js';
import { makeOrganizer, PASSWORD } from '../console/support.js';

/**
 * The people page of a session in a real browser (Debian's Chromium through playwright-core), at
 * 1280 x 800 and on a phone (390 x 844): on the phone the table turns into one card per person,
 * each value named by its column (data-label), with nothing wider than the window, and it stays
 * a table with its column headers for assistive technology (Chromium's own accessibility tree).
 * axe-core checks both; screenshots go to test-artifacts/console/people-*.png (ignored by git).
 */

const ARTIFACTS = 'test-artifacts/console';

const shot = screenshotsIn(ARTIFACTS);

/** What a cell's ::before shows ('none' when nothing). */
const labelOf = (cell: Locator) =>
  cell.evaluate((element) => (globalThis as unknown as BrowserWindow).getComputedStyle(element, '::before').content);

/** The one call of the page's window used here (the tests compile without the DOM's types). */
interface BrowserWindow {
  getComputedStyle(element: unknown, pseudo: string): { content: string };
}

const COLUMNS = ['Name', 'E-mail', 'Organisation', 'Member organisation', 'Status', 'Waitlist position', 'Registered (America/Chicago)', 'Checked in / joined (America/Chicago)', 'Actions'];

async function run(): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app } = await buildTestApp(t, { env: { PUBLIC_BASE_URL: base } });
  await app.listen({ port, host: '127.0.0.1' });

  const organizer = await makeOrganizer(app, 'organizer', 'Programme Officer');
  const actor = { id: organizer.id, name: organizer.name, email: organizer.email };
  const session = await app.services.sessions.create(
    sessionBody({ title: `People on a phone ${uniqueSuffix()}`, capacity: 2, waitlist: { enabled: true } }) as never,
    actor,
  );
  await app.services.sessions.publish(session.id, actor);
  // Long words are what push a table sideways: an address and an organisation without a space to break at.
  const people = [
    { name: 'Ada Confirmed', email: uniqueEmail('ada.confirmed-at-the-regional-ministry'), organization: 'DepartmentOfIntergovernmentalAffairsAndRegionalCooperation' },
    { name: 'Ben Confirmed', email: uniqueEmail('ben'), organization: 'City of Springfield' },
    { name: 'Cleo Waiting', email: uniqueEmail('cleo') },
  ];
  for (const person of people) await registered(app, session.slug, person);

  const browser = await launchChromium(t);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  const peopleUrl = `${base}/console/sessions/${session.id}/registrations`;

  /** The roles Chromium exposes to assistive technology for the page, counted. */
  async function accessibilityRoles(): Promise<Record<string, number>> {
    const cdp = await context.newCDPSession(page);
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: Array<{ role?: { value?: string }; ignored?: boolean }> };
    await cdp.detach();
    const roles: Record<string, number> = {};
    for (const node of nodes) {
      const role = node.role?.value;
      if (!node.ignored && role) roles[role] = (roles[role] ?? 0) + 1;
    }
    return roles;
  }

  await t.test('sign in and open the people page at 1280 x 800', async (t) => {
    await page.goto(peopleUrl);
    await page.waitForURL(/\/console\/login/);
    await page.getByLabel('E-mail').fill(organizer.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(peopleUrl);
    t.equal(await page.locator('h1').textContent(), 'People');
    t.same(await page.locator('table.people-table thead th').allTextContents(), COLUMNS, 'the column headers');
    t.equal(await page.locator('table.people-table tbody tr').count(), 3, 'one row per person');
    t.equal(await page.locator('table.people-table thead').isVisible(), true, 'the header row is shown');
    t.ok(await fitsWidth(page), 'nothing wider than the window');
    await accessible(t, page, 'people page');
    await shot(page, 'people-01-wide');
  });

  await t.test('on a phone (390 x 844): a card per person, nothing to scroll sideways, still a table', async (t) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    t.ok(await fitsWidth(page), 'nothing wider than the window');
    const ada = page.locator('table.people-table tbody tr', { hasText: 'Ada Confirmed' });
    const box = await ada.boundingBox();
    t.ok(box && box.width <= 390, `a row fits the window (${box?.width} px)`);
    const email = ada.locator('td[data-label="E-mail"]');
    t.equal(
      await labelOf(email),
      '"E-mail: "',
      'each value is named by its column',
    );
    t.equal(
      await labelOf(ada.locator('td', { has: page.locator('time') })),
      '"Registered (America/Chicago): "',
      'the time names its zone on the card too',
    );
    const [nameBox, emailBox] = [await ada.locator('th').boundingBox(), await email.boundingBox()];
    t.ok(nameBox && emailBox && emailBox.y >= nameBox.y + nameBox.height - 1, 'the cells are stacked, not side by side');
    t.equal(await page.locator('table.people-table thead').isVisible(), true, 'the header row is still there (off screen) for screen readers');
    const emptyPosition = ada.locator('td[data-label="Waitlist position"]');
    t.equal(await emptyPosition.isVisible(), false, 'an empty value takes no room');
    t.equal(await labelOf(emptyPosition), 'none', 'and shows no bare label');
    t.ok(await ada.getByRole('button', { name: 'Check in Ada Confirmed' }).isVisible(), 'Check in reachable');
    t.ok(await ada.getByRole('link', { name: 'Cancel Ada Confirmed' }).isVisible(), 'Cancel reachable');
    const roles = await accessibilityRoles();
    t.equal(roles.table, 1, 'Chromium still exposes one table');
    t.equal(roles.columnheader, COLUMNS.length, 'with its column headers');
    t.equal(roles.rowheader, 3, 'a row header (the name) per person');
    t.equal(roles.cell, 3 * (COLUMNS.length - 1), 'and every cell, the empty ones included (columns stay aligned)');
    await accessible(t, page, 'people page on a phone');
    await shot(page, 'people-02-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  t.same(problems, [], 'no console errors and no CSP violations');
}

await withChromium(run);
