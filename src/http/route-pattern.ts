/**
 * Which route pattern a request is for, when Elysia has not routed it (the request failed before routing: a body
 * over the limit is refused in onRequest). The request log and the metrics name route patterns, never raw paths:
 * paths carry ids (and would make every request its own metric series).
 */
type Route = { method: string; path: string }
type Compiled = { method: string; pattern: string; regex: RegExp; rank: number }

const escapeRegExp = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')

function compile(route: Route): Compiled {
  const segments = route.path.split('/')
  let staticSegments = 0
  const source = segments
    .map((segment) => {
      if (segment === '*') return '.*'
      if (segment.startsWith(':')) return '[^/]+'
      staticSegments++
      return escapeRegExp(segment)
    })
    .join('/')
  // Elysia prefers static routes, then parameters, then wildcards; more literal segments win among the others.
  const wildcard = route.path.endsWith('*')
  return {
    method: route.method,
    pattern: route.path,
    regex: new RegExp(`^${source}/?$`),
    rank: (wildcard ? 0 : 1_000) + staticSegments,
  }
}

/** Finds the pattern of the app's routes that `method path` would be routed to; rebuilt when routes are added. */
export function routeMatcher(routes: () => readonly Route[]): (method: string, path: string) => string | undefined {
  let built: { count: number; exact: Map<string, string>; dynamic: Compiled[] } | undefined
  const build = () => {
    const all = routes()
    if (built?.count === all.length) return built
    const exact = new Map<string, string>()
    const dynamic: Compiled[] = []
    for (const r of all) {
      if (!r.path.includes(':') && !r.path.includes('*')) exact.set(`${r.method} ${r.path}`, r.path)
      else dynamic.push(compile(r))
    }
    dynamic.sort((a, b) => b.rank - a.rank)
    built = { count: all.length, exact, dynamic }
    return built
  }
  return (method, path) => {
    const { exact, dynamic } = build()
    const methods = method === 'HEAD' ? ['HEAD', 'GET', 'ALL'] : [method, 'ALL']
    for (const m of methods) {
      const hit = exact.get(`${m} ${path}`) ?? exact.get(`${m} ${path.replace(/\/$/, '')}`)
      if (hit) return hit
    }
    return dynamic.find((r) => methods.includes(r.method) && r.regex.test(path))?.pattern
  }
}
