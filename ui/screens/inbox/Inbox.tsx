/**
 * The team inbox: conversation list, thread and contact panel side by side; one pane at a time on a phone.
 * Keys: j/k move in the list, Enter opens, Esc closes the thread.
 */
import { useEffect, useMemo, useState } from 'preact/hooks'
import { useLocation } from 'wouter-preact'
import { fill, messages } from '../../i18n/index.ts'
import { me } from '../../state/session.ts'
import { notifyNewMessage } from '../../state/notify.ts'
import { createInbox } from './store.ts'
import { ConversationList } from './ConversationList.tsx'
import { Thread } from './Thread.tsx'

export function Inbox({ wid, conversationId }: { wid: string; conversationId?: string }) {
  const [, navigate] = useLocation()
  // New messages for me or for nobody: a notification (opt-in) unless I am reading that conversation. Decided on
  // the conversation as the server has it now, not on the filtered list.
  const store = useMemo(
    () =>
      createInbox(wid, {
        onReceived: (conversation, e) => {
          const assignee = conversation.assigneeUserId
          if (assignee !== null && assignee !== me.value?.id) return
          notifyNewMessage({
            title: fill(messages.notify.title, { name: conversation.contact.displayName ?? '' }),
            body: e.data.text ?? '',
            tag: conversation.id,
            visible: store.openId.value === conversation.id,
            onClick: () => navigate(`/w/${wid}/inbox/${conversation.id}`),
          })
        },
      }),
    [wid],
  )
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

  // Closing the thread gives the focus back to its row in the list.
  const close = () => {
    const closing = conversationId
    navigate(`/w/${wid}/inbox`)
    requestAnimationFrame(() => document.querySelector<HTMLElement>(`a.conv[data-id="${closing}"]`)?.focus())
  }
  return (
    <div
      class={`inbox${conversationId ? ' inbox--thread' : ''}${showContact && conversationId ? ' inbox--contact' : ''}`}
    >
      <ConversationList store={store} onOpen={(id) => navigate(`/w/${wid}/inbox/${id}`)} />
      {conversationId ? (
        <Thread
          store={store}
          onClose={close}
          showContact={showContact}
          toggleContact={() => setShowContact(!showContact)}
        />
      ) : (
        <section class="thread thread--empty" aria-label={messages.thread.messages}>
          <p>{messages.inbox.pickOne}</p>
          <p class="muted">{messages.inbox.keyboardHint}</p>
        </section>
      )}
    </div>
  )
}
