/** What services need from the outside world: the database, the clock, the configuration, the key. */
import type { Config } from './config.ts'
import type { Clock } from './clock.ts'
import type { Db } from './db/client.ts'
import type { Keyring } from './crypto/envelope.ts'
import type { Logger } from './log.ts'

export type ServiceDeps = {
  db: Db
  clock: Clock
  config: Config
  logger: Logger
  keyring: Keyring | undefined
}
