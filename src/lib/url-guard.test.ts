import { describe, expect, test } from 'bun:test'
import {
  UrlRefused,
  checkOutboundUrl,
  fetchPublic,
  isRefusedAddress,
  parseNetworks,
  type UrlGuardOptions,
} from './url-guard.ts'

/** Never touches the network: every name must be in the table, anything else fails like NXDOMAIN. */
function resolver(table: Record<string, string[]>) {
  const asked: string[] = []
  const resolve = async (host: string) => {
    asked.push(host)
    const hit = table[host]
    if (!hit) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    return hit
  }
  return { resolve, asked }
}

const NO_DNS = resolver({}).resolve
const strict = (extra: Partial<UrlGuardOptions> = {}): UrlGuardOptions => ({
  allowHttp: false,
  allowedNetworks: [],
  resolve: NO_DNS,
  ...extra,
})

async function refusedWith(raw: string, opts: UrlGuardOptions): Promise<UrlRefused> {
  const outcome = await checkOutboundUrl(raw, opts).then(
    (ok) => ok,
    (e: unknown) => e,
  )
  if (!(outcome instanceof UrlRefused))
    throw new Error(`expected ${raw} to be refused, got ${outcome instanceof Error ? outcome.message : 'allowed'}`)
  expect(outcome.field).toBe('url')
  expect(outcome.name).toBe('UrlRefused')
  return outcome
}

describe('isRefusedAddress: refused ranges', () => {
  // First, last and a middle address of every range, so an off-by-one prefix shows up.
  const refused: [string, string[]][] = [
    ['0.0.0.0/8', ['0.0.0.0', '0.1.2.3', '0.255.255.255']],
    ['10.0.0.0/8', ['10.0.0.0', '10.0.0.5', '10.255.255.255']],
    ['100.64.0.0/10', ['100.64.0.0', '100.100.100.100', '100.127.255.255']],
    ['127.0.0.0/8', ['127.0.0.1', '127.1.2.3', '127.255.255.255']],
    ['169.254.0.0/16', ['169.254.0.0', '169.254.169.254', '169.254.255.255']],
    ['172.16.0.0/12', ['172.16.0.0', '172.20.1.1', '172.31.255.255']],
    ['192.0.0.0/24', ['192.0.0.0', '192.0.0.170', '192.0.0.255']],
    ['192.0.2.0/24', ['192.0.2.0', '192.0.2.1', '192.0.2.255']],
    ['192.88.99.0/24', ['192.88.99.0', '192.88.99.1', '192.88.99.255']],
    ['192.168.0.0/16', ['192.168.0.0', '192.168.1.1', '192.168.255.255']],
    ['198.18.0.0/15', ['198.18.0.0', '198.19.0.1', '198.19.255.255']],
    ['198.51.100.0/24', ['198.51.100.0', '198.51.100.7', '198.51.100.255']],
    ['203.0.113.0/24', ['203.0.113.0', '203.0.113.9', '203.0.113.255']],
    ['224.0.0.0/4', ['224.0.0.0', '224.0.0.251', '239.255.255.255']],
    ['240.0.0.0/4', ['240.0.0.0', '250.1.2.3', '255.255.255.255']],
    ['::/128', ['::', '0:0:0:0:0:0:0:0']],
    ['::1/128', ['::1', '0:0:0:0:0:0:0:1']],
    ['fc00::/7', ['fc00::', 'fd00:ec2::254', 'FD12:3456::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
    ['fe80::/10', ['fe80::', 'fe80::1', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe80::1%eth0']],
    ['ff00::/8', ['ff00::', 'ff02::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
    ['2001:db8::/32', ['2001:db8::', '2001:db8::1', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff']],
    ['100::/64', ['100::', '100::1', '100::ffff:ffff:ffff:ffff']],
    ['64:ff9b::/96', ['64:ff9b::', '64:ff9b::808:808', '64:ff9b::8.8.8.8']],
    ['64:ff9b:1::/48', ['64:ff9b:1::', '64:ff9b:1::808:808', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff']],
    [
      '::ffff:0:0/96 of refused IPv4',
      ['::ffff:127.0.0.1', '::ffff:7f00:1', '::FFFF:10.0.0.1', '::ffff:a9fe:a9fe', '0:0:0:0:0:ffff:c0a8:101'],
    ],
    ['IPv4-compatible ::/96', ['::7f00:1', '::127.0.0.1', '::808:808']],
    ['6to4 of refused IPv4', ['2002:7f00:1::', '2002:a9fe:a9fe::1', '2002:0a00:0005:1::1']],
    ['not an address at all', ['', 'localhost', '999.1.1.1', '1.2.3', '::g', '[::1', 'fe80::1%']],
  ]
  for (const [range, ips] of refused) {
    test(range, () => {
      expect(ips.map((ip) => [ip, isRefusedAddress(ip, [])])).toEqual(ips.map((ip) => [ip, true]))
    })
  }

  test('neighbours just outside the ranges, and ordinary public addresses, are allowed', () => {
    const allowed = [
      '1.1.1.1',
      '8.8.8.8',
      '93.184.215.14',
      '9.255.255.255',
      '11.0.0.0',
      '100.63.255.255',
      '100.128.0.0',
      '126.255.255.255',
      '128.0.0.0',
      '169.253.255.255',
      '169.255.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '192.0.1.0',
      '192.0.3.0',
      '192.88.98.255',
      '192.167.255.255',
      '192.169.0.0',
      '198.17.255.255',
      '198.20.0.0',
      '223.255.255.255',
      '2606:4700:4700::1111',
      '2001:4860:4860::8888',
      '::2:0:0',
      'fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      'fe00::',
      'fec0::1',
      'feff::',
      '2001:db9::1',
      '100:0:0:1::',
      '64:ff9b:0:0:0:1::1',
      '64:ff9b:2::1',
      '::ffff:8.8.8.8',
      '::ffff:808:808',
      '2002:808:808::1',
    ]
    expect(allowed.map((ip) => [ip, isRefusedAddress(ip, [])])).toEqual(allowed.map((ip) => [ip, false]))
  })
})

describe('isRefusedAddress: allowed networks', () => {
  test('an allowed network opens exactly its own addresses and nothing next to it', () => {
    const nets = ['127.0.0.0/8', '::1/128', '10.1.0.0/16', 'fd00:ec2::/32']
    expect(isRefusedAddress('127.0.0.1', nets)).toBe(false)
    expect(isRefusedAddress('127.255.255.254', nets)).toBe(false)
    expect(isRefusedAddress('::1', nets)).toBe(false)
    expect(isRefusedAddress('10.1.2.3', nets)).toBe(false)
    expect(isRefusedAddress('fd00:ec2::254', nets)).toBe(false)
    expect(isRefusedAddress('10.2.0.1', nets)).toBe(true)
    expect(isRefusedAddress('169.254.169.254', nets)).toBe(true)
    expect(isRefusedAddress('fd00:ec3::1', nets)).toBe(true)
    expect(isRefusedAddress('::2', nets)).toBe(true)
  })

  test('IPv4-mapped IPv6 follows the IPv4 allow list', () => {
    expect(isRefusedAddress('::ffff:127.0.0.1', ['127.0.0.0/8'])).toBe(false)
    expect(isRefusedAddress('::ffff:7f00:1', ['127.0.0.0/8'])).toBe(false)
    expect(isRefusedAddress('::ffff:10.0.0.1', ['127.0.0.0/8'])).toBe(true)
  })

  test('families do not leak into each other: an IPv6 catch-all does not open IPv4, nor the reverse', () => {
    expect(isRefusedAddress('10.0.0.1', ['::/0'])).toBe(true)
    expect(isRefusedAddress('::ffff:10.0.0.1', ['::/0'])).toBe(true)
    expect(isRefusedAddress('::1', ['0.0.0.0/0'])).toBe(true)
    expect(isRefusedAddress('fd00::1', ['::/0'])).toBe(false)
    expect(isRefusedAddress('10.0.0.1', ['0.0.0.0/0'])).toBe(false)
  })

  test('allowing NAT64 still judges the IPv4 address inside it', () => {
    const nets = ['64:ff9b::/96', '64:ff9b:1::/48']
    expect(isRefusedAddress('64:ff9b::808:808', nets)).toBe(false)
    expect(isRefusedAddress('64:ff9b::8.8.8.8', nets)).toBe(false)
    expect(isRefusedAddress('64:ff9b::7f00:1', nets)).toBe(true)
    expect(isRefusedAddress('64:ff9b::a9fe:a9fe', nets)).toBe(true)
    expect(isRefusedAddress('64:ff9b:1::a00:5', nets)).toBe(true)
    expect(isRefusedAddress('64:ff9b::7f00:1', [...nets, '127.0.0.0/8'])).toBe(false)
  })

  test('an invalid allow list throws rather than silently allowing or refusing', () => {
    expect(() => isRefusedAddress('8.8.8.8', ['nonsense'])).toThrow('"nonsense"')
  })
})

describe('parseNetworks', () => {
  test('accepts IPv4 and IPv6 CIDR blocks and bare addresses', () => {
    expect(() => parseNetworks([])).not.toThrow()
    expect(() =>
      parseNetworks([
        '127.0.0.0/8',
        '::1/128',
        '10.0.0.0/0',
        '0.0.0.0/32',
        'fd00:ec2::/32',
        '::/0',
        ' 192.168.1.0/24 ',
        '10.0.0.7',
      ]),
    ).not.toThrow()
  })

  test('throws naming the bad entry', () => {
    const bad = [
      'nonsense',
      '10.0.0.0/33',
      '::1/129',
      '10.0.0.0/-1',
      '10.0.0.0/',
      '10.0.0.0/8/8',
      '10.0.0.0/ 8',
      '10.0.0.0/0x8',
      '10.0.0.0/8.5',
      '10.0.0/8',
      '256.0.0.0/8',
      'fe80::1%eth0/64',
      '',
    ]
    for (const entry of bad) {
      expect(() => parseNetworks(['127.0.0.0/8', entry])).toThrow(JSON.stringify(entry))
    }
    expect(() => parseNetworks(['nonsense'])).toThrow('allowed network "nonsense" is not a CIDR block')
    expect(() => parseNetworks(['10.0.0.0/33'])).toThrow('allowed network "10.0.0.0/33" is not a CIDR block')
  })
})

describe('checkOutboundUrl: the URL itself', () => {
  test('a public https URL passes with its address', async () => {
    const { url, addresses } = await checkOutboundUrl('https://8.8.8.8/hooks/wabox?token=abc', strict())
    expect(url.href).toBe('https://8.8.8.8/hooks/wabox?token=abc')
    expect(addresses).toEqual(['8.8.8.8'])
    const v6 = await checkOutboundUrl('https://[2606:4700:4700::1111]:8443/x', strict())
    expect(v6.addresses).toEqual(['2606:4700:4700::1111'])
    expect(v6.url.port).toBe('8443')
  })

  test('http is refused unless the operator allows it; other schemes always are', async () => {
    expect((await refusedWith('http://8.8.8.8/hook', strict())).message).toBe(
      'URLs must use https (the operator can allow http)',
    )
    expect((await checkOutboundUrl('http://8.8.8.8/hook', strict({ allowHttp: true }))).url.protocol).toBe('http:')
    for (const raw of [
      'ftp://8.8.8.8/',
      'file:///etc/passwd',
      'gopher://8.8.8.8:70/',
      'ws://8.8.8.8/',
      'javascript:alert(1)',
      'data:text/plain,x',
    ]) {
      expect((await refusedWith(raw, strict())).message).toBe('URLs must use https (the operator can allow http)')
      expect((await refusedWith(raw, strict({ allowHttp: true }))).message).toBe('URLs must use http or https')
    }
  })

  test('garbage, relative and empty URLs are refused', async () => {
    for (const raw of [
      '',
      'not a url',
      '/hooks',
      '//8.8.8.8/x',
      'https://',
      'https://[::1/',
      'https://exa mple.com/',
      'https://999.1.1.1/',
    ]) {
      expect((await refusedWith(raw, strict())).message).toBe('not a valid URL')
    }
  })

  test('userinfo is refused, and the secret does not appear in the message', async () => {
    for (const raw of ['https://user:s3cret@8.8.8.8/', 'https://user@8.8.8.8/', 'https://:s3cret@8.8.8.8/']) {
      const e = await refusedWith(raw, strict())
      expect(e.message).toBe('URLs must not contain a username or password')
      expect(e.message).not.toContain('s3cret')
    }
  })

  test('a fragment is refused, even an empty one', async () => {
    for (const raw of ['https://8.8.8.8/hook#x', 'https://8.8.8.8/hook#']) {
      expect((await refusedWith(raw, strict())).message).toBe('URLs must not contain a fragment (#...)')
    }
  })

  test('2048 characters pass, 2049 do not', async () => {
    const base = 'https://8.8.8.8/'
    const ok = base + 'a'.repeat(2048 - base.length)
    expect(ok.length).toBe(2048)
    expect((await checkOutboundUrl(ok, strict())).url.href).toBe(ok)
    expect((await refusedWith(`${ok}a`, strict())).message).toBe('URLs are limited to 2048 characters')
  })
})

describe('checkOutboundUrl: IP literals', () => {
  test('cloud metadata endpoints are refused', async () => {
    const v4 = await refusedWith('https://169.254.169.254/latest/meta-data/', strict())
    expect(v4.message).toBe(
      'the address 169.254.169.254 is a link-local address; refused (the operator can allow a network)',
    )
    const v6 = await refusedWith('https://[fd00:ec2::254]/latest/meta-data/', strict())
    expect(v6.message).toBe(
      'the address fd00:ec2::254 is a private address; refused (the operator can allow a network)',
    )
  })

  test('one literal from every refused range is refused', async () => {
    const literals = [
      '0.0.0.0',
      '10.0.0.1',
      '100.64.0.1',
      '127.0.0.1',
      '169.254.1.1',
      '172.16.0.1',
      '192.0.0.1',
      '192.0.2.1',
      '192.88.99.1',
      '192.168.0.1',
      '198.18.0.1',
      '198.51.100.1',
      '203.0.113.1',
      '224.0.0.1',
      '255.255.255.255',
      '[::]',
      '[::1]',
      '[fc00::1]',
      '[fe80::1]',
      '[ff02::1]',
      '[2001:db8::1]',
      '[100::1]',
      '[64:ff9b::808:808]',
      '[64:ff9b:1::1]',
      '[::ffff:10.0.0.1]',
      '[::127.0.0.1]',
      '[2002:7f00:1::]',
    ]
    for (const host of literals) {
      const e = await refusedWith(`https://${host}/hook`, strict())
      expect(e.message).toEndWith('; refused (the operator can allow a network)')
    }
  })

  test('IPv4-mapped IPv6 loopback is judged as the IPv4 it carries', async () => {
    const e = await refusedWith('https://[::ffff:127.0.0.1]/', strict())
    // The parser rewrites the dotted tail to hex; the reason still says loopback.
    expect(e.message).toBe(
      'the address ::ffff:7f00:1 is a loopback address; refused (the operator can allow a network)',
    )
    expect(
      (await checkOutboundUrl('https://[::ffff:127.0.0.1]/', strict({ allowedNetworks: ['127.0.0.0/8'] }))).addresses,
    ).toEqual(['::ffff:7f00:1'])
  })

  test('NAT64 and 6to4 say which IPv4 address they carry', async () => {
    const nat64 = await refusedWith('https://[64:ff9b::a9fe:a9fe]/', strict({ allowedNetworks: ['64:ff9b::/96'] }))
    expect(nat64.message).toBe(
      'the address 64:ff9b::a9fe:a9fe carries 169.254.169.254, a link-local address; refused (the operator can allow a network)',
    )
    const sixToFour = await refusedWith('https://[2002:a00:5::1]/', strict())
    expect(sixToFour.message).toBe(
      'the address 2002:a00:5::1 carries 10.0.0.5, a private address; refused (the operator can allow a network)',
    )
  })

  test('decimal, octal, hex and short IPv4 spellings are normalised by the URL parser and refused', async () => {
    const spellings = [
      '2130706433',
      '0x7f.1',
      '0x7f000001',
      '0177.0.0.1',
      '017700000001',
      '127.1',
      '127.0.1',
      '0x7F.0.0.0x1',
    ]
    for (const host of spellings) {
      expect(new URL(`http://${host}/`).hostname).toBe('127.0.0.1')
      const e = await refusedWith(`https://${host}/`, strict())
      expect(e.message).toBe('the address 127.0.0.1 is a loopback address; refused (the operator can allow a network)')
    }
    // Same trick aimed at metadata: 169.254.169.254 as one decimal number.
    expect((await refusedWith('https://2852039166/', strict())).message).toStartWith(
      'the address 169.254.169.254 is a link-local address',
    )
    // Literals never reach DNS, so a resolver that would say "public" cannot be used to launder them.
    const { resolve, asked } = resolver({ '2130706433': ['8.8.8.8'], '127.0.0.1': ['8.8.8.8'] })
    await refusedWith('https://2130706433/', strict({ resolve }))
    expect(asked).toEqual([])
  })

  test('loopback is allowed when the operator allows 127.0.0.0/8 (and ::1 with ::1/128)', async () => {
    const opts = strict({ allowHttp: true, allowedNetworks: ['127.0.0.0/8', '::1/128'] })
    expect((await checkOutboundUrl('http://127.0.0.1:3000/hook', opts)).addresses).toEqual(['127.0.0.1'])
    expect((await checkOutboundUrl('http://[::1]:3000/hook', opts)).addresses).toEqual(['::1'])
    expect((await checkOutboundUrl('http://2130706433:3000/hook', opts)).url.hostname).toBe('127.0.0.1')
    // The allowance is for loopback only.
    await refusedWith('http://10.0.0.1/hook', opts)
    await refusedWith('http://169.254.169.254/hook', opts)
    await refusedWith('http://[fe80::1]/hook', opts)
  })
})

describe('checkOutboundUrl: host names', () => {
  test('a name resolving to a public address passes, with every address returned', async () => {
    const { resolve, asked } = resolver({
      'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    })
    const { url, addresses } = await checkOutboundUrl('https://Hooks.Example.com/in', strict({ resolve }))
    expect(url.hostname).toBe('hooks.example.com')
    expect(addresses).toEqual(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'])
    expect(asked).toEqual(['hooks.example.com'])
  })

  test('a name resolving to a private address is refused, naming the host and the address', async () => {
    const { resolve } = resolver({ 'example.internal': ['10.0.0.5'] })
    const e = await refusedWith('https://example.internal/hook?token=s3cret', strict({ resolve }))
    expect(e.message).toBe(
      'the host example.internal resolves to 10.0.0.5, a private address; refused (the operator can allow a network)',
    )
    expect(e.message).not.toContain('s3cret')
  })

  test('one private address among public ones is enough to refuse, wherever it sits', async () => {
    for (const mix of [
      ['93.184.215.14', '127.0.0.1'],
      ['127.0.0.1', '93.184.215.14'],
      ['93.184.215.14', '2606:4700:4700::1111', 'fd00:ec2::254'],
      ['8.8.8.8', '::ffff:169.254.169.254'],
    ]) {
      const { resolve } = resolver({ 'rebind.example.com': mix })
      const e = await refusedWith('https://rebind.example.com/', strict({ resolve }))
      expect(e.message).toStartWith('the host rebind.example.com resolves to ')
      expect(e.message).toEndWith('; refused (the operator can allow a network)')
    }
  })

  test('metadata names are refused through their resolved address', async () => {
    const { resolve } = resolver({
      'metadata.google.internal': ['169.254.169.254'],
      'instance-data.ec2.internal': ['fd00:ec2::254'],
    })
    expect(
      (await refusedWith('https://metadata.google.internal/computeMetadata/v1/', strict({ resolve }))).message,
    ).toBe(
      'the host metadata.google.internal resolves to 169.254.169.254, a link-local address; refused (the operator can allow a network)',
    )
    expect((await refusedWith('https://instance-data.ec2.internal/', strict({ resolve }))).message).toBe(
      'the host instance-data.ec2.internal resolves to fd00:ec2::254, a private address; refused (the operator can allow a network)',
    )
  })

  test('allowed networks apply to resolved addresses too, but only to those inside them', async () => {
    const { resolve } = resolver({ 'dev.local': ['127.0.0.1', '::1'], 'half.local': ['127.0.0.1', '192.168.1.10'] })
    const opts = strict({ allowedNetworks: ['127.0.0.0/8', '::1/128'], resolve })
    expect((await checkOutboundUrl('https://dev.local/', opts)).addresses).toEqual(['127.0.0.1', '::1'])
    const e = await refusedWith('https://half.local/', opts)
    expect(e.message).toBe(
      'the host half.local resolves to 192.168.1.10, a private address; refused (the operator can allow a network)',
    )
  })

  test('a name that does not resolve is refused, whether lookup throws or comes back empty', async () => {
    const { resolve } = resolver({ 'empty.example.com': [] })
    expect((await refusedWith('https://nowhere.example.com/', strict({ resolve }))).message).toBe(
      'the host nowhere.example.com does not resolve',
    )
    expect((await refusedWith('https://empty.example.com/', strict({ resolve }))).message).toBe(
      'the host empty.example.com does not resolve',
    )
  })

  test('a resolver answer that is not an IP address is refused rather than trusted', async () => {
    const { resolve } = resolver({ 'odd.example.com': ['93.184.215.14', 'localhost'] })
    expect((await refusedWith('https://odd.example.com/', strict({ resolve }))).message).toBe(
      'the host odd.example.com resolves to something that is not an IP address; refused',
    )
  })

  test('a zone id on a resolved link-local address does not hide it', async () => {
    const { resolve } = resolver({ 'zoned.example.com': ['fe80::1%eth0'] })
    const e = await refusedWith('https://zoned.example.com/', strict({ resolve }))
    expect(e.message).toStartWith('the host zoned.example.com resolves to fe80::1%eth0, a link-local address')
  })

  test('an invalid allow list is a configuration error, not a refusal of the URL', async () => {
    const e = await checkOutboundUrl('https://8.8.8.8/', strict({ allowedNetworks: ['10.0.0.0/33'] })).catch(
      (err: unknown) => err,
    )
    expect(e).toBeInstanceOf(Error)
    expect(e).not.toBeInstanceOf(UrlRefused)
    expect((e as Error).message).toContain('"10.0.0.0/33"')
  })
})

describe('fetchPublic', () => {
  const files = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (req): Response => {
      const path = new URL(req.url).pathname
      if (path === '/file') return new Response('0123456789', { headers: { 'content-type': 'text/plain' } })
      if (path === '/hop') return Response.redirect('/file', 302)
      if (path === '/private') return Response.redirect('http://192.168.1.10/admin', 302)
      if (path === '/loop') return Response.redirect('/loop', 302)
      return new Response('missing', { status: 404 })
    },
  })
  const base = `http://127.0.0.1:${files.port}`
  const opts = { allowHttp: true, allowedNetworks: ['127.0.0.0/8'], timeoutMs: 2000, maxBytes: 1000 }
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => 'no error',
      (e: Error) => `${e.name}: ${e.message}`,
    )

  test('follows redirects only through checked hops, with a size cap', async () => {
    expect((await fetchPublic(`${base}/hop`, opts)).bytes.toString()).toBe('0123456789')
    expect(await failure(fetchPublic(`${base}/private`, opts))).toBe(
      'UrlRefused: the address 192.168.1.10 is a private address; refused (the operator can allow a network)',
    )
    expect(await failure(fetchPublic(`${base}/loop`, opts))).toBe('UrlRefused: the link redirects too many times')
    expect(await failure(fetchPublic(`${base}/nothing`, opts))).toBe('UrlRefused: the link answered HTTP 404')
    expect(await failure(fetchPublic(`${base}/file`, { ...opts, maxBytes: 5 }))).toBe(
      'UrlRefused: the linked file is larger than 5 bytes',
    )
    // Without the operator's allowance, loopback itself is refused before any request.
    expect(await failure(fetchPublic(`${base}/file`, { ...opts, allowedNetworks: [] }))).toContain('loopback')
    files.stop(true)
  })
})
