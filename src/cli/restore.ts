/** `wabox --restore FILE [--key-file K]`: verifies, restores, prints what it did. */
import type { Config } from '../config.ts'
import { restoreBackup } from '../db/backup.ts'

export async function restoreCommand(
  config: Config,
  file: string,
  explicitKeyFile: string | undefined,
  out: (line: string) => void,
): Promise<void> {
  // Restored files are created 0600 anyway; nothing this command creates is for anyone else.
  process.umask(0o077)
  const r = await restoreBackup({
    dataDir: config.dataDir,
    file,
    explicitKeyFile,
    keyFile: config.keyFile,
    envKey: config.masterKey,
    progress: (l) => out(`restore: ${l}`),
  })
  out(
    `restore complete: ${r.dataDir} now holds schema ${r.schemaVersion} (${r.databaseBytes} bytes, ${r.mediaFiles} media files)` +
      (r.movedAsideTo ? `; previous data kept in ${r.movedAsideTo}` : '; the data directory was empty') +
      (r.keyInstalled ? '; master key installed' : ''),
  )
}
