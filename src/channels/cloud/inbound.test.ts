import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { splitWebhook, webhookEnvelope } from './inbound.ts'
import { idempotencyKey } from '../inbound-events.ts'

const PHONE = '106540352242922'
const WABA = '102290129340398'

const messageArb = fc.record({
  from: fc.stringMatching(/^[1-9][0-9]{7,13}$/),
  id: fc.stringMatching(/^wamid\.[A-Za-z0-9]{4,20}=?$/),
  timestamp: fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }).map(String),
  type: fc.constant('text'),
  text: fc.record({ body: fc.string({ maxLength: 50 }) }),
})
const statusArb = fc.record({
  id: fc.stringMatching(/^wamid\.[A-Za-z0-9]{4,20}$/),
  status: fc.constantFrom('sent', 'delivered', 'read', 'failed'),
  timestamp: fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }).map(String),
  recipient_id: fc.constant('16505551234'),
})
const changeArb = fc.record({
  phone: fc.constantFrom(PHONE, PHONE, PHONE, '999'),
  messages: fc.array(messageArb, { maxLength: 5 }),
  statuses: fc.array(statusArb, { maxLength: 5 }),
})
const bodyArb = fc
  .array(fc.record({ changes: fc.array(changeArb, { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 3 })
  .map((entries) => ({
    object: 'whatsapp_business_account' as const,
    entry: entries.map((e) => ({
      id: WABA,
      changes: e.changes.map((c) => ({
        field: 'messages',
        value: {
          messaging_product: 'whatsapp',
          metadata: { phone_number_id: c.phone },
          messages: c.messages,
          statuses: c.statuses,
        },
      })),
    })),
  }))

describe('webhook splitter (property)', () => {
  test('every item of every entry and change becomes one event; keys follow wamid and (wamid, status)', () => {
    fc.assert(
      fc.property(bodyArb, (body) => {
        const parsed = webhookEnvelope.parse(body)
        const { events, skipped } = splitWebhook(parsed, { phoneNumberId: PHONE, wabaId: WABA })
        const changes = body.entry.flatMap((e) => e.changes)
        const mine = changes.filter((c) => c.value.metadata.phone_number_id === PHONE)
        const expectedKeys = mine.flatMap((c) => [
          ...c.value.messages.map((m) => `message:${m.id}`),
          ...c.value.statuses.map((s) => `status:${s.id}:${s.status}`),
        ])
        expect(events.map((e) => e.key)).toEqual(expectedKeys)
        expect(skipped.length).toBe(changes.length - mine.length)
        // Same event → same idempotency key; different events → different keys.
        const keys = new Set(events.map((e) => idempotencyKey('ch_1', e.key)))
        expect(keys.size).toBe(new Set(expectedKeys).size)
      }),
    )
  })

  test('splitting is deterministic: the same body (a Meta retry) yields the same keys', () => {
    fc.assert(
      fc.property(bodyArb, (body) => {
        const a = splitWebhook(webhookEnvelope.parse(body), { phoneNumberId: PHONE, wabaId: WABA }, 1)
        const b = splitWebhook(webhookEnvelope.parse(structuredClone(body)), { phoneNumberId: PHONE, wabaId: WABA }, 2)
        expect(a.events.map((e) => e.key)).toEqual(b.events.map((e) => e.key))
      }),
    )
  })
})
