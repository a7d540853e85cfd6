/**
 * The team inbox: conversation list, thread and contact panel side by side; one pane at a time on a phone.
 * Keys: j/k move in the list, Enter opens, Esc closes the thread.
 */
import { useEffect, useMemo, useState } from 'preact/hooks'
import { useLocation } from 'wouter-preact'
import { onLive } from '../../api/live.ts'
import { fill, messages } from '../../i18n/index.ts'
import { me } from '../../state/session.ts'
import { notifyNewMessage } from '../../state/notify.ts'
import { createInbox } from './store.ts'
import { ConversationList } from './ConversationList.tsx'
import { Thread } from './Thread.tsx'

export function Inbox({ wid, conversationId }: { wid: string; conversationId?: string }) {
  const store = useMemo(() => createInbox(wid), [wid])
  const [, navigate] = useLocation()
  // The contact panel starts open only where there is room for three panes.
  const [showContact, setShowContact] = useState(() => window.matchMedia('(min-width: 1200px)').matches)

  useEffect(() => {
    void store.loadList()
    void store.loadMeta()
    return () => store.dispose()
  }, [store])

  useEffect(() => {
    void store.openConversation(conversationId ?? null)
  }, [store, conversationId])

  // New messages for me or for nobody: a notification (opt-in) unless I am reading that conversation.
  useEffect(
    () =>
      onLive((e) => {
        if (e.type !== 'message.received') return
        const c = store.list.value.find((x) => x.id === e.data.conversationId)
        const assignee = c?.assigneeUserId ?? null
        if (assignee !== null && assignee !== me.value?.id) return
        const name = c?.contact.displayName ?? (e.data.from ? `+${e.data.from}` : '')
        notifyNewMessage({
          title: fill(messages.notify.title, { name }),
          body: e.data.text ?? '',
          tag: e.data.conversationId,
          visible: store.openId.value === e.data.conversationId,
          onClick: () => navigate(`/w/${wid}/inbox/${e.data.conversationId}`),
        })
      }),
    [store],
  )

  const close = () => navigate(`/w/${wid}/inbox`)
  return (
    <div class={`inbox${conversationId ? ' inbox--thread' : ''}${showContact && conversationId ? ' inbox--contact' : ''}`}>
      <ConversationList store={store} onOpen={(id) => navigate(`/w/${wid}/inbox/${id}`)} />
      {conversationId ? (
        <Thread store={store} onClose={close} showContact={showContact} toggleContact={() => setShowContact(!showContact)} />
      ) : (
        <section class="thread thread--empty" aria-label={messages.thread.messages}>
          <p>{messages.inbox.pickOne}</p>
          <p class="muted">{messages.inbox.keyboardHint}</p>
        </section>
      )}
    </div>
  )
}
