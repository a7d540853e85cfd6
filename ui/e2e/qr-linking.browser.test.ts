/**
 * Linking a phone by QR in the admin UI. The app runs in-process (served over real HTTP with Bun.serve) with a
 * scripted Baileys socket, so the test plays WhatsApp: it shows QR codes, which the page must follow as they
 * rotate, then "scans" (the 515 restart Baileys does after pairing, then open) — and the page says Connected.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  BROWSER_TEST_TIMEOUT,
  browserSuite,
  expectAccessible,
  screenshot,
  waitForPath,
  waitUntil,
} from '../../src/testing/browser.ts'
import { startQrApp } from './support.ts'

let app: Awaited<ReturnType<typeof startQrApp>>
beforeAll(async () => {
  app = await startQrApp('owner@shop.example', 'Bakery')
}, 120_000)
afterAll(async () => {
  await app?.stop()
}, 20_000)

const suite = browserSuite()

describe('QR linking in the browser (in-process app, scripted WhatsApp socket)', () => {
  test(
    'the QR image follows each new code; after the scan the page says Connected',
    async () => {
      const context = await suite.context({ label: 'owner' })
      await app.signIn(context)
      const page = await context.newPage()
      await page.goto(`${app.base}/w/${app.ws}/channels`)
      await page.getByRole('button', { name: 'Link a phone by QR' }).click()
      await page.getByLabel('Name', { exact: true }).fill('Shop phone')
      await expectAccessible(page, 'QR linking form')
      await screenshot(page, 'channels-qr-form')
      const socketsBefore = app.sockets.sockets.length
      await page.getByRole('button', { name: 'Start linking' }).click()

      // wabox opened a WhatsApp socket for the new channel; WhatsApp shows the first code.
      await waitUntil('a WhatsApp socket for the new channel', () => app.sockets.sockets.length > socketsBefore)
      const channel = await app.t.db.db
        .selectFrom('channels')
        .select(['id', 'name'])
        .where('workspace_id', '=', app.ws)
        .where('provider', '=', 'qr')
        .executeTakeFirstOrThrow()
      expect(channel.name).toBe('Shop phone')
      await waitForPath(page, `/w/${app.ws}/channels/${channel.id}`)
      app.sockets.last().showQr('2@first-code-AAAA,noise-key-1,identity-key-1,adv-secret-1')
      const img = page.getByRole('img', { name: 'QR code to scan' })
      await img.waitFor()
      const first = (await img.getAttribute('src')) ?? ''
      expect(first).not.toBe('')
      await expectAccessible(page, 'QR linking (code shown)')
      await screenshot(page, 'qr-linking')

      // WhatsApp rotates the code: the image must change without a reload.
      app.sockets.last().showQr('2@second-code-BBBB,noise-key-1,identity-key-1,adv-secret-1')
      const second = await waitUntil('a new QR image', async () => {
        const src = await img.getAttribute('src')
        return src && src !== first ? src : null
      })
      expect(second).not.toBe(first)
      expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1)

      // The phone scans: Baileys pairs, WhatsApp asks for a restart (515), the new socket opens.
      const scanned = app.sockets.last()
      scanned.emit('creds.update', {})
      scanned.close(515, 'Stream Errored (restart required)')
      await waitUntil('the socket after the restart', () => app.sockets.last() !== scanned)
      app.sockets.last().open()
      await page.getByText('Connected', { exact: true }).first().waitFor()
      await waitUntil(
        'the channel linked in the database',
        async () =>
          (
            await app.t.db.db
              .selectFrom('channels')
              .select('connection_state')
              .where('id', '=', channel.id)
              .executeTakeFirstOrThrow()
          ).connection_state === 'connected',
      )
      // Once linked there is nothing to scan.
      await img.waitFor({ state: 'hidden' })
      await expectAccessible(page, 'QR linked')
      await screenshot(page, 'channels-qr-connected')
    },
    BROWSER_TEST_TIMEOUT,
  )
})
