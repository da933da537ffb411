import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

// Debian's Chromium, which .ci/run installs; this test skips only where it cannot be installed.
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../artifacts/', import.meta.url);
if (!existsSync(CHROMIUM))
  console.warn(`SKIPPING the GraphiQL browser test: ${CHROMIUM} is missing (apt-get install -y chromium)`);

describe.skipIf(!existsSync(CHROMIUM))('GraphiQL in a real browser', () => {
  let emulator: RunningEmulator;
  let gateway: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    emulator = await startEmulator();
    gateway = await startGateway(emulator.url);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await gateway.close();
    await emulator.close();
  });

  it('loads offline, documents the mutation, runs the example and shows a token', { timeout: 60_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const origin = new URL(gateway.url).origin;
    const blocked: string[] = [];
    // The outside network is cut: anything not from the gateway itself is refused and noted.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
      blocked.push(url);
      return route.abort();
    });

    await page.goto(gateway.url);
    await page.locator('.graphiql-container').first().waitFor({ timeout: 30_000 });

    await page.locator('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]').click();
    await page
      .locator('.graphiql-doc-explorer a', { hasText: /^Mutation$/ })
      .first()
      .click();
    await page
      .locator('.graphiql-doc-explorer a', { hasText: /^createConversationSession$/ })
      .first()
      .click();
    await expect
      // biome-ignore lint/performance/useDomNodeTextContent: the text as shown, as a reader sees it.
      .poll(() => page.locator('.graphiql-doc-explorer').innerText())
      .toContain('Mints a session token for one conversation');

    await page.locator('.graphiql-execute-button').click();
    // The editor wraps long lines, so compare without white space.
    // biome-ignore lint/performance/useDomNodeTextContent: the editor's text as shown, not its hidden DOM.
    const response = async () => (await page.locator('.graphiql-response').innerText()).replace(/\s+/g, '');
    await expect.poll(response, { timeout: 20_000 }).toMatch(/"token":"[A-Za-z0-9_-]{40,}"/);
    expect(await response()).toContain('"__typename":"ConversationSession"');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('graphiql.png', ARTIFACTS).pathname, fullPage: true });
    expect(blocked).toEqual([]);
  });
});
