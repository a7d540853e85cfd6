/**
 * The interactive API reference at /docs: Swagger UI served from wabox itself (no CDN), under the same strict
 * Content-Security-Policy as the app, rendering the server's own OpenAPI document; "Try it out" runs a real request
 * against this server with the signed-in person's session.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { BROWSER_TEST_TIMEOUT, browserSuite, screenshot, waitForText, waitUntil } from '../../src/testing/browser.ts'
import { startQrApp } from './support.ts'

const suite = browserSuite()
let app: Awaited<ReturnType<typeof startQrApp>>

beforeAll(async () => {
  app = await startQrApp('docs-owner@example.com', 'Docs Co')
})
afterAll(async () => {
  await app?.stop()
})

describe('the API reference (/docs)', () => {
  test(
    'renders every operation from /docs/json offline, with no CSP violation and nothing fetched from elsewhere',
    async () => {
      const context = await suite.context({ label: 'docs' })
      // Recorded from the first script on: a refused script or style would show up here.
      await context.addInitScript(() => {
        const seen: string[] = []
        ;(window as unknown as { __csp: string[] }).__csp = seen
        document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`))
      })
      const page = await context.newPage()
      const foreign: string[] = []
      page.on('request', (r) => {
        if (!r.url().startsWith(app.base) && !r.url().startsWith('data:')) foreign.push(r.url())
      })
      const res = await page.goto(`${app.base}/docs`)
      expect(res?.status()).toBe(200)
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'")
      await page.locator('.opblock').first().waitFor()
      const spec = (await (await fetch(`${app.base}/docs/json`)).json()) as {
        paths: Record<string, object>
        webhooks: Record<string, object>
      }
      // The API's operations and the webhooks wabox sends (OpenAPI 3.1 `webhooks`), each one block.
      const count = (group: Record<string, object>) =>
        Object.values(group).reduce((n, ops) => n + Object.keys(ops).length, 0)
      const operations = count(spec.paths) + count(spec.webhooks)
      await waitUntil('every operation of the document shown', async () => {
        const shown = await page.locator('.opblock').count()
        if (shown !== operations) throw new Error(`${shown} of ${operations} shown`)
        return shown
      })
      await expect(page.getByRole('heading', { name: /wabox/ }).first().isVisible()).resolves.toBe(true)
      await page.locator('#reference[aria-busy]').waitFor({ state: 'detached' })
      expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([])
      expect(foreign).toEqual([])
      await screenshot(page, 'docs-reference')
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'Try it out runs the request against this server as the signed-in person',
    async () => {
      const context = await suite.context({ label: 'docs try' })
      await app.signIn(context)
      const page = await context.newPage()
      await page.goto(`${app.base}/docs#/auth`)
      const me = page.locator('.opblock-get', { has: page.locator('[data-path="/api/v1/me"]') })
      await me.locator('.opblock-summary').first().click()
      await me.getByRole('button', { name: 'Try it out' }).click()
      await me.getByRole('button', { name: 'Execute' }).click()
      const status = me.locator('.responses-table .response .response-col_status').first()
      expect(await waitForText(status, '200')).toContain('200')
      expect(await me.locator('.responses-table .microlight').first().textContent()).toContain('docs-owner@example.com')
      await screenshot(page, 'docs-try-it-out')
    },
    BROWSER_TEST_TIMEOUT,
  )
})
