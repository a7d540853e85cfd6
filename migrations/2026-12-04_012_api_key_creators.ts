// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

// An API key answers for the person who made it: `created_by_user_id` is that member (for a key minted with
// another key, the member behind that key). Removing a member, or demoting them to a role that cannot do what the
// key's role does, revokes their keys in the same transaction (members service).
//
// Keys whose person has already gone (removed, or demoted below the key's role, before this rule existed) are
// revoked here, each with an `apikey.revoked` audit row: until now they kept working after their maker lost access.
export async function up(db: Kysely<any>): Promise<void> {
  // One transaction for the column, the back-fill and the index (SQLite DDL is transactional): a failure leaves
  // nothing half-done for the next start to trip over.
  await db.transaction().execute(async (trx) => {
    await trx.schema.alterTable('api_keys').addColumn('created_by_user_id', 'text').execute()
    await sql`UPDATE api_keys SET created_by_user_id = created_by WHERE created_by IN (SELECT id FROM users)`.execute(
      trx,
    )
    // Keys made by keys: follow the chain to its person, one link per round.
    for (let round = 0; round < 100; round++) {
      const r = await sql`
        UPDATE api_keys SET created_by_user_id = (SELECT p.created_by_user_id FROM api_keys p WHERE p.id = api_keys.created_by)
        WHERE created_by_user_id IS NULL
          AND (SELECT p.created_by_user_id FROM api_keys p WHERE p.id = api_keys.created_by) IS NOT NULL`.execute(trx)
      if (Number(r.numAffectedRows ?? 0) === 0) break
    }
    // Owners and Admins may hold keys of every key role; an Agent or Analyst only keys of their own role.
    const orphaned = sql`
      revoked_at IS NULL AND created_by_user_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM memberships m
        WHERE m.workspace_id = api_keys.workspace_id AND m.user_id = api_keys.created_by_user_id
          AND (m.role IN ('owner', 'admin') OR m.role = api_keys.role))`
    const at = new Date().toISOString()
    await sql`
      INSERT INTO audit_log (workspace_id, created_at, action, actor_type, actor_id, actor_label, target_type, target_id, metadata)
      SELECT workspace_id, ${at}, 'apikey.revoked', 'system', NULL, 'migration 2026-12-04_012_api_key_creators', 'api_key', id,
             json_object('name', name, 'prefix', prefix, 'reason', 'creator_lost_access', 'createdByUserId', created_by_user_id)
      FROM api_keys WHERE ${orphaned}`.execute(trx)
    await sql`UPDATE api_keys SET revoked_at = ${at} WHERE ${orphaned}`.execute(trx)
    await trx.schema
      .createIndex('api_keys_creator')
      .on('api_keys')
      .columns(['workspace_id', 'created_by_user_id'])
      .execute()
  })
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('api_keys_creator').execute()
  await db.schema.alterTable('api_keys').dropColumn('created_by_user_id').execute()
}
