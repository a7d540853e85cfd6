/**
 * libsignal (Baileys' Signal implementation) prints whole sessions to the console in normal operation — when a
 * session is replaced it calls `console.info("Closing session:", session)`, root, chain and ephemeral private keys
 * included. The server's logger (serverLogger, what `wabox serve` logs with) takes the console over: it keeps the
 * text and drops the objects. Each case runs real libsignal in its own process and greps everything it printed.
 */
import { describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { tempDir } from '../../testing/temp.ts'

const LOG_MODULE = resolve(import.meta.dir, '../../log.ts')
const BAILEYS_ENTRY = Bun.resolveSync('baileys', import.meta.dir)

/** A process that closes a Signal session holding `key` everywhere a key goes, as libsignal does on a new prekey. */
function probeScript(routed: boolean): string {
  return `
import { createRequire } from 'node:module'
import { serverLogger } from ${JSON.stringify(LOG_MODULE)}
${routed ? "serverLogger('debug')" : ''}
const { SessionRecord } = createRequire(${JSON.stringify(BAILEYS_ENTRY)})('libsignal')
const key = Buffer.from(process.argv[2], 'hex')
const record = new SessionRecord()
const session = SessionRecord.createEntry()
session.registrationId = 7
session.currentRatchet = { rootKey: key, ephemeralKeyPair: { pubKey: key, privKey: key }, lastRemoteEphemeralKey: key, previousCounter: 0 }
session.indexInfo = { baseKey: key, baseKeyType: 2, closed: -1, used: 1, created: 1, remoteIdentityKey: key }
record.setSession(session)
record.closeSession(session)
`
}

async function run(routed: boolean, key: Buffer): Promise<string> {
  const dir = tempDir('libsignal-console')
  const script = join(dir, 'probe.ts')
  writeFileSync(script, probeScript(routed))
  const child = Bun.spawn(['bun', script, key.toString('hex')], { stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  expect(code).toBe(0)
  return stdout + stderr
}

/** The key as any printer could show it: hex, base64, or the decimal byte list of an inspected Buffer. */
function traces(key: Buffer): string[] {
  const bytes = [...key.subarray(0, 8)]
  return [
    key.toString('hex').slice(0, 16),
    key.toString('base64').slice(0, 12),
    bytes.join(', '),
    bytes.join(','),
    bytes.map((b) => b.toString(16).padStart(2, '0')).join(' '),
  ]
}

describe('dependency console output', () => {
  test('without the routing, libsignal prints the session keys (what the routing exists for)', async () => {
    const key = randomBytes(32)
    const output = await run(false, key)
    expect(output).toContain('Closing session')
    expect(traces(key).some((t) => output.includes(t))).toBe(true)
  })

  test('routed through the logger, the message is a debug line and no key material is printed', async () => {
    const key = randomBytes(32)
    const output = await run(true, key)
    for (const trace of traces(key)) expect(output).not.toContain(trace)
    expect(output).not.toContain('rootKey')
    const lines = output
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
    expect(lines).toEqual([
      expect.objectContaining({
        level: 20,
        component: 'dependency-console',
        method: 'info',
        droppedArguments: 1,
        msg: 'Closing session:',
      }),
    ])
  })
})
