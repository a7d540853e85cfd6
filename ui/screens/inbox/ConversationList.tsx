/** The conversation list: views, channel filter, search, unread badges; cursor pages as you scroll. */
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks'
import { Search } from 'lucide-preact'
import { fill, format, messages } from '../../i18n/index.ts'
import { Empty, Loading, LoadError } from '../../components/ui.tsx'
import { VIEWS, type InboxStore, type View } from './store.ts'

const t = messages.inbox

const isTyping = (el: EventTarget | null) =>
  el instanceof HTMLElement && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName))

export function ConversationList({ store, onOpen }: { store: InboxStore; onOpen: (id: string) => void }) {
  const listRef = useRef<HTMLUListElement>(null)
  const sentinel = useRef<HTMLLIElement>(null)
  const searchTimer = useRef<ReturnType<typeof setTimeout>>()

  // Infinite scroll: the next page loads when the end of the list comes into view (a failed page waits for a click).
  const hasMore = store.nextCursor.value !== null
  useEffect(() => {
    const el = sentinel.current
    if (!el) return
    const observer = new IntersectionObserver(
      (entries) => entries.some((e) => e.isIntersecting) && void store.loadMore(),
      { rootMargin: '200px' },
    )
    observer.observe(el)
    return () => observer.disconnect()
  }, [store, hasMore])

  // Live updates reorder rows: a focused row keeps the focus where it moved to.
  const focusedId = useRef<string | null>(null)
  const items = store.list.value
  useLayoutEffect(() => {
    const id = focusedId.current
    if (id && (document.activeElement === document.body || document.activeElement === null))
      listRef.current?.querySelector<HTMLElement>(`a.conv[data-id="${id}"]`)?.focus()
  }, [items])
  useEffect(() => () => clearTimeout(searchTimer.current), [])

  // j / k move the focus through the list; Enter opens (it is a link); Esc is the thread's.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return
      if (e.key !== 'j' && e.key !== 'k') return
      const links = [...(listRef.current?.querySelectorAll<HTMLAnchorElement>('a.conv') ?? [])]
      if (links.length === 0) return
      e.preventDefault()
      const current = links.indexOf(document.activeElement as HTMLAnchorElement)
      const from = current === -1 ? links.findIndex((a) => a.getAttribute('aria-current') === 'true') : current
      const next = e.key === 'j' ? Math.min(from + 1, links.length - 1) : Math.max(from - 1, 0)
      links[next === -1 ? 0 : next]?.focus()
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [])

  const setView = (v: View) => {
    store.view.value = v
    localStorage.setItem('wabox.inbox.view', v)
    void store.loadList()
  }
  const onTabKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return
    const i = VIEWS.indexOf(store.view.value)
    const next = VIEWS[(i + (e.key === 'ArrowRight' ? 1 : VIEWS.length - 1)) % VIEWS.length]!
    setView(next)
    ;(e.currentTarget as HTMLElement).parentElement?.querySelector<HTMLElement>(`[data-view="${next}"]`)?.focus()
  }
  const onSearch = (value: string) => {
    store.query.value = value
    clearTimeout(searchTimer.current)
    searchTimer.current = setTimeout(() => void store.loadList(), 250)
  }

  const state = store.listState.value
  const channels = store.channels.value
  const q = store.query.value.trim()
  return (
    <section class="list" aria-label={t.conversations}>
      <div class="list__head">
        <div class="tabs" role="tablist" aria-label={t.views}>
          {VIEWS.map((v) => (
            <button
              type="button"
              role="tab"
              key={v}
              data-view={v}
              aria-selected={store.view.value === v}
              tabIndex={store.view.value === v ? 0 : -1}
              class="tab"
              onClick={() => setView(v)}
              onKeyDown={onTabKey}
            >
              {t[v]}
            </button>
          ))}
        </div>
        <div class="list__filters">
          <label class="search">
            <Search size={16} aria-hidden="true" />
            <input
              type="search"
              aria-label={t.search}
              placeholder={t.searchPlaceholder}
              value={store.query.value}
              onInput={(e) => onSearch((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          {channels.length > 1 && (
            <select
              aria-label={t.channel}
              value={store.channelFilter.value}
              onChange={(e) => {
                store.channelFilter.value = (e.currentTarget as HTMLSelectElement).value
                void store.loadList()
              }}
            >
              <option value="">{t.allChannels}</option>
              {channels.map((c) => (
                <option value={c.id} key={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          )}
        </div>
      </div>
      <div class="list__body" role="tabpanel" aria-busy={state === 'loading'}>
        {state === 'loading' && items.length === 0 && <Loading />}
        {state === 'error' && (
          <LoadError
            reason={fill(messages.app.loadFailed, { reason: store.listError.value })}
            retry={() => void store.loadList()}
          />
        )}
        {state !== 'loading' && state !== 'error' && items.length === 0 && (
          <Empty title={q ? fill(t.emptySearch, { q }) : t.empty}>{!q && <p>{t.emptyHint}</p>}</Empty>
        )}
        <ul class="conversations" aria-label={t.conversations} ref={listRef}>
          {items.map((c) => {
            const active = store.openId.value === c.id
            const channel = channels.length > 1 ? store.channelById.value.get(c.channelId) : undefined
            const assignee = c.assigneeUserId ? store.memberById.value.get(c.assigneeUserId) : undefined
            return (
              <li key={c.id}>
                <a
                  href={`/w/${store.wid}/inbox/${c.id}`}
                  class={`conv${active ? ' conv--active' : ''}${c.unreadCount > 0 ? ' conv--unread' : ''}`}
                  aria-current={active ? 'true' : undefined}
                  data-id={c.id}
                  onFocus={() => (focusedId.current = c.id)}
                  // A row moved by a live update blurs with no new target: keep its id to give the focus back.
                  onBlur={(e) => (e as FocusEvent).relatedTarget && (focusedId.current = null)}
                  onClick={(e) => {
                    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return
                    e.preventDefault()
                    onOpen(c.id)
                  }}
                >
                  <span class="conv__top">
                    <span class="conv__name">{c.contact.displayName ?? c.contact.phone ?? t.unknownContact}</span>
                    {c.lastMessageAt && (
                      <time class="conv__time" dateTime={c.lastMessageAt}>
                        {format.listTime(c.lastMessageAt)}
                      </time>
                    )}
                  </span>
                  <span class="conv__bottom">
                    <span class="conv__preview">{c.lastMessagePreview ?? ''}</span>
                    {c.unreadCount > 0 && (
                      <span class="badge">{fill(t.unread, { count: format.number(c.unreadCount) })}</span>
                    )}
                  </span>
                  {(channel || assignee) && (
                    <span class="conv__meta">
                      {channel && <span class="chip">{channel.name}</span>}
                      {assignee && <span class="chip chip--muted">{assignee.name || assignee.email}</span>}
                    </span>
                  )}
                </a>
              </li>
            )
          })}
          {hasMore && (
            <li ref={sentinel} class="list__more">
              {store.moreFailed.value && (
                <p class="list__error" role="alert">
                  {fill(messages.app.loadFailed, { reason: store.moreFailed.value })}
                </p>
              )}
              {state === 'more' ? (
                <Loading label={t.loadingMore} />
              ) : (
                <button type="button" class="btn btn--ghost" onClick={() => void store.loadMore(true)}>
                  {t.loadMore}
                </button>
              )}
            </li>
          )}
        </ul>
      </div>
    </section>
  )
}
