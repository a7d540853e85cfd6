/**
 * SSRF guard for customer-chosen URLs wabox itself connects to: webhook endpoints, and media links sent through a
 * QR-linked number. Without it anyone with that right could make the box talk to its own loopback services, the LAN
 * behind it, or a cloud metadata endpoint handing out credentials. Every resolved address is judged, not just the first, because the HTTP client may
 * pick any of them. Callers should connect to the returned addresses rather than resolving again, or a short-TTL DNS
 * answer can swap a public address for a private one between the check and the request (rebinding).
 */
import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { readAtMost } from './read-body.ts'

export type UrlGuardOptions = {
  /** http:// URLs allowed (otherwise only https). */
  allowHttp: boolean
  /** CIDR blocks the operator explicitly allows even though they are private/loopback/etc, e.g. ['127.0.0.0/8', '::1/128']. */
  allowedNetworks: string[]
  /** DNS resolution, injectable for tests; default uses node:dns/promises lookup(host, { all: true, verbatim: true }). */
  resolve?: (host: string) => Promise<string[]>
}

export class UrlRefused extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
    this.name = 'UrlRefused'
  }
}

const MAX_LENGTH = 2048
const HINT = '(the operator can allow a network)'

/**
 * Kept per family: BlockList matches IPv4 rules against IPv4-mapped IPv6 and IPv6 rules against IPv4, so one mixed
 * list would let an allowed '::/0' quietly allow every IPv4 address. Order matters only for the label in the message.
 */
type Networks = { v4: BlockList; v6: BlockList }

const REFUSED: { label: string; nets: Networks }[] = [
  ['an unspecified address', ['0.0.0.0/8'], ['::/128']],
  ['a loopback address', ['127.0.0.0/8'], ['::1/128']],
  ['a private address', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], ['fc00::/7']],
  ['a shared (carrier-grade NAT) address', ['100.64.0.0/10'], []],
  ['a link-local address', ['169.254.0.0/16'], ['fe80::/10']],
  ['a documentation address', ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'], ['2001:db8::/32']],
  ['a benchmarking address', ['198.18.0.0/15'], []],
  ['a multicast address', ['224.0.0.0/4'], ['ff00::/8']],
  ['a NAT64 address', [], ['64:ff9b::/96', '64:ff9b:1::/48']],
  ['a discard-only address', [], ['100::/64']],
  // ::/96 is the deprecated IPv4-compatible form ([::127.0.0.1] parses to ::7f00:1); nothing legitimate lives there.
  ['a reserved address', ['192.0.0.0/24', '192.88.99.0/24', '240.0.0.0/4'], ['::/96']],
].map(([label, v4, v6]) => ({ label: label as string, nets: networks([...(v4 as string[]), ...(v6 as string[])]) }))

/** Validates a CIDR list (for config parsing); throws Error naming the bad entry. */
export function parseNetworks(list: string[]): void {
  networks(list)
}

function networks(list: string[]): Networks {
  const nets: Networks = { v4: new BlockList(), v6: new BlockList() }
  for (const entry of list) {
    const bad = () =>
      new Error(`allowed network ${JSON.stringify(entry)} is not a CIDR block like 10.0.0.0/8 or fd00::/8`)
    const [ip = '', bits, extra] = entry.trim().split('/')
    const family = isIP(ip)
    if (family === 0 || ip.includes('%') || extra !== undefined) throw bad()
    const max = family === 4 ? 32 : 128
    // A bare address is a single host; Number('') and friends would otherwise slip through as 0, i.e. everything.
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN
    if (!(prefix >= 0 && prefix <= max)) throw bad()
    if (family === 4) nets.v4.addSubnet(ip, prefix, 'ipv4')
    else nets.v6.addSubnet(ip, prefix, 'ipv6')
  }
  return nets
}

/** Exposed for unit tests and reuse: true when an IP literal falls in a refused range and not in an allowed network. */
export function isRefusedAddress(ip: string, allowedNetworks: string[]): boolean {
  return refusal(ip, networks(allowedNetworks)) !== null
}

type Refusal = { label: string; embedded?: string }

/**
 * Anything we cannot read as an address is refused: the caller is about to connect to it, and guessing would be the
 * hole. IPv6 forms that carry an IPv4 address are judged on that address too, since the packet may end up there.
 */
function refusal(raw: string, allowed: Networks): Refusal | null {
  const ip = raw
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/%.*$/, '')
  const family = isIP(ip)
  if (family === 4) return judge4(ip, allowed)
  if (family !== 6) return { label: 'not an IP address' }
  const h = hextets(ip)
  // IPv4-mapped (::ffff:a.b.c.d): the socket talks IPv4 to the embedded address, so that is all there is to judge.
  if (h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff) return judge4(v4(h[6]!, h[7]!), allowed)
  const own = judge6(ip, allowed)
  if (own) return own
  // Even with the NAT64 prefix allowed (IPv6-only hosts behind DNS64 need it), the translator must not reach inside.
  let inner: string | undefined
  if (h[0] === 0x64 && h[1] === 0xff9b && (h[2] === 1 || h.slice(2, 6).every((x) => x === 0))) inner = v4(h[6]!, h[7]!)
  // 6to4 (2002:aabb:ccdd::/48) is routed by relays to the IPv4 address in bits 16-48.
  if (h[0] === 0x2002) inner = v4(h[1]!, h[2]!)
  const via = inner === undefined ? null : judge4(inner, allowed)
  return via && { label: via.label, embedded: inner }
}

function judge4(ip: string, allowed: Networks): Refusal | null {
  if (allowed.v4.check(ip, 'ipv4')) return null
  const hit = REFUSED.find((r) => r.nets.v4.check(ip, 'ipv4'))
  return hit ? { label: hit.label } : null
}

function judge6(ip: string, allowed: Networks): Refusal | null {
  if (allowed.v6.check(ip, 'ipv6')) return null
  const hit = REFUSED.find((r) => r.nets.v6.check(ip, 'ipv6'))
  return hit ? { label: hit.label } : null
}

function v4(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
}

/** The eight 16-bit groups of an address isIP() already accepted as IPv6. */
function hextets(ip: string): number[] {
  const dotted = ip.match(/^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/)
  const text = dotted
    ? `${dotted[1]}${((+dotted[2]! << 8) | +dotted[3]!).toString(16)}:${((+dotted[4]! << 8) | +dotted[5]!).toString(16)}`
    : ip
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)))
  const [head = '', tail] = text.split('::')
  if (tail === undefined) return groups(head)
  const h = groups(head)
  const t = groups(tail)
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t]
}

async function systemResolve(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address)
}

/** Throws UrlRefused with a readable, secret-free reason; returns the parsed URL and the resolved addresses when allowed. */
export async function checkOutboundUrl(raw: string, opts: UrlGuardOptions): Promise<{ url: URL; addresses: string[] }> {
  // The URL itself is never echoed back: customers put tokens in paths and query strings.
  if (raw.length > MAX_LENGTH) throw new UrlRefused('url', `URLs are limited to ${MAX_LENGTH} characters`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UrlRefused('url', 'not a valid URL')
  }
  if (url.protocol !== 'https:' && !(opts.allowHttp && url.protocol === 'http:')) {
    throw new UrlRefused(
      'url',
      opts.allowHttp ? 'URLs must use http or https' : 'URLs must use https (the operator can allow http)',
    )
  }
  // Credentials in the URL would be sent to the receiver and end up in our logs and the admin UI.
  if (url.username || url.password) throw new UrlRefused('url', 'URLs must not contain a username or password')
  // href only serialises '#' as the fragment delimiter, so this also catches an empty trailing '#'.
  if (url.href.includes('#')) throw new UrlRefused('url', 'URLs must not contain a fragment (#...)')
  if (!url.hostname) throw new UrlRefused('url', 'URLs need a host')

  const allowed = networks(opts.allowedNetworks)
  // The WHATWG parser has already turned 2130706433, 0x7f.1 and 0177.0.0.1 into dotted IPv4, and IPv6 into brackets.
  const literal = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (isIP(literal) !== 0) {
    const no = refusal(literal, allowed)
    if (no)
      throw new UrlRefused(
        'url',
        `the address ${literal} ${no.embedded ? `carries ${no.embedded}, ` : 'is '}${no.label}; refused ${HINT}`,
      )
    return { url, addresses: [literal] }
  }

  const host = url.hostname
  let addresses: string[]
  try {
    addresses = await (opts.resolve ?? systemResolve)(host)
  } catch {
    throw new UrlRefused('url', `the host ${host} does not resolve`)
  }
  if (addresses.length === 0) throw new UrlRefused('url', `the host ${host} does not resolve`)
  for (const address of addresses) {
    const no = refusal(address, allowed)
    if (!no) continue
    if (no.label === 'not an IP address')
      throw new UrlRefused('url', `the host ${host} resolves to something that is not an IP address; refused`)
    throw new UrlRefused(
      'url',
      `the host ${host} resolves to ${address}, ${no.embedded ? `which carries ${no.embedded}, ` : ''}${no.label}; refused ${HINT}`,
    )
  }
  return { url, addresses }
}

/**
 * GETs a checked public URL: each redirect hop is checked again (never followed blindly), with a timeout and a size
 * cap. The remaining gap is DNS rebinding between the check and the connection, narrowed to that instant.
 */
export async function fetchPublic(
  raw: string,
  opts: UrlGuardOptions & { timeoutMs: number; maxBytes: number; maxRedirects?: number },
): Promise<{ bytes: Buffer; contentType: string | null }> {
  let current = raw
  // One deadline for every hop and the body: a peer that trickles bytes or chains redirects cannot stretch it.
  const signal = AbortSignal.timeout(opts.timeoutMs)
  const deadline = (err: unknown): never => {
    const name = (err as Error)?.name
    if (name === 'TimeoutError' || name === 'AbortError')
      throw new UrlRefused('url', `the link did not answer within ${opts.timeoutMs} ms`)
    throw err
  }
  for (let hop = 0; hop <= (opts.maxRedirects ?? 3); hop++) {
    const { url } = await checkOutboundUrl(current, opts)
    const res = await fetch(url, { redirect: 'manual', signal }).catch(deadline)
    const location = res.headers.get('location')
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel().catch(() => {})
      current = new URL(location, url).href
      continue
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {})
      throw new UrlRefused('url', `the link answered HTTP ${res.status}`)
    }
    const bytes = await readAtMost(res, opts.maxBytes).catch(deadline)
    if (!bytes) throw new UrlRefused('url', `the linked file is larger than ${opts.maxBytes} bytes`)
    return { bytes, contentType: res.headers.get('content-type') }
  }
  throw new UrlRefused('url', 'the link redirects too many times')
}
