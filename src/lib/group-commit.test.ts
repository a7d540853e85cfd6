import { describe, expect, test } from 'bun:test'
import { WriteHealth } from '../db/write-health.ts'
import { GroupCommit, type ItemOutcome } from './group-commit.ts'

/** A commit strategy that records its batches and commits when the test says so. */
function recordingCommit() {
  const batches: string[][] = []
  let release: (() => void) | null = null
  let gate: Promise<void> | null = null
  return {
    batches,
    /** The next commits wait until `open()`. */
    hold() {
      gate = new Promise((resolve) => (release = resolve))
    },
    open() {
      release?.()
      gate = null
    },
    commit: async (items: readonly string[]): Promise<ItemOutcome<string>[]> => {
      batches.push([...items])
      if (gate) await gate
      return items.map((item) =>
        item.startsWith('bad')
          ? { ok: false, error: new Error(`refused ${item}`) }
          : { ok: true, value: item.toUpperCase() },
      )
    },
  }
}

const diskFull = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })

describe('GroupCommit', () => {
  test('items handed over together share one commit; each caller gets its own result, in order', async () => {
    const strategy = recordingCommit()
    const group = new GroupCommit(strategy.commit, { source: 'test' })
    const results = await Promise.all(['a', 'b', 'c'].map((item) => group.submit(item)))
    expect(results).toEqual(['A', 'B', 'C'])
    expect(strategy.batches).toEqual([['a', 'b', 'c']])
  })

  test('a caller settles only after the shared commit; items arriving meanwhile join the next batch', async () => {
    const strategy = recordingCommit()
    const group = new GroupCommit(strategy.commit, { source: 'test' })
    strategy.hold()
    const settled: string[] = []
    const first = group.submit('a').then((r) => settled.push(r))
    while (strategy.batches.length === 0) await Bun.sleep(1)
    const second = group.submit('b').then((r) => settled.push(r))
    await Bun.sleep(5)
    // The first batch is written but not committed: nobody has an answer yet, and b waits for the next batch.
    expect(settled).toEqual([])
    expect(group.writing).toBe(true)
    strategy.open()
    await Promise.all([first, second])
    expect(settled).toEqual(['A', 'B'])
    expect(strategy.batches).toEqual([['a'], ['b']])
    expect(group.writing).toBe(false)
    expect(group.lastCommitAt).toBeGreaterThan(0)
  })

  test('maxBatch bounds a batch; the rest follow in further batches', async () => {
    const strategy = recordingCommit()
    const group = new GroupCommit(strategy.commit, { source: 'test', maxBatch: 2 })
    expect(await Promise.all(['a', 'b', 'c', 'd', 'e'].map((item) => group.submit(item)))).toEqual([
      'A',
      'B',
      'C',
      'D',
      'E',
    ])
    expect(strategy.batches).toEqual([['a', 'b'], ['c', 'd'], ['e']])
  })

  test('an item that fails alone rejects only its caller; the commit still counts as a success', async () => {
    const strategy = recordingCommit()
    const health = new WriteHealth()
    const committed: string[][] = []
    const group = new GroupCommit(strategy.commit, {
      source: 'test',
      health,
      committed: (items) => committed.push([...items]),
    })
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((item) => group.submit(item)))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('refused bad')
    expect(committed).toEqual([['a', 'bad', 'c']])
    expect(health.recent()).toEqual([])
  })

  test('a failed commit rejects every caller of the batch with what `failed` returns, and is reported to health', async () => {
    const health = new WriteHealth()
    const seen: { items: readonly string[]; code: string | undefined }[] = []
    let fail = true
    const group = new GroupCommit(
      async (items: readonly string[]) => {
        if (fail) throw diskFull()
        return items.map((item) => ({ ok: true as const, value: item }))
      },
      {
        source: 'test path',
        health,
        committed: () => seen.push({ items: ['committed'], code: undefined }),
        failed: (_error, items, storage) => {
          seen.push({ items, code: storage?.code })
          return new Error(`refused: ${storage?.detail}`)
        },
      },
    )
    const results = await Promise.allSettled([group.submit('a'), group.submit('b')])
    expect(results.map((r) => (r.status === 'rejected' ? r.reason.message : r.value))).toEqual([
      'refused: disk full',
      'refused: disk full',
    ])
    expect(seen).toEqual([{ items: ['a', 'b'], code: 'SQLITE_FULL' }])
    expect(health.recent().map((f) => [f.source, f.code])).toEqual([['test path', 'SQLITE_FULL']])
    expect(group.lastCommitAt).toBe(0)

    // The next commit that succeeds ends the failure for this path.
    fail = false
    expect(await group.submit('c')).toBe('c')
    expect(health.recent()).toEqual([])
  })

  test('without `failed`, callers are rejected with the error itself', async () => {
    const error = diskFull()
    const group = new GroupCommit<string, string>(
      async () => {
        throw error
      },
      { source: 'test' },
    )
    expect(await group.submit('a').catch((e) => e)).toBe(error)
  })

  test('flush waits for everything handed over so far', async () => {
    const strategy = recordingCommit()
    const group = new GroupCommit(strategy.commit, { source: 'test' })
    strategy.hold()
    let done = false
    void group.submit('a').then(() => (done = true))
    const flushed = group.flush().then(() => done)
    await Bun.sleep(5)
    strategy.open()
    expect(await flushed).toBe(true)
  })
})
