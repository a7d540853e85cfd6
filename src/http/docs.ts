/**
 * API documentation: the OpenAPI document is generated from the same Zod schemas that validate requests
 * (`/docs/json`); `/docs` is an offline page from public/ that renders it (no CDN: appliances run offline).
 */
import { Elysia } from 'elysia'
import { openapi } from '@elysiajs/openapi'
import { z } from 'zod'
import { VERSION } from '../config.ts'
import { defaultPublicDir } from './static.ts'

export function docsPlugin(publicDir = defaultPublicDir()) {
  return new Elysia({ name: 'docs' })
    .use(
      openapi({
        path: '/docs',
        specPath: '/docs/json',
        provider: null,
        mapJsonSchema: { zod: z.toJSONSchema },
        documentation: {
          info: {
            title: 'wabox API',
            version: VERSION,
            description: 'Self-hosted WhatsApp operations appliance. Errors are application/problem+json (RFC 9457).',
          },
        },
        exclude: { paths: ['/docs', '/docs/json', '/*'] },
      }),
    )
    .get(
      '/docs',
      ({ set }) => {
        set.headers['cache-control'] = 'no-cache'
        return Bun.file(publicDir + '/docs.html')
      },
      { detail: { hide: true } },
    )
}
