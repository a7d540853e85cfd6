/**
 * Linking a phone by QR in the admin UI. The app runs in-process (served over real HTTP with Bun.serve) with a
 * scripted Baileys socket, so the test plays WhatsApp: it shows QR codes, which the page must follow as they
 * rotate, then "scans" (the 515 restart Baileys does after pairing, then open) — and the page says Connected.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { createTestApp, type TestApp } from '../../src/testing/test-app.ts'
import { scriptedSockets } from '../../src/testing/qr-socket.ts'
import { makeUser, makeWorkspace, type FixtureUser } from '../../src/testing/fixtures.ts'
import { ensureBinary, REPO_ROOT } from '../../src/testing/binary.ts'
import { BROWSER_TEST_TIMEOUT, browserSuite, expectAccessible, screenshot, waitForPath, waitUntil } from '../../src/testing/browser.ts'

const sockets = scriptedSockets()
let t: TestApp
let server: ReturnType<typeof Bun.serve>
let base = ''
let owner: FixtureUser
let ws = ''

beforeAll(async () => {
  // The in-process app serves the UI from the checkout's dist/ui (built with the binary).
  await ensureBinary()
  if (!existsSync(resolve(REPO_ROOT, 'dist/ui/index.html'))) throw new Error('dist/ui is not built: run bun run build')
  t = await createTestApp({ qrSocketFactory: sockets.factory })
  owner = await makeUser(t, 'owner@shop.example')
  ws = await makeWorkspace(t, 'Bakery', owner)
  server = Bun.serve({ port: 0, hostname: '127.0.0.1', idleTimeout: 60, fetch: (r) => t.app.handle(r) })
  base = `http://127.0.0.1:${server.port}`
}, 120_000)
afterAll(async () => {
  server?.stop(true)
  await t?.close()
}, 20_000)

const suite = browserSuite()

describe('QR linking in the browser (in-process app, scripted WhatsApp socket)', () => {
  test('the QR image follows each new code; after the scan the page says Connected', async () => {
    const context = await suite.context({ label: 'owner' })
    await context.addCookies([{ name: 'wabox_session', value: owner.sessionToken, url: base, httpOnly: true, sameSite: 'Lax' }])
    const page = await context.newPage()
    await page.goto(`${base}/w/${ws}/channels`)
    await page.getByRole('button', { name: 'Link a phone by QR' }).click()
    await page.getByLabel('Name', { exact: true }).fill('Shop phone')
    await expectAccessible(page, 'QR linking form')
    await screenshot(page, 'channels-qr-form')
    const socketsBefore = sockets.sockets.length
    await page.getByRole('button', { name: 'Start linking' }).click()

    // wabox opened a WhatsApp socket for the new channel; WhatsApp shows the first code.
    await waitUntil('a WhatsApp socket for the new channel', () => sockets.sockets.length > socketsBefore)
    const channel = await t.db.db.selectFrom('channels').select(['id', 'name']).where('workspace_id', '=', ws).where('provider', '=', 'qr').executeTakeFirstOrThrow()
    expect(channel.name).toBe('Shop phone')
    await waitForPath(page, `/w/${ws}/channels/${channel.id}`)
    sockets.last().showQr('2@first-code-AAAA,noise-key-1,identity-key-1,adv-secret-1')
    const img = page.getByRole('img', { name: 'QR code to scan' })
    await img.waitFor()
    const first = (await img.getAttribute('src')) ?? ''
    expect(first).not.toBe('')
    await expectAccessible(page, 'QR linking (code shown)')
    await screenshot(page, 'qr-linking')

    // WhatsApp rotates the code: the image must change without a reload.
    sockets.last().showQr('2@second-code-BBBB,noise-key-1,identity-key-1,adv-secret-1')
    const second = await waitUntil('a new QR image', async () => {
      const src = await img.getAttribute('src')
      return src && src !== first ? src : null
    })
    expect(second).not.toBe(first)
    expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1)

    // The phone scans: Baileys pairs, WhatsApp asks for a restart (515), the new socket opens.
    const scanned = sockets.last()
    scanned.emit('creds.update', {})
    scanned.close(515, 'Stream Errored (restart required)')
    await waitUntil('the socket after the restart', () => sockets.last() !== scanned)
    sockets.last().open()
    await page.getByText('Connected', { exact: true }).first().waitFor()
    await waitUntil('the channel linked in the database', async () => (await t.db.db.selectFrom('channels').select('connection_state').where('id', '=', channel.id).executeTakeFirstOrThrow()).connection_state === 'connected')
    // Once linked there is nothing to scan.
    await img.waitFor({ state: 'hidden' })
    await expectAccessible(page, 'QR linked')
    await screenshot(page, 'channels-qr-connected')
  }, BROWSER_TEST_TIMEOUT)
})
