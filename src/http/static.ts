/**
 * Serves the admin UI built into `dist/ui` (scripts/build.ts): from the binary itself when compiled
 * (`--asset dist/ui`, which the binary sees as /$bunfs/root/ui), from the checkout otherwise. Paths are decoded, normalised and confined to that root;
 * unknown paths without a file extension get index.html so client-side routes (/inbox, /setup, /invite…)
 * survive a reload. Content-hashed files under /assets/ never change, so browsers keep them for a year;
 * everything else is revalidated.
 */
import { Elysia } from 'elysia'
import { posix, resolve } from 'node:path'
import { AppError, notFound } from '../lib/errors.ts'
import type { AuthPlugin } from './auth.plugin.ts'

/** Where the built UI lives: inside the compiled binary's virtual filesystem, or in the checkout's dist/. */
export function defaultPublicDir(): string {
  return import.meta.path.startsWith('/$bunfs/') ? '/$bunfs/root/ui' : resolve(import.meta.dir, '../../dist/ui')
}

const IMMUTABLE = 'public, max-age=31536000, immutable'
/** Judged on the resolved file, not the raw path (`/assets/..%2Findex.html` is the index, not an asset). */
const cacheControlFor = (root: string, file: string) => (file.startsWith(`${root}/assets/`) ? IMMUTABLE : 'no-cache')

// Paths owned by the API and other handlers: a miss there is a 404 problem, never the UI's index page.
const NOT_UI = /^\/(api|webhooks|docs|healthz|readyz|metrics)(\/|$)/

/** Resolves a URL path to a file under `root`, or null if it escapes the root or is malformed. */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return null
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null
  const normalised = posix.normalize(`/${decoded}`)
  if (normalised.split('/').includes('..')) return null
  const full = root + normalised
  return full === root || full.startsWith(`${root}/`) ? full : null
}

export function staticRoutes(auth: AuthPlugin, publicDir = defaultPublicDir()) {
  return new Elysia({ name: 'static' }).use(auth).get(
    '/*',
    async ({ request, set }) => {
      const path = new URL(request.url).pathname
      if (NOT_UI.test(path)) throw notFound('route or resource', '')
      const target = resolveStaticPath(publicDir, path === '/' ? '/index.html' : path)
      if (!target) throw new AppError(400, 'bad_path', 'The requested path is not valid.')
      const file = Bun.file(target)
      if (await file.exists()) {
        set.headers['cache-control'] = cacheControlFor(publicDir, target)
        return file
      }
      // Client-side routes (/inbox, /settings/…) have no extension; files that are missing do.
      if (posix.extname(path) !== '') throw notFound('route or resource', '')
      set.headers['cache-control'] = 'no-cache'
      return Bun.file(`${publicDir}/index.html`)
    },
    { public: true, detail: { hide: true } },
  )
}
