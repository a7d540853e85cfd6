/**
 * The composer and the thread's own actions in the admin UI, against the compiled binary and the Graph API
 * double: an attachment is uploaded to Meta and sent as an image with its caption; a reply quotes the message it
 * answers (Meta gets `context.message_id`); a reaction reaches Meta and shows on the bubble; the contact panel
 * saves name, labels and notes and the opt-out switch takes the composer away (and is audited); notifications
 * and the unread count in the tab title; and paging: a long conversation loads older messages as it is scrolled
 * up, a long list loads more as it is scrolled down, neither showing anything twice.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Locator, Page } from 'playwright-core'
import { startGraphDouble } from '../../src/testing/graph-double.ts'
import {
  BROWSER_TEST_TIMEOUT,
  browserSuite,
  expectAccessible,
  screenshot,
  softChecks,
  waitForAttribute,
  waitForCount,
  waitForPath,
  waitUntil,
} from '../../src/testing/browser.ts'
import { contact, envelope, messagesChange, textMessage } from '../../src/testing/webhooks.ts'
import {
  connectCloudByApi,
  createOperator,
  customerWrites,
  firstWorkspace,
  postWebhook,
  Session,
  startWabox,
  type CloudNumber,
  type Wabox,
} from './support.ts'

const graph = await startGraphDouble()
let wabox: Wabox
const OWNER = { email: 'owner@laden.example', password: 'owner password 12' }
let owner: Session
let ws = ''
let number: CloudNumber
const CUSTOMERS = {
  attach: { from: '4917100000001', name: 'Anton Anhang' },
  reply: { from: '4917100000002', name: 'Rosa Reply' },
  react: { from: '4917100000003', name: 'Emil Emoji' },
  contact: { from: '4917100000004', name: 'Karl Kontakt' },
  open: { from: '4917100000005', name: 'Nina Offen' },
  other: { from: '4917100000006', name: 'Bruno Neu' },
}
type Key = keyof typeof CUSTOMERS
const conv = {} as Record<Key, string>
/** The wamid and text of each customer's first message. */
const first = {} as Record<Key, { wamid: string; text: string }>

// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
)

/**
 * Like waitUntil, but polls the API at most every 100 ms: the browser under test is signed in as the same user,
 * and the per-user limit of the UI (30 requests a second) must stay the page's.
 */
function apiPoll<T>(what: string, check: () => Promise<T>, timeoutMs = 5000) {
  let last = 0
  let value: T | undefined
  return waitUntil(
    what,
    async () => {
      if (Date.now() - last < 100) return value
      last = Date.now()
      return (value = await check())
    },
    timeoutMs,
  )
}

type ConversationItem = { id: string; unreadCount: number; contact: { id: string; waId: string | null } }
const conversations = (s: Session, workspaceId: string) =>
  s.get<{ items: ConversationItem[] }>(`/api/v1/workspaces/${workspaceId}/conversations?limit=200`).then((p) => p.items)

beforeAll(async () => {
  wabox = await startWabox({ graph })
  await createOperator(wabox, OWNER.email, OWNER.password, 'Laden')
  owner = await Session.login(wabox.url, OWNER.email, OWNER.password)
  ws = await firstWorkspace(owner)
  number = await connectCloudByApi(owner, ws, graph)
  // Meta posts a "sent" status webhook for every message it accepts, as it does for real.
  graph.deliverStatusesTo(number.phoneNumberId, number.webhookUrl, number.appSecret)
  for (const [key, c] of Object.entries(CUSTOMERS) as [Key, { from: string; name: string }][]) {
    const text = `Hallo, hier ist ${c.name}.`
    first[key] = { wamid: await customerWrites(number, text, c), text }
  }
  const found = await apiPoll('the seeded conversations', async () => {
    const items = await conversations(owner, ws)
    return items.length === Object.keys(CUSTOMERS).length && items
  })
  for (const key of Object.keys(CUSTOMERS) as Key[])
    conv[key] = found.find((c) => c.contact.waId === CUSTOMERS[key].from)!.id
}, 60_000)
afterAll(async () => {
  await wabox?.stop()
  graph.stop()
}, 20_000)

const suite = browserSuite()

async function ownerPage(label = 'owner'): Promise<Page> {
  const context = await suite.context({ label })
  await owner.into(context)
  return context.newPage()
}

const messagesLog = (page: Page) => page.getByRole('log', { name: 'Messages' })

/** Opens a conversation and waits until its first message is shown; returns that message's bubble. */
async function openThread(page: Page, key: Key): Promise<Locator> {
  await page.goto(`${wabox.url}/w/${ws}/inbox/${conv[key]}`)
  const bubble = messagesLog(page).getByRole('article').filter({ hasText: first[key].text })
  await bubble.waitFor()
  return bubble
}

/** What Meta received for this conversation's number since `since` (index into graph.sent). */
const sentSince = (since: number) => graph.sent.slice(since).filter((s) => s.phoneNumberId === number.phoneNumberId)

/**
 * Fails unless the element is what a click at its centre reaches: says what covers it instead (a menu drawn
 * under a neighbouring pane, say), which a plain click would only report as a timeout.
 */
async function expectOnTop(target: Locator, what: string): Promise<void> {
  const cover = await target.evaluate((el) => {
    const r = el.getBoundingClientRect()
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)
    if (hit && (hit === el || el.contains(hit))) return null
    const pane = hit?.closest('section[aria-label], aside, header, [role]')
    return `${hit ? `<${hit.tagName.toLowerCase()} class="${hit.getAttribute('class') ?? ''}">` : 'nothing'}${pane ? ` in ${pane.tagName.toLowerCase()} "${pane.getAttribute('aria-label') ?? ''}"` : ''} at (${Math.round(r.left + r.width / 2)}, ${Math.round(r.top + r.height / 2)})`
  })
  if (cover) throw new Error(`${what} is covered: a click there reaches ${cover}`)
}

describe('the composer and thread actions (compiled binary)', () => {
  test(
    'an attachment: chosen with the paperclip, uploaded to Meta once, sent as an image with its caption',
    async () => {
      const page = await ownerPage()
      await openThread(page, 'attach')
      const chooser = page.waitForEvent('filechooser')
      await page.getByRole('button', { name: 'Attach a file' }).click()
      await (await chooser).setFiles({ name: 'kassenbon.png', mimeType: 'image/png', buffer: PNG })
      await page.getByText('kassenbon.png').waitFor()
      await page.getByRole('button', { name: 'Remove attachment' }).waitFor()
      const composer = page.getByRole('textbox', { name: 'Message' })
      expect(await composer.getAttribute('placeholder')).toBe('Caption (optional)')
      const caption = 'Hier ist Ihr Kassenbon.'
      await composer.fill(caption)
      const soft = softChecks()
      await soft.check(expectAccessible(page, 'composer with an attachment'))
      await screenshot(page, 'composer-attachment')

      const callsBefore = graph.calls.length
      const sentBefore = graph.sent.length
      const uploaded = page.waitForResponse(
        (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/api/v1/workspaces/${ws}/media`,
      )
      const queued = page.waitForResponse(
        (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/api/v1/workspaces/${ws}/messages`,
      )
      await page.getByRole('button', { name: 'Send' }).click()
      const upload = (await (await uploaded).json()) as {
        mediaId: string
        kind: string
        mimeType: string
        size: number
      }
      expect(upload).toEqual(expect.objectContaining({ kind: 'image', mimeType: 'image/png', size: PNG.length }))
      const message = (await (await queued).json()) as { id: string }

      const sends = await waitUntil(
        'the image at the Graph double',
        () => sentSince(sentBefore).length > 0 && sentSince(sentBefore),
      )
      expect(sends.map((s) => s.body)).toEqual([
        {
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to: CUSTOMERS.attach.from,
          type: 'image',
          image: { id: upload.mediaId, caption },
          biz_opaque_callback_data: `wabox:${message.id}`,
        },
      ])
      // One upload, to the number's /media edge, with the channel's token.
      const uploads = graph.calls.slice(callsBefore).filter((c) => c.method === 'POST' && c.path.endsWith('/media'))
      expect(uploads.map((c) => ({ path: c.path, authorization: c.authorization }))).toEqual([
        { path: `/${graph.version}/${number.phoneNumberId}/media`, authorization: `Bearer ${number.accessToken}` },
      ])
      // And Meta holds exactly the bytes chosen in the browser.
      const info = (await (
        await fetch(`${graph.url}/${graph.version}/${upload.mediaId}`, {
          headers: { authorization: `Bearer ${number.accessToken}` },
        })
      ).json()) as { url: string; mime_type: string }
      expect(info.mime_type).toBe('image/png')
      const bytes = new Uint8Array(
        await (
          await fetch(info.url, { headers: { authorization: `Bearer ${number.accessToken}`, 'user-agent': 'test' } })
        ).arrayBuffer(),
      )
      expect(Buffer.from(bytes).equals(PNG)).toBe(true)

      // The thread shows it as sent; the composer is empty again, without the attachment.
      const bubble = messagesLog(page).locator(`article[data-id="${message.id}"]`)
      await bubble.waitFor()
      expect(await bubble.getAttribute('data-direction')).toBe('out')
      expect(await bubble.textContent()).toContain(caption)
      await waitForAttribute(bubble, 'data-status', 'sent')
      expect(await composer.inputValue()).toBe('')
      expect(await page.getByRole('button', { name: 'Remove attachment' }).count()).toBe(0)
      expect(sentSince(sentBefore).length).toBe(1)
      await screenshot(page, 'composer-attachment-sent')
      soft.rethrow()
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'a reply: Reply on a customer message, send → Meta gets context.message_id; the bubble quotes it',
    async () => {
      const page = await ownerPage()
      const inbound = await openThread(page, 'reply')
      const soft = softChecks()
      // The actions are reachable from the keyboard too: Tab from the message log lands on the message's Reply.
      await soft.check(
        (async () => {
          await messagesLog(page).focus()
          await page.keyboard.press('Tab')
          const focused = await page.evaluate(
            () =>
              `${document.activeElement?.tagName.toLowerCase()} ${document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent?.trim() ?? ''}`,
          )
          if (focused !== 'button Reply')
            throw new Error(
              `keyboard: Tab from the Messages log focuses "${focused}", not the message's Reply button (the bubble's actions cannot be reached without a mouse)`,
            )
        })(),
      )

      await inbound.hover()
      await inbound.getByRole('button', { name: 'Reply' }).click()
      const composer = page.getByRole('textbox', { name: 'Message' })
      // Reply moves the focus to the composer, which says what is being answered.
      await waitUntil('the focus in the composer', () => composer.evaluate((el) => el === document.activeElement))
      const replying = page.locator('.composer__reply')
      await replying.getByText('Replying to').waitFor()
      expect(await replying.textContent()).toContain(first.reply.text)
      await replying.getByRole('button', { name: 'Cancel reply' }).waitFor()
      await soft.check(expectAccessible(page, 'composer replying to a message'))
      await screenshot(page, 'composer-replying')

      const text = 'Gern, Frau Reply — was kann ich für Sie tun?'
      await composer.fill(text)
      const sentBefore = graph.sent.length
      await composer.press('Control+Enter')
      const sends = await waitUntil(
        'the reply at the Graph double',
        () => sentSince(sentBefore).length > 0 && sentSince(sentBefore),
      )
      expect(sends.map((s) => s.body)).toEqual([
        expect.objectContaining({
          to: CUSTOMERS.reply.from,
          type: 'text',
          text: { body: text },
          context: { message_id: first.reply.wamid },
        }),
      ])
      const bubble = messagesLog(page).getByRole('article').filter({ hasText: text })
      await waitForAttribute(bubble, 'data-status', 'sent')
      expect(await bubble.getAttribute('data-direction')).toBe('out')
      expect(((await bubble.locator('blockquote').textContent()) ?? '').trim()).toBe(first.reply.text)
      // Sent: the composer no longer says it is replying.
      await replying.waitFor({ state: 'hidden' })
      // The quote comes from the server too (a reload shows it).
      await page.reload()
      const again = messagesLog(page).getByRole('article').filter({ hasText: text })
      await again.waitFor()
      expect(((await again.locator('blockquote').textContent()) ?? '').trim()).toBe(first.reply.text)
      await screenshot(page, 'thread-reply-quoted')
      soft.rethrow()
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'a reaction: React → 👍 reaches Meta for that wamid and shows on the customer message',
    async () => {
      const page = await ownerPage()
      const inbound = await openThread(page, 'react')
      await inbound.hover()
      const react = inbound.getByLabel('React', { exact: true })
      await react.click()
      const thumbs = inbound.getByRole('button', { name: 'React with 👍' })
      await thumbs.waitFor()
      const soft = softChecks()
      await soft.check(expectAccessible(page, 'reaction menu open'))
      await screenshot(page, 'thread-reaction-menu')

      // Each choice is on top where it is drawn (nothing else takes the click).
      await expectOnTop(thumbs, 'the 👍 of the reaction menu')
      const sentBefore = graph.sent.length
      const queued = page.waitForResponse(
        (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/api/v1/workspaces/${ws}/messages`,
      )
      await thumbs.click()
      const message = (await (await queued).json()) as { id: string }
      const sends = await waitUntil(
        'the reaction at the Graph double',
        () => sentSince(sentBefore).length > 0 && sentSince(sentBefore),
      )
      expect(sends.map((s) => s.body)).toEqual([
        {
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to: CUSTOMERS.react.from,
          type: 'reaction',
          reaction: { message_id: first.react.wamid, emoji: '👍' },
          biz_opaque_callback_data: `wabox:${message.id}`,
        },
      ])
      // The menu closed; the customer's message carries the 👍 (not a bubble of its own).
      await thumbs.waitFor({ state: 'hidden' })
      const reactions = inbound.locator('.bubble__reactions')
      await reactions.waitFor()
      expect(((await reactions.textContent()) ?? '').trim()).toBe('👍')
      expect(await messagesLog(page).getByRole('article').count()).toBe(1)
      await page.mouse.move(0, 0)
      await soft.check(expectAccessible(page, 'message with a reaction'))
      await screenshot(page, 'thread-reaction-shown')
      soft.rethrow()
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'the contact panel: name, labels and notes saved; the opt-out switch replaces the composer and is audited',
    async () => {
      const page = await ownerPage()
      await openThread(page, 'contact')
      const panel = page.getByRole('complementary', { name: 'Contact' })
      await panel.waitFor()
      expect(await page.getByRole('button', { name: 'Contact details' }).getAttribute('aria-pressed')).toBe('true')
      const detail = await owner.get<{ contact: { id: string } }>(
        `/api/v1/workspaces/${ws}/conversations/${conv.contact}`,
      )
      const contactId = detail.contact.id

      await panel.getByLabel('Name', { exact: true }).fill('Karl Kunde (VIP)')
      await panel.getByLabel('Labels').fill('vip, berlin , vip')
      await panel.getByLabel('Notes').fill('Ruft lieber an.\nNur vormittags.')
      await panel.getByRole('button', { name: 'Save' }).click()
      await panel.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
      const saved = await owner.get<{ name: string | null; labels: string[]; notes: string; optedOut: boolean }>(
        `/api/v1/workspaces/${ws}/contacts/${contactId}`,
      )
      expect({ name: saved.name, labels: saved.labels, notes: saved.notes, optedOut: saved.optedOut }).toEqual({
        name: 'Karl Kunde (VIP)',
        labels: ['vip', 'berlin'],
        notes: 'Ruft lieber an.\nNur vormittags.',
        optedOut: false,
      })
      // The list and the thread's head use the new name; the form shows what was saved.
      const list = page.getByRole('list', { name: 'Conversations' })
      await list.getByRole('link', { name: /^Karl Kunde \(VIP\)/ }).waitFor()
      expect(await list.getByRole('link', { name: /^Karl Kontakt/ }).count()).toBe(0)
      await page.getByRole('heading', { name: 'Karl Kunde (VIP)', level: 2 }).waitFor()
      expect(await panel.getByLabel('Labels').inputValue()).toBe('vip, berlin')
      const soft = softChecks()
      await soft.check(expectAccessible(page, 'contact panel after saving'))
      await screenshot(page, 'contact-saved')

      // Opting out: the composer goes, the note says why; the server agrees and keeps a trail.
      const optOut = panel.getByRole('switch', { name: 'Opted out of messages' })
      expect(await optOut.isChecked()).toBe(false)
      await optOut.click()
      await page.getByText('This contact opted out of messages.').waitFor()
      await page.getByRole('textbox', { name: 'Message' }).waitFor({ state: 'detached' })
      expect(await page.getByRole('button', { name: 'Send' }).count()).toBe(0)
      await waitUntil('the switch on', () => optOut.isChecked())
      expect((await owner.get<{ optedOut: boolean }>(`/api/v1/workspaces/${ws}/contacts/${contactId}`)).optedOut).toBe(
        true,
      )
      const audit = await owner.get<{
        items: {
          action: string
          target: { type: string; id: string } | null
          actor: { type: string; id: string | null }
        }[]
      }>(`/api/v1/workspaces/${ws}/audit?action=contact.opted_out`)
      expect(audit.items.map((e) => ({ action: e.action, target: e.target, actor: e.actor.id }))).toEqual([
        { action: 'contact.opted_out', target: { type: 'contact', id: contactId }, actor: owner.userId },
      ])
      await soft.check(expectAccessible(page, 'thread of an opted-out contact'))
      await screenshot(page, 'contact-opted-out')
      soft.rethrow()
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'notifications: a message in another conversation notifies and counts in the tab title until opened',
    async () => {
      // Everything read so far: the count in the title starts at zero.
      for (const c of await conversations(owner, ws))
        if (c.unreadCount > 0) await owner.post(`/api/v1/workspaces/${ws}/conversations/${c.id}/read`)
      const context = await suite.context({ label: 'owner' })
      await context.grantPermissions(['notifications'], { origin: wabox.url })
      // A stand-in for the browser's Notification that records what the page shows.
      await context.addInitScript(() => {
        const shown: { title: string; body?: string; tag?: string }[] = []
        class RecordedNotification {
          static permission = 'granted'
          static requestPermission = async () => 'granted'
          onclick: (() => void) | null = null
          constructor(title: string, options: { body?: string; tag?: string } = {}) {
            shown.push({ title, body: options.body, tag: options.tag })
          }
          close() {}
        }
        Object.defineProperty(window, 'Notification', {
          value: RecordedNotification,
          configurable: true,
          writable: true,
        })
        Object.defineProperty(window, '__notifications', { value: shown })
      })
      await owner.into(context)
      const page = await context.newPage()
      const shown = () =>
        page.evaluate(
          () =>
            (window as unknown as { __notifications: { title: string; body?: string; tag?: string }[] })
              .__notifications,
        )
      await openThread(page, 'open')
      await waitUntil('the title without a count', async () => (await page.title()) === 'wabox')

      await page.getByRole('button', { name: 'Account menu' }).click()
      const toggle = page.getByRole('button', { name: 'Notify me of new messages' })
      expect(await toggle.getAttribute('aria-pressed')).toBe('false')
      await toggle.click()
      await waitForAttribute(toggle, 'aria-pressed', 'true')
      const soft = softChecks()
      await soft.check(expectAccessible(page, 'account menu with notifications on'))
      await screenshot(page, 'account-menu-notifications')
      await page.keyboard.press('Escape')
      await toggle.waitFor({ state: 'hidden' })

      // A message in the open conversation: shown, read at once, no notification.
      const seen = 'Noch eine Frage zur Lieferung.'
      await customerWrites(number, seen, CUSTOMERS.open)
      await messagesLog(page).getByRole('article').filter({ hasText: seen }).waitFor()
      await apiPoll(
        'the open conversation read',
        async () =>
          (await owner.get<{ unreadCount: number }>(`/api/v1/workspaces/${ws}/conversations/${conv.open}`))
            .unreadCount === 0,
      )
      await waitUntil('the title without a count', async () => (await page.title()) === 'wabox')

      // A message in another, unassigned conversation: one notification with the contact's name, "(1)" in the title.
      const text = 'Ist das Paket schon unterwegs?'
      await customerWrites(number, text, CUSTOMERS.other)
      await waitUntil('the count in the title', async () => (await page.title()) === '(1) wabox', 5000).catch(
        async (err: Error) => {
          throw new Error(`${err.message} (title: ${JSON.stringify(await page.title())})`)
        },
      )
      const notes = await waitUntil('a notification', async () => {
        const n = await shown()
        return n.length > 0 && n
      })
      // The message in the open conversation came first: had it notified, it would be recorded before this one.
      expect(notes).toEqual([{ title: `New message from ${CUSTOMERS.other.name}`, body: text, tag: conv.other }])
      await screenshot(page, 'inbox-unread-title')

      // Opening it reads it: the title has no count any more.
      await page
        .getByRole('list', { name: 'Conversations' })
        .getByRole('link', { name: new RegExp(`^${CUSTOMERS.other.name}`) })
        .click()
      await waitForPath(page, `/w/${ws}/inbox/${conv.other}`)
      await messagesLog(page).getByRole('article').filter({ hasText: text }).waitFor()
      await waitUntil('the title back to "wabox"', async () => (await page.title()) === 'wabox')
      expect((await shown()).length).toBe(1)
      soft.rethrow()
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'older messages: the newest 50 first, older pages as the thread scrolls up, to the beginning, none twice',
    async () => {
      const customer = { from: '4917100000099', name: 'Olga Verlauf' }
      const TOTAL = 120
      const start = Math.floor(Date.now() / 1000) - TOTAL - 60
      const label = (i: number) => `Verlauf ${String(i).padStart(3, '0')} von ${TOTAL}`
      // Meta batches messages in one webhook when they come quickly; 40 a delivery seeds fast.
      for (let i = 1; i <= TOTAL; i += 40) {
        const batch = Array.from({ length: Math.min(40, TOTAL - i + 1) }, (_, k) =>
          textMessage(label(i + k), { from: customer.from, timestamp: start + i + k }),
        )
        await postWebhook(
          number,
          envelope([
            messagesChange(number.phoneNumberId, {
              contacts: [contact(customer.from, customer.name)],
              messages: batch,
            }),
          ]),
        )
      }
      const id = await apiPoll(
        `${TOTAL} messages stored`,
        async () => {
          const c = (await conversations(owner, ws)).find((x) => x.contact.waId === customer.from)
          if (!c) return null
          const page = await owner.get<{ items: unknown[] }>(
            `/api/v1/workspaces/${ws}/conversations/${c.id}/messages?limit=200`,
          )
          return page.items.length === TOTAL && c.id
        },
        10_000,
      )

      const page = await ownerPage()
      await page.goto(`${wabox.url}/w/${ws}/inbox/${id}`)
      const log = messagesLog(page)
      const articles = log.getByRole('article')
      await log
        .getByRole('article')
        .filter({ hasText: label(TOTAL) })
        .waitFor()
      await waitForCount(articles, 50)
      expect(await articles.first().textContent()).toContain(label(TOTAL - 49))
      const beginning = page.getByText('This is the beginning of the conversation.')
      expect(await beginning.count()).toBe(0)

      // Scroll to the top, again and again, until the beginning shows.
      const counts: number[] = [await articles.count()]
      for (let round = 0; round < 5 && (await beginning.count()) === 0; round++) {
        const before = counts.at(-1)!
        await log.evaluate((el) => el.scrollTo({ top: 0 }))
        await waitUntil(
          `older messages after scrolling up (round ${round + 1})`,
          async () => (await articles.count()) > before || (await beginning.count()) > 0,
        )
        counts.push(await articles.count())
      }
      await beginning.waitFor()
      expect(counts).toEqual([50, 100, 120])
      const ids = await articles.evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))
      expect(ids.length).toBe(TOTAL)
      expect(new Set(ids).size).toBe(TOTAL)
      const texts = await articles.evaluateAll((els) =>
        els.map((e) => e.querySelector('.bubble__text')?.textContent ?? ''),
      )
      expect(texts).toEqual(Array.from({ length: TOTAL }, (_, k) => label(k + 1)))
      const soft = softChecks()
      await soft.check(expectAccessible(page, 'thread scrolled to its beginning'))
      await screenshot(page, 'thread-beginning')
      soft.rethrow()
    },
    BROWSER_TEST_TIMEOUT,
  )

  test(
    'the conversation list loads more as it is scrolled to the end, none twice',
    async () => {
      // A workspace of its own, so the other tests' list stays short.
      const created = await owner.post<{ workspace: { id: string } }>('/api/v1/admin/workspaces', {
        name: 'Großhandel',
      })
      const busy = created.workspace.id
      const line = await connectCloudByApi(owner, busy, graph, 'Bestellungen')
      const TOTAL = 120
      const start = Math.floor(Date.now() / 1000) - TOTAL - 60
      const who = (i: number) => ({
        from: `4916200${String(i).padStart(5, '0')}`,
        name: `Kunde ${String(i).padStart(3, '0')}`,
      })
      for (let i = 1; i <= TOTAL; i += 30) {
        const n = Math.min(30, TOTAL - i + 1)
        const people = Array.from({ length: n }, (_, k) => who(i + k))
        await postWebhook(
          line,
          envelope([
            messagesChange(line.phoneNumberId, {
              contacts: people.map((p) => contact(p.from, p.name)),
              messages: people.map((p, k) =>
                textMessage(`Bestellung von ${p.name}`, { from: p.from, timestamp: start + i + k }),
              ),
            }),
          ]),
        )
      }
      await apiPoll(`${TOTAL} conversations`, async () => (await conversations(owner, busy)).length === TOTAL, 10_000)

      const page = await ownerPage()
      await page.goto(`${wabox.url}/w/${busy}/inbox`)
      await page.getByRole('tab', { name: 'All' }).click()
      const list = page.getByRole('list', { name: 'Conversations' })
      const links = list.getByRole('link')
      await links.first().waitFor()
      await waitForCount(links, 50)
      // Newest first.
      expect(await links.first().textContent()).toContain(who(TOTAL).name)

      const counts: number[] = [50]
      const more = list.getByRole('button', { name: 'Load more' })
      for (let round = 0; round < 5 && counts.at(-1)! < TOTAL; round++) {
        const before = counts.at(-1)!
        // Scrolled by the wheel, as a person does: nothing is clicked. A person whose scroll landed while the list
        // was busy (a page or a live refresh loading: the end was already in view, so it does not come into view
        // again) scrolls back a little and down again; so does this, each second that nothing came.
        await page.locator('.list__body').hover()
        await page.mouse.wheel(0, 20_000)
        let scrolledAt = Date.now()
        await waitUntil(
          `more conversations after scrolling down (round ${round + 1})`,
          async () => {
            if ((await links.count()) > before) return true
            if (Date.now() - scrolledAt >= 1_000) {
              await page.mouse.wheel(0, -400)
              await page.mouse.wheel(0, 20_000)
              scrolledAt = Date.now()
            }
            return false
          },
          10_000,
        )
        counts.push(await links.count())
      }
      expect(counts).toEqual([50, 100, 120])
      // The end: nothing more to load.
      await more.waitFor({ state: 'detached' })
      const hrefs = await links.evaluateAll((els) => els.map((e) => e.getAttribute('href')))
      expect(new Set(hrefs).size).toBe(TOTAL)
      const names = await links.evaluateAll((els) => els.map((e) => e.querySelector('.conv__name')?.textContent ?? ''))
      expect(names).toEqual(Array.from({ length: TOTAL }, (_, k) => who(TOTAL - k).name))
      const soft = softChecks()
      await soft.check(expectAccessible(page, 'conversation list scrolled to its end'))
      await screenshot(page, 'inbox-list-end')
      soft.rethrow()
    },
    // 120 conversations stored, listed and checked for accessibility: on a loaded machine more than most tests need.
    2 * BROWSER_TEST_TIMEOUT,
  )
})
