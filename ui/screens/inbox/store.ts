/**
 * The inbox's state: the conversation list for the current view (cursor pages), the open thread, the
 * workspace's channels and members — all kept current by the live stream, never by polling. Types come from
 * the API client (Eden), not from hand-written interfaces.
 *
 * Live events and fetches race: every fetch carries a generation (a newer fetch or a disposed store makes an
 * older answer void), events that arrive while a page is loading are replayed once it has landed, and a status
 * never moves backwards.
 */
import { batch, computed, signal } from '@preact/signals'
import type { Treaty } from '@elysiajs/eden'
import { ApiError, reasonOf, unwrap, ws } from '../../api/client.ts'
import { onLive, onResync, type LiveEvent } from '../../api/live.ts'
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
type ReceivedEvent = Extract<LiveEvent, { type: 'message.received' }>

export type View = 'mine' | 'unassigned' | 'all' | 'closed'
export const VIEWS: View[] = ['mine', 'unassigned', 'all', 'closed']

/** A message the agent just sent, shown before the server confirms it. */
export type PendingMessage = Message & { pending?: true }

/** How far along a message's delivery is; a live event never moves it back. */
const STATUS_RANK: Record<string, number> = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4, played: 5 }
const isNewer = (next: string | null, current: string | null) =>
  next === 'failed' || current === 'failed' || (STATUS_RANK[next ?? ''] ?? -1) >= (STATUS_RANK[current ?? ''] ?? -1)

/** A detail answer fits the list item shape (the list's contact is a subset of the detail's). */
const asItem = (d: ConversationDetail): ConversationItem => d

export function createInbox(
  wid: string,
  hooks: { onReceived?: (conversation: ConversationDetail, event: ReceivedEvent) => void } = {},
) {
  const api = ws(wid)
  let disposed = false
  const view = signal<View>((localStorage.getItem('wabox.inbox.view') as View | null) ?? 'all')
  const channelFilter = signal('')
  const query = signal('')
  const list = signal<ConversationItem[]>([])
  const nextCursor = signal<string | null>(null)
  const listState = signal<'loading' | 'ready' | 'more' | 'error'>('loading')
  const listError = signal('')
  /** A next page failed: no more automatic loading until the agent asks (no request loop when offline). */
  const moreFailed = signal('')
  const channels = signal<Channel[]>([])
  const members = signal<Member[]>([])

  const openId = signal<string | null>(null)
  const open = signal<ConversationDetail | null>(null)
  const thread = signal<PendingMessage[]>([]) // oldest first
  const olderCursor = signal<string | null>(null)
  const threadState = signal<'idle' | 'loading' | 'ready' | 'older' | 'error'>('idle')
  const threadError = signal<ApiError | null>(null)

  const channelById = computed(() => new Map(channels.value.map((c) => [c.id, c])))
  const memberById = computed(() => new Map(members.value.map((m) => [m.userId, m])))

  /** The list query for the current view and filters (read once per request: typing cannot change a page's query). */
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

  /**
   * Whether a conversation belongs in the list as it is filtered now (live updates add and remove rows). A search
   * is the server's to judge: while one is active, rows already listed are updated in place, none added.
   */
  const belongs = (c: ConversationItem, listed: boolean) => {
    const v = view.value
    if (v === 'closed' ? c.status !== 'closed' : c.status !== 'open') return false
    if (v === 'mine' && c.assigneeUserId !== me.value?.id) return false
    if (v === 'unassigned' && c.assigneeUserId !== null) return false
    if (channelFilter.value && c.channelId !== channelFilter.value) return false
    if (shownQuery.q) return listed
    return true
  }

  // The tab title counts unread conversations that are mine or nobody's, across the whole workspace: asked of the
  // server (two filtered lists) after changes, at most twice a second, never on a timer.
  let countTimer: ReturnType<typeof setTimeout> | null = null
  const recount = () => {
    countTimer ??= setTimeout(async () => {
      countTimer = null
      const count = (assignee: string) =>
        unwrap(api.conversations.get({ query: { status: 'open', unread: true, assignee, limit: 100 } })).then(
          (p) => p.items.length,
        )
      try {
        const [mine, nobody] = await Promise.all([count('me'), count('none')])
        if (!disposed) unreadTotal.value = mine + nobody
      } catch {
        // keep the last count
      }
    }, 500)
  }

  let listGeneration = 0
  /** The query of the list on screen: next pages continue it even while the agent is typing a new search. */
  let shownQuery = listQuery()
  /** Conversations touched by events while a list page was loading: fetched again once it has landed. */
  const touchedWhileLoading = new Set<string>()

  async function loadList(): Promise<void> {
    const generation = ++listGeneration
    const wanted = listQuery()
    listState.value = 'loading'
    moreFailed.value = ''
    try {
      const page = await unwrap(api.conversations.get({ query: wanted }))
      if (disposed || generation !== listGeneration) return
      shownQuery = wanted
      batch(() => {
        list.value = page.items
        nextCursor.value = page.nextCursor
        listState.value = 'ready'
      })
      for (const id of touchedWhileLoading) refreshConversation(id)
      touchedWhileLoading.clear()
      recount()
    } catch (err) {
      if (disposed || generation !== listGeneration) return
      listError.value = reasonOf(err)
      listState.value = 'error'
    }
  }

  async function loadMore(manual = false): Promise<void> {
    const cursor = nextCursor.value
    if (!cursor || listState.value !== 'ready' || (moreFailed.value && !manual)) return
    const generation = listGeneration
    listState.value = 'more'
    moreFailed.value = ''
    try {
      const page = await unwrap(api.conversations.get({ query: { ...shownQuery, cursor } }))
      if (disposed || generation !== listGeneration) return
      const seen = new Set(list.value.map((c) => c.id))
      batch(() => {
        list.value = [...list.value, ...page.items.filter((c) => !seen.has(c.id))]
        nextCursor.value = page.nextCursor
        listState.value = 'ready'
      })
    } catch (err) {
      if (disposed || generation !== listGeneration) return
      batch(() => {
        moreFailed.value = reasonOf(err)
        listState.value = 'ready'
      })
    }
  }

  const upsert = (c: ConversationItem) => {
    const listed = list.value.some((x) => x.id === c.id)
    const rest = list.value.filter((x) => x.id !== c.id)
    if (!belongs(c, listed)) {
      if (listed) list.value = rest
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
  const received = new Map<string, ReceivedEvent>()
  /** Per conversation, the newest detail request: an older answer that lands later is dropped. */
  const detailRequest = new Map<string, number>()
  let detailSeq = 0
  let flushTimer: ReturnType<typeof setTimeout> | null = null
  function refreshConversation(id: string) {
    if (listState.value === 'loading') touchedWhileLoading.add(id)
    dirty.add(id)
    flushTimer ??= setTimeout(flush, 30)
  }
  async function flush() {
    flushTimer = null
    const ids = [...dirty]
    dirty.clear()
    await Promise.all(
      ids.map(async (id) => {
        const mine = ++detailSeq
        detailRequest.set(id, mine)
        const event = received.get(id)
        received.delete(id)
        try {
          const detail = await unwrap(api.conversations({ conversationId: id }).get())
          if (disposed || detailRequest.get(id) !== mine) return
          upsert(asItem(detail))
          if (openId.value === id) open.value = detail
          if (event) hooks.onReceived?.(detail, event)
        } catch (err) {
          if (!disposed && err instanceof ApiError && err.status === 404)
            list.value = list.value.filter((x) => x.id !== id)
        }
      }),
    )
    if (!disposed) recount()
  }

  async function loadMeta(): Promise<void> {
    const [chs, mem] = await Promise.allSettled([
      unwrap(api.channels.get()),
      unwrap(api.members.get({ query: { limit: 200 } })),
    ])
    if (disposed) return
    if (chs.status === 'fulfilled') channels.value = chs.value.items
    if (mem.status === 'fulfilled') members.value = mem.value.items
  }

  let threadGeneration = 0
  /** Messages announced while the open thread's first page was loading: fetched once it has landed. */
  const announcedWhileLoading = new Set<string>()

  async function openConversation(id: string | null): Promise<void> {
    const generation = ++threadGeneration
    announcedWhileLoading.clear()
    batch(() => {
      openId.value = id
      open.value = null
      thread.value = []
      olderCursor.value = null
      threadState.value = id ? 'loading' : 'idle'
    })
    if (!id) return
    try {
      const [detail, page] = await Promise.all([
        unwrap(api.conversations({ conversationId: id }).get()),
        unwrap(api.conversations({ conversationId: id }).messages.get({ query: { limit: 50 } })),
      ])
      if (disposed || generation !== threadGeneration) return
      batch(() => {
        open.value = detail
        thread.value = [...page.items].reverse()
        olderCursor.value = page.nextCursor
        threadState.value = 'ready'
      })
      for (const messageId of announcedWhileLoading) void fetchIntoThread(messageId, id)
      announcedWhileLoading.clear()
    } catch (err) {
      if (disposed || generation !== threadGeneration) return
      threadError.value = err instanceof ApiError ? err : new ApiError(0, { status: 0, detail: reasonOf(err) })
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
      const page = await unwrap(
        api.conversations({ conversationId: id }).messages.get({ query: { limit: 50, cursor } }),
      )
      if (disposed || generation !== threadGeneration) return
      const seen = new Set(thread.value.map((m) => m.id))
      batch(() => {
        thread.value = [...page.items.filter((m) => !seen.has(m.id)).reverse(), ...thread.value]
        olderCursor.value = page.nextCursor
        threadState.value = 'ready'
      })
    } catch {
      if (disposed || generation !== threadGeneration) return
      threadState.value = 'ready'
    }
  }

  /**
   * Puts a message into the open thread in time order, replacing an earlier copy of it (a copy fetched earlier may
   * carry an older status than a live event already applied: the newer one stays). Messages of another
   * conversation are ignored — an answer that lands after the agent moved on must not show in the wrong thread.
   */
  const placeMessage = (incoming: PendingMessage) => {
    if (incoming.conversationId !== openId.value) return
    const existing = thread.value.find((x) => x.id === incoming.id)
    const m =
      existing && !isNewer(incoming.status, existing.status)
        ? { ...incoming, status: existing.status, statusAt: existing.statusAt }
        : incoming
    const rest = thread.value.filter((x) => x.id !== m.id)
    const index = rest.findIndex((x) => !x.pending && x.sentAt > m.sentAt)
    thread.value = index === -1 ? [...rest, m] : [...rest.slice(0, index), m, ...rest.slice(index)]
  }

  async function fetchIntoThread(messageId: string, conversationId: string): Promise<void> {
    if (openId.value !== conversationId) return
    if (threadState.value === 'loading') {
      announcedWhileLoading.add(messageId)
      return
    }
    try {
      const m = await unwrap(api.messages({ messageId }).get())
      if (!disposed) placeMessage(m)
    } catch {
      // Gone or not visible: the next page load shows the truth.
    }
  }

  /** Applies a change to a message of the open thread; false when it is not there (yet). */
  const patchMessage = (id: string, patch: Partial<Message>) => {
    let changed = false
    const next = thread.value.map((m) => {
      if (m.id !== id) return m
      if (patch.status !== undefined && !isNewer(patch.status, m.status)) return m
      changed = true
      return { ...m, ...patch }
    })
    if (changed) thread.value = next
    return changed || thread.value.some((m) => m.id === id)
  }

  function onEvent(e: LiveEvent): void {
    switch (e.type) {
      case 'message.received':
        received.set(e.data.conversationId, e)
        refreshConversation(e.data.conversationId)
        void fetchIntoThread(e.data.messageId, e.data.conversationId)
        break
      case 'message.sent':
        refreshConversation(e.data.conversationId)
        if (!patchMessage(e.data.messageId, { status: 'sent', wamid: e.data.wamid, statusAt: e.data.at }))
          void fetchIntoThread(e.data.messageId, e.data.conversationId)
        break
      case 'message.status':
        if (!patchMessage(e.data.messageId, { status: e.data.status, statusAt: e.data.at }))
          void fetchIntoThread(e.data.messageId, e.data.conversationId)
        break
      case 'message.failed':
        // The event names the code and title; Meta's details come with the message itself.
        void fetchIntoThread(e.data.messageId, e.data.conversationId)
        patchMessage(e.data.messageId, { status: 'failed' })
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
      case 'channel.connection':
        void loadMeta()
        break
    }
  }

  const stopLive = onLive(onEvent)
  // The stream started over without replaying what happened in between: reload what is on screen.
  const stopResync = onResync(() => {
    if (listState.value !== 'loading') void loadList()
    if (openId.value && threadState.value !== 'loading') void openConversation(openId.value)
  })

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
    moreFailed,
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
    /** The optimistic copy of a sent message becomes the real one in place (no flicker, no second bubble). */
    confirmPending: (tempId: string, real: { id: string; status: string }) => {
      const copy = thread.value.find((m) => m.id === real.id)
      thread.value = copy
        ? thread.value.filter((m) => m.id !== tempId)
        : thread.value.map((m) =>
            m.id === tempId ? { ...m, id: real.id, status: real.status as Message['status'], pending: undefined } : m,
          )
    },
    removeMessage: (id: string) => {
      thread.value = thread.value.filter((m) => m.id !== id)
    },
    setOpen: (detail: ConversationDetail) => {
      if (detail.id === openId.value) open.value = detail
      upsert(asItem(detail))
      recount()
    },
    dispose: () => {
      disposed = true
      stopLive()
      stopResync()
      if (flushTimer) clearTimeout(flushTimer)
      if (countTimer) clearTimeout(countTimer)
      unreadTotal.value = 0
    },
  }
}

export type InboxStore = ReturnType<typeof createInbox>
