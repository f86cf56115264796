// A listed anchor in the portal, click by click, in Debian's Chromium with
// JavaScript off: signs in with the number and access code of a printed
// notice (after one wrong code), reads the notice, lodges a statement and asks
// for a hearing inside the window, signs out. A second anchor, listed a year
// and a half ago, applies for credit repair with a PDF, is asked by the bureau
// to supplement, supplements with a PNG, and sees the approval and its
// decision document; a platform then screens the anchor's ID: clear.
// Screenshots go to SCREENSHOT_DIR (portal-*.png).
//
// Run by scripts/browser-test.sh, which starts the server and sets BASE_URL,
// ADMIN_EMAIL, ADMIN_PASSWORD and DATABASE_PATH (the server's SQLite file,
// where the second listing is moved back in time as the API tests do).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = process.env.BASE_URL;
const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const DATABASE_PATH = process.env.DATABASE_PATH;
const SHOTS = resolve(process.env.SCREENSHOT_DIR ?? 'target/browser');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PASSWORD = 'browser test passphrase 2026';
const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
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
if (!DATABASE_PATH) throw new Error('DATABASE_PATH must name the server\'s SQLite file');

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

/** Runs SQL on the server's SQLite file (python3's sqlite3; the server keeps running). */
function sql(statement) {
  execFileSync('python3', [
    '-c',
    'import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=10); c.execute(sys.argv[2]); c.commit()',
    DATABASE_PATH,
    statement,
  ]);
}

function today() {
  // China Standard Time, as the registry counts days.
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

/** A subject with an aggravated fine for false advertising, proposed and noticed on `servedOn`. */
async function noticed(a, subject, decidedOn, servedOn) {
  const { id: subjectId } = await api('POST', '/v1/subjects', a, subject);
  const { id: violation } = await api('POST', `/v1/subjects/${subjectId}/violations`, a, {
    category: 'false_advertising',
    severity: 'serious',
    decided_on: decidedOn,
    description: '直播间宣称“纯天然零添加”，与检测结果不符',
    penalty_kinds: ['fine_aggravated'],
    listing_ground: 'art9.5',
  });
  const { id: listing } = await api('POST', '/v1/listings', a, {
    subject_id: subjectId,
    violation_ids: [violation],
    reason: '直播间虚假宣传',
    legal_basis: '《中华人民共和国反不正当竞争法》第八条',
  });
  const notice = await api('POST', `/v1/listings/${listing}/notice`, a, { served_on: servedOn });
  return { subjectId, listing, noticeNo: notice.notice_no, code: notice.access_code };
}

async function seed() {
  const admin = await login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const { id: org } = await api('POST', '/v1/organizations', admin, {
    name: '杭州市西湖区市场监督管理局',
    kind: 'regulator',
  });
  const tokens = [];
  for (const [name, head] of [['zhou.min', false], ['sun.li', false], ['chen.ju', true]]) {
    const email = `${name}@example.cn`;
    await api('POST', '/v1/users', admin, {
      email,
      password: PASSWORD,
      role: 'regulator',
      organization_id: org,
      can_approve: head,
    });
    tokens.push(await login(email, PASSWORD));
  }
  const [a, b, head] = tokens;
  const { id: platformOrg } = await api('POST', '/v1/organizations', admin, {
    name: '某直播平台',
    kind: 'platform',
  });
  await api('POST', '/v1/users', admin, {
    email: 'compliance@platform.example.cn',
    password: PASSWORD,
    role: 'platform',
    organization_id: platformOrg,
  });
  const platform = await login('compliance@platform.example.cn', PASSWORD);

  // The first anchor: noticed today, inside the window.
  const fresh = await noticed(
    a,
    { kind: 'anchor', name: '王小明', id_number: residentId('33010619920307123') },
    today(),
    today(),
  );
  // The second: listed on 2026-06-09, moved back a year and a half (repair is open).
  const idNumber = residentId('33010619880512234');
  const old = await noticed(
    a,
    { kind: 'anchor', name: '赵丽', id_number: idNumber },
    '2026-06-01',
    '2026-06-01',
  );
  const decided = await api('POST', `/v1/listings/${old.listing}/decision`, b, {
    outcome: 'list',
    reason: '事实清楚，证据确凿',
    decided_on: '2026-06-09',
  });
  check(decided.status === 'listed', `the second listing is ${decided.status}`);
  sql(
    `UPDATE listings SET listed_on = '2025-06-09', published_on = '2025-06-09' WHERE id = '${old.listing}'`,
  );
  return { a, head, platform, fresh, old, idNumber };
}

// A minimal PDF and PNG, as a phone would attach them.
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

async function signIn(page, noticeNo, code) {
  const response = await page.goto(BASE_URL + '/portal');
  check(response.status() === 200, `/portal answered ${response.status()}`);
  check(response.headers()['content-security-policy'] === CSP, 'the portal carries the strict CSP');
  await page.getByLabel('告知书文号').fill(noticeNo);
  await page.getByLabel('访问码').fill(code);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: /登录/ }).click()]);
}

async function text(page) {
  return page.locator('main').innerText();
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, name), fullPage: true });
  console.log(`screenshot ${name}`);
}

async function main() {
  const seeded = await seed();
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

    // A wrong code first: refused, the number kept in the form.
    await signIn(page, seeded.fresh.noticeNo, 'AAAA-BBBB-CCCC-DDDD');
    check((await text(page)).includes('通知书文号或访问码不正确'), 'a wrong code is refused');
    check(
      (await page.getByLabel('告知书文号').inputValue()) === seeded.fresh.noticeNo,
      'the notice number stays in the form',
    );
    await shot(page, 'portal-sign-in-refused.png');

    // The printed notice's number and code.
    await signIn(page, seeded.fresh.noticeNo, seeded.fresh.code);
    check(page.url().endsWith('/portal/home'), `signed in to ${page.url()}`);
    let body = await text(page);
    check(body.includes('王小明'), 'the page is the anchor\'s');
    check(body.includes('陈述申辩截止'), 'the window\'s last day is shown');
    check(body.includes(seeded.fresh.noticeNo), 'the notice number is shown');
    const cookies = await context.cookies(BASE_URL + '/portal/home');
    const session = cookies.find((c) => c.name === 'lc_portal');
    check(session && session.httpOnly && session.sameSite === 'Strict', 'the session cookie is HttpOnly, SameSite=Strict');
    await shot(page, 'portal-home-noticed.png');

    // The notice itself, as served.
    await page.getByRole('link', { name: /查看告知书/ }).click();
    check((await page.content()).includes(seeded.fresh.noticeNo), 'the notice document opens');
    await shot(page, 'portal-notice.png');
    await page.goBack();

    // A statement and a hearing request, inside the window.
    await page.getByLabel('陈述申辩意见').fill('宣传用语系供应商提供，本人已下架商品并向消费者退款，请求从轻处理。');
    await page.getByLabel('要求举行听证').check();
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: /提交陈述申辩/ }).click()]);
    body = await text(page);
    check(body.includes('陈述申辩已提交'), 'the statement is acknowledged');
    check(body.includes('已申请听证'), 'the hearing request is shown');
    check(body.includes('已申请，待举行'), 'the hearing waits to be held');
    await shot(page, 'portal-statement-lodged.png');

    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: /退出/ }).click()]);
    check((await text(page)).includes('已退出'), 'signed out');
    const home = await page.goto(BASE_URL + '/portal/home');
    check(page.url().includes('/portal?expired=1'), `after signing out, /portal/home leads to ${page.url()} (${home.status()})`);

    // The second anchor applies for credit repair with a PDF.
    await signIn(page, seeded.old.noticeNo, seeded.old.code);
    body = await text(page);
    check(body.includes('赵丽') && body.includes('已列入严重违法失信名单并公示'), 'the listed anchor sees the listing');
    await page.getByLabel('申请说明').fill('罚款已于2026年6月20日缴清，问题商品已全部下架并向消费者退款。');
    await page.getByLabel('信用承诺书').fill('本人承诺今后诚信直播、如实宣传，自觉接受监督。');
    await page.getByLabel('已履行行政处罚决定规定的义务').check();
    await page.getByLabel('已纠正失信行为、消除不良影响').check();
    await page.getByLabel('证明材料').setInputFiles({ name: '罚款缴纳凭证.pdf', mimeType: 'application/pdf', buffer: PDF });
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: /提交信用修复申请/ }).click()]);
    body = await text(page);
    check(body.includes('信用修复申请已提交'), `the application is acknowledged: ${body.slice(0, 400)}`);
    check(body.includes('受理期限'), 'the acceptance deadline is shown');
    await shot(page, 'portal-repair-applied.png');

    // The bureau asks, once, for everything missing.
    const queue = await api('GET', '/v1/repairs?status=submitted', seeded.head);
    const repair = queue.items.find((r) => r.listing_id === seeded.old.listing);
    check(repair && repair.evidence.length === 1 && repair.evidence[0].media_type === 'application/pdf', 'the PDF is on the application');
    await api('POST', `/v1/repairs/${repair.id}/acceptance`, seeded.head, {
      outcome: 'supplement',
      missing: ['身份证复印件', '整改报告'],
      reason: '材料不全',
    });
    await page.reload();
    body = await text(page);
    check(body.includes('需补正材料') && body.includes('整改报告'), 'the supplement request and what is missing are shown');
    await page.getByLabel('补正说明').fill('现补交身份证复印件及整改报告。');
    await page.getByLabel('补正材料').setInputFiles({ name: '整改报告.png', mimeType: 'image/png', buffer: PNG });
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: /提交补正材料/ }).click()]);
    body = await text(page);
    check(body.includes('补正材料已提交'), 'the supplement is acknowledged');
    await shot(page, 'portal-supplemented.png');

    // Accepted and approved by the head of the bureau.
    await api('POST', `/v1/repairs/${repair.id}/acceptance`, seeded.head, { outcome: 'accept' });
    await page.reload();
    check((await text(page)).includes('决定期限'), 'the decision deadline is shown');
    await api('POST', `/v1/repairs/${repair.id}/decision`, seeded.head, {
      outcome: 'approve',
      reason: '已履行处罚、整改到位，符合信用修复条件',
    });
    await page.reload();
    body = await text(page);
    check(body.includes('已信用修复，移出名单') && body.includes('准予信用修复'), 'the approval is shown');
    await shot(page, 'portal-repair-approved.png');
    await page.getByRole('link', { name: /查看决定书/ }).click();
    check((await page.content()).includes('准予信用修复决定书'), 'the decision document opens');
    await shot(page, 'portal-repair-decision.png');
    await page.goBack();

    // On a phone: one column, nothing scrolls sideways.
    await page.setViewportSize({ width: 375, height: 812 });
    await page.reload();
    const [scroll, client] = await page.evaluate(() => [
      document.documentElement.scrollWidth,
      document.documentElement.clientWidth,
    ]);
    check(scroll <= client, `the portal scrolls sideways on a phone (${scroll} > ${client})`);
    await shot(page, 'portal-phone.png');

    // What platforms see now: the repaired penalty is no longer shared.
    const screened = await api('POST', '/v1/screening', seeded.platform, { id_number: seeded.idNumber });
    check(screened.decision === 'clear', `screening after the repair: ${JSON.stringify(screened)}`);
    check(problems.length === 0, `the browser reported: ${problems.join('; ')}`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  console.log('portal browser test passed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
