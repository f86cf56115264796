// A real browser on the public page: seed one listing through the API, then
// search for it by pinyin in Debian's Chromium, open it, and take screenshots.
// Then the API docs (/docs, Swagger UI, JavaScript on) under their own
// Content-Security-Policy: the operations render and nothing is refused.
//
// Run by scripts/browser-test.sh, which starts the server and sets
// BASE_URL, ADMIN_EMAIL and ADMIN_PASSWORD. Exits non-zero on any failure.

import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = process.env.BASE_URL;
const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const SHOTS = resolve(process.env.SCREENSHOT_DIR ?? 'target/browser');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PASSWORD = 'browser test passphrase 2026';
const REASON = '直播间虚假宣传';
const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

if (!BASE_URL || !/^http:\/\/127\.0\.0\.1:\d+$/.test(BASE_URL)) {
  throw new Error(`BASE_URL must be a loopback http address, got ${BASE_URL}`);
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

async function api(method, path, token, body) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(BASE_URL + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function login(email, password) {
  return (await api('POST', '/v1/auth/login', null, { email, password })).access_token;
}

/** GB 11643: the check character of a resident ID's first 17 digits. */
function residentId(first17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * weights[i], 0);
  return first17 + '10X98765432'[sum % 11];
}

/** GB 32100: the check character of a USCC's first 17 characters. */
function uscc(first17) {
  const chars = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  const sum = [...first17].reduce((s, c, i) => s + chars.indexOf(c) * weights[i], 0);
  return first17 + chars[(31 - (sum % 31)) % 31];
}

/** Takes a new subject through the procedure to an active listing (two officials). */
async function publish(a, b, subject, reason, legalBasis) {
  const { id: subjectId } = await api('POST', '/v1/subjects', a, subject);
  const { id: violation } = await api('POST', `/v1/subjects/${subjectId}/violations`, a, {
    category: 'false_advertising',
    severity: 'serious',
    decided_on: '2026-06-01',
    description: '夸大宣传',
    // A heavier penalty for an act Order 44 names: an aggravated fine (art. 9 item 5).
    penalty_kinds: ['fine_aggravated'],
    listing_ground: 'art9.5',
  });
  const { id: listing } = await api('POST', '/v1/listings', a, {
    subject_id: subjectId,
    violation_ids: [violation],
    reason,
    legal_basis: legalBasis,
  });
  await api('POST', `/v1/listings/${listing}/notice`, a, { served_on: '2026-06-01' });
  const decided = await api('POST', `/v1/listings/${listing}/decision`, b, {
    outcome: 'list',
    reason: '经审查，事实清楚',
    decided_on: '2026-06-09',
  });
  check(decided.status === 'listed', `listing ${listing} is ${decided.status}`);
  return listing;
}

async function seed() {
  const admin = await login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const { id: org } = await api('POST', '/v1/organizations', admin, {
    name: '杭州市市场监督管理局',
    kind: 'regulator',
    region_code: '330100',
  });
  const officials = [];
  for (const name of ['li.na', 'wang.qiang']) {
    const email = `${name}@example.cn`;
    await api('POST', '/v1/users', admin, {
      email,
      password: PASSWORD,
      role: 'regulator',
      organization_id: org,
    });
    officials.push(await login(email, PASSWORD));
  }
  const [a, b] = officials;
  const listing = await publish(
    a,
    b,
    {
      kind: 'anchor',
      name: '刘德华',
      aliases: ['华仔'],
      id_number: residentId('44010619610927123'),
      accounts: [
        { platform: 'douyin', handle: 'andylau_live' },
        { platform: 'kuaishou', handle: 'huazai888' },
      ],
    },
    REASON,
    '《中华人民共和国反不正当竞争法》第八条',
  );
  // A second entry, so that the search has something to leave out.
  await publish(
    a,
    b,
    {
      kind: 'merchant',
      name: '某某美妆旗舰店',
      uscc: uscc('91330100MA2B00001'),
      accounts: [{ platform: 'taobao', handle: 'moumou_beauty' }],
    },
    '直播中虚构原价、以次充好',
    '《中华人民共和国价格法》第十四条',
  );
  return listing;
}

/** Searches from the home page as a person would: type, then press the button. */
async function searchFor(page, text) {
  const response = await page.goto(BASE_URL + '/');
  check(response.status() === 200, `/ answered ${response.status()}`);
  check(response.headers()['content-security-policy'] === CSP, 'the page carries the strict CSP');
  const box = page.getByLabel('姓名/名称、拼音、账号或证件号');
  await box.fill(text);
  await Promise.all([
    page.waitForURL((url) => url.searchParams.get('q') === text),
    page.getByRole('button', { name: /搜索/ }).click(),
  ]);
}

async function assertNoHorizontalScroll(page, what) {
  const [scroll, client] = await page.evaluate(() => [
    document.documentElement.scrollWidth,
    document.documentElement.clientWidth,
  ]);
  check(scroll <= client, `${what} scrolls sideways (${scroll} > ${client})`);
}

async function main() {
  const listing = await seed();
  console.log(`seeded listing ${listing}`);
  mkdirSync(SHOTS, { recursive: true });

  const profile = mkdtempSync(join(tmpdir(), 'livecredit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    locale: 'zh-CN',
    javaScriptEnabled: false,
  });
  const problems = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) {
        problems.push(m.text());
      }
    });
    page.on('requestfailed', (r) => {
      if (!r.url().endsWith('/favicon.ico')) problems.push(`failed: ${r.url()}`);
    });

    // Desktop: the whole list, then a search by pinyin; find the card, open it.
    await page.goto(BASE_URL + '/');
    check((await page.locator('.card').count()) === 2, 'the home page lists both entries');
    await page.screenshot({ path: join(SHOTS, 'home.png'), fullPage: true });
    await searchFor(page, 'liu dehua');
    const cards = page.locator('.card');
    check((await cards.count()) === 1, `one result for "liu dehua", got ${await cards.count()}`);
    const link = cards.first().getByRole('link', { name: /刘德华/ });
    check(await link.isVisible(), 'the result card shows 刘德华');
    check(
      (await cards.first().textContent()).includes(REASON),
      'the result card shows the reason',
    );
    const css = await page.evaluate(() => getComputedStyle(document.querySelector('header.site')).backgroundColor);
    check(css !== 'rgba(0, 0, 0, 0)', 'the stylesheet loaded');
    await page.screenshot({ path: join(SHOTS, 'search.png'), fullPage: true });

    await Promise.all([page.waitForURL(`**/entries/${listing}`), link.click()]);
    const entry = page.locator('article.entry');
    check((await entry.locator('h1').textContent()).includes('刘德华'), 'the entry page names 刘德华');
    check((await entry.textContent()).includes(REASON), 'the entry page shows the reason');
    check((await entry.textContent()).includes('反不正当竞争法'), 'the entry page shows the legal basis');
    await page.screenshot({ path: join(SHOTS, 'entry.png'), fullPage: true });

    // No match: the empty state.
    await searchFor(page, 'nothing at all');
    check(await page.getByText('未找到').isVisible(), 'the empty state shows');

    // Phone: one column, no sideways scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    await searchFor(page, 'liu dehua');
    check(await page.locator('.card').getByRole('link', { name: /刘德华/ }).isVisible(), 'phone: the card shows');
    const [boxTop, buttonTop] = await page.evaluate(() => [
      document.querySelector('#q').getBoundingClientRect().top,
      document.querySelector('.search button').getBoundingClientRect().top,
    ]);
    check(buttonTop > boxTop, 'phone: the form is one column');
    await assertNoHorizontalScroll(page, 'phone search page');
    await page.screenshot({ path: join(SHOTS, 'search-phone.png'), fullPage: true });
    await page.locator('.card').getByRole('link', { name: /刘德华/ }).click();
    await page.waitForURL(`**/entries/${listing}`);
    await assertNoHorizontalScroll(page, 'phone entry page');
    await page.screenshot({ path: join(SHOTS, 'entry-phone.png'), fullPage: true });

    check(problems.length === 0, `browser problems: ${problems.join('; ')}`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  await checkDocs();
  console.log(`browser test passed; screenshots in ${SHOTS}`);
}

/** Swagger UI renders every operation under its CSP, with no violation reported. */
async function checkDocs() {
  const profile = mkdtempSync(join(tmpdir(), 'livecredit-chromium-docs-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    javaScriptEnabled: true,
  });
  const problems = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      if (!r.url().endsWith('/favicon.ico')) problems.push(`failed: ${r.url()}`);
    });
    const response = await page.goto(BASE_URL + '/docs/');
    check(response.status() === 200, `/docs/ answered ${response.status()}`);
    check(
      response.headers()['content-security-policy'] === DOCS_CSP,
      `/docs/ carries its CSP, got ${response.headers()['content-security-policy']}`,
    );
    await page.waitForSelector('.opblock', { timeout: 30000 });
    const operations = await page.locator('.opblock').count();
    check(operations >= 40, `the docs list the operations (${operations} shown)`);
    check(
      await page.locator('.opblock-summary-path', { hasText: '/v1/public/blacklist' }).first().isVisible(),
      'the docs show GET /v1/public/blacklist',
    );
    // Open one operation: its parameters render too.
    await page.locator('.opblock-summary', { hasText: '/v1/public/blacklist' }).first().click();
    await page.waitForSelector('.opblock.is-open .parameters', { timeout: 10000 });
    await page.screenshot({ path: join(SHOTS, 'docs.png') });
    check(problems.length === 0, `docs problems: ${problems.join('; ')}`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
