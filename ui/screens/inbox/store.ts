/**
 * The inbox's state: the conversation list for the current view (cursor pages), the open thread, the
 * workspace's channels and members — all kept current by the live stream, never by polling. Types come from
 * the API client (Eden), not from hand-written interfaces.
 */
import { batch, computed, signal } from '@preact/signals'
import type { Treaty } from '@elysiajs/eden'
import { ApiError, reasonOf, unwrap, ws } from '../../api/client.ts'
import { onLive, type LiveEvent } from '../../api/live.ts'
import { me } from '../../state/session.ts'
import { unreadTotal } from '../../state/notify.ts'

type Ws = ReturnType<typeof ws>
const conversationsOf = (w: Ws) => w.conversations.get({ query: { limit: 50 } })
export type ConversationPage = Treaty.Data<ReturnType<typeof conversationsOf>>
export type ConversationItem = ConversationPage['items'][number]
const oneConversation = (w: Ws) => w.conversations({ conversationId: '' }).get()
export type ConversationDetail = Treaty.Data<ReturnType<typeof oneConversation>>
const messagesOf = (w: Ws) => w.conversations({ conversationId: '' }).messages.get({ query: { limit: 50 } })
export type Message = Treaty.Data<ReturnType<typeof messagesOf>>['items'][number]
const channelsOf = (w: Ws) => w.channels.get()
export type Channel = Treaty.Data<ReturnType<typeof channelsOf>>['items'][number]
const membersOf = (w: Ws) => w.members.get({ query: { limit: 200 } })
export type Member = Treaty.Data<ReturnType<typeof membersOf>>['items'][number]

export type View = 'mine' | 'unassigned' | 'all' | 'closed'
export const VIEWS: View[] = ['mine', 'unassigned', 'all', 'closed']

/** A message the agent just sent, shown before the server confirms it. */
export type PendingMessage = Message & { pending?: true }

const STATUS_RANK: Record<string, number> = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4, played: 5 }

export function createInbox(wid: string) {
  const api = ws(wid)
  const view = signal<View>((localStorage.getItem('wabox.inbox.view') as View | null) ?? 'all')
  const channelFilter = signal('')
  const query = signal('')
  const list = signal<ConversationItem[]>([])
  const nextCursor = signal<string | null>(null)
  const listState = signal<'loading' | 'ready' | 'more' | 'error'>('loading')
  const listError = signal('')
  const channels = signal<Channel[]>([])
  const members = signal<Member[]>([])

  const openId = signal<string | null>(null)
  const open = signal<ConversationDetail | null>(null)
  const thread = signal<PendingMessage[]>([]) // oldest first
  const olderCursor = signal<string | null>(null)
  const threadState = signal<'idle' | 'loading' | 'ready' | 'older' | 'error'>('idle')
  const threadError = signal('')

  const channelById = computed(() => new Map(channels.value.map((c) => [c.id, c])))
  const memberById = computed(() => new Map(members.value.map((m) => [m.userId, m])))

  /** The list query for the current view and filters. */
  const listQuery = () => {
    const v = view.value
    return {
      limit: 50,
      ...(v === 'closed' ? { status: 'closed' as const } : { status: 'open' as const }),
      ...(v === 'mine' ? { assignee: 'me' } : v === 'unassigned' ? { assignee: 'none' } : {}),
      ...(channelFilter.value ? { channelId: channelFilter.value } : {}),
      ...(query.value.trim() ? { q: query.value.trim() } : {}),
    }
  }

  /** Whether a conversation belongs in the list as it is filtered now (live updates add and remove rows). */
  const belongs = (c: ConversationItem) => {
    const v = view.value
    if (v === 'closed' ? c.status !== 'closed' : c.status !== 'open') return false
    if (v === 'mine' && c.assigneeUserId !== me.value?.id) return false
    if (v === 'unassigned' && c.assigneeUserId !== null) return false
    if (channelFilter.value && c.channelId !== channelFilter.value) return false
    const q = query.value.trim().toLowerCase()
    if (q) {
      const contact = c.contact as { displayName?: string | null; waId?: string | null; phone?: string | null; username?: string | null }
      const hay = [contact.displayName, contact.waId, contact.phone, contact.username].filter(Boolean).join(' ').toLowerCase()
      if (!hay.includes(q.replace(/^\+/, ''))) return false
    }
    return true
  }

  const recount = () => {
    const mine = me.value?.id
    unreadTotal.value = list.value.filter((c) => c.unreadCount > 0 && c.status === 'open' && (c.assigneeUserId === null || c.assigneeUserId === mine)).length
  }

  let listGeneration = 0
  async function loadList(): Promise<void> {
    const generation = ++listGeneration
    listState.value = 'loading'
    try {
      const page = await unwrap(api.conversations.get({ query: listQuery() }))
      if (generation !== listGeneration) return
      batch(() => {
        list.value = page.items
        nextCursor.value = page.nextCursor
        listState.value = 'ready'
      })
      recount()
    } catch (err) {
      if (generation !== listGeneration) return
      listError.value = reasonOf(err)
      listState.value = 'error'
    }
  }

  async function loadMore(): Promise<void> {
    const cursor = nextCursor.value
    if (!cursor || listState.value !== 'ready') return
    const generation = listGeneration
    listState.value = 'more'
    try {
      const page = await unwrap(api.conversations.get({ query: { ...listQuery(), cursor } }))
      if (generation !== listGeneration) return
      const seen = new Set(list.value.map((c) => c.id))
      batch(() => {
        list.value = [...list.value, ...page.items.filter((c) => !seen.has(c.id))]
        nextCursor.value = page.nextCursor
        listState.value = 'ready'
      })
    } catch (err) {
      listError.value = reasonOf(err)
      listState.value = 'ready'
    }
  }

  const upsert = (c: ConversationItem) => {
    const rest = list.value.filter((x) => x.id !== c.id)
    if (!belongs(c)) {
      if (rest.length !== list.value.length) list.value = rest
      return
    }
    // Most recent first; a row older than the last loaded one waits for its page.
    const at = c.lastMessageAt ?? ''
    const index = rest.findIndex((x) => (x.lastMessageAt ?? '') < at || ((x.lastMessageAt ?? '') === at && x.id < c.id))
    if (index === -1 && nextCursor.value && rest.length > 0) {
      list.value = rest
      return
    }
    list.value = index === -1 ? [...rest, c] : [...rest.slice(0, index), c, ...rest.slice(index)]
  }

  // Live updates for one conversation arrive in bursts (message, then status, then…): fetch it once per burst.
  const dirty = new Set<string>()
  let flushTimer: ReturnType<typeof setTimeout> | null = null
  const refreshConversation = (id: string) => {
    dirty.add(id)
    flushTimer ??= setTimeout(flush, 30)
  }
  async function flush() {
    flushTimer = null
    const ids = [...dirty]
    dirty.clear()
    await Promise.all(
      ids.map(async (id) => {
        try {
          const detail = await unwrap(api.conversations({ conversationId: id }).get())
          upsert(detail as unknown as ConversationItem)
          if (openId.value === id) open.value = detail
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) list.value = list.value.filter((x) => x.id !== id)
        }
      }),
    )
    recount()
  }

  async function loadMeta(): Promise<void> {
    const [chs, mem] = await Promise.allSettled([unwrap(api.channels.get()), unwrap(api.members.get({ query: { limit: 200 } }))])
    if (chs.status === 'fulfilled') channels.value = chs.value.items
    if (mem.status === 'fulfilled') members.value = mem.value.items
  }

  let threadGeneration = 0
  async function openConversation(id: string | null): Promise<void> {
    const generation = ++threadGeneration
    openId.value = id
    if (!id) {
      batch(() => {
        open.value = null
        thread.value = []
        threadState.value = 'idle'
      })
      return
    }
    threadState.value = 'loading'
    try {
      const [detail, page] = await Promise.all([unwrap(api.conversations({ conversationId: id }).get()), unwrap(api.conversations({ conversationId: id }).messages.get({ query: { limit: 50 } }))])
      if (generation !== threadGeneration) return
      batch(() => {
        open.value = detail
        thread.value = [...page.items].reverse()
        olderCursor.value = page.nextCursor
        threadState.value = 'ready'
      })
    } catch (err) {
      if (generation !== threadGeneration) return
      threadError.value = reasonOf(err)
      threadState.value = 'error'
    }
  }

  async function loadOlder(): Promise<void> {
    const id = openId.value
    const cursor = olderCursor.value
    if (!id || !cursor || threadState.value !== 'ready') return
    const generation = threadGeneration
    threadState.value = 'older'
    try {
      const page = await unwrap(api.conversations({ conversationId: id }).messages.get({ query: { limit: 50, cursor } }))
      if (generation !== threadGeneration) return
      const seen = new Set(thread.value.map((m) => m.id))
      batch(() => {
        thread.value = [...page.items.filter((m) => !seen.has(m.id)).reverse(), ...thread.value]
        olderCursor.value = page.nextCursor
        threadState.value = 'ready'
      })
    } catch (err) {
      threadError.value = reasonOf(err)
      threadState.value = 'ready'
    }
  }

  /** Puts a message into the open thread in time order, replacing an earlier copy of it. */
  const placeMessage = (incoming: PendingMessage) => {
    // A copy fetched earlier may carry an older status than a live event already applied: keep the newer one.
    const existing = thread.value.find((x) => x.id === incoming.id)
    const m = existing && existing.status !== 'failed' && incoming.status !== 'failed' && (STATUS_RANK[existing.status ?? ''] ?? -1) > (STATUS_RANK[incoming.status ?? ''] ?? -1) ? { ...incoming, status: existing.status, statusAt: existing.statusAt } : incoming
    const rest = thread.value.filter((x) => x.id !== m.id)
    const index = rest.findIndex((x) => !x.pending && x.sentAt > m.sentAt)
    thread.value = index === -1 ? [...rest, m] : [...rest.slice(0, index), m, ...rest.slice(index)]
  }

  async function fetchIntoThread(messageId: string, conversationId: string): Promise<void> {
    if (openId.value !== conversationId) return
    try {
      const m = await unwrap(api.messages({ messageId }).get())
      if (openId.value === conversationId) placeMessage(m)
    } catch {
      // Gone or not visible: the next page load shows the truth.
    }
  }

  const patchMessage = (id: string, patch: Partial<Message>) => {
    let changed = false
    const next = thread.value.map((m) => {
      if (m.id !== id) return m
      if (patch.status && m.status && patch.status !== 'failed' && (STATUS_RANK[patch.status] ?? 0) < (STATUS_RANK[m.status] ?? 0)) return m
      changed = true
      return { ...m, ...patch }
    })
    if (changed) thread.value = next
    return changed
  }

  function onEvent(e: LiveEvent): void {
    switch (e.type) {
      case 'message.received':
        refreshConversation(e.data.conversationId)
        void fetchIntoThread(e.data.messageId, e.data.conversationId)
        break
      case 'message.sent':
        refreshConversation(e.data.conversationId)
        if (!patchMessage(e.data.messageId, { status: 'sent', wamid: e.data.wamid, statusAt: e.data.at })) void fetchIntoThread(e.data.messageId, e.data.conversationId)
        break
      case 'message.status':
        if (!patchMessage(e.data.messageId, { status: e.data.status, statusAt: e.data.at })) void fetchIntoThread(e.data.messageId, e.data.conversationId)
        break
      case 'message.failed':
        patchMessage(e.data.messageId, { status: 'failed', error: { code: e.data.error.code, title: e.data.error.title, details: null } })
        refreshConversation(e.data.conversationId)
        break
      case 'conversation.created':
      case 'conversation.updated':
        refreshConversation(e.data.conversationId)
        break
      case 'contact.updated': {
        const conversation = open.value
        if (conversation && conversation.contact.id === e.data.contactId) refreshConversation(conversation.id)
        for (const c of list.value) if (c.contact.id === e.data.contactId) refreshConversation(c.id)
        break
      }
      case 'channel.status':
        void loadMeta()
        break
    }
  }

  const stop = onLive(onEvent)

  return {
    wid,
    api,
    view,
    channelFilter,
    query,
    list,
    nextCursor,
    listState,
    listError,
    channels,
    members,
    channelById,
    memberById,
    openId,
    open,
    thread,
    olderCursor,
    threadState,
    threadError,
    loadList,
    loadMore,
    loadMeta,
    openConversation,
    loadOlder,
    placeMessage,
    patchMessage,
    refreshConversation,
    removeMessage: (id: string) => {
      thread.value = thread.value.filter((m) => m.id !== id)
    },
    setOpen: (detail: ConversationDetail) => {
      open.value = detail
      upsert(detail as unknown as ConversationItem)
      recount()
    },
    dispose: () => {
      stop()
      if (flushTimer) clearTimeout(flushTimer)
      unreadTotal.value = 0
    },
  }
}

export type InboxStore = ReturnType<typeof createInbox>
