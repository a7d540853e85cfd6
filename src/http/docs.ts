/**
 * API documentation: the OpenAPI document is generated from the same Zod schemas that validate requests
 * (`/docs/json`); `/docs` is an offline page from public/ that renders it (no CDN: appliances run offline).
 * Each operation carries `x-permission`: the access rule its macro enforces.
 */
import { Elysia, type AnyElysia } from 'elysia'
import { toOpenAPISchema } from '@elysiajs/openapi'
import { z } from 'zod'
import { VERSION } from '../config.ts'
import type { AuthPlugin } from './auth.plugin.ts'
import { defaultPublicDir } from './static.ts'
import { openApiWebhooks } from '../events/catalog.ts'

export function docsRoutes(auth: AuthPlugin, getApp: () => AnyElysia, publicDir = defaultPublicDir()) {
  let spec: unknown
  return new Elysia({ name: 'docs' })
    .use(auth)
    .get(
      '/docs/json',
      () => {
        // Built on first request: by then every route is registered.
        spec ??= (() => {
          const { paths, components } = toOpenAPISchema(getApp(), { paths: ['/docs', '/docs/json', '/*'] }, undefined, {
            // Documents what clients send (the input side of transforms), without warnings for transforms.
            zod: (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
          })
          return {
            openapi: '3.1.0',
            info: {
              title: 'wabox API',
              version: VERSION,
              description:
                'Self-hosted WhatsApp operations appliance. Authenticate with the session cookie (admin UI) or `Authorization: Bearer wbx_…` (API keys). ' +
                'Errors are application/problem+json (RFC 9457). `x-permission` on each operation names the access rule.',
            },
            components: {
              ...components,
              securitySchemes: {
                apiKey: { type: 'http', scheme: 'bearer', description: 'wbx_<prefix>_<secret>' },
                session: { type: 'apiKey', in: 'cookie', name: 'wabox_session' },
              },
            },
            paths,
            webhooks: openApiWebhooks(),
          }
        })()
        return spec
      },
      { public: true, detail: { hide: true } },
    )
    .get(
      '/docs',
      ({ set }) => {
        set.headers['cache-control'] = 'no-cache'
        return Bun.file(publicDir + '/docs.html')
      },
      { public: true, detail: { hide: true } },
    )
}
