/**
 * Browser tests: playwright-core driving Debian's chromium (/usr/bin/chromium; scripts/test.sh installs it).
 *
 * `browserSuite()` in a test file launches one headless chromium for the file (beforeAll) and closes it
 * (afterAll). Each test opens its own contexts (cookie jars) with `suite.context()` / `suite.page()`; after the
 * test they are closed, and the test fails if any page threw an uncaught error (console errors are printed
 * with it). Every wait is bounded: contexts get short default timeouts, and `waitUntil` polls a condition up
 * to a deadline instead of sleeping.
 *
 * `expectAccessible(page, label)` runs axe-core in the page and fails on any serious or critical violation;
 * `screenshot(page, name)` writes `.test-tmp/screenshots/<name>.png`.
 */
import { afterAll, afterEach, beforeAll } from 'bun:test'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Locator,
  type Page,
} from 'playwright-core'
import { REPO_ROOT } from './binary.ts'
import { waitUntil } from './wait.ts'

export const CHROMIUM = '/usr/bin/chromium'
export const SCREENSHOT_DIR = resolve(REPO_ROOT, '.test-tmp/screenshots')
/** A phone in portrait (iPhone 12–15 CSS pixels). */
export const PHONE = { width: 390, height: 844 }

/**
 * A browser test's own limit: far above its bounded waits (so those fail first, with a useful message) and
 * given explicitly, because bun 1.4.5 applies its 5 s default when bunfig's [test] timeout is not passed as
 * --timeout. On a timeout bun kills the test's child processes (chromium among them); `context()` then
 * launches a new browser so the file's later tests still run.
 */
export const BROWSER_TEST_TIMEOUT = 30_000

/** How long any single playwright action or wait may take unless a test says otherwise. */
export const ACTION_TIMEOUT = 5_000
const NAVIGATION_TIMEOUT = 10_000

// Without the background-networking flags chromium keeps calling Google's services, which on a closed
// network means a stream of failing connections (and slower starts).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
]

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; scripts/test.sh does it as root)`,
    )
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 })
}

type PageProblem = { page: string; kind: 'pageerror' | 'console'; text: string }

export type BrowserSuite = ReturnType<typeof browserSuite>

/**
 * One chromium for the calling test file. `allowConsoleErrors` lists console.error texts that are expected
 * (a 401 the UI asks for on purpose, for example); uncaught page errors always fail the test.
 */
export function browserSuite(opts: { allowConsoleErrors?: RegExp[] } = {}) {
  let browser: Browser | undefined
  const open: BrowserContext[] = []
  const problems: PageProblem[] = []

  beforeAll(async () => {
    browser = await launchBrowser()
  }, 40_000)
  /** Prints the console errors seen so far and throws if a page had an uncaught error; clears both. */
  function assertNoPageErrors(): void {
    const found = problems.splice(0)
    const consoleErrors = found.filter((p) => p.kind === 'console')
    if (consoleErrors.length)
      console.log(
        `browser console errors in this test:\n${consoleErrors.map((p) => `  [${p.page}] ${p.text}`).join('\n')}`,
      )
    const errors = found.filter((p) => p.kind === 'pageerror')
    if (errors.length)
      throw new Error(`uncaught errors in the page:\n${errors.map((p) => `  [${p.page}] ${p.text}`).join('\n')}`)
  }

  afterEach(async () => {
    const contexts = open.splice(0)
    await Promise.all(contexts.map((c) => c.close().catch(() => {})))
    assertNoPageErrors()
  }, 20_000)
  afterAll(async () => {
    await browser?.close()
  }, 20_000)

  const watch = (page: Page, label: string) => {
    page.on('pageerror', (err) =>
      problems.push({ page: `${label} ${page.url()}`, kind: 'pageerror', text: err.stack ?? err.message }),
    )
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return
      const where = msg.location()?.url
      const text = where && msg.text().startsWith('Failed to load resource') ? `${msg.text()}: ${where}` : msg.text()
      if (opts.allowConsoleErrors?.some((re) => re.test(text))) return
      problems.push({ page: `${label} ${page.url()}`, kind: 'console', text })
    })
  }

  /** A fresh context (its own cookies and storage); `label` names its pages in error reports. */
  async function context(options: BrowserContextOptions & { label?: string } = {}): Promise<BrowserContext> {
    if (!browser) throw new Error('browserSuite(): the browser is not launched (call it at the top of the test file)')
    if (!browser.isConnected()) {
      console.log('chromium is gone (killed after an earlier timeout?): launching a new one')
      browser = await launchBrowser()
    }
    const { label = `context ${open.length + 1}`, ...rest } = options
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...rest })
    ctx.setDefaultTimeout(ACTION_TIMEOUT)
    ctx.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT)
    ctx.on('page', (page) => watch(page, label))
    open.push(ctx)
    return ctx
  }

  /** A page in a fresh context. */
  async function page(options: BrowserContextOptions & { label?: string } = {}): Promise<Page> {
    return (await context(options)).newPage()
  }

  return { context, page, assertNoPageErrors, browser: () => browser! }
}

/** Writes a PNG of the page's viewport (or whole page) to `.test-tmp/screenshots/<name>.png`. */
export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  const path = resolve(SCREENSHOT_DIR, `${name}.png`)
  mkdirSync(dirname(path), { recursive: true })
  await page.screenshot({ path, fullPage: opts.fullPage ?? false, animations: 'disabled', timeout: ACTION_TIMEOUT })
  return path
}

let axeSource: string | undefined
const loadAxe = () =>
  (axeSource ??= readFileSync(
    resolve(dirname(createRequire(import.meta.url).resolve('axe-core')), 'axe.min.js'),
    'utf8',
  ))

type AxeViolation = {
  id: string
  impact: string | null
  help: string
  helpUrl: string
  nodes: { target: unknown[]; failureSummary?: string }[]
}

/**
 * Runs axe-core on the page as it is now and throws if any violation is serious or critical, listing each
 * one's rule id, help text and the selectors of the offending nodes. The page's CSP (script-src 'self') would
 * refuse an injected <script>; page.evaluate runs in the page through the DevTools protocol, which CSP does
 * not govern. Resolves with the moderate/minor violations (not failures) so a test can print them.
 */
export async function expectAccessible(page: Page, label: string): Promise<AxeViolation[]> {
  const hasAxe = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe === 'object')
  if (!hasAxe) await page.evaluate(loadAxe())
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: AxeViolation[] }> }
      }
    ).axe
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }))
  })
  const describe = (v: AxeViolation) =>
    `  ${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    at ${JSON.stringify(n.target)}${n.failureSummary ? `\n      ${n.failureSummary.replace(/\n/g, '\n      ')}` : ''}`).join('\n')}`
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  if (serious.length)
    throw new Error(
      `axe: ${serious.length} serious/critical accessibility violation(s) on ${label} (${page.url()}):\n${serious.map(describe).join('\n')}`,
    )
  return violations
}

export { waitUntil }

/** Waits until the locator's text matches (a string must be contained); throws with the text it last had. */
export async function waitForText(
  locator: Locator,
  expected: string | RegExp,
  timeoutMs = ACTION_TIMEOUT,
): Promise<string> {
  return waitUntil(
    `${locator} to have text ${expected}`,
    async () => {
      const text = (await locator.textContent({ timeout: Math.min(timeoutMs, 1000) })) ?? ''
      if (typeof expected === 'string' ? text.includes(expected) : expected.test(text)) return text
      throw new Error(`text is ${JSON.stringify(text)}`)
    },
    timeoutMs,
  )
}

/** Waits until the locator's attribute has the value (or matches). */
export async function waitForAttribute(
  locator: Locator,
  name: string,
  expected: string | RegExp,
  timeoutMs = ACTION_TIMEOUT,
): Promise<string> {
  return waitUntil(
    `${locator} [${name}] to be ${expected}`,
    async () => {
      const value = await locator.getAttribute(name, { timeout: Math.min(timeoutMs, 1000) })
      if (value !== null && (typeof expected === 'string' ? value === expected : expected.test(value))) return value
      throw new Error(`${name} is ${JSON.stringify(value)}`)
    },
    timeoutMs,
  )
}

/** Waits until the locator matches exactly `count` elements. */
export async function waitForCount(locator: Locator, count: number, timeoutMs = ACTION_TIMEOUT): Promise<void> {
  await waitUntil(
    `${locator} to match ${count} element(s)`,
    async () => {
      const n = await locator.count()
      if (n === count) return true
      throw new Error(`matches ${n}`)
    },
    timeoutMs,
  )
}

/** Waits until the page's path (and query) is `expected` (a string is compared with pathname + search). */
export async function waitForPath(
  page: Page,
  expected: string | RegExp,
  timeoutMs = NAVIGATION_TIMEOUT,
): Promise<string> {
  return waitUntil(
    `the page to be at ${expected}`,
    () => {
      const u = new URL(page.url())
      const path = u.pathname + u.search
      if (typeof expected === 'string' ? path === expected : expected.test(path)) return path
      throw new Error(`at ${path}`)
    },
    timeoutMs,
  )
}

/**
 * Soft checks for a long scenario: a failed check (an axe scan, say) is kept and the scenario goes on, so one
 * problem does not hide what happens after it; `rethrow()` at the end fails the test with all of them.
 */
export function softChecks() {
  const failures: Error[] = []
  return {
    async check(what: Promise<unknown>): Promise<void> {
      await what.catch((err: unknown) => {
        failures.push(err instanceof Error ? err : new Error(String(err)))
      })
    },
    rethrow(): void {
      if (failures.length)
        throw new Error(`${failures.length} check(s) failed:\n\n${failures.map((e) => e.message).join('\n\n')}`)
    },
  }
}
