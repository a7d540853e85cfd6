/** Meta's callback URL for a Cloud API channel: the GET handshake and signed event POSTs. */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../../deps.ts'
import type { AuthPlugin } from '../../http/auth.plugin.ts'
import { AppError } from '../../lib/errors.ts'
import { RateLimiter } from '../../http/rate-limit.ts'
import type { IntakeWriter } from '../../intake/writer.ts'
import { receiveWebhook, verifySubscription } from './ingress.service.ts'
import { textAs } from '../../http/responses.ts'

const params = z.object({ channelId: z.string().min(1).max(64) })

export function webhookRoutes(deps: ServiceDeps, auth: AuthPlugin, writer: IntakeWriter) {
  // Verified webhooks are never throttled (throttling Meta only causes retries); failed verifications are,
  // per client IP, with the API's anonymous profile: guessing verify tokens or flooding unsigned bodies ends
  // in 429s.
  const failures = new RateLimiter({ name: 'webhook-failures', windows: deps.config.rateLimit }, deps.clock)
  const guard = async <T>(ip: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof AppError && (err.status === 401 || err.status === 403)) {
        const d = failures.take(`ip:${ip}`)
        if (!d.allowed)
          throw new AppError(
            429,
            'rate_limited',
            `Too many failed webhook verifications; retry in ${d.retryAfterSeconds} s.`,
            undefined,
            failures.headers(d),
          )
      }
      throw err
    }
  }
  return new Elysia({ prefix: '/webhooks/whatsapp', tags: ['webhooks'] })
    .use(auth)
    .get(
      '/:channelId',
      async ({ params, query, set, caller }) => {
        const challenge = await guard(caller.meta.ip, () =>
          verifySubscription(deps, params.channelId, {
            mode: query['hub.mode'],
            token: query['hub.verify_token'],
            challenge: query['hub.challenge'],
          }),
        )
        set.headers['content-type'] = 'text/plain; charset=utf-8'
        return challenge
      },
      {
        public: true,
        params,
        query: z.object({
          'hub.mode': z.string().optional(),
          'hub.verify_token': z.string().max(500).optional(),
          'hub.challenge': z.string().max(500).optional(),
        }),
        response: textAs('text/plain', 'hub.challenge, echoed'),
        detail: {
          summary: "Meta's subscription handshake: echoes hub.challenge when hub.verify_token matches",
          responses: {
            403: { description: 'wrong verify token' },
            410: { description: 'channel disconnected' },
          },
        },
      },
    )
    .post(
      '/:channelId',
      // The body arrives as the exact bytes (a raw-body path in http/security.ts): the signature covers them.
      ({ params, request, body, caller }) =>
        guard(caller.meta.ip, () =>
          receiveWebhook(
            deps,
            writer,
            params.channelId,
            body as Uint8Array,
            request.headers.get('x-hub-signature-256'),
          ),
        ),
      {
        public: true,
        params,
        response: z
          .object({
            events: z.number().int().describe('Events the payload held'),
            stored: z.number().int().describe('New ones stored durably (the rest were duplicates)'),
            skipped: z.number().int().describe('Items wabox does not take (logged)'),
          })
          .describe('Stored durably (Meta stops retrying)'),
        detail: {
          summary: 'Signed Cloud API events (X-Hub-Signature-256); answered 200 once stored durably',
          requestBody: {
            required: true,
            description:
              "Meta's webhook payload; X-Hub-Signature-256 (sha256=<hex HMAC of the exact bytes with the app secret>) is required",
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    object: { const: 'whatsapp_business_account' },
                    entry: { type: 'array', items: { type: 'object' } },
                  },
                  required: ['object', 'entry'],
                },
              },
            },
          },
          responses: {
            401: { description: 'bad signature' },
            410: { description: 'channel disconnected' },
            413: { description: 'too large' },
          },
        },
      },
    )
}
