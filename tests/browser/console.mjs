// The staff console, click by click, in Debian's Chromium with JavaScript off
// (CONTRACT §6.8, issue "the console"):
//
// 1. The admin builds the bureau tree (a province, its city bureau, the
//    city's county bureau), a platform and a consumer association, and their
//    users, through the admin page's forms.
// 2. Two officials of the county bureau and one of the city bureau take a case
//    from recording the violation to publication through the console alone:
//    official A registers the anchor, records the violation with a screenshot
//    as evidence, proposes the listing and serves the notice (and sees the
//    access code once); A's own decision form says why A may not decide; the
//    city official finds the consent in "my work" and agrees; official B finds
//    the decision in "my work" and lists; the public page shows the entry.
// 3. The platform uploads a CSV of three anchors and downloads the results,
//    with the hit; typing a regulator's console address gets 403 pages; a form
//    posted without its CSRF token is refused.
// 4. The auditor verifies the audit chain.
//
// Screenshots go to SCREENSHOT_DIR (console-*.png). Run by
// scripts/browser-test.sh, which starts the server and sets BASE_URL,
// ADMIN_EMAIL and ADMIN_PASSWORD.

import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = process.env.BASE_URL;
const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const SHOTS = resolve(process.env.SCREENSHOT_DIR ?? 'target/browser');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PASSWORD = 'console browser test 2026';
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

/** GB 11643: the check character of a resident ID's first 17 digits. */
function residentId(first17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * weights[i], 0);
  return first17 + '10X98765432'[sum % 11];
}

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

const USERS = {
  a: { email: 'zhang.wei@county.example.cn', name: '张伟', role: 'regulator', org: '某县市场监督管理局' },
  b: { email: 'li.na@county.example.cn', name: '李娜', role: 'regulator', org: '某县市场监督管理局' },
  c: { email: 'wang.fang@city.example.cn', name: '王芳', role: 'regulator', org: '某市市场监督管理局' },
  p: { email: 'compliance@live.example.cn', name: '平台合规', role: 'platform', org: '某直播平台' },
  au: { email: 'audit@cca.example.cn', name: '审计员', role: 'auditor', org: '某消费者协会' },
};

let step = 0;
async function shot(page, name) {
  step += 1;
  const file = `console-${String(step).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path: join(SHOTS, file), fullPage: true });
  console.log(`screenshot ${file}`);
}

async function text(page) {
  return page.locator('main').innerText();
}

/** Clicks a submit button and waits for the page it leads to. */
async function submit(page, name) {
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name }).first().click()]);
}

async function signIn(page, email, password) {
  const response = await page.goto(BASE_URL + '/console');
  check(response.status() === 200, `/console answered ${response.status()}`);
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(password);
  await submit(page, /登录/);
}

async function signOut(page) {
  await submit(page, /退出/);
  check((await text(page)).includes('已退出'), 'signed out');
}

/** A China-time date `days` before today, YYYY-MM-DD. */
function daysAgo(days) {
  return new Date(Date.now() + 8 * 3600 * 1000 - days * 86400 * 1000).toISOString().slice(0, 10);
}

async function setUp(page) {
  await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  check(page.url().endsWith('/console/admin'), `the admin lands on ${page.url()}`);
  const organizations = [
    { name: '某省市场监督管理局', kind: 'regulator', level: 'provincial', parent: null, region: '330000' },
    { name: '某市市场监督管理局', kind: 'regulator', level: 'city', parent: '某省市场监督管理局', region: '330100' },
    { name: '某县市场监督管理局', kind: 'regulator', level: 'county', parent: '某市市场监督管理局', region: '330106' },
    { name: '某直播平台', kind: 'platform', level: '', parent: null, region: '' },
    { name: '某消费者协会', kind: 'consumer_association', level: '', parent: null, region: '' },
  ];
  for (const org of organizations) {
    await page.locator('#org-name').fill(org.name);
    await page.locator('#org-kind').selectOption(org.kind);
    await page.locator('#org-level').selectOption(org.level);
    if (org.parent) await page.locator('#org-parent').selectOption({ label: org.parent });
    await page.locator('#org-region').fill(org.region);
    await submit(page, /新建机构/);
    check((await text(page)).includes(org.name), `${org.name} is in the tree`);
  }
  await shot(page, 'admin-tree');
  for (const user of Object.values(USERS)) {
    await page.locator('#user-email').fill(user.email);
    await page.locator('#user-name').fill(user.name);
    await page.locator('#user-password').fill(PASSWORD);
    await page.locator('#user-role').selectOption(user.role);
    await page.locator('#user-org').selectOption({ label: user.org });
    await submit(page, /新建用户/);
    check((await text(page)).includes(user.email), `${user.email} is a user`);
  }
  await shot(page, 'admin-users');
  await signOut(page);
}

async function theCase(page, idNumber) {
  // Official A: the anchor, the violation, the proposal, the notice.
  await signIn(page, USERS.a.email, PASSWORD);
  check(page.url().endsWith('/console/work'), `a regulator lands on ${page.url()}`);
  check((await text(page)).includes('我的待办'), 'my work is the first page');
  await shot(page, 'a-my-work');
  await page.getByRole('link', { name: /案件/ }).first().click();
  await page.locator('#kind').selectOption('anchor');
  await page.locator('#name').fill('刘带货');
  await page.locator('#id_number').fill(idNumber);
  await page.locator('#platform').fill('douyin');
  await page.locator('#handle').fill('liudaihuo');
  await submit(page, /登记/);
  check(page.url().includes('/console/subjects/'), `the subject's page: ${page.url()}`);
  let body = await text(page);
  check(body.includes('刘带货'), 'the subject page names the anchor');
  check(!body.includes(idNumber), 'the ID number is masked');

  await page.locator('#category').selectOption('false_advertising');
  await page.locator('#severity').selectOption('serious');
  await page.locator('#decided_on').fill(daysAgo(60));
  await page.locator('#decision_no').fill('某县市监罚〔2026〕88号');
  await page.locator('#pk-fine_aggravated').check();
  await page.locator('#listing_ground').selectOption('art9.5');
  await page.locator('#fine_yuan').fill('80000');
  await page.locator('#legal_basis').fill('《中华人民共和国反不正当竞争法》第二十条');
  await page.locator('#description').fill('直播间宣称普通固体饮料“七天降血糖”，无任何依据。');
  await page.locator('#evidence').setInputFiles({ name: '直播录屏.png', mimeType: 'image/png', buffer: PNG });
  await shot(page, 'a-violation-form');
  await submit(page, /^登记 Record$/);
  body = await text(page);
  check(body.includes('七天降血糖'), 'the violation is on the subject page');
  await shot(page, 'a-violation-recorded');

  await page.locator('input[name="violation_ids"]').first().check();
  await page.locator('#reason').fill('直播间虚假宣传，情节严重，受到较重行政处罚');
  await page.locator('#legal_basis_l').fill('《市场监督管理严重违法失信名单管理办法》第九条第五项');
  await submit(page, /拟列入/);
  check(page.url().includes('/console/listings/'), `the listing's page: ${page.url()}`);
  const listingUrl = page.url().split('#')[0];

  await page.locator('#served_on').fill(daysAgo(45));
  await submit(page, /送达/);
  body = await text(page);
  check(body.includes('告知书已送达'), 'the notice is served');
  const code = (await page.locator('#access-code').innerText()).trim();
  check(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){3,}$/.test(code), `the access code is shown once: ${code}`);
  await shot(page, 'a-notice-served');

  await page.goto(listingUrl);
  body = await text(page);
  check(body.includes('您不能') || body.includes('不能作出决定'), 'A is told why A may not decide');
  await shot(page, 'a-may-not-decide');
  await signOut(page);

  // The city bureau's consent, from its queue.
  await signIn(page, USERS.c.email, PASSWORD);
  body = await text(page);
  check(body.includes('刘带货'), 'the consent waits in the city official\'s queue');
  await shot(page, 'c-my-work');
  await page.locator('#consents').getByRole('link', { name: /打开案件/ }).first().click();
  await page.locator('#consent-agree').check();
  await page.locator('#consent_reason').fill('事实清楚，同意列入');
  await submit(page, /提交意见/);
  check((await text(page)).includes('同意'), 'the consent is on the case');
  await shot(page, 'c-consented');
  await signOut(page);

  // Official B decides, from the decisions queue.
  await signIn(page, USERS.b.email, PASSWORD);
  body = await text(page);
  check(body.includes('刘带货'), 'the decision waits in B\'s queue');
  await shot(page, 'b-my-work');
  await page.locator('#decisions').getByRole('link', { name: /打开案件/ }).first().click();
  await page.locator('#outcome-list').check();
  await page.locator('#decision_reason').fill('事实清楚、证据确凿，当事人未陈述申辩，依法列入');
  await submit(page, /作出决定/);
  body = await text(page);
  check(body.includes('已列入并公示'), `the case is listed and published: ${body.slice(0, 300)}`);
  await shot(page, 'b-listed');
  await page.getByRole('link', { name: /决定书/ }).first().click();
  check((await page.content()).includes('刘带货'), 'the decision document prints');
  await shot(page, 'b-decision-document');
  await page.goto(listingUrl);
  await signOut(page);

  // Published: the public page finds the entry.
  await page.goto(BASE_URL + '/?q=' + encodeURIComponent('刘带货'));
  check((await text(page)).includes('刘带货'), 'the public page lists the anchor');
  await shot(page, 'public-entry');
}

async function thePlatform(page, context, idNumber) {
  await signIn(page, USERS.p.email, PASSWORD);
  check(page.url().endsWith('/console/screening'), `a platform lands on ${page.url()}`);
  const csv =
    '\ufeffname,id_number,uscc,platform,handle\r\n' +
    `刘带货,${idNumber},,,\r\n` +
    `陈清白,${residentId('33010619950101111')},,,\r\n` +
    ',,,kuaishou,someone_clean\r\n';
  await page.locator('#csv-file').setInputFiles({ name: '待入驻主播.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await submit(page, /上传/);
  const body = await text(page);
  check(body.includes('命中'), `the results show the hit: ${body.slice(0, 400)}`);
  await shot(page, 'p-csv-results');
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-csv').click()]);
  const path = await download.path();
  const results = readFileSync(path, 'utf8');
  const lines = results.trim().split(/\r?\n/);
  check(lines.length === 4, `the download has a header and three rows: ${results}`);
  check(lines[1].includes('hit') && lines[1].includes('刘带货'), `the first row is the hit: ${lines[1]}`);
  check(!results.includes(idNumber), 'the download holds no full ID number');

  // A regulator's pages, typed in: 403 pages.
  for (const path of ['/console/work', '/console/subjects', '/console/audit', '/console/admin']) {
    const response = await page.goto(BASE_URL + path);
    check(response.status() === 403, `${path} answered ${response.status()} to a platform`);
    check((await text(page)).includes('无权访问此页面'), `${path} says why`);
  }
  await shot(page, 'p-forbidden');

  // A form posted without its CSRF token (the browser's own cookies).
  const forged = await context.request.post(BASE_URL + '/console/watchlist', {
    form: { subject_id: '01900000-0000-7000-8000-000000000000' },
    maxRedirects: 0,
  });
  check(forged.status() === 403, `a form without its token answered ${forged.status()}`);
  check((await forged.text()).includes('表单已失效'), 'the refusal says the form expired');
  await page.goto(BASE_URL + '/console/screening');
  await signOut(page);
}

async function theAuditor(page) {
  await signIn(page, USERS.au.email, PASSWORD);
  check(page.url().endsWith('/console/audit'), `an auditor lands on ${page.url()}`);
  check((await text(page)).includes('listing.decision'), 'the decision is in the log');
  await page.locator('#verify-chain').click();
  await page.waitForLoadState('load');
  const body = await text(page);
  check(body.includes('哈希链校验通过'), `the chain verifies: ${body.slice(0, 300)}`);
  await shot(page, 'au-verified');
  await page.locator('#action').fill('listing.decision');
  await submit(page, /^筛选 Filter$/);
  check((await text(page)).includes('listing.decision'), 'the filter keeps the decision');
  await signOut(page);
}

async function onAPhone(page) {
  await signIn(page, USERS.b.email, PASSWORD);
  await page.setViewportSize({ width: 375, height: 812 });
  await page.reload();
  const [scroll, client] = await page.evaluate(() => [
    document.documentElement.scrollWidth,
    document.documentElement.clientWidth,
  ]);
  check(scroll <= client, `my work scrolls sideways on a phone (${scroll} > ${client})`);
  await shot(page, 'phone-my-work');
  await page.setViewportSize({ width: 1280, height: 900 });
  await signOut(page);
}

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'livecredit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    locale: 'zh-CN',
    javaScriptEnabled: false,
    acceptDownloads: true,
  });
  const problems = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) {
        problems.push(m.text());
      }
    });
    const idNumber = residentId('33010619900615123');
    await setUp(page);
    await theCase(page, idNumber);
    await thePlatform(page, context, idNumber);
    await theAuditor(page);
    await onAPhone(page);
    check(problems.length === 0, `the browser reported: ${problems.join('; ')}`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  console.log('console browser test passed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
