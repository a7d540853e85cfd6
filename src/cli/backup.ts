/** `wabox --backup FILE`: prints progress and a one-line summary; exits non-zero on any problem. */
import type { Config } from '../config.ts'
import { createBackup } from '../db/backup.ts'

export async function backupCommand(config: Config, file: string, out: (line: string) => void): Promise<void> {
  // The archive and its temporary files hold the whole database: for this user only (they are also created 0600).
  process.umask(0o077)
  const r = await createBackup({
    dataDir: config.dataDir,
    keyFile: config.keyFile,
    envKey: config.masterKey,
    file,
    progress: (l) => out(`backup: ${l}`),
  })
  out(
    `backup complete: ${r.file} (${r.archiveBytes} bytes, database ${r.databaseBytes} bytes, ${r.mediaFiles} media files ${r.mediaBytes} bytes, ` +
      `schema ${r.schemaVersion}, key ${r.keyFingerprint.slice(0, 12)}) in ${r.durationMs} ms`,
  )
}
