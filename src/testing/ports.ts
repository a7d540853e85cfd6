/**
 * A loopback port that was free a moment ago, for a process that must be told its port before it starts (the
 * compiled binary). Test files run in parallel, so another may take it first: callers that can, retry.
 */
export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}
