/** Conversations, their messages, contacts and media — the read side of the inbox. */
import { Elysia } from 'elysia'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { listQuery } from '../pagination.ts'
import { page, workspaceParams } from '../workspaces/workspaces.schema.ts'
import {
  contactListQuery,
  contactParams,
  contactView,
  conversationListItemView,
  conversationListQuery,
  conversationParams,
  conversationView,
  messageParams,
  messageView,
  readConversationView,
  updateContactBody,
  updateConversationBody,
} from './messaging.schema.ts'
import * as service from './messaging.service.ts'
import { fileAs } from '../http/responses.ts'

/**
 * RFC 6266: an ASCII fallback name plus the exact UTF-8 name, so Cyrillic or Chinese filenames neither break
 * the header nor get lost.
 */
export function attachmentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename)}`
}

export function messagingRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  return new Elysia({ prefix: '/api/v1/workspaces/:workspaceId', tags: ['conversations'] })
    .use(auth)
    .get('/conversations', ({ tenant, query }) => service.listConversations(deps, tenant, query), {
      permission: 'conversations.read',
      params: workspaceParams,
      query: conversationListQuery,
      response: page(conversationListItemView),
      detail: {
        summary:
          'Conversations, most recent first; filters: q (contact name, username or phone), status, channelId, unread, assignee (id, me, none)',
      },
    })
    .get(
      '/conversations/:conversationId',
      ({ tenant, params }) => service.getConversation(deps, tenant, params.conversationId),
      {
        permission: 'conversations.read',
        params: conversationParams,
        response: conversationView,
        detail: { summary: 'One conversation with its contact' },
      },
    )
    .patch(
      '/conversations/:conversationId',
      ({ tenant, params, body }) => service.updateConversation(deps, tenant, params.conversationId, body),
      {
        permission: 'conversations.assign',
        params: conversationParams,
        body: updateConversationBody,
        response: conversationView,
        detail: { summary: 'Close or reopen a conversation, or assign it to a member (null unassigns)' },
      },
    )
    .get(
      '/conversations/:conversationId/messages',
      ({ tenant, params, query }) =>
        service.listMessages(deps, tenant, params.conversationId, query.cursor, query.limit),
      {
        permission: 'conversations.read',
        params: conversationParams,
        query: listQuery,
        response: page(messageView),
        detail: { summary: 'Messages of a conversation, newest first' },
      },
    )
    .post(
      '/conversations/:conversationId/read',
      ({ tenant, params }) => service.markConversationRead(deps, tenant, params.conversationId),
      {
        permission: 'conversations.reply',
        params: conversationParams,
        response: readConversationView,
        detail: { summary: 'Mark the conversation read (resets its unread count)' },
      },
    )
    .get('/messages/:messageId', ({ tenant, params }) => service.getMessage(deps, tenant, params.messageId), {
      permission: 'conversations.read',
      params: messageParams,
      response: messageView,
      detail: { summary: 'One message, as its conversation lists it (with the message it quotes)' },
    })
    .get(
      '/messages/:messageId/media',
      async ({ tenant, params, set }) => {
        const file = await service.mediaFile(deps, tenant, params.messageId)
        set.headers['content-type'] = file.mime
        set.headers['cache-control'] = 'private, max-age=3600'
        // Always a download, never rendered inline: the bytes come from strangers.
        set.headers['content-disposition'] = attachmentDisposition(file.filename ?? params.messageId)
        return Bun.file(file.path)
      },
      {
        permission: 'conversations.read',
        params: messageParams,
        response: fileAs('application/octet-stream', 'The file as WhatsApp delivered it; its type in Content-Type'),
        detail: { summary: "A message's media file (downloaded from WhatsApp, sha256-checked)" },
      },
    )
    .get('/contacts', ({ tenant, query }) => service.listContacts(deps, tenant, query), {
      permission: 'contacts.read',
      params: workspaceParams,
      query: contactListQuery,
      response: page(contactView),
      detail: { summary: 'Contacts, recently updated first; q searches phone, names and username', tags: ['contacts'] },
    })
    .get('/contacts/:contactId', ({ tenant, params }) => service.getContact(deps, tenant, params.contactId), {
      permission: 'contacts.read',
      params: contactParams,
      response: contactView,
      detail: { summary: 'One contact', tags: ['contacts'] },
    })
    .patch(
      '/contacts/:contactId',
      ({ tenant, params, body }) => service.updateContact(deps, tenant, params.contactId, body),
      {
        permission: 'contacts.write',
        params: contactParams,
        body: updateContactBody,
        response: contactView,
        detail: { summary: 'Update name, labels, notes or the opt-out flag', tags: ['contacts'] },
      },
    )
}
