import { describe, expect, test } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { readTar, tarStream, TarError, type TarSource } from './tar.ts'

const source = (name: string, bytes: Uint8Array, chunk = 4096): TarSource => ({
  name,
  size: bytes.length,
  data: async function* () {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk)
  },
})

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of stream) parts.push(c)
  return new Uint8Array(Buffer.concat(parts))
}

/** Re-chunks bytes at random boundaries, as a gunzip stream would. */
async function* rechunked(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(Math.random() * 3000)
    yield bytes.subarray(i, i + n)
    i += n
  }
}

describe('streamed tar', () => {
  test('what tarStream writes, readTar reads back entry by entry (any chunking), with each entry’s SHA-256', async () => {
    const files = [0, 1, 511, 512, 513, 70_000].map((n, i) => ({
      name: `media/0${i}/${'a'.repeat(64)}`,
      bytes: new Uint8Array(randomBytes(n)),
    }))
    const seen: { name: string; sha256: string; bytes: number }[] = []
    const tar = await collect(
      tarStream(
        files.map((f) => source(f.name, f.bytes)),
        (e) => seen.push(e),
      ),
    )
    expect(tar.length % 512).toBe(0)
    expect(seen).toEqual(
      files.map((f) => ({
        name: f.name,
        sha256: createHash('sha256').update(f.bytes).digest('hex'),
        bytes: f.bytes.length,
      })),
    )
    // The system's tar agrees with the format.
    const listed = Bun.spawnSync(['tar', 'tf', '-'], { stdin: tar }).stdout.toString().trim().split('\n')
    expect(listed).toEqual(files.map((f) => f.name))
    const back: { name: string; bytes: Uint8Array }[] = []
    for await (const entry of readTar(rechunked(tar))) back.push({ name: entry.name, bytes: await collect(entry.body) })
    expect(back.map((b) => b.name)).toEqual(files.map((f) => f.name))
    for (let i = 0; i < files.length; i++)
      expect(Buffer.from(back[i]!.bytes).equals(Buffer.from(files[i]!.bytes))).toBe(true)
  })

  test('a source that grows or shrinks while archived is an error, not a silently wrong archive', async () => {
    const lying = (size: number, actual: number): TarSource => ({
      name: 'wabox.db',
      size,
      data: async function* () {
        yield new Uint8Array(actual)
      },
    })
    await expect(collect(tarStream([lying(10, 20)]))).rejects.toThrow(/grew/)
    await expect(collect(tarStream([lying(20, 10)]))).rejects.toThrow(/shrank/)
  })

  test('links and damaged or truncated archives are refused', async () => {
    const read = async (bytes: Uint8Array) => {
      for await (const e of readTar(rechunked(bytes))) await collect(e.body)
    }
    const good = await collect(tarStream([source('wabox.db', new Uint8Array(1000))]))
    const symlink = new Uint8Array(good)
    symlink[156] = 0x32 // '2': symbolic link
    let sum = 0
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : symlink[i]!
    symlink.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148)
    await expect(read(symlink)).rejects.toThrow(/not a plain file/)
    const damaged = new Uint8Array(good)
    damaged[10] = 0x41
    await expect(read(damaged)).rejects.toThrow(/checksum/)
    await expect(read(good.subarray(0, 700))).rejects.toThrow(TarError)
    await expect(read(good.subarray(0, 1536))).rejects.toThrow(/end-of-archive/)
  })
})
