/**
 * The client's address: the socket peer, unless the peer is a configured trusted proxy, in which case
 * X-Forwarded-For is read from the right, skipping further trusted proxies. Believing the header from
 * anyone else would let every client pick its own address and walk around rate limits and lockouts.
 */
import { BlockList, isIP } from 'node:net'

export type TrustedProxies = { has: (ip: string) => boolean }

export function trustedProxies(entries: string[]): TrustedProxies {
  const list = new BlockList()
  for (const entry of entries) {
    const [ip, bits] = entry.split('/') as [string, string | undefined]
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4'
    if (bits === undefined) list.addAddress(ip, type)
    else list.addSubnet(ip, Number(bits), type)
  }
  return {
    has: (raw) => {
      const ip = normalise(raw)
      const family = isIP(ip)
      return family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4')
    },
  }
}

/** `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) → `1.2.3.4`. */
function normalise(ip: string): string {
  const v4 = ip.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i)
  return v4 ? v4[1]! : ip.trim()
}

export function clientIp(peer: string | undefined, forwardedFor: string | null, trusted: TrustedProxies): string {
  const peerIp = normalise(peer ?? '')
  if (!peerIp || !forwardedFor || !trusted.has(peerIp)) return peerIp || 'unknown'
  const hops = forwardedFor.split(',').map((h) => normalise(h))
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!
    if (isIP(hop) === 0) return peerIp // garbage in the header: fall back to what we know
    if (!trusted.has(hop)) return hop
  }
  return hops[0] ?? peerIp
}
