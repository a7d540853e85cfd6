/**
 * Reads a response body as it streams in, giving up as soon as it passes `maxBytes`: a download from somewhere else
 * (Meta's media, a customer's link, WhatsApp's CDN) must never fill memory first and be measured after.
 * Resolves with the bytes, or null when the body is larger than allowed.
 */
export async function readAtMost(res: Response, maxBytes: number): Promise<Buffer | null> {
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {})
    return null
  }
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of (res.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > maxBytes) {
      await res.body?.cancel().catch(() => {})
      return null
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}
