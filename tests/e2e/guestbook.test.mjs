// Browser tests of the guestbook page, run by scripts/run-e2e.sh against a
// real guestbookd (role all) with playwright-core driving the system
// Chromium. GB_E2E_URL is the server; GB_E2E_ARTIFACTS where the
// screenshots go.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.GB_E2E_URL;
const ARTIFACTS = process.env.GB_E2E_ARTIFACTS || join(tmpdir(), 'guestbook-artifacts');
const CHROMIUM = process.env.GB_CHROMIUM || '/usr/bin/chromium';
assert.ok(BASE, 'GB_E2E_URL is not set: run the browser tests through scripts/run-e2e.sh');

let browser;
let scratch;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'guestbook-e2e-'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives every launch a fresh, temporary user-data-dir.
    args: [
      '--headless', '--no-sandbox', '--disable-gpu',
      '--disable-background-networking', '--disable-component-update',
      '--no-first-run',
    ],
    env: { ...process.env, HOME: scratch, XDG_CONFIG_HOME: scratch, XDG_CACHE_HOME: scratch },
    timeout: 60000,
  });
});

after(async () => {
  if (browser) await browser.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

let counter = 0;
function unique(text) {
  counter += 1;
  return `${text} #${process.pid}-${counter}`;
}

// A page that records console errors, page errors, CSP violations and
// dialogs; `problems()` lists what went wrong.
async function openPage(options = {}) {
  const context = await browser.newContext({ baseURL: BASE, ...options });
  const page = await context.newPage();
  const errors = [];
  const dialogs = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  return { context, page, errors, dialogs };
}

async function fillForm(page, name, message) {
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Message', { exact: true }).fill(message);
}

const card = (page, text) => page.locator('#messages .card .text', { hasText: text });

test('the page is usable on a phone and a screenshot is kept', async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const { context, page } = await openPage({ viewport: { width: 1100, height: 1300 } });
  await page.goto('/');
  const samples = [
    ['Margaret', 'What a lovely little corner of the web. Greetings from Lisbon!'],
    ['Tomás', 'Signed on the way to the station.\nSee you all next summer.'],
    ['Priya', 'First time here. The guestbook loads fast even on my old phone.'],
  ];
  for (const [name, message] of samples) {
    await fillForm(page, name, message);
    await page.getByRole('button', { name: 'Post to Guestbook' }).click();
    await card(page, message.split('\n')[0]).waitFor({ timeout: 5000 });
  }
  await page.getByLabel('Your name').fill('');
  await page.evaluate(() => document.activeElement.blur());
  await page.mouse.move(0, 0);
  await page.waitForTimeout(1200); // let the arrival highlight fade
  await page.screenshot({ path: join(ARTIFACTS, 'guestbook.png'), fullPage: false });

  const phone = await openPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.page.goto('/');
  const overflow = await phone.page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `page scrolls sideways by ${overflow} px on a phone`);
  const button = await phone.page.getByRole('button', { name: 'Post to Guestbook' }).boundingBox();
  assert.ok(button.height >= 44, 'the button is a comfortable touch target');
  await phone.page.screenshot({ path: join(ARTIFACTS, 'guestbook-phone.png') });
  await phone.context.close();

  const dark = await openPage({ viewport: { width: 1100, height: 900 }, colorScheme: 'dark' });
  await dark.page.goto('/');
  await dark.page.screenshot({ path: join(ARTIFACTS, 'guestbook-dark.png') });
  await dark.context.close();
  await context.close();
});

test('posting through the form works without JavaScript', async () => {
  const { context, page, errors } = await openPage({ javaScriptEnabled: false });
  const text = unique('Hello without JavaScript');
  await page.goto('/');
  assert.equal(await page.title(), 'Guestbook');
  await fillForm(page, 'Ada (no JS)', text);
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: 'Post to Guestbook' }).click(),
  ]);
  assert.equal(new URL(response.url()).pathname, '/');
  await card(page, text).waitFor({ timeout: 5000 });
  const first = page.locator('#messages .card').first();
  assert.equal(await first.locator('.author').textContent(), 'Ada (no JS)');
  assert.equal(await first.locator('.text').textContent(), text);
  assert.match(await first.locator('time').getAttribute('datetime'),
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('invalid input without JavaScript comes back with the error next to the field', async () => {
  const { context, page } = await openPage({ javaScriptEnabled: false });
  await page.goto('/');
  await fillForm(page, '   ', 'my words stay');
  await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: 'Post to Guestbook' }).click(),
  ]);
  assert.equal(await page.locator('#name-error').textContent().then((t) => t.trim()),
    'Please enter your name.');
  assert.equal(await page.getByLabel('Message', { exact: true }).inputValue(), 'my words stay');
  assert.equal(await page.getByLabel('Your name').getAttribute('aria-invalid'), 'true');
  await context.close();
});

test('posting with JavaScript does not reload the page', async () => {
  const { context, page, errors } = await openPage();
  const text = unique('Hello with JavaScript');
  await page.goto('/');
  await page.evaluate(() => { window.__noReload = true; });
  await fillForm(page, 'Grace', text);
  await page.getByRole('button', { name: 'Post to Guestbook' }).click();
  await card(page, text).waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page reloaded');
  assert.equal(await page.getByLabel('Message', { exact: true }).inputValue(), '', 'message box not cleared');
  assert.equal(await page.getByLabel('Your name').inputValue(), 'Grace', 'name kept for the next post');
  assert.deepEqual(errors, []);
  await context.close();
});

test('with JavaScript a bad name shows the error next to the field', async () => {
  const { context, page } = await openPage();
  await page.goto('/');
  await fillForm(page, '  ', 'text');
  await page.getByRole('button', { name: 'Post to Guestbook' }).click();
  const error = page.locator('#name-error .field-error');
  await error.waitFor({ timeout: 5000 });
  assert.match(await error.textContent(), /^Your name must be 1 to 64 characters/);
  assert.equal(await page.getByLabel('Your name').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Message', { exact: true }).inputValue(), 'text', 'input kept');
  await context.close();
});

test('a script payload shows as text and opens no dialog', async () => {
  const payload = '<script>alert(1)</script><img src=x onerror=alert(2)>';
  const { context, page, dialogs } = await openPage();
  await page.goto('/');
  await fillForm(page, payload, payload);
  await page.getByRole('button', { name: 'Post to Guestbook' }).click();
  await card(page, payload).first().waitFor({ timeout: 5000 });
  // and again as the server renders it
  await page.reload();
  const first = page.locator('#messages .card').first();
  assert.equal(await first.locator('.author').textContent(), payload);
  assert.equal(await first.locator('.text').textContent(), payload);
  assert.equal(await page.locator('#messages img').count(), 0);
  assert.equal(await page.locator('#messages script').count(), 0);
  await page.waitForTimeout(500);
  assert.deepEqual(dialogs, []);
  await context.close();
});

test('a message posted in one page appears in another open page within 5 s', async () => {
  const reader = await openPage();
  const writer = await openPage();
  const text = unique('Seen from afar');
  await reader.page.goto('/');
  await writer.page.goto('/');
  await fillForm(writer.page, 'Writer', text);
  const posted = Date.now();
  await writer.page.getByRole('button', { name: 'Post to Guestbook' }).click();
  await card(writer.page, text).waitFor({ timeout: 5000 });
  await card(reader.page, text).waitFor({ timeout: 5000 });
  const waited = Date.now() - posted;
  assert.ok(waited < 5000, `took ${waited} ms`);
  // screen readers hear about it through the polite live region
  await reader.page.waitForFunction(
    () => document.getElementById('live-status').textContent === 'New message from Writer.',
    null, { timeout: 2000 });
  assert.deepEqual(reader.errors, []);
  await reader.context.close();
  await writer.context.close();
});

test('polling uses conditional requests', async () => {
  const { context, page } = await openPage();
  const isPoll = (res) => res.url().endsWith('/api/v1/messages?limit=20');
  await page.goto('/');
  const first = await page.waitForResponse(isPoll, { timeout: 5000 });
  const second = await page.waitForResponse(isPoll, { timeout: 5000 });
  assert.equal(first.status(), 200);
  assert.ok(first.headers().etag, 'the list has an ETag');
  assert.equal(second.status(), 304, 'nothing changed, so the second poll is 304');
  assert.equal(second.request().headers()['if-none-match'], first.headers().etag);
  await context.close();
});

test('no console errors and no CSP violations while using the page', async () => {
  const { context, page, errors } = await openPage();
  const violations = [];
  await page.exposeFunction('__reportViolation', (v) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__reportViolation(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto('/');
  await fillForm(page, 'Linus', unique('Checking the console'));
  await page.getByRole('button', { name: 'Post to Guestbook' }).click();
  await page.waitForTimeout(3000);
  await page.reload();
  await page.waitForTimeout(500);
  assert.deepEqual(errors, []);
  assert.deepEqual(violations, []);
  await context.close();
});

