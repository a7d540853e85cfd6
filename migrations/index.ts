/**
 * The static migration registry compiled into the binary (a compiled binary has no migrations folder to
 * read). Names sort by their ISO date prefix; append new ones, never rename or edit applied ones.
 */
import type { Migration } from 'kysely/migration'
import * as m001 from './2026-11-22_001_instance.ts'
import * as m002 from './2026-11-22_002_identity.ts'
import * as m003 from './2026-11-22_003_channels_inbox.ts'
import * as m004 from './2026-11-22_004_outbox.ts'
import * as m005 from './2026-11-22_005_outbox_by_channel.ts'
import * as m006 from './2026-11-22_006_events.ts'
import * as m007 from './2026-11-22_007_qr_channels.ts'
import * as m008 from './2026-11-22_008_event_indexes.ts'
import * as m009 from './2026-11-22_009_outbox_indexes.ts'
import * as m010 from './2026-12-04_010_channel_pending.ts'
import * as m011 from './2026-12-04_011_master_keys.ts'
import * as m012 from './2026-12-04_012_api_key_creators.ts'
import * as m013 from './2026-12-04_013_intake.ts'
import * as m014 from './2026-12-04_014_provider_detail.ts'
import * as m015 from './2026-12-04_015_qr_sent_messages.ts'

export const migrations: Record<string, Migration> = {
  '2026-11-22_001_instance': m001,
  '2026-11-22_002_identity': m002,
  '2026-11-22_003_channels_inbox': m003,
  '2026-11-22_004_outbox': m004,
  '2026-11-22_005_outbox_by_channel': m005,
  '2026-11-22_006_events': m006,
  '2026-11-22_007_qr_channels': m007,
  '2026-11-22_008_event_indexes': m008,
  '2026-11-22_009_outbox_indexes': m009,
  '2026-12-04_010_channel_pending': m010,
  '2026-12-04_011_master_keys': m011,
  '2026-12-04_012_api_key_creators': m012,
  '2026-12-04_013_intake': m013,
  '2026-12-04_014_provider_detail': m014,
  '2026-12-04_015_qr_sent_messages': m015,
}
