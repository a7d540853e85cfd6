import { describe, expect, test } from 'bun:test'
import { parseInvocation } from '../config.ts'
import { ProviderError, providerOf } from './provider.ts'
import { PROVIDER_NAMES } from './provider-names.ts'
import { buildProviders } from './registry.ts'

const providers = buildProviders(parseInvocation([], {}).config)

describe('the provider registry', () => {
  test('each provider is registered under the name it gives itself, and providerOf finds it by that name', () => {
    expect(Object.keys(providers)).toEqual([...PROVIDER_NAMES])
    for (const name of PROVIDER_NAMES) {
      expect(providers[name].name).toBe(name)
      expect(providerOf({ providers }, name)).toBe(providers[name])
    }
  })

  test('a name no provider has is a programming error, not a silent default', () => {
    expect(() => providerOf({ providers }, 'telegram')).toThrow('no provider named "telegram"')
    expect(() => providerOf({ providers }, 'toString')).toThrow('no provider named "toString"')
  })

  test('outside a runtime (no QR sessions bound) a QR send fails retryably, as before the port', async () => {
    const target = { workspaceId: 'ws_1', channelId: 'ch_1', recipient: '4915112345678', credentials: null }
    const request = { to: '4915112345678', messageId: '3EB0X', content: { text: 'hi' }, quoted: null }
    const error: unknown = await providers.qr.send(target, request).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProviderError)
    expect({ code: (error as ProviderError).code, retryable: (error as ProviderError).retryable }).toEqual({
      code: -2,
      retryable: true,
    })
    expect((error as ProviderError).reason).toBe('The QR-linked device session is not running in this process')
  })
})
