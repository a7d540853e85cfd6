/**
 * The browser harness itself (src/testing/browser.ts) against a tiny Bun.serve page with the app's CSP:
 * chromium launches under bun test, pages navigate and click, screenshots are written, axe runs despite
 * `script-src 'self'` and fails on a serious violation, and uncaught page errors are caught.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, statSync } from 'node:fs'
import {
  BROWSER_TEST_TIMEOUT,
  browserSuite,
  expectAccessible,
  screenshot,
  waitForText,
  waitUntil,
} from '../../src/testing/browser.ts'

const html = (body: string) =>
  new Response(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>harness</title></head><body><main>${body}</main></body></html>`,
    {
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'self'; script-src 'self'",
      },
    },
  )

const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req) {
    const path = new URL(req.url).pathname
    if (path === '/') return html('<h1>Start</h1><a href="/next">Next page</a>')
    if (path === '/next') return html('<h1>Arrived</h1><p id="out">waiting</p><script src="/late.js"></script>')
    if (path === '/late.js')
      return new Response("setTimeout(() => { document.getElementById('out').textContent = 'done' }, 150)", {
        headers: { 'content-type': 'text/javascript' },
      })
    if (path === '/unlabelled') return html('<h1>Form</h1><input type="text"><img src="/x.png">')
    if (path === '/throws') return html('<h1>Oops</h1><script src="/throw.js"></script>')
    if (path === '/throw.js')
      return new Response("throw new Error('boom from the page')", { headers: { 'content-type': 'text/javascript' } })
    if (path === '/favicon.ico') return new Response(null, { status: 204 })
    return new Response('not found', { status: 404 })
  },
})
afterAll(() => server.stop(true))
const base = `http://127.0.0.1:${server.port}`

const suite = browserSuite()

describe('browser harness', () => {
  test(
    'navigate, click, wait for text without sleeping, screenshot, axe passes on a clean page',
    async () => {
      const page = await suite.page()
      await page.goto(`${base}/`)
      await page.getByRole('link', { name: 'Next page' }).click()
      await page.getByRole('heading', { name: 'Arrived' }).waitFor()
      expect(await waitForText(page.locator('#out'), 'done', 2000)).toBe('done')
      const file = await screenshot(page, 'harness-arrived')
      expect(existsSync(file) && statSync(file).size > 1000).toBe(true)
      await expectAccessible(page, 'harness page')
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'expectAccessible fails on serious violations and names the rule and node (CSP does not stop axe)',
    async () => {
      const page = await suite.page()
      await page.goto(`${base}/unlabelled`)
      const error = await expectAccessible(page, 'unlabelled form').then(
        () => null,
        (e: Error) => e,
      )
      expect(error?.message).toContain('label')
      expect(error?.message).toContain('image-alt')
      expect(error?.message).toContain('"input"')
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'waitUntil gives up at its deadline with what it waited for',
    async () => {
      const started = Date.now()
      const error = await waitUntil('never', () => false, 200).catch((e: Error) => e)
      expect(String(error)).toContain('timed out after 200 ms waiting for never')
      expect(Date.now() - started).toBeLessThan(1000)
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'an uncaught page error fails the test it happened in',
    async () => {
      const page = await suite.page({ label: 'thrower' })
      await page.goto(`${base}/throws`)
      await page.getByRole('heading', { name: 'Oops' }).waitFor()
      // The error is reported asynchronously; the suite's afterEach makes this same check (and would fail).
      const error = await waitUntil(
        'the page error to be recorded',
        () => {
          try {
            suite.assertNoPageErrors()
            return false
          } catch (e) {
            return e as Error
          }
        },
        2000,
      )
      expect(error.message).toContain('boom from the page')
      expect(error.message).toContain('[thrower')
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'a browser that died (bun kills child processes when a test times out) is launched again',
    async () => {
      await suite.browser().close()
      const page = await suite.page()
      await page.goto(`${base}/`)
      await page.getByRole('heading', { name: 'Start' }).waitFor()
      expect(suite.browser().isConnected()).toBe(true)
    },
    BROWSER_TEST_TIMEOUT,
  )
})
