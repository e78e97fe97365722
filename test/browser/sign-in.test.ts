import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console sign-in', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server);
  });
  afterAll(async () => {
    await server.close();
  });

  it('console: a wrong password shows the server’s message; the right one lands on the overview', async () => {
    const page = await browser.open(server, '/');
    await page.waitForURL(/\/sign-in/);
    await signIn(page, owner.email, 'not the password at all');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('email or password');
    await browser.shot(page, 'sign-in-failed');

    await createAgent(server, owner, 'windows_server');
    await createAgent(server, owner, 'windows_server');
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    // the counts are the server's, by OS
    await expect.poll(() => page.getByTestId('agents-total').textContent()).toBe('0 of 2 online');
    expect(await page.getByTestId('agents-windows_server').textContent()).toContain('2 pending');
    await browser.shot(page, 'overview');
    // the refresh token stays in the httpOnly cookie; nothing is kept in storage
    expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
    expect(await page.evaluate('document.cookie')).not.toContain('fp_refresh');

    // a reload signs in again from the cookie, without the form
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();

    await page.getByRole('button', { name: 'User menu' }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  it('console: a deep link opened signed out goes through sign-in and back to the agent', async () => {
    const agentId = await createAgent(server, owner, 'debian');
    const page = await browser.open(server, `/agents/${agentId}`);
    await page.waitForURL(/\/sign-in\?next=/);
    await signIn(page, owner.email, owner.password);
    await page.waitForURL(new RegExp(`/agents/${agentId}$`));
    await page.getByText('Hostname').waitFor();
    await browser.shot(page, 'agent-detail');
  });

  it('console: an unknown page shows the not-found page inside the shell, and a section loads its page on demand', async () => {
    const page = await browser.open(server, '/sign-in');
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.goto(`${server.url}/no/such/page`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    const chunks: string[] = [];
    page.on('request', (request) => {
      if (request.resourceType() === 'script') chunks.push(new URL(request.url()).pathname);
    });
    await page.getByRole('link', { name: 'Scripts' }).click();
    await page.getByRole('heading', { name: 'Scripts' }).waitFor();
    expect(chunks.some((chunk) => /ScriptsPage-/.test(chunk))).toBe(true);
  });

  it("console: a password is reset from the mail's link, and the new one signs in", async () => {
    const user = await signup(server, 'forgetful');
    const page = await browser.open(server, '/sign-in');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(user.email);
    await page.getByRole('button', { name: 'Send reset email' }).click();
    await page.getByText('a reset link is on its way').waitFor();

    // no SMTP in tests: the mail is in the server's log, with the console's link in it
    const mail = server.logs
      .flatMap((line) => {
        const sent = line.mail as { to: string; text: string } | undefined;
        return sent?.to === user.email ? [sent.text] : [];
      })
      .at(-1);
    const link = mail?.match(/\/password-reset\?token=[\w-]+/)?.[0];
    if (!link) throw new Error(`no reset link in the mail: ${mail}`);
    await page.goto(`${server.url}${link}`);
    await page.getByLabel('New password').fill('short');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('alert').first().waitFor();
    await page.getByLabel('New password').fill('a brand new passphrase 42');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('Your password is set').waitFor();
    await browser.shot(page, 'password-reset');

    await page.getByRole('link', { name: 'Back to sign in' }).click();
    await signIn(page, user.email, 'a brand new passphrase 42');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // the link is single-use
    const replay = await call(server, 'POST', '/api/v1/auth/password-reset/confirm', {
      body: { token: link.split('=')[1], new_password: 'yet another passphrase 43' },
    });
    expect(replay.status).toBe(400);
  });

  it('console: switching organisation from the user menu shows the other organisation', async () => {
    await expectStatus(
      call(server, 'POST', '/api/v1/orgs', { token: owner.token, body: { name: 'Second Org' } }),
      201,
    );
    const page = await browser.open(server, '/');
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('button', { name: 'User menu' }).click();
    await page.getByRole('menuitem', { name: 'Second Org' }).click();
    await page.getByText('Second Org', { exact: true }).first().waitFor();
    // the new organisation has no agent: the overview counts its own
    await expect.poll(() => page.getByText('No agent is enrolled yet.').count()).toBe(1);
    await page.reload();
    await page.getByText('Second Org', { exact: true }).first().waitFor();
  });

  it('console: the sign-in page loads under 300 KB of compressed JavaScript', async () => {
    const page = await browser.open(server, '/');
    const scripts = new Set<string>();
    page.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.add(new URL(request.url()).pathname);
    });
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    // module preloads count too: index.html names every script the page loads at start
    const html = readFileSync(path.join(server.config.consoleDir, 'index.html'), 'utf8');
    for (const [, src] of html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)) if (src) scripts.add(src);
    expect(scripts.size).toBeGreaterThan(0);
    const bytes = [...scripts].reduce(
      (sum, script) => sum + statSync(path.join(server.config.consoleDir, `${script}.br`)).size,
      0,
    );
    console.log(`sign-in page: ${scripts.size} script(s), ${(bytes / 1024).toFixed(1)} KB brotli`);
    expect(bytes).toBeLessThan(300 * 1024);
    // the terminal is its own chunk, loaded only where output is shown
    expect([...scripts].some((script) => script.includes('OutputTerminal'))).toBe(false);
  });
});
