/**
 * A channel's page in the admin UI. A Cloud API number against the compiled binary and the Graph API double:
 * the send rate saved, the access token replaced (checked with Meta first; a token Meta refuses is said next to
 * its field), and disconnecting behind the typed name. A QR-linked phone in the in-process app with the scripted
 * WhatsApp socket: pacing saved (and a refused combination said next to its field), a pairing code asked for and
 * shown, and a dropped connection showing as Reconnecting in the channel list by itself.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Locator, Page } from 'playwright-core'
import { startGraphDouble } from '../../src/testing/graph-double.ts'
import { call } from '../../src/testing/fixtures.ts'
import {
  BROWSER_TEST_TIMEOUT,
  browserSuite,
  expectAccessible,
  screenshot,
  softChecks,
  waitForPath,
  waitForText,
  waitUntil,
} from '../../src/testing/browser.ts'
import {
  connectCloudByApi,
  createOperator,
  firstWorkspace,
  Session,
  startQrApp,
  startWabox,
  type CloudNumber,
  type Wabox,
} from './support.ts'

const graph = await startGraphDouble()
let wabox: Wabox
let owner: Session
let ws = ''
let hotline: CloudNumber

let qr: Awaited<ReturnType<typeof startQrApp>>

beforeAll(async () => {
  wabox = await startWabox({ graph })
  await createOperator(wabox, 'owner@kiosk.example', 'owner password 12', 'Kiosk')
  owner = await Session.login(wabox.url, 'owner@kiosk.example', 'owner password 12')
  ws = await firstWorkspace(owner)
  // The workspace's only number, so that the list after disconnecting has nothing else to show.
  hotline = await connectCloudByApi(owner, ws, graph, 'Hotline')

  qr = await startQrApp('owner@baeckerei.example', 'Bäckerei')
}, 60_000)
afterAll(async () => {
  await wabox?.stop()
  graph.stop()
  await qr?.stop()
}, 20_000)

// The refusals tested here are 422s the page asks for on purpose.
const suite = browserSuite({ allowConsoleErrors: [/status of 422/] })

/** The text of the elements an element's aria-describedby names (its hint and error). */
const descriptionOf = (field: Locator) =>
  field.evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' '),
  )

const channelCard = (page: Page, name: string) =>
  page.getByRole('list', { name: 'Channels' }).getByRole('listitem').filter({ hasText: name })

describe('a Cloud API channel (compiled binary)', () => {
  test(
    'send rate saved; access token replaced after Meta checks it, a refused one said at its field; disconnect by typed name',
    async () => {
      const context = await suite.context({ label: 'owner' })
      await owner.into(context)
      const page = await context.newPage()
      const soft = softChecks()
      await page.goto(`${wabox.url}/w/${ws}/channels`)
      await channelCard(page, 'Hotline').getByText('Active').waitFor()
      await channelCard(page, 'Hotline').getByRole('link').click()
      await waitForPath(page, `/w/${ws}/channels/${hotline.channelId}`)
      await page.getByRole('heading', { name: 'Hotline', level: 1 }).waitFor()

      // Send rate.
      const rate = page.getByLabel('Send rate (messages per second)')
      expect(await rate.inputValue()).not.toBe('25')
      await rate.fill('25')
      await page.getByRole('button', { name: 'Save', exact: true }).click()
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
      expect(
        (await owner.get<{ sendRate: number }>(`/api/v1/workspaces/${ws}/channels/${hotline.channelId}`)).sendRate,
      ).toBe(25)
      await soft.check(expectAccessible(page, 'Cloud channel, send rate saved'))

      // A new token Meta knows: checked with Meta (a GET on the number with that token), then stored.
      const token = page.getByLabel('Access token', { exact: true })
      const fresh = `EAAfresh${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`
      graph.addToken(fresh, [hotline.phoneNumberId])
      const callsBefore = graph.calls.length
      await token.fill(fresh)
      await page.getByRole('button', { name: 'Replace credentials' }).click()
      await page.getByRole('status').filter({ hasText: 'Credentials replaced.' }).waitFor()
      expect(
        graph.calls
          .slice(callsBefore)
          .filter((c) => c.method === 'GET')
          .map((c) => ({ path: c.path.split('?')[0], authorization: c.authorization })),
      ).toEqual([{ path: `/${graph.version}/${hotline.phoneNumberId}`, authorization: `Bearer ${fresh}` }])
      const stored = await owner.get<{ status: string; credentials: { accessToken: string } }>(
        `/api/v1/workspaces/${ws}/channels/${hotline.channelId}`,
      )
      expect(stored).toEqual(
        expect.objectContaining({
          status: 'active',
          credentials: expect.objectContaining({ accessToken: `••••${fresh.slice(-4)}` }),
        }),
      )
      expect(await token.inputValue()).toBe('')
      // The field shows which token is in use now (its last four characters).
      await soft.check(
        waitUntil(
          'the new token’s last four as the Access token placeholder',
          async () => {
            const placeholder = await token.getAttribute('placeholder')
            if (placeholder === `••••${fresh.slice(-4)}`) return true
            throw new Error(
              `placeholder is ${JSON.stringify(placeholder)}, the token in use ends in ${fresh.slice(-4)}`,
            )
          },
          2000,
        ),
      )

      // A token Meta does not know: refused, and the reason is at the field; nothing is stored.
      const unknown = `EAAunknown${Math.random().toString(36).slice(2)}`
      const refusedBefore = graph.calls.length
      await token.fill(unknown)
      await page.getByRole('button', { name: 'Replace credentials' }).click()
      await waitUntil(
        'the Access token field marked invalid',
        async () => (await token.getAttribute('aria-invalid')) === 'true',
      )
      expect(await descriptionOf(token)).toContain('rejected by Meta')
      await waitForText(page.getByRole('alert'), 'Meta rejected the access token')
      expect(
        graph.calls.slice(refusedBefore).some((c) => c.method === 'GET' && c.authorization === `Bearer ${unknown}`),
      ).toBe(true)
      expect(
        (
          await owner.get<{ credentials: { accessToken: string } }>(
            `/api/v1/workspaces/${ws}/channels/${hotline.channelId}`,
          )
        ).credentials.accessToken,
      ).toBe(`••••${fresh.slice(-4)}`)
      await soft.check(expectAccessible(page, 'Cloud channel, token refused'))
      await screenshot(page, 'channel-cloud-token-refused')

      // Disconnect: only once the name is typed exactly.
      await page.getByRole('button', { name: 'Disconnect', exact: true }).click()
      const confirmName = page.getByLabel('Type the channel name to confirm')
      await confirmName.waitFor()
      const confirm = page.getByRole('button', { name: 'Disconnect', exact: true })
      expect(await confirm.isDisabled()).toBe(true)
      await confirmName.fill('Hotlin')
      expect(await confirm.isDisabled()).toBe(true)
      await confirmName.fill('hotline')
      expect(await confirm.isDisabled()).toBe(true)
      await confirmName.fill('Hotline')
      await waitUntil('Disconnect enabled', () => confirm.isEnabled())
      await soft.check(expectAccessible(page, 'disconnect confirmation'))
      await screenshot(page, 'channel-cloud-disconnect-confirm')
      await confirm.click()
      await waitForPath(page, `/w/${ws}/channels`)
      expect(
        (await owner.get<{ status: string }>(`/api/v1/workspaces/${ws}/channels/${hotline.channelId}`)).status,
      ).toBe('disconnected')
      await page.getByRole('heading', { name: 'Channels', level: 1 }).waitFor()
      // The list still has it, marked Disconnected (its conversations stay).
      await soft.check(
        channelCard(page, 'Hotline')
          .getByText('Disconnected')
          .waitFor({ timeout: 3000 })
          .catch(async (err: Error) => {
            throw new Error(
              `the disconnected channel is not in the list: ${err.message.split('\n')[0]}\nthe channels page shows: ${JSON.stringify(((await page.getByRole('main').textContent()) ?? '').trim())}`,
            )
          }),
      )
      await soft.check(expectAccessible(page, 'channel list with a disconnected channel'))
      await screenshot(page, 'channels-disconnected')
      soft.rethrow()
    },
    BROWSER_TEST_TIMEOUT,
  )
})

describe('a QR-linked channel (in-process app, scripted WhatsApp socket)', () => {
  test(
    'pacing saved and a refused one said at its field; a pairing code shown; Reconnecting shows in the list live',
    async () => {
      const created = await qr.t.request(
        `/api/v1/workspaces/${qr.ws}/channels`,
        call(qr.owner.who, 'POST', { kind: 'qr', name: 'Ladentelefon' }),
      )
      expect(created.status).toBe(201)
      const channelId = ((await created.json()) as { channel: { id: string } }).channel.id
      await waitUntil('a WhatsApp socket for the channel', () => qr.sockets.sockets.length > 0)
      const socket = qr.sockets.last()
      socket.showQr('2@scripted-code-AAAA,noise-key-1,identity-key-1,adv-secret-1')
      const channelOf = async () =>
        (await (
          await qr.t.request(`/api/v1/workspaces/${qr.ws}/channels/${channelId}`, call(qr.owner.who, 'GET'))
        ).json()) as { qr: { pacing: Record<string, unknown>; includeGroups: boolean }; connection: { state: string } }

      const context = await suite.context({ label: 'owner' })
      await qr.signIn(context)
      const page = await context.newPage()
      const soft = softChecks()
      await page.goto(`${qr.base}/w/${qr.ws}/channels/${channelId}`)
      await page.getByRole('img', { name: 'QR code to scan' }).waitFor()
      const pacing = page.getByRole('region', { name: 'Sending pace' })
      await pacing.waitFor()

      // Pacing.
      const min = pacing.getByLabel('Shortest pause between messages (ms)')
      const max = pacing.getByLabel('Longest pause between messages (ms)')
      await min.fill('2000')
      await max.fill('6000')
      await pacing.getByLabel('At most per minute').fill('6')
      await pacing.getByLabel('At most per hour').fill('120')
      await pacing.getByLabel('At most per day').fill('600')
      await pacing.getByLabel('Show “typing…” before each message').uncheck()
      await pacing.getByLabel('Receive group messages').check()
      await pacing.getByRole('button', { name: 'Save' }).click()
      await pacing.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
      const saved = await channelOf()
      expect(saved.qr).toEqual({
        pacing: {
          minDelayMs: 2000,
          maxDelayMs: 6000,
          perMinute: 6,
          perHour: 120,
          perDay: 600,
          warmup: true,
          typing: false,
        },
        includeGroups: true,
      })
      await soft.check(expectAccessible(page, 'QR channel, pacing saved'))

      // The longest pause below the shortest: refused (422), said at the Longest pause field; nothing changes.
      await min.fill('8000')
      await max.fill('4000')
      await pacing.getByRole('button', { name: 'Save' }).click()
      await waitUntil(
        'the Longest pause field marked invalid',
        async () => (await max.getAttribute('aria-invalid')) === 'true',
      )
      expect(await descriptionOf(max)).toMatch(/at least/i)
      expect(await min.getAttribute('aria-invalid')).toBeNull()
      expect((await channelOf()).qr.pacing).toEqual(expect.objectContaining({ minDelayMs: 2000, maxDelayMs: 6000 }))
      await soft.check(expectAccessible(page, 'QR channel, pacing refused'))
      await screenshot(page, 'channel-qr-pacing-refused')

      // A pairing code instead of the QR: the one WhatsApp (the scripted socket) gives for that number.
      await page.getByLabel('Phone number (international, digits only)').fill('+49 151 2345 6789')
      await page.getByRole('button', { name: 'Get a pairing code' }).click()
      const code = page.locator('.qr__pairing-code')
      await waitForText(code, 'PAIR6789')
      expect(((await code.locator('strong').textContent()) ?? '').trim()).toBe('PAIR6789')
      await soft.check(expectAccessible(page, 'QR channel, pairing code shown'))
      await screenshot(page, 'channel-qr-pairing-code')

      // Linked, then the connection drops: the list says Reconnecting by itself.
      socket.open()
      await page.getByRole('heading', { name: 'Connected', level: 2 }).waitFor()
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Channels' }).click()
      await waitForPath(page, `/w/${qr.ws}/channels`)
      const card = channelCard(page, 'Ladentelefon')
      await card.getByText('Connected', { exact: true }).waitFor()
      const navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length)
      socket.close(428, 'Connection Closed')
      await card.getByText('Reconnecting', { exact: true }).waitFor()
      expect((await channelOf()).connection.state).toBe('reconnecting')
      expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(navigations)
      await soft.check(expectAccessible(page, 'channel list with a reconnecting phone'))
      await screenshot(page, 'channels-qr-reconnecting')
      soft.rethrow()
    },
    BROWSER_TEST_TIMEOUT,
  )
})
