/**
 * `wabox apikey create --workspace W --role R [--name N]`: a workspace's first API key without the web UI. The
 * same service as `POST /api/v1/workspaces/:id/api-keys` creates it (plan, quota and audit included; the audit
 * names the CLI as the actor). The token alone goes to standard output, once — `KEY=$(wabox apikey create …)`
 * works; what it is goes to standard error.
 */
import type { Config } from '../config.ts'
import { ConfigError } from '../config.ts'
import { systemCaller } from '../auth/principal.ts'
import { API_KEY_ROLES } from '../auth/permissions.ts'
import { createApiKey } from '../auth/apikeys.service.ts'
import { createApiKeyBody } from '../workspaces/workspaces.schema.ts'
import { findWorkspace } from '../workspaces/workspaces.repo.ts'
import { requireFeature } from '../workspaces/plans.ts'
import { withServices } from './operator.ts'

export async function apikeyCreate(
  config: Config,
  args: { workspace: string; role: string; keyName: string },
  out: (line: string) => void,
): Promise<void> {
  if (args.role === 'owner')
    throw new ConfigError(`invalid --role: API keys never carry the Owner role; use ${API_KEY_ROLES.join(', ')}`)
  const input = createApiKeyBody.safeParse({ name: args.keyName, role: args.role })
  if (!input.success) {
    const issue = input.error.issues[0]
    throw new ConfigError(`invalid --${issue?.path[0] === 'name' ? 'name' : 'role'}: ${issue?.message ?? 'invalid'}`)
  }
  await withServices(config, async (deps) => {
    const workspace = await findWorkspace(deps.db, args.workspace)
    if (!workspace)
      throw new ConfigError(
        `invalid --workspace: no workspace ${JSON.stringify(args.workspace)} in ${config.dataDir} (workspace ids look like ws_…; \`wabox operator create\` prints the first one)`,
      )
    // The plan rule the API route applies (PlanGuard): API access must be in the workspace's plan.
    requireFeature(config.plans, workspace.plan, 'apiAccess')
    const caller = systemCaller('cli: apikey create')
    const key = await createApiKey(deps, { caller, workspace, role: 'owner' }, input.data)
    out(key.token)
    process.stderr.write(
      `wabox: API key ${key.id} "${key.name}" (${key.role}) created in workspace ${workspace.id}; the token above is shown once — send it as Authorization: Bearer\n`,
    )
  })
}
