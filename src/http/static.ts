/**
 * Serves the admin UI from `public/`: from the binary itself when compiled (`--asset public`), from the
 * repository otherwise. Paths are decoded, normalised and confined to the public root; unknown paths without
 * a file extension get index.html so client-side routes survive a reload.
 */
import { Elysia } from 'elysia'
import { posix, resolve } from 'node:path'
import { AppError } from './errors.ts'
import type { AuthPlugin } from './auth.plugin.ts'

/** Where `public/` lives: inside the compiled binary's virtual filesystem, or beside `src/` in a checkout. */
export function defaultPublicDir(): string {
  return import.meta.path.startsWith('/$bunfs/') ? '/$bunfs/root/public' : resolve(import.meta.dir, '../../public')
}

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
  const normalised = posix.normalize('/' + decoded)
  if (normalised.split('/').includes('..')) return null
  const full = root + normalised
  return full === root || full.startsWith(root + '/') ? full : null
}

export function staticRoutes(auth: AuthPlugin, publicDir = defaultPublicDir()) {
  const notFound = () => new AppError(404, 'not_found', 'No such route or resource.')
  return new Elysia({ name: 'static' }).use(auth).get(
    '/*',
    async ({ request, set }) => {
      const path = new URL(request.url).pathname
      if (NOT_UI.test(path)) throw notFound()
      const target = resolveStaticPath(publicDir, path === '/' ? '/index.html' : path)
      if (!target) throw new AppError(400, 'bad_path', 'The requested path is not valid.')
      const file = Bun.file(target)
      if (await file.exists()) {
        set.headers['cache-control'] = target.endsWith('.html') ? 'no-cache' : 'public, max-age=3600'
        return file
      }
      // Client-side routes (/inbox, /settings/…) have no extension; files that are missing do.
      if (posix.extname(path) !== '') throw notFound()
      // Clean URLs for the standalone pages: /setup → setup.html.
      const page = Bun.file(target + '.html')
      if (await page.exists()) {
        set.headers['cache-control'] = 'no-cache'
        return page
      }
      set.headers['cache-control'] = 'no-cache'
      return Bun.file(publicDir + '/index.html')
    },
    { public: true, detail: { hide: true } },
  )
}
