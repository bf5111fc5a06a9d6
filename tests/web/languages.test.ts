import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type MessageFormatElement, parse, TYPE } from '@formatjs/icu-messageformat-parser';
import { simpleParser } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bookings } from '../../src/db/schema.js';
import { loadCatalogues, MESSAGES_DIR } from '../../src/text/i18n.js';
import { isStaffOnlyKey, LANGUAGES } from '../../src/text/languages.js';
import { createTimeFormat, timeWords } from '../../src/time/format.js';
import { DEVELOPMENT_SIGN_IN_ADDRESS } from '../helpers/app.js';
import { expectAccessible, launchBrowser, settled, startWebApp, tabTo, type WebContext } from '../helpers/browser.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Issue 26: pages and emails in Simplified Chinese and Arabic as well as English.

type Catalogue = Record<string, string>;
const read = (language: string) =>
  JSON.parse(readFileSync(path.join(MESSAGES_DIR, `${language}.json`), 'utf8')) as Catalogue;
const english = read('en');

/**
 * A message's arguments with their kinds ("count:plural", "name:argument"), from an ICU parser's
 * tree; a plural's own number written `{count}` rather than `#` is the same argument.
 */
function argumentsOf(elements: MessageFormatElement[]): Set<string> {
  const found = collectArguments(elements, new Set<string>());
  for (const entry of found) {
    const [name] = entry.split(':');
    if (entry.endsWith(':argument') && found.has(`${name}:plural`)) found.delete(entry);
  }
  return found;
}

function collectArguments(elements: MessageFormatElement[], found: Set<string>): Set<string> {
  for (const element of elements) {
    if (element.type === TYPE.argument) found.add(`${element.value}:argument`);
    if (element.type === TYPE.number) found.add(`${element.value}:number`);
    if (element.type === TYPE.plural || element.type === TYPE.select) {
      found.add(`${element.value}:${element.type === TYPE.plural ? 'plural' : 'select'}`);
      for (const option of Object.values(element.options)) collectArguments(option.value, found);
    }
  }
  return found;
}

/** The English words of every message a student, friend or visitor reads, in runs of two or more words. */
const englishRuns = [
  ...new Set(
    Object.entries(english)
      .filter(([key]) => !isStaffOnlyKey(key) && !['email.lang', 'email.locale', 'layout.dir'].includes(key))
      .flatMap(([, message]) => literalRuns(parse(message, { ignoreTag: true }))),
  ),
].filter((run) => /\b[A-Za-z]+\s+[A-Za-z]+\b/.test(run) && run.length >= 8);

function literalRuns(elements: MessageFormatElement[]): string[] {
  return elements.flatMap((element) => {
    if (element.type === TYPE.literal) return element.value.split(/[.:;!?]\s|\(|\)/).map((part) => part.trim());
    if (element.type === TYPE.plural || element.type === TYPE.select) {
      return Object.values(element.options).flatMap((option) => literalRuns(option.value));
    }
    return [];
  });
}

describe('the catalogues', () => {
  it('are one file per language the API names', () => {
    const files = readdirSync(MESSAGES_DIR)
      .filter((file) => file.endsWith('.json'))
      .map((file) => file.replace(/\.json$/, ''))
      .sort();
    expect(files).toEqual([...LANGUAGES].sort());
  });

  it.each(['zh-Hans', 'ar'])(
    '%s has every key a student, friend or visitor reads, with the same placeholders',
    (language) => {
      const catalogue = read(language);
      const needed = Object.keys(english).filter((key) => !isStaffOnlyKey(key));
      expect(needed.length).toBeGreaterThan(400);
      expect(needed.filter((key) => catalogue[key] === undefined)).toEqual([]);
      expect(Object.keys(catalogue).filter((key) => english[key] === undefined)).toEqual([]);
      for (const key of Object.keys(catalogue)) {
        const theirs = [...argumentsOf(parse(catalogue[key] as string, { ignoreTag: true }))].sort();
        const ours = [...argumentsOf(parse(english[key] as string, { ignoreTag: true }))].sort();
        expect(theirs, key).toEqual(ours);
      }
    },
  );

  it('checks itself: a run of English words is found, and a message missing a placeholder is told apart', () => {
    expect(englishRuns).toContain('Find a librarian');
    expect(englishRuns.length).toBeGreaterThan(300);
    expect([...argumentsOf(parse('{count, plural, one {# friend} other {{count} friends of {name}}}'))].sort()).toEqual(
      ['count:plural', 'name:argument'],
    );
  });

  it('chooses the language from Accept-Language, by script: zh-CN is Simplified Chinese, zh-TW is not', () => {
    const catalogues = loadCatalogues();
    expect(catalogues.negotiate('zh-CN,zh;q=0.9,en;q=0.8')).toBe('zh-Hans');
    expect(catalogues.negotiate('zh-SG')).toBe('zh-Hans');
    expect(catalogues.negotiate('zh-TW,en;q=0.5')).toBe('en');
    expect(catalogues.negotiate('ar-EG,ar;q=0.9')).toBe('ar');
    expect(catalogues.negotiate('fr-FR, ar;q=0.4')).toBe('ar');
    expect(catalogues.negotiate('en-US')).toBe('en');
    expect(catalogues.negotiate('*')).toBe('en');
  });

  it('formats plurals by each language’s rules (Arabic has six forms)', () => {
    const ar = loadCatalogues().translator('ar');
    expect(ar('book.friend.limit', { count: 1 })).toBe(
      'يمكنك أن تُحضر صديقًا واحدًا. اترك هذا فارغًا إن كنت ستأتي بمفردك.',
    );
    expect(ar('book.friend.limit', { count: 2 })).toBe(
      'يمكنك أن تُحضر صديقين. اترك هذه الحقول فارغة إن كنت ستأتي بمفردك.',
    );
    expect(ar('book.friend.limit', { count: 3 })).toBe(
      'يمكنك أن تُحضر حتى 3 أصدقاء. اترك هذه الحقول فارغة إن كنت ستأتي بمفردك.',
    );
    const zh = loadCatalogues().translator('zh-Hans');
    expect(zh('book.friend.limit', { count: 2 })).toBe('您最多可以带 2 位朋友。如果您独自前来，请留空。');
    const en = loadCatalogues().translator('en');
    expect(en('book.friend.limit', { count: 1 })).toBe(
      'You can bring one friend. Leave this empty to come on your own.',
    );
    expect(en('book.friend.limit', { count: 2 })).toBe(
      'You can bring up to 2 friends. Leave these empty to come on your own.',
    );
  });
});

describe('dates and times in each language', () => {
  // Tuesday 23 March 2027, 09:00 UTC: London is still on GMT, New York on summer time (since the
  // 14th, UTC−4), Sydney on summer time until April (UTC+11). Names are CLDR's, each language's own.
  const instant = Date.parse('2027-03-23T09:00:00Z');
  const expected: Record<string, Record<string, string>> = {
    en: {
      'Europe/London': 'Tuesday, 23 March 2027, 09:00 Greenwich Mean Time',
      'America/New_York': 'Tuesday, 23 March 2027, 05:00 Eastern Daylight Time',
      'Australia/Sydney': 'Tuesday, 23 March 2027, 20:00 Australian Eastern Daylight Time',
    },
    'zh-Hans': {
      'Europe/London': '2027年3月23日星期二 09:00 格林尼治标准时间',
      'America/New_York': '2027年3月23日星期二 05:00 北美东部夏令时间',
      'Australia/Sydney': '2027年3月23日星期二 20:00 澳大利亚东部夏令时间',
    },
    ar: {
      'Europe/London': 'الثلاثاء، 23 مارس 2027، 09:00 ص توقيت غرينتش',
      'America/New_York': 'الثلاثاء، 23 مارس 2027، 05:00 ص التوقيت الصيفي الشرقي لأمريكا الشمالية',
      'Australia/Sydney': 'الثلاثاء، 23 مارس 2027، 08:00 م توقيت شرق أستراليا الصيفي',
    },
  };
  it.each(Object.keys(expected))('writes a fixed instant in London, New York and Sydney in %s', (language) => {
    const t = loadCatalogues().translator(language);
    for (const [zone, text] of Object.entries(expected[language] as Record<string, string>)) {
      expect(createTimeFormat(t('email.locale'), zone, timeWords(t)).full(instant), zone).toBe(text);
    }
  });
});

describe('international students and their friends, in a real browser', () => {
  let web: WebContext;
  let browser: Browser;
  let librarian: { id: string };
  // Saturday 20 March 2027, 08:00 UTC.
  const NOW = '2027-03-20T08:00:00Z';

  beforeAll(async () => {
    web = await startWebApp({ now: NOW });
    librarian = await createLibrarianWithWeek(web.t, {
      email: 'ada@library.uni.example',
      name: 'Ada Lovelace',
      maxCompanions: 2,
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });
  beforeEach(async () => {
    await web.worker.runOnce();
    web.sink.received.length = 0;
  });

  async function newPage(locale: string, javaScriptEnabled = true) {
    const context = await browser.newContext({
      baseURL: web.baseUrl,
      locale,
      timezoneId: 'Asia/Shanghai',
      javaScriptEnabled,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    return page;
  }

  /** The English catalogue's words still on the page (its visible text and title): none is the bar. */
  async function englishOn(page: Page): Promise<string[]> {
    const text = `${await page.title()}\n${await page.evaluate('document.body.innerText')}`;
    return englishRuns.filter((run) => text.includes(run));
  }

  async function expectAllIn(page: Page, language: string, label: string, javaScript = true) {
    expect(await page.locator('html').getAttribute('lang'), label).toBe(language);
    expect(await page.locator('html').getAttribute('dir'), label).toBe(language === 'ar' ? 'rtl' : 'ltr');
    expect(await englishOn(page), label).toEqual([]);
    await expectAccessible(page, `${label} (${language})`, { javaScript });
  }

  async function mailsTo(address: string) {
    const parsed = await Promise.all(web.sink.received.map((raw) => simpleParser(raw)));
    return parsed.filter((mail) => {
      const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
      return to?.value[0]?.address === address;
    });
  }

  it('shows the home page and every page a visitor reads before signing in in Chinese', async () => {
    const page = await newPage('zh-CN');
    await page.goto('/');
    await settled(page);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('查找图书馆员');
    await expectAllIn(page, 'zh-Hans', 'home');
    for (const url of ['/privacy', '/accessibility', '/time-zone', '/no-such-page', '/sign-in']) {
      await page.goto(url);
      await settled(page);
      await expectAllIn(page, 'zh-Hans', url);
    }
    await page.context().close();
  });

  // The whole journey is one test because each step needs the one before (the friend's link comes
  // from the booking's email, the feedback link from the session held). It checks a dozen pages
  // with axe in two browser contexts: about 7 s alone, but once over 60 s when CI ran it beside the
  // backup test's three servers under load, hence its own limit above the suite's 60 s.
  it('books with a friend in Chinese; the friend, written to in Arabic, says they will come', async () => {
    const page = await newPage('zh-CN');
    await page.goto(DEVELOPMENT_SIGN_IN_ADDRESS);
    await settled(page);
    await page.getByLabel('邮箱', { exact: true }).fill('wei@student.uni.example');
    await page.getByLabel('学生', { exact: true }).check();
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.waitForURL(`${web.baseUrl}/`);

    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await settled(page);
    await expectAllIn(page, 'zh-Hans', 'choose a time');
    // Shanghai is UTC+8: the librarian's 09:00 London (GMT) is 17:00 there.
    await page.getByRole('radio', { name: /^2027年3月23日星期二 17:00 中国标准时间/ }).check();
    await page.getByRole('button', { name: '继续', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('预约咨询');
    await expectAllIn(page, 'zh-Hans', 'book form');
    await page.getByLabel('朋友的姓名').first().fill('أميرة حداد');
    await page.getByLabel('朋友的电子邮箱（选填）').first().fill('amira@student.uni.example');
    await page.getByLabel('给朋友发邮件使用的语言').first().selectOption('ar');
    // An interpreter too: opened from its own summary, they come whatever the limit on friends.
    await page.getByText('有支持人员或口译员陪同吗？').click();
    await page.getByLabel('对方的姓名').fill('李翻译');
    await page.getByLabel('我以前曾作为朋友陪同参加过图书馆咨询').check();
    for (const none of await page.locator('input[type=radio][id$="-none"]').all()) await none.check();
    await page.getByRole('button', { name: '继续', exact: true }).click();

    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('核对您的预约');
    await expectAllIn(page, 'zh-Hans', 'check');
    expect(await page.locator('main').textContent()).toContain(
      'أميرة حداد (amira@student.uni.example); 李翻译, 支持人员或口译员',
    );
    await page.getByRole('group', { name: '您对这次咨询感觉如何？（选填）' }).getByLabel('非常紧张').check();
    await page.getByRole('button', { name: '确认预约' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('预约成功');
    await expectAllIn(page, 'zh-Hans', 'confirmation');
    expect(await page.locator('main').textContent()).toContain('2027年3月23日星期二 17:00–18:00 中国标准时间');
    const bookingId = /\/bookings\/([0-9a-f-]{36})/.exec(page.url())?.[1] as string;
    for (const step of ['reschedule', 'cancel']) {
      await page.goto(`/bookings/${bookingId}/${step}`);
      await expectAllIn(page, 'zh-Hans', step);
    }
    await page.goto('/bookings');
    await expectAllIn(page, 'zh-Hans', 'my bookings');
    // What the check page asked is kept with the booking: nerves, and having come as a friend before.
    const [kept] = await web.t.db
      .select({ nerves: bookings.nervesBefore, cameAsFriend: bookings.cameAsFriendBefore })
      .from(bookings);
    expect(kept).toEqual({ nerves: 5, cameAsFriend: true });

    // Each recipient in their own language: the student Chinese, the friend Arabic (the student's
    // choice for them), the librarian English.
    expect(await web.worker.runOnce()).toMatchObject({ sent: 3, failed: 0 });
    const [student] = await mailsTo('wei@student.uni.example');
    expect(student?.subject).toBe('已确认：与Ada Lovelace的图书馆咨询，2027年3月23日星期二 17:00–18:00 中国标准时间');
    expect(student?.text).toContain('朋友：أميرة حداد');
    const [friend] = await mailsTo('amira@student.uni.example');
    expect(friend?.subject).toMatch(/^دعاك wei إلى جلسة في المكتبة مع Ada Lovelace، الثلاثاء، 23 مارس 2027، /);
    expect(friend?.html).toContain('lang="ar"');
    expect(friend?.to && !Array.isArray(friend.to) ? friend.to.value[0]?.name : '').toBe('أميرة حداد');
    const [own] = await mailsTo('ada@library.uni.example');
    expect(own?.subject).toMatch(/^New booking: wei, Tuesday, 23 March 2027, 09:00–10:00 Greenwich Mean Time$/);
    await page.context().close();

    // The friend opens their link in an Arabic browser and says, from the keyboard, that they will come.
    const link = /http:\/\/127\.0\.0\.1:\d+(\/bookings\/[0-9a-f-]{36}\?token=[\w-]+)/.exec(friend?.text ?? '')?.[1];
    expect(link).toBeDefined();
    const friendPage = await newPage('ar');
    await friendPage.goto(link as string);
    await settled(friendPage);
    expect(await friendPage.getByRole('heading', { level: 1 }).textContent()).toBe('دعاك wei إلى جلسة في المكتبة');
    await expectAllIn(friendPage, 'ar', "friend's page");
    await tabTo(friendPage, friendPage.getByRole('button', { name: 'سأحضر' }));
    await friendPage.keyboard.press('Enter');
    await expect
      .poll(() => friendPage.getByRole('status').first().textContent())
      .toContain('شكرًا لك. أُبلغ الطالب أنك ستحضر.');
    await expectAllIn(friendPage, 'ar', 'friend confirmed');
    await friendPage.context().close();

    web.sink.received.length = 0;
    expect(await web.worker.runOnce()).toMatchObject({ sent: 2, failed: 0 });
    const [told] = await mailsTo('wei@student.uni.example');
    expect(told?.subject).toMatch(/^أميرة حداد说会来参加您与Ada Lovelace的咨询，/);

    // Afterwards: attendance recorded, the feedback email and form in each one's language.
    web.t.clock.set('2027-03-23T09:50:00Z');
    try {
      const recorded = await web.t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${bookingId}/attendance`,
        headers: await web.t.auth('librarian', { email: 'ada@library.uni.example' }),
        payload: { student: 'attended', companion: true },
      });
      expect(recorded.statusCode, recorded.body).toBe(200);
      web.t.clock.set('2027-03-23T16:00:00Z');
      web.sink.received.length = 0;
      await web.worker.runOnce();
      // The reminders, due the day before, went too: each in its reader's language.
      const subjects = async (address: string) => (await mailsTo(address)).map((mail) => mail.subject ?? '');
      expect(await subjects('wei@student.uni.example')).toContain('您与Ada Lovelace的图书馆咨询怎么样？');
      expect(await subjects('amira@student.uni.example')).toContain('كيف كانت جلستك في المكتبة مع Ada Lovelace؟');
      expect(
        (await subjects('amira@student.uni.example')).some((subject) => subject.startsWith('تذكير: جلسة wei')),
      ).toBe(true);
      const studentAsked = (await mailsTo('wei@student.uni.example')).find((mail) =>
        mail.subject?.startsWith('您与Ada Lovelace的图书馆咨询怎么样'),
      );
      const feedbackLink = /\/feedback\?token=[\w-]+/.exec(studentAsked?.text ?? '')?.[0] as string;
      const again = await newPage('zh-CN');
      await again.goto(feedbackLink);
      await settled(again);
      expect(await again.getByRole('heading', { level: 1 }).textContent()).toBe('咨询怎么样？');
      await expectAllIn(again, 'zh-Hans', 'feedback');
      await again.context().close();
    } finally {
      web.t.clock.set(NOW);
    }
  }, 180_000);

  it('changes language from the footer without JavaScript, and keeps it', async () => {
    const page = await newPage('en-GB', false);
    await page.goto(`/librarians/${librarian.id}?from=2027-03-22`);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.getByLabel('Language', { exact: true }).selectOption('ar', { timeout: 5000 });
    await page.getByRole('button', { name: 'Change language' }).click({ timeout: 5000 });
    await page.waitForURL(`${web.baseUrl}/librarians/${librarian.id}?from=2027-03-22`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('اختر وقتًا مع Ada Lovelace');
    await expectAllIn(page, 'ar', 'times, chosen in the footer', false);
    await page.goto('/');
    expect(await page.locator('html').getAttribute('dir')).toBe('rtl');
    await page.getByLabel('اللغة', { exact: true }).selectOption('zh-Hans');
    await page.getByRole('button', { name: 'تغيير اللغة' }).click();
    await page.waitForURL(`${web.baseUrl}/`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('查找图书馆员');
    await page.context().close();
  });
});
