/** The open conversation: header with actions, the messages (day separators, older pages on scroll), composer. */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { ArrowLeft, CheckCheck, PanelRight, UserCheck } from 'lucide-preact'
import { reasonOf, unwrap } from '../../api/client.ts'
import { fill, format, messages } from '../../i18n/index.ts'
import { can, me } from '../../state/session.ts'
import { Alert, Loading, LoadError } from '../../components/ui.tsx'
import { NotFound } from '../errors/ErrorPages.tsx'
import { MessageBubble } from './MessageBubble.tsx'
import { Composer } from './Composer.tsx'
import { ContactPanel } from './ContactPanel.tsx'
import type { InboxStore, PendingMessage } from './store.ts'

const t = messages.thread

export function Thread({
  store,
  onClose,
  showContact,
  toggleContact,
}: {
  store: InboxStore
  onClose: () => void
  showContact: boolean
  toggleContact: () => void
}) {
  const logRef = useRef<HTMLDivElement>(null)
  const stickToBottom = useRef(true)
  const anchor = useRef<{ height: number; top: number } | null>(null)
  const [replyTo, setReplyTo] = useState<PendingMessage | null>(null)
  const [actionError, setActionError] = useState('')
  const [busy, setBusy] = useState(false)
  const conversation = store.open.value
  const items = store.thread.value
  const state = store.threadState.value
  const canReply = can('conversations.reply')
  const canAssign = can('conversations.assign')

  // Stable handlers, so a new message re-renders only its own bubble (the bubbles are memoised).
  const conversationRef = useRef(conversation)
  conversationRef.current = conversation
  const onReply = useCallback((m: PendingMessage) => {
    setReplyTo(m)
    document.getElementById('composer-text')?.focus()
  }, [])
  const onReact = useCallback(
    (m: PendingMessage, emoji: string) => {
      const id = conversationRef.current?.id
      if (id)
        void act(() =>
          unwrap(
            store.api.messages.post({ conversationId: id, type: 'reaction', reaction: { messageId: m.id, emoji } }),
          ),
        )
    },
    [store],
  )

  // Esc closes the thread (unless a field or menu is handling it).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return
      const el = e.target as HTMLElement
      // Esc closes an open reaction menu first (and gives the focus back to its button).
      const details = el.closest('details[open]')
      if (details) {
        details.removeAttribute('open')
        details.querySelector('summary')?.focus()
        return
      }
      if (el.closest('.menu')) return
      if ((el.tagName === 'TEXTAREA' || el.tagName === 'INPUT') && (el as HTMLInputElement).value) return
      // Where the contact panel covers the thread, Esc closes the panel first.
      if (showContact && window.matchMedia('(max-width: 1100px)').matches) return toggleContact()
      onClose()
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [onClose, showContact, toggleContact])

  // Opening a conversation reads it (and sends WhatsApp's blue ticks), when the role may — also when the tab
  // comes back into view with new messages waiting.
  useEffect(() => {
    const readIfSeen = () => {
      if (conversation && conversation.unreadCount > 0 && canReply && !document.hidden) void markRead()
    }
    readIfSeen()
    document.addEventListener('visibilitychange', readIfSeen)
    return () => document.removeEventListener('visibilitychange', readIfSeen)
  }, [conversation?.id, conversation?.unreadCount])

  // A newly opened conversation takes the focus to its heading (on a phone the list it came from is hidden).
  const heading = useRef<HTMLHeadingElement>(null)
  const focusedFor = useRef<string | null>(null)
  useEffect(() => {
    if (conversation && focusedFor.current !== conversation.id) {
      focusedFor.current = conversation.id
      if (!document.activeElement?.closest('.thread')) heading.current?.focus()
    }
  }, [conversation?.id])

  useEffect(() => {
    setReplyTo(null)
    setActionError('')
    stickToBottom.current = true
  }, [store.openId.value])

  // Stay at the bottom as messages arrive unless the agent scrolled up; keep the view still when older
  // messages are prepended above.
  useLayoutEffect(() => {
    const el = logRef.current
    if (!el) return
    if (anchor.current) {
      el.scrollTop = el.scrollHeight - anchor.current.height + anchor.current.top
      anchor.current = null
    } else if (stickToBottom.current) el.scrollTop = el.scrollHeight
  }, [items])

  const onScroll = () => {
    const el = logRef.current
    if (!el) return
    stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60
    if (el.scrollTop < 120 && store.olderCursor.value && store.threadState.value === 'ready') {
      anchor.current = { height: el.scrollHeight, top: el.scrollTop }
      void store.loadOlder()
    }
  }

  async function act(run: () => Promise<unknown>) {
    setBusy(true)
    setActionError('')
    try {
      await run()
    } catch (err) {
      setActionError(reasonOf(err))
    } finally {
      setBusy(false)
    }
  }
  const update = (body: { status?: 'open' | 'closed'; assigneeUserId?: string | null }) =>
    act(async () =>
      store.setOpen(await unwrap(store.api.conversations({ conversationId: conversation!.id }).patch(body))),
    )
  async function markRead() {
    const id = conversation!.id
    try {
      const result = await unwrap(store.api.conversations({ conversationId: id }).read.post())
      if (store.openId.value === id) store.setOpen(result)
    } catch {
      // Best effort: the count stays and the agent can try again.
    }
  }

  const failure = store.threadError.value
  if (state === 'error' && failure?.status === 404) return <NotFound wid={store.wid} />
  if (state === 'error')
    return (
      <section class="thread">
        <LoadError
          reason={fill(messages.app.loadFailed, { reason: failure?.message ?? '' })}
          retry={() => void store.openConversation(store.openId.value)}
        />
      </section>
    )
  if (!conversation || state === 'loading')
    return (
      <section class="thread" aria-label={t.messages}>
        <Loading />
      </section>
    )

  const channel = store.channelById.value.get(conversation.channelId)
  const byWamid = new Map(items.filter((m) => m.wamid).map((m) => [m.wamid!, m]))
  const byId = new Map(items.map((m) => [m.id, m]))
  // Reactions are shown on the message they react to (the latest per side wins, as in WhatsApp).
  const reactions = new Map<string, Map<string, string>>()
  const shownAsReaction = new Set<string>()
  for (const m of items) {
    if (m.type !== 'reaction') continue
    const targetRef = (m.content as { messageId?: string }).messageId
    const target = targetRef ? (byWamid.get(targetRef) ?? byId.get(targetRef)) : undefined
    if (!target) continue
    shownAsReaction.add(m.id)
    const emoji = (m.content as { emoji?: string | null }).emoji
    const mine = reactions.get(target.id) ?? new Map<string, string>()
    if (emoji) mine.set(m.direction, emoji)
    else mine.delete(m.direction)
    reactions.set(target.id, mine)
  }
  // The quoted message as the server resolved it, else as loaded here (the same object each render).
  const quoteOf = (m: PendingMessage) =>
    m.quoted ?? (m.replyTo ? (byWamid.get(m.replyTo) ?? byId.get(m.replyTo) ?? null) : null)
  const contact = conversation.contact
  const assignee = conversation.assigneeUserId
  let previous: PendingMessage | undefined

  return (
    <>
      {/* Under the contact dialog (narrow windows) the thread is out of reach until the dialog closes. */}
      <section
        class="thread"
        aria-label={contact.displayName ?? t.messages}
        {...(showContact && window.matchMedia('(max-width: 1100px)').matches ? { inert: true } : {})}
      >
        <header class="thread__head">
          <button type="button" class="icon-btn thread__back" aria-label={t.backToList} onClick={onClose}>
            <ArrowLeft size={18} aria-hidden="true" />
          </button>
          <div class="thread__who">
            <h2 ref={heading} tabIndex={-1}>
              {contact.displayName}
            </h2>
            <p class="muted">
              {contact.phone ?? contact.username ?? contact.bsuid}
              {channel && <> · {channel.name}</>}
            </p>
          </div>
          <div class="thread__actions">
            {canAssign && (
              <>
                {assignee !== me.value?.id && (
                  <button
                    type="button"
                    class="btn btn--secondary"
                    title={t.assignToMe}
                    disabled={busy}
                    onClick={() => void update({ assigneeUserId: me.value!.id })}
                  >
                    <UserCheck size={16} aria-hidden="true" />
                    <span>{t.assignToMe}</span>
                  </button>
                )}
                <select
                  key={assignee ?? 'none'}
                  aria-label={t.assignee}
                  disabled={busy}
                  value={assignee ?? ''}
                  onChange={(e) =>
                    void update({ assigneeUserId: (e.currentTarget as HTMLSelectElement).value || null })
                  }
                >
                  <option value="">{t.unassigned}</option>
                  {store.members.value.map((member) => (
                    <option value={member.userId} key={member.userId}>
                      {member.name || member.email}
                    </option>
                  ))}
                </select>
                <button
                  type="button"
                  class="btn btn--secondary"
                  title={conversation.status === 'open' ? t.closeConversation : t.reopenConversation}
                  disabled={busy}
                  onClick={() => void update({ status: conversation.status === 'open' ? 'closed' : 'open' })}
                >
                  <CheckCheck size={16} aria-hidden="true" />
                  <span>{conversation.status === 'open' ? t.closeConversation : t.reopenConversation}</span>
                </button>
              </>
            )}
            {canReply && conversation.unreadCount > 0 && (
              <button type="button" class="btn btn--ghost" onClick={() => void markRead()}>
                {t.markRead}
              </button>
            )}
            <button
              type="button"
              class="icon-btn"
              aria-label={t.contactDetails}
              aria-pressed={showContact}
              onClick={toggleContact}
            >
              <PanelRight size={18} aria-hidden="true" />
            </button>
          </div>
        </header>
        {actionError && <Alert>{actionError}</Alert>}
        <div
          class="thread__log"
          role="log"
          aria-label={t.messages}
          aria-live="polite"
          aria-relevant="additions"
          aria-busy={state === 'older' || undefined}
          ref={logRef}
          onScroll={onScroll}
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable log must be reachable by keyboard (axe: scrollable-region-focusable)
          tabIndex={0}
        >
          {state === 'older' && <Loading />}
          {!store.olderCursor.value && <p class="thread__start muted">{t.beginning}</p>}
          {store.olderCursor.value && state === 'ready' && (
            <button type="button" class="btn btn--ghost thread__older" onClick={() => void store.loadOlder()}>
              {t.loadOlder}
            </button>
          )}
          {items.map((m) => {
            if (shownAsReaction.has(m.id)) return null
            const separator = !previous || !format.sameDay(previous.sentAt, m.sentAt)
            previous = m
            return (
              <div key={m.id} class="thread__item">
                {separator && (
                  // biome-ignore lint/a11y/useSemanticElements: an <hr> cannot carry the day's label
                  <div class="day" role="separator">
                    <span>{format.day(m.sentAt)}</span>
                  </div>
                )}
                <MessageBubble
                  wid={store.wid}
                  m={m}
                  quoted={quoteOf(m)}
                  reactions={[...(reactions.get(m.id)?.values() ?? [])].join(' ')}
                  canReply={canReply && conversation.status === 'open'}
                  onReply={onReply}
                  onReact={onReact}
                />
              </div>
            )
          })}
        </div>
        {conversation.status === 'closed' && <p class="thread__note">{t.closedNote}</p>}
        {canReply ? (
          <Composer
            key={conversation.id}
            store={store}
            conversation={conversation}
            channel={channel}
            replyTo={replyTo}
            clearReply={() => setReplyTo(null)}
            onSent={() => (stickToBottom.current = true)}
          />
        ) : (
          <p class="thread__note">{t.readOnly}</p>
        )}
      </section>
      {showContact && <ContactPanel store={store} onClose={toggleContact} />}
    </>
  )
}
