/** The one send API (conversations.reply): validated, queued durably, answered 202. */
import { Elysia } from 'elysia'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import { sendMessageBody } from '../channels/send-input.ts'
import { idempotencyHeader, queuedMessageView } from './send.schema.ts'
import { sendMessage } from './send.service.ts'
import type { OutboxSender } from './sender.ts'

export function sendRoutes(deps: ServiceDeps, auth: AuthPlugin, sender: OutboxSender) {
  return new Elysia({ prefix: '/api/v1/workspaces/:workspaceId', tags: ['sending'] }).use(auth).post(
    '/messages',
    async ({ tenant, body, headers, set }) => {
      const result = await sendMessage(deps, tenant, body, headers['idempotency-key'])
      sender.wakeForNewWork()
      set.status = result.status
      return result.body
    },
    {
      permission: 'conversations.reply',
      params: workspaceParams,
      headers: idempotencyHeader,
      body: sendMessageBody,
      response: { 202: queuedMessageView },
      detail: {
        summary:
          'Send a message (text, template, image/video/audio/document/sticker by media id or link, location, interactive buttons or list, reaction, reply). Answers 202 once queued; an Idempotency-Key replays the first answer.',
      },
    },
  )
}
