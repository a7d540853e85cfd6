/**
 * First run through the admin UI, against the compiled binary and the Graph API double: the setup link from
 * stderr → signed in → a Cloud number connected in the Channels page → a customer's message (a signed webhook)
 * shows in the open inbox without a reload → a reply typed and sent with Ctrl+Enter reaches Meta exactly once →
 * the status webhooks Meta posts move its tick to Delivered, then Read. Every screen passes axe and is
 * photographed, the inbox and thread also at phone width.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { startGraphDouble } from '../../src/testing/graph-double.ts'
import {
  BROWSER_TEST_TIMEOUT,
  browserSuite,
  expectAccessible,
  PHONE,
  screenshot,
  softChecks,
  waitForAttribute,
  waitForPath,
  waitForText,
  waitUntil,
} from '../../src/testing/browser.ts'
import {
  customerWrites,
  metaNumber,
  pathOf,
  expectShellAtTop,
  postWebhook,
  Session,
  setupLinkOf,
  startWabox,
  statusWebhook,
  type CloudNumber,
  type Wabox,
} from './support.ts'
import { statusUpdate } from '../../src/testing/webhooks.ts'

const graph = await startGraphDouble()
let wabox: Wabox
beforeAll(async () => {
  wabox = await startWabox({ graph })
}, 30_000)
afterAll(async () => {
  await wabox?.stop()
  graph.stop()
}, 20_000)
// The signed-out boot asks /api/v1/me and gets the 401 that means "not signed in".
const suite = browserSuite({ allowConsoleErrors: [/status of 401/] })

const OPERATOR = {
  name: 'Olivia Operator',
  email: 'olivia@example.com',
  password: 'operator password 1',
  workspace: 'Acme Support',
}
const CUSTOMER = { from: '4915123456789', name: 'Jonas Weber' }

/** What the first test leaves for the others: the signed-in browser state, the workspace and the number. */
let signedIn: Awaited<ReturnType<import('playwright-core').BrowserContext['storageState']>>
let workspaceId = ''
let number: CloudNumber
let conversationPath = ''

const conversationsList = (page: Page) => page.getByRole('list', { name: 'Conversations' })
const conversationLink = (page: Page, name: string) =>
  conversationsList(page).getByRole('link', { name: new RegExp(`^${name}`) })

describe('first run in the browser (compiled binary)', () => {
  test('setup → connect a Cloud number → live inbound → Ctrl+Enter reply sent once → Delivered → Read', async () => {
    const context = await suite.context({ label: 'operator', permissions: ['clipboard-read', 'clipboard-write'] })
    const page = await context.newPage()
    const soft = softChecks()

    // 1. The setup link printed on stderr opens the first-run form.
    const link = await setupLinkOf(wabox)
    expect(link.startsWith(`${wabox.url}/setup?token=`)).toBe(true)
    await page.goto(link)
    await page.getByLabel('Your name').fill(OPERATOR.name)
    await page.getByLabel('Email').fill(OPERATOR.email)
    await page.getByLabel('Password').fill(OPERATOR.password)
    await page.getByLabel('Workspace name').fill(OPERATOR.workspace)
    await soft.check(expectAccessible(page, 'setup'))
    await screenshot(page, 'setup')
    await page.getByRole('button', { name: 'Create account' }).click()

    // 2. Lands in the inbox of the new workspace, signed in.
    const inboxPath = await waitForPath(page, /^\/w\/[^/]+\/inbox$/)
    workspaceId = inboxPath.split('/')[2]!
    const api = await Session.login(wabox.url, OPERATOR.email, OPERATOR.password)
    const me = await api.get<{ memberships: { workspaceId: string; workspaceName: string; role: string }[] }>(
      '/api/v1/me',
    )
    expect(me.memberships).toEqual([
      expect.objectContaining({ workspaceId, workspaceName: OPERATOR.workspace, role: 'owner' }),
    ])
    const nav = page.getByRole('navigation', { name: 'Main' })
    await nav.getByRole('link', { name: 'Inbox' }).waitFor()
    await page.getByRole('tab', { name: 'All' }).waitFor()
    await soft.check(expectAccessible(page, 'inbox (empty)'))
    await screenshot(page, 'inbox-empty')

    // 3. Channels → Connect Cloud API number: the form, checked with Meta (the double), then the webhook values.
    await nav.getByRole('link', { name: 'Channels' }).click()
    await waitForPath(page, `/w/${workspaceId}/channels`)
    await page.getByRole('button', { name: 'Connect Cloud API number' }).waitFor()
    await soft.check(expectAccessible(page, 'channels (none yet)'))
    await soft.check(expectShellAtTop(page, 'channels'))
    await screenshot(page, 'channels-empty')
    await page.getByRole('button', { name: 'Connect Cloud API number' }).click()
    const meta = metaNumber(graph)
    await page.getByLabel('Name', { exact: true }).fill('Support line')
    await page.getByLabel('Access token').fill(meta.accessToken)
    await page.getByLabel('Phone number ID').fill(meta.phoneNumberId)
    await page.getByLabel('WhatsApp Business Account ID').fill(meta.wabaId)
    await page.getByLabel('App secret').fill(meta.appSecret)
    await soft.check(expectAccessible(page, 'connect Cloud number form'))
    await screenshot(page, 'channels-connect-cloud')
    await page.getByRole('button', { name: 'Connect', exact: true }).click()

    const webhookField = page.getByLabel('Webhook URL', { exact: true })
    const verifyField = page.getByLabel('Verify token', { exact: true })
    await webhookField.waitFor({ timeout: 10_000 })
    const webhookUrl = await webhookField.inputValue()
    const verifyToken = await verifyField.inputValue()
    expect(webhookUrl).toMatch(new RegExp(`^${wabox.url}/webhooks/whatsapp/[A-Za-z0-9_]+$`))
    // The token check really went to Meta with the pasted token.
    expect(
      graph.calls.some(
        (c) =>
          c.method === 'GET' &&
          c.path.includes(`/${meta.phoneNumberId}`) &&
          c.authorization === `Bearer ${meta.accessToken}`,
      ),
    ).toBe(true)
    // The verify token shown is the one Meta's verification handshake must present.
    const challenge = await fetch(
      `${webhookUrl}?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(verifyToken)}&hub.challenge=1158201444`,
    )
    expect({ status: challenge.status, body: await challenge.text() }).toEqual({ status: 200, body: '1158201444' })
    await soft.check(expectAccessible(page, 'channel connected (webhook values)'))
    // Each value has a Copy button that puts exactly that value on the clipboard.
    await page.getByRole('button', { name: /^Copy.*Webhook URL/ }).click()
    expect(
      await waitUntil(
        'the webhook URL on the clipboard',
        () => page.evaluate(() => navigator.clipboard.readText()).then((t) => t === webhookUrl && t),
        2000,
      ),
    ).toBe(webhookUrl)
    await page.getByRole('button', { name: /^Copy.*Verify token/ }).click()
    expect(
      await waitUntil(
        'the verify token on the clipboard',
        () => page.evaluate(() => navigator.clipboard.readText()).then((t) => t === verifyToken && t),
        2000,
      ),
    ).toBe(verifyToken)
    await soft.check(expectAccessible(page, 'channel connected, values copied'))
    await screenshot(page, 'channels-connected')
    const channelId = webhookUrl.split('/').at(-1)!
    number = {
      channelId,
      phoneNumberId: meta.phoneNumberId,
      accessToken: meta.accessToken,
      appSecret: meta.appSecret,
      webhookUrl,
    }
    graph.deliverStatusesTo(meta.phoneNumberId, webhookUrl, meta.appSecret)

    // 4. Back to the inbox; a customer writes; the conversation appears without a reload.
    await nav.getByRole('link', { name: 'Inbox' }).click()
    await waitForPath(page, `/w/${workspaceId}/inbox`)
    await page.getByRole('tab', { name: 'All' }).click()
    await page.getByText(/No conversations/).waitFor()
    const navigations: string[] = []
    page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()))
    const shownAfter = performance.now()
    await customerWrites(number, 'Hallo, ist meine Bestellung 4711 schon unterwegs?', CUSTOMER)
    const item = conversationLink(page, CUSTOMER.name)
    await item.waitFor({ timeout: 5000 })
    console.log(`inbound webhook → conversation in the open inbox: ${(performance.now() - shownAfter).toFixed(0)} ms`)
    await waitForText(item, '1 unread')
    expect(navigations.filter((u) => !u.includes('/inbox'))).toEqual([])
    expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1)
    await soft.check(expectAccessible(page, 'inbox with a conversation'))
    await screenshot(page, 'inbox')

    // 5. Open it; the inbound message is there; type a reply and send it with Ctrl+Enter.
    await item.click()
    conversationPath = await waitForPath(page, new RegExp(`^/w/${workspaceId}/inbox/[^/]+$`))
    const log = page.getByRole('log', { name: 'Messages' })
    const inbound = log.getByRole('article').filter({ hasText: 'Bestellung 4711' })
    await inbound.waitFor()
    expect(await inbound.getAttribute('data-direction')).toBe('in')
    const reply = 'Guten Tag Herr Weber, Ihre Bestellung 4711 ist heute rausgegangen.'
    const composer = page.getByRole('textbox', { name: 'Message' })
    await composer.fill(reply)
    const sentBefore = graph.sent.length
    await composer.press('Control+Enter')

    const bubble = log.getByRole('article').filter({ hasText: reply })
    await bubble.waitFor()
    expect(await bubble.getAttribute('data-direction')).toBe('out')
    // Meta receives exactly that text, once, to the customer's number.
    const sends = await waitUntil('the reply at the Graph double', () => {
      const s = graph.sent.slice(sentBefore).filter((x) => x.phoneNumberId === number.phoneNumberId)
      return s.length > 0 && s
    })
    expect(await composer.inputValue()).toBe('')
    // The double posts Meta's own "sent" status webhook after accepting the message.
    await waitForAttribute(bubble, 'data-status', 'sent', 5000)
    expect(sends.map((s) => s.body)).toEqual([
      expect.objectContaining({
        messaging_product: 'whatsapp',
        to: CUSTOMER.from,
        type: 'text',
        text: expect.objectContaining({ body: reply }),
      }),
    ])
    expect(graph.sent.slice(sentBefore).filter((x) => x.phoneNumberId === number.phoneNumberId).length).toBe(1)
    const wamid = sends[0]!.wamid

    // 6. Meta's status webhooks: delivered, then read — the tick's label follows.
    const tick = (label: string) => bubble.getByLabel(label, { exact: true })
    await tick('Sent').waitFor()
    await statusWebhook(number, wamid, 'delivered')
    await waitForAttribute(bubble, 'data-status', 'delivered')
    await tick('Delivered').waitFor()
    await statusWebhook(number, wamid, 'read')
    await waitForAttribute(bubble, 'data-status', 'read')
    await tick('Read').waitFor()
    expect(await tick('Delivered').count()).toBe(0)
    await soft.check(expectAccessible(page, 'thread'))
    await soft.check(expectShellAtTop(page, 'thread'))
    await screenshot(page, 'inbox-thread')
    expect(graph.sent.slice(sentBefore).filter((x) => x.phoneNumberId === number.phoneNumberId).length).toBe(1)

    signedIn = await context.storageState()
    soft.rethrow()
  }, 60_000)

  test(
    'a failed send shows Meta’s reason in the thread',
    async () => {
      expect(conversationPath).not.toBe('')
      const page = await (await suite.context({ storageState: signedIn, label: 'operator' })).newPage()
      await page.goto(wabox.url + conversationPath)
      const log = page.getByRole('log', { name: 'Messages' })
      await log.getByRole('article').first().waitFor()
      const text = 'Diese Nachricht wird nicht zugestellt.'
      const sentBefore = graph.sent.length
      await page.getByRole('textbox', { name: 'Message' }).fill(text)
      await page.getByRole('button', { name: 'Send' }).click()
      const bubble = log.getByRole('article').filter({ hasText: text })
      const sent = await waitUntil('the message at the Graph double', () =>
        graph.sent.slice(sentBefore).find((s) => JSON.stringify(s.body).includes(text)),
      )
      // Meta accepted it, then reports it undeliverable (reference: status "failed" with an error).
      await postWebhook(
        number,
        statusUpdate(number.phoneNumberId, sent.wamid, 'failed', {
          timestamp: Math.floor(Date.now() / 1000),
          errors: [
            {
              code: 131026,
              title: 'Message undeliverable',
              message: 'Message undeliverable',
              error_data: { details: 'Message Undeliverable.' },
            },
          ],
        }),
      )
      await waitForAttribute(bubble, 'data-status', 'failed')
      await bubble.getByLabel('Failed', { exact: true }).waitFor()
      await waitForText(bubble, /undeliverable/i)
      await screenshot(page, 'thread-failed-message')
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'phone width (390 px): the inbox list and the thread',
    async () => {
      expect(conversationPath).not.toBe('')
      const page = await (
        await suite.context({ storageState: signedIn, viewport: PHONE, isMobile: true, hasTouch: true, label: 'phone' })
      ).newPage()
      const soft = softChecks()
      const noSidewaysScroll = async (screen: string) => {
        const width = await page.evaluate(() => document.documentElement.scrollWidth)
        if (width > PHONE.width)
          throw new Error(`${screen}: the page is ${width} px wide on a ${PHONE.width} px screen (sideways scrolling)`)
      }
      await page.goto(`${wabox.url}/w/${workspaceId}/inbox`)
      await page.getByRole('tab', { name: 'All' }).click()
      const item = conversationLink(page, CUSTOMER.name)
      await item.waitFor()
      await screenshot(page, 'phone-inbox')
      await soft.check(noSidewaysScroll('inbox at phone width'))
      await soft.check(expectShellAtTop(page, 'inbox at phone width'))
      await soft.check(expectAccessible(page, 'inbox at phone width'))
      await item.click()
      await waitForPath(page, conversationPath)
      await page.getByRole('log', { name: 'Messages' }).getByRole('article').first().waitFor()
      await page.getByRole('textbox', { name: 'Message' }).waitFor()
      await screenshot(page, 'phone-thread')
      await soft.check(noSidewaysScroll('thread at phone width'))
      await soft.check(expectShellAtTop(page, 'thread at phone width'))
      await soft.check(expectAccessible(page, 'thread at phone width'))
      expect(pathOf(page)).toBe(conversationPath)
      soft.rethrow()
    },
    BROWSER_TEST_TIMEOUT,
  )
})
