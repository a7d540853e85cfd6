/**
 * The tar format of backup archives, streamed both ways: a writer that turns files into ustar blocks as they
 * are read (nothing is held in memory but one chunk), and a reader that hands out one entry at a time.
 *
 * Only what backups need: regular files (mode 0600), names of at most 100 bytes (the writer refuses longer
 * ones), sizes in octal or, from 8 GiB, GNU base-256. The reader refuses every other entry type (links,
 * devices, directories, pax/GNU extension headers): a restore never creates anything but plain files.
 */
import { createHash } from 'node:crypto'

const BLOCK = 512

export class TarError extends Error {
  override name = 'TarError'
}

export type TarSource = {
  name: string
  size: number
  /** The file's bytes; must yield exactly `size` bytes. */
  data: () => AsyncIterable<Uint8Array>
}

function writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  const text = value.toString(8).padStart(length - 1, '0')
  if (text.length > length - 1) throw new TarError(`value ${value} does not fit a ${length}-byte tar field`)
  header.set(new TextEncoder().encode(text), offset)
  header[offset + length - 1] = 0
}

function writeSize(header: Uint8Array, size: number): void {
  if (size < 8 ** 11) {
    writeOctal(header, 124, 12, size)
    return
  }
  // GNU base-256: high bit set, big-endian in the remaining bytes.
  let v = BigInt(size)
  for (let i = 11; i >= 1; i--) {
    header[124 + i] = Number(v & 0xffn)
    v >>= 8n
  }
  header[124] = 0x80
}

function checksumOf(header: Uint8Array): number {
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!
  return sum
}

function headerFor(name: string, size: number, mtime: number): Uint8Array {
  const nameBytes = new TextEncoder().encode(name)
  if (nameBytes.length === 0 || nameBytes.length > 100)
    throw new TarError(`tar entry name "${name}" must be 1 to 100 bytes`)
  const h = new Uint8Array(BLOCK)
  h.set(nameBytes, 0)
  writeOctal(h, 100, 8, 0o600)
  writeOctal(h, 108, 8, 0)
  writeOctal(h, 116, 8, 0)
  writeSize(h, size)
  writeOctal(h, 136, 12, Math.floor(mtime / 1000))
  h[156] = 0x30 // '0': regular file
  h.set(new TextEncoder().encode('ustar\u000000'), 257)
  const sum = checksumOf(h).toString(8).padStart(6, '0')
  h.set(new TextEncoder().encode(sum), 148)
  h[154] = 0
  h[155] = 0x20
  return h
}

/**
 * The tar stream of `sources`, read lazily (a source may be produced after the ones before it were written,
 * e.g. a manifest of their checksums). `onEntry` learns each entry's SHA-256 as soon as its bytes are written.
 */
export async function* tarStream(
  sources: Iterable<TarSource> | AsyncIterable<TarSource>,
  onEntry: (entry: { name: string; sha256: string; bytes: number }) => void = () => {},
  mtime = Date.now(),
): AsyncGenerator<Uint8Array> {
  for await (const source of sources) {
    yield headerFor(source.name, source.size, mtime)
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of source.data()) {
      bytes += chunk.byteLength
      if (bytes > source.size) throw new TarError(`${source.name} grew while it was being archived`)
      hash.update(chunk)
      yield chunk
    }
    if (bytes !== source.size)
      throw new TarError(`${source.name} shrank while it was being archived (${bytes} of ${source.size} bytes)`)
    const pad = (BLOCK - (bytes % BLOCK)) % BLOCK
    if (pad) yield new Uint8Array(pad)
    onEntry({ name: source.name, sha256: hash.digest('hex'), bytes })
  }
  // End of archive: two zero blocks.
  yield new Uint8Array(BLOCK * 2)
}

/** Pulls exact byte counts out of a chunked stream. */
class ByteReader {
  private buffered: Uint8Array[] = []
  private size = 0
  private readonly iterator: AsyncIterator<Uint8Array>

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]()
  }

  /** Ensures `n` bytes are buffered; false at the end of the stream before that. */
  private async fill(n: number): Promise<boolean> {
    while (this.size < n) {
      const { done, value } = await this.iterator.next()
      if (done) return false
      if (value.byteLength === 0) continue
      this.buffered.push(value)
      this.size += value.byteLength
    }
    return true
  }

  /** Takes up to `max` bytes (at least one), or null at the end of the stream. */
  async some(max: number): Promise<Uint8Array | null> {
    if (!(await this.fill(1))) return null
    const first = this.buffered[0]!
    if (first.byteLength <= max) {
      this.buffered.shift()
      this.size -= first.byteLength
      return first
    }
    this.buffered[0] = first.subarray(max)
    this.size -= max
    return first.subarray(0, max)
  }

  /** Exactly `n` bytes, or null at the end of the stream; a stream ending inside them is an error. */
  async exactly(n: number): Promise<Uint8Array | null> {
    if (!(await this.fill(n))) {
      if (this.size === 0) return null
      throw new TarError('the archive ends in the middle of an entry')
    }
    const out = new Uint8Array(n)
    let at = 0
    while (at < n) {
      const chunk = (await this.some(n - at))!
      out.set(chunk, at)
      at += chunk.byteLength
    }
    return out
  }
}

const decodeText = (bytes: Uint8Array) => {
  const end = bytes.indexOf(0)
  return new TextDecoder('utf-8', { fatal: true }).decode(end < 0 ? bytes : bytes.subarray(0, end))
}

function parseNumber(field: Uint8Array): number {
  if (field[0]! & 0x80) {
    let v = 0n
    for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]!)
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarError('a tar size is too large')
    return Number(v)
  }
  const text = decodeText(field).trim()
  if (!/^[0-7]*$/.test(text)) throw new TarError('a tar header has a malformed number')
  return text === '' ? 0 : parseInt(text, 8)
}

export type TarEntry = {
  name: string
  size: number
  /** The entry's bytes; read them all (or not at all) before asking for the next entry. */
  body: AsyncIterable<Uint8Array>
}

/** The entries of a tar stream, one at a time. Throws TarError on anything but plain files in a sound archive. */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source)
  for (;;) {
    const header = await reader.exactly(BLOCK)
    if (!header) throw new TarError('the archive ends without its end-of-archive marker')
    if (header.every((b) => b === 0)) return
    const stored = parseNumber(header.subarray(148, 156))
    if (stored !== checksumOf(header)) throw new TarError('a tar header is damaged (checksum mismatch)')
    if (decodeText(header.subarray(257, 263)).trimEnd() !== 'ustar') throw new TarError('not a ustar archive')
    const type = String.fromCharCode(header[156]!)
    const prefix = decodeText(header.subarray(345, 500))
    const name = (prefix ? `${prefix}/` : '') + decodeText(header.subarray(0, 100))
    if (type !== '0' && type !== '\0')
      throw new TarError(`the archive holds "${name}", which is not a plain file (type ${JSON.stringify(type)})`)
    const size = parseNumber(header.subarray(124, 136))
    let remaining = size
    let consumed = false
    const body = (async function* () {
      consumed = true
      while (remaining > 0) {
        const chunk = await reader.some(Math.min(remaining, 1 << 20))
        if (!chunk) throw new TarError(`the archive ends in the middle of ${name}`)
        remaining -= chunk.byteLength
        yield chunk
      }
    })()
    yield { name, size, body }
    if (!consumed) for await (const _ of body) void _
    if (remaining > 0) throw new TarError(`${name} was not read to its end`)
    const pad = (BLOCK - (size % BLOCK)) % BLOCK
    if (pad && !(await reader.exactly(pad))) throw new TarError(`the archive ends in the middle of ${name}`)
  }
}
