// dash_shell.test.mjs — the dashboard's shell: GET /dashboard, sign-in (a wrong
// token refused with the server's message), the navigation, the overview at
// desktop and phone width, the keyboard (skip link, focus on the heading after
// navigating), an unknown page, the token shared with the recorder page, and
// sign-out. Run by tests/browser/dashboard.sh.
import { T, tid } from './dashlib.mjs';

const t = await T.start('shell');
const { page, opt } = t;

await t.step('GET /dashboard shows the sign-in form', 'signin', async () => {
  const res = await page.goto(`${opt.url}/dashboard`);
  if (!res || res.status() !== 200) throw new Error(`GET /dashboard answered ${res && res.status()}`);
  await page.locator(tid('token')).waitFor({ state: 'visible' });
  if (await page.locator(tid('nav')).isVisible()) throw new Error('the navigation shows before sign-in');
});

await t.step('a wrong token is refused with the server\'s message', null, async () => {
  await page.fill(tid('token'), 'not-a-real-token');
  await page.click(tid('signin'));
  await page.locator(tid('error')).waitFor({ state: 'visible' });
  const msg = (await page.locator(tid('error-message')).textContent()).trim();
  if (!msg) throw new Error('empty error message');
  await page.click(tid('error-close'));
  return `"${msg}"`;
});

await t.step(`sign in as ${opt.admin}: the overview`, 'overview', async () => {
  await page.fill(tid('token'), opt['admin-token']);
  await page.press(tid('token'), 'Enter');
  await page.locator(tid('me-name')).waitFor({ state: 'visible' });
  const name = (await page.locator(tid('me-name')).textContent()).trim();
  if (!name.startsWith(opt.admin)) throw new Error(`signed in as "${name}"`);
  await page.locator('main h1', { hasText: 'Overview' }).waitFor();
  const cur = await page.locator(tid('nav-overview')).getAttribute('aria-current');
  if (cur !== 'page') throw new Error('the Overview link is not marked as the current page');
  await t.noBanner();
  return name;
});

await t.step('the overview at desktop and phone width', null, async () => {
  await t.shots('overview');
});

await t.step('keyboard: the skip link is the first stop and leads to the content', null, async () => {
  await page.goto(`${opt.url}/dashboard#/`);
  // the page is rendered once its heading has the focus
  await page.waitForFunction(() => document.activeElement && document.activeElement.tagName === 'H1');
  // Tab from the top of the document (the router moved the focus to the heading)
  await page.evaluate(() => {
    document.body.tabIndex = -1;
    document.body.focus();
    document.body.removeAttribute('tabindex');
  });
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement && document.activeElement.dataset.testid);
  if (first !== 'skip') throw new Error(`the first Tab stop is ${first}, not the skip link`);
  await page.keyboard.press('Enter');
  const at = await page.evaluate(() => document.activeElement && document.activeElement.id);
  if (at !== 'view') throw new Error(`after the skip link the focus is on "${at}"`);
});

await t.step('an unknown page says so; the heading takes the focus', 'unknown', async () => {
  await page.click(tid('nav-overview'));
  await page.evaluate(() => { location.hash = '#/no/such/page'; });
  await page.locator('main h1', { hasText: 'No such page' }).waitFor();
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.tagName);
  if (focused !== 'H1') throw new Error(`focus is on ${focused} after navigating`);
});

await t.step('the recorder page shares the token (signed in there too)', null, async () => {
  await page.goto(`${opt.url}/`);
  await page.locator(tid('me-name')).waitFor({ state: 'visible' });
  await page.goto(`${opt.url}/dashboard#/`);
  await page.locator('main h1', { hasText: 'Overview' }).waitFor();
});

await t.step('sign out: back to the sign-in form, the token forgotten', null, async () => {
  await page.click(tid('signout'));
  await page.locator(tid('token')).waitFor({ state: 'visible' });
  const tok = await page.evaluate(() => localStorage.getItem('parley.token'));
  if (tok) throw new Error('the token is still in localStorage');
});

await t.step(`${opt.user} (neither operator nor admin) sees no batches`, 'user-overview', async () => {
  await t.signIn(opt['user-token']);
  await page.locator('main h1', { hasText: 'Overview' }).waitFor();
  await page.locator(tid('sessions')).waitFor();
  if (await page.locator(tid('batches')).count()) throw new Error('the batches card is shown to a plain user');
  await t.noBanner();
});

await t.done();
