import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { openDatabase, syncTransactions, type SyncTransaction } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { WriteHealth } from '../db/write-health.ts'
import { AppError } from '../lib/errors.ts'
import { createLogger } from '../log.ts'
import { Metrics } from '../metrics/metrics.ts'
import { tempDir } from '../testing/temp.ts'
import type { NewIntakeEvent } from './intake.repo.ts'
import { INTAKE_RETRY_AFTER, INTAKE_SOURCE, IntakeWriter } from './writer.ts'

async function fresh() {
  const handle = openDatabase(join(tempDir('wabox-intake-writer'), 'wabox.db'))
  await migrateToLatest(handle.db)
  const lines: string[] = []
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk))
        done()
      },
    }),
  )
  return { handle, health: new WriteHealth(), metrics: new Metrics(), logger, lines }
}

const event = (key: string): NewIntakeEvent => ({
  workspace_id: 'ws_1',
  channel_id: 'ch_1',
  idempotency_key: key,
  kind: 'message',
  payload: JSON.stringify({ key }),
  received_at: '2026-12-04T00:00:00.000Z',
  next_attempt_at: '2026-12-04T00:00:00.000Z',
})

const metricValues = async (metrics: Metrics, name: string) =>
  Object.fromEntries(
    (await metrics.registry.getSingleMetric(name)!.get()).values.map((v) => [
      Object.values(v.labels).join(','),
      v.value,
    ]),
  )

describe('IntakeWriter', () => {
  test('requests that arrive together share one commit; each learns how many of its rows were new; duplicates are ignored', async () => {
    const { handle, health, metrics } = await fresh()
    const transactions: number[] = []
    const counting: SyncTransaction = (fn) => {
      transactions.push(transactions.length)
      return syncTransactions(handle)(fn)
    }
    let woken = 0
    const writer = new IntakeWriter(counting, () => woken++, { health, metrics })
    const stored = await Promise.all([
      writer.write([event('a'), event('b')]),
      writer.write([event('b'), event('c')]),
      writer.write([event('a')]),
    ])
    expect(stored).toEqual([2, 1, 0])
    expect(transactions).toHaveLength(1)
    expect(woken).toBe(1)
    expect(
      (await handle.db.selectFrom('intake_events').select('idempotency_key').orderBy('id').execute()).map(
        (r) => r.idempotency_key,
      ),
    ).toEqual(['a', 'b', 'c'])
    expect(await metricValues(metrics, 'wabox_intake_commits_total')).toEqual({ ok: 1 })
    expect(await metricValues(metrics, 'wabox_intake_events_total')).toEqual({ stored: 3, duplicate: 2 })
    expect(writer.lastCommitAt).toBeGreaterThan(0)
    await handle.close()
  })

  test('a failed commit refuses every request of the batch with 503 intake_unavailable and Retry-After; readiness names the intake', async () => {
    const { handle, health, metrics, logger, lines } = await fresh()
    let full = true
    const real = syncTransactions(handle)
    const diskFullOnce: SyncTransaction = (fn) =>
      full ? Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })) : real(fn)
    let woken = 0
    const writer = new IntakeWriter(diskFullOnce, () => woken++, { health, metrics, logger })
    const refused = await Promise.all(
      [writer.write([event('a')]), writer.write([event('b')])].map((p) => p.catch((e) => e)),
    )
    for (const err of refused) {
      expect(err).toBeInstanceOf(AppError)
      expect(err).toMatchObject({
        status: 503,
        code: 'intake_unavailable',
        headers: { 'retry-after': String(INTAKE_RETRY_AFTER) },
      })
      expect(err.detail).toContain('(disk full)')
    }
    // One refusal, one log line for the batch; nothing stored, nobody woken to process it.
    expect(refused[0]).toBe(refused[1])
    expect(woken).toBe(0)
    expect(await handle.db.selectFrom('intake_events').selectAll().execute()).toEqual([])
    expect(health.recent().map((f) => [f.source, f.detail])).toEqual([[INTAKE_SOURCE, 'disk full']])
    expect(await metricValues(metrics, 'wabox_intake_commits_total')).toEqual({ failed: 1 })
    expect(lines.filter((l) => l.includes('intake commit failed')).map((l) => JSON.parse(l).requests)).toEqual([2])
    expect(writer.lastCommitAt).toBe(0)

    // Space is back: the next commit stores, and readiness recovers.
    full = false
    expect(await writer.write([event('a')])).toBe(1)
    expect(health.recent()).toEqual([])
    await handle.close()
  })

  test('busy while a commit is pending, not once it is past; flush waits for the commit', async () => {
    const { handle } = await fresh()
    const writer = new IntakeWriter(syncTransactions(handle))
    expect(writer.busy).toBe(false)
    const written = writer.write([event('a')])
    expect(writer.busy).toBe(true)
    await writer.flush()
    expect(await written).toBe(1)
    // The few milliseconds after a commit still count as busy (more requests are likely right behind it).
    await Bun.sleep(10)
    expect(writer.busy).toBe(false)
    await handle.close()
  })
})
