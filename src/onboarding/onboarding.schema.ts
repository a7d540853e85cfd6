import { z } from 'zod'
import { userView } from '../auth/auth.schema.ts'
import { workspaceView } from '../workspaces/workspaces.schema.ts'

/** What completing the setup answers (the session cookie is set beside it). */
export const setupView = z.object({
  user: userView.describe('The instance operator just created (isOperator is true)'),
  workspace: workspaceView.describe('The first workspace; the operator is its Owner'),
})
