/**
 * The dead-letter routes answer under `…/intake/dead` and, as a deprecated alias, under their first path
 * `…/inbox/dead`: the same listing, the same replay, the same permission.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { addMember, auditRows, call, makeUser, makeWorkspace } from '../testing/fixtures.ts'
import { createTestApp, type TestApp } from '../testing/test-app.ts'

const apps: TestApp[] = []
afterAll(async () => {
  for (const t of apps) await t.close()
})

async function setup() {
  const t = await createTestApp()
  apps.push(t)
  const owner = await makeUser(t, 'owner@example.com')
  const agent = await makeUser(t, 'agent@example.com')
  const ws = await makeWorkspace(t, 'Acme', owner)
  await addMember(t, ws, agent, 'agent')
  const park = async (key: string, state: 'dead' | 'pending' = 'dead') =>
    (
      await t.db.db
        .insertInto('intake_events')
        .values({
          workspace_id: ws,
          channel_id: 'ch_1',
          idempotency_key: key,
          kind: 'message',
          payload: JSON.stringify({ kind: 'message', wamid: key }),
          received_at: '2026-12-04T00:00:00.000Z',
          state,
          attempts: state === 'dead' ? 8 : 0,
          next_attempt_at: '2026-12-04T00:00:00.000Z',
          last_error: 'simulated failure',
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id
  return { t, owner, agent, ws, park }
}

const PATHS = ['intake', 'inbox'] as const

describe('dead letters', () => {
  for (const path of PATHS) {
    test(`…/${path}/dead lists the workspace's dead events, newest first, in pages`, async () => {
      const { t, owner, ws, park } = await setup()
      const first = await park('wamid.1')
      const second = await park('wamid.2')
      await park('wamid.waiting', 'pending')
      const page = await t.request(`/api/v1/workspaces/${ws}/${path}/dead?limit=1`, call(owner.who, 'GET'))
      expect(page.status).toBe(200)
      const body = await page.json()
      expect(body.items).toEqual([
        {
          id: second,
          channelId: 'ch_1',
          kind: 'message',
          attempts: 8,
          lastError: 'simulated failure',
          receivedAt: '2026-12-04T00:00:00.000Z',
          event: { kind: 'message', wamid: 'wamid.2' },
        },
      ])
      const next = await (
        await t.request(
          `/api/v1/workspaces/${ws}/${path}/dead?limit=1&cursor=${body.nextCursor}`,
          call(owner.who, 'GET'),
        )
      ).json()
      expect(next.items.map((i: { id: number }) => i.id)).toEqual([first])
    })

    test(`…/${path}/dead/replay re-queues the given dead events, audited as inbox.replayed`, async () => {
      const { t, owner, ws, park } = await setup()
      const replayed = await park('wamid.replayed')
      const left = await park('wamid.left')
      const res = await t.request(
        `/api/v1/workspaces/${ws}/${path}/dead/replay`,
        call(owner.who, 'POST', { ids: [replayed] }),
      )
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ requeued: 1 })
      const states = await t.db.db
        .selectFrom('intake_events')
        .select(['id', 'state', 'attempts'])
        .orderBy('id')
        .execute()
      expect(states.find((r) => r.id === left)).toMatchObject({ state: 'dead', attempts: 8 })
      // Re-queued: pending again with fresh attempts (the processor may already have taken it).
      expect(states.find((r) => r.id === replayed)?.attempts).toBe(0)
      const audit = (await auditRows(t)).filter((r) => r.action === 'inbox.replayed')
      expect(audit.map((r) => JSON.parse(r.metadata ?? '{}'))).toEqual([{ requeued: 1, ids: [replayed] }])
    })

    test(`…/${path}/dead needs channels.manage: an agent is refused, a stranger is not told the workspace exists`, async () => {
      const { t, agent, ws } = await setup()
      const stranger = await makeUser(t, 'stranger@example.com')
      expect((await t.request(`/api/v1/workspaces/${ws}/${path}/dead`, call(agent.who, 'GET'))).status).toBe(403)
      expect(
        (await t.request(`/api/v1/workspaces/${ws}/${path}/dead/replay`, call(agent.who, 'POST', {}))).status,
      ).toBe(403)
      expect((await t.request(`/api/v1/workspaces/${ws}/${path}/dead`, call(stranger.who, 'GET'))).status).toBe(404)
    })
  }

  test('the OpenAPI document lists both paths and marks the inbox ones deprecated', async () => {
    const { t } = await setup()
    const spec = await (await t.request('/docs/json')).json()
    const op = (path: string, method: string) => spec.paths[`/api/v1/workspaces/{workspaceId}/${path}`]?.[method]
    for (const [path, method] of [
      ['intake/dead', 'get'],
      ['intake/dead/replay', 'post'],
    ] as const) {
      expect(op(path, method)).toBeDefined()
      expect(op(path, method).deprecated).toBeUndefined()
      const old = op(path.replace('intake', 'inbox'), method)
      expect(old.deprecated).toBe(true)
      expect(old['x-permission']).toBe(op(path, method)['x-permission'])
      expect(old.summary).toContain(`/api/v1/workspaces/{workspaceId}/intake/`)
    }
  })
})
