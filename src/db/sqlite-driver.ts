/**
 * better-sqlite3 with its native addon required statically, so `bun build --compile` embeds the addon in the
 * binary. (The package's default entry finds its addon on disk at run time — in the build checkout's
 * node_modules — which a compiled binary on another machine, in a container or under ProtectHome does not have.)
 * The platform entries are the package's own (`better-sqlite3/linux-x64`, …): each requires its prebuild.
 */
import type BetterSqlite3Type from 'better-sqlite3'

type Driver = typeof BetterSqlite3Type

function driverFor(platform: string, arch: string): Driver {
  // One static require per supported target, so the bundler sees (and embeds) each prebuild.
  if (platform === 'linux' && arch === 'x64') return require('better-sqlite3/linux-x64') as Driver
  if (platform === 'linux' && arch === 'arm64') return require('better-sqlite3/linux-arm64') as Driver
  if (platform === 'darwin' && arch === 'arm64') return require('better-sqlite3/darwin-arm64') as Driver
  if (platform === 'darwin' && arch === 'x64') return require('better-sqlite3/darwin-x64') as Driver
  throw new Error(
    `wabox has no SQLite driver for ${platform}-${arch} (supported: linux-x64, linux-arm64, darwin-x64, darwin-arm64)`,
  )
}

export const BetterSqlite3: Driver = driverFor(process.platform, process.arch)
export type Sqlite = BetterSqlite3Type.Database
export type Statement = BetterSqlite3Type.Statement
