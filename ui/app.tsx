/**
 * The app: routes, the signed-in shell (navigation by role, workspace switcher, account menu, connection
 * banner) and the redirects that keep a person where they meant to go (sign-in and back).
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { Link, Redirect, Route, Switch, useLocation, useSearch } from 'wouter-preact'
import { Bell, BellOff, BookOpen, ChevronDown, Inbox as InboxIcon, LogOut, Smartphone } from 'lucide-preact'
import { setUnauthenticatedHandler } from './api/client.ts'
import { followWorkspace, liveState, reconnectLive, setAccessCheck, setStreamEndHandler, stopLive } from './api/live.ts'
import { fill, messages } from './i18n/index.ts'
import { can, me, membership, refreshMe, signOut, workspaceId } from './state/session.ts'
import { notificationsWanted, setNotificationsWanted } from './state/notify.ts'
import { Loading, LoadError } from './components/ui.tsx'
import { SignIn } from './screens/auth/SignIn.tsx'
import { Setup } from './screens/auth/Setup.tsx'
import { InviteAccept } from './screens/auth/InviteAccept.tsx'
import { Forbidden, NotFound } from './screens/errors/ErrorPages.tsx'
import { Inbox } from './screens/inbox/Inbox.tsx'
import { Channels } from './screens/channels/Channels.tsx'

const t = messages

/** Where to send someone whose session ended, so signing in brings them back (already there: stay, keep ?next=). */
export function loginPathFor(path: string): string {
  if (path.startsWith('/login'))
    return window.location.pathname.startsWith('/login') ? window.location.pathname + window.location.search : '/login'
  return path === '/' ? '/login' : `/login?next=${encodeURIComponent(path)}`
}

export function App() {
  const [location, navigate] = useLocation()
  const [bootError, setBootError] = useState<string | null>(null)
  const locationRef = useRef(location)
  locationRef.current = location
  const bootErrorRef = useRef<string | null>(null)
  bootErrorRef.current = bootError

  const boot = () => {
    setBootError(null)
    refreshMe().catch((err: Error) => setBootError(err.message))
  }
  useEffect(() => {
    boot()
    // Any 401 (expired, signed out elsewhere, removed): to sign-in, then back here.
    setUnauthenticatedHandler(() => {
      if (me.value === null) return
      me.value = null
      stopLive()
      navigate(loginPathFor(locationRef.current + window.location.search), { replace: true })
    })
    // Whether the stream of a workspace may be reopened: signed in (else to sign-in) and still a member.
    const allowed = async (wid: string): Promise<boolean> => {
      try {
        await refreshMe()
      } catch {
        return true // the server is unreachable: keep trying
      }
      if (me.value === null) {
        stopLive()
        navigate(loginPathFor(locationRef.current), { replace: true })
        return false
      }
      if (!me.value?.memberships.some((m) => m.workspaceId === wid)) {
        stopLive()
        return false
      }
      return true
    }
    // The server ends the stream when access ends (signed out, removed): find out which, or resume.
    setStreamEndHandler(() => {
      const wid = workspaceId.value
      if (wid) void allowed(wid).then((ok) => ok && reconnectLive())
    })
    setAccessCheck(allowed)
    const online = () => {
      reconnectLive()
      if (me.value === undefined || bootErrorRef.current) boot()
    }
    window.addEventListener('online', online)
    return () => window.removeEventListener('online', online)
  }, [])

  if (bootError)
    return (
      <main class="centered">
        <LoadError reason={bootError} retry={boot} />
      </main>
    )
  if (me.value === undefined)
    return (
      <main class="centered">
        <Loading />
      </main>
    )

  return (
    <Switch>
      <Route path="/login" component={SignIn} />
      <Route path="/setup" component={Setup} />
      <Route path="/invite" component={InviteAccept} />
      <Route path="/">
        <Home />
      </Route>
      <Route path="/w/:wid/inbox/:conversationId?">
        {(params: { wid: string; conversationId?: string }) => (
          <Shell wid={params.wid}>
            <Inbox wid={params.wid} conversationId={params.conversationId} />
          </Shell>
        )}
      </Route>
      <Route path="/w/:wid/channels/:channelId?">
        {(params: { wid: string; channelId?: string }) => (
          <Shell wid={params.wid}>
            {can('channels.manage') ? (
              <Channels wid={params.wid} channelId={params.channelId} />
            ) : (
              <Forbidden wid={params.wid} />
            )}
          </Shell>
        )}
      </Route>
      <Route path="/w/:wid">{(params: { wid: string }) => <Redirect to={`/w/${params.wid}/inbox`} replace />}</Route>
      <Route>
        <NotFound wid={me.value?.memberships[0]?.workspaceId} />
      </Route>
    </Switch>
  )
}

function Home() {
  const user = me.value
  if (!user) return <Redirect to="/login" replace />
  const first = user.memberships[0]
  if (!first)
    return (
      <main class="centered">
        <p class="card">{t.auth.noWorkspace}</p>
      </main>
    )
  const remembered = localStorage.getItem('wabox.workspace')
  const target = user.memberships.find((m) => m.workspaceId === remembered) ?? first
  return <Redirect to={`/w/${target.workspaceId}/inbox`} replace />
}

/** The frame around every signed-in screen. */
function Shell({ wid, children }: { wid: string; children: ComponentChildren }) {
  const [location, navigate] = useLocation()
  const search = useSearch()
  const user = me.value

  // Following the workspace's live stream is the shell's job: every screen inside listens to it.
  useEffect(() => {
    if (!user?.memberships.some((m) => m.workspaceId === wid)) return followWorkspace(null)
    workspaceId.value = wid
    localStorage.setItem('wabox.workspace', wid)
    followWorkspace(wid)
  }, [wid, user])

  if (!user) return <Redirect to={loginPathFor(location + (search ? `?${search}` : ''))} replace />
  if (!user.memberships.some((m) => m.workspaceId === wid)) return <NotFound wid={user.memberships[0]?.workspaceId} />
  if (workspaceId.value !== wid) workspaceId.value = wid

  const section = location.split('/')[3] ?? 'inbox'
  const navLink = (href: string, name: string, icon: ComponentChildren, key: string) => (
    <Link
      href={href}
      class={`nav__link${section === key ? ' nav__link--active' : ''}`}
      aria-current={section === key ? 'page' : undefined}
    >
      {icon}
      <span>{name}</span>
    </Link>
  )

  return (
    <div class="shell">
      <a class="skip" href="#content">
        {t.app.skipToContent}
      </a>
      <header class="topbar">
        <span class="brand" aria-hidden="true">
          wabox
        </span>
        <nav class="nav" aria-label={t.app.mainNav}>
          {navLink(`/w/${wid}/inbox`, t.nav.inbox, <InboxIcon size={18} aria-hidden="true" />, 'inbox')}
          {can('channels.manage') &&
            navLink(`/w/${wid}/channels`, t.nav.channels, <Smartphone size={18} aria-hidden="true" />, 'channels')}
        </nav>
        <div class="topbar__end">
          {user.memberships.length > 1 && (
            <label class="switcher">
              <span class="visually-hidden">{t.app.workspace}</span>
              <select
                aria-label={t.app.workspace}
                value={wid}
                onChange={(e) =>
                  navigate(
                    `/w/${(e.currentTarget as HTMLSelectElement).value}/${section === 'channels' ? 'channels' : 'inbox'}`,
                  )
                }
              >
                {user.memberships.map((m) => (
                  <option value={m.workspaceId} key={m.workspaceId}>
                    {m.workspaceName}
                  </option>
                ))}
              </select>
            </label>
          )}
          <AccountMenu />
        </div>
      </header>
      <ConnectionBanner />
      <div class="shell__body" id="content">
        {children}
      </div>
    </div>
  )
}

function AccountMenu() {
  const [open, setOpen] = useState(false)
  const [, navigate] = useLocation()
  const ref = useRef<HTMLDivElement>(null)
  const user = me.value!
  useEffect(() => {
    if (!open) return
    const outside = (e: MouseEvent) => !ref.current?.contains(e.target as Node) && setOpen(false)
    const onEscape = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false)
        ref.current?.querySelector<HTMLButtonElement>('button')?.focus()
      }
    }
    // Tabbing out of the menu closes it (a disclosure, not a trap).
    const focusOut = (e: FocusEvent) =>
      e.relatedTarget && !ref.current?.contains(e.relatedTarget as Node) && setOpen(false)
    const box = ref.current
    document.addEventListener('mousedown', outside)
    document.addEventListener('keydown', onEscape)
    box?.addEventListener('focusout', focusOut)
    box?.querySelector<HTMLElement>('.menu__item')?.focus()
    return () => {
      box?.removeEventListener('focusout', focusOut)
      document.removeEventListener('mousedown', outside)
      document.removeEventListener('keydown', onEscape)
    }
  }, [open])
  const doSignOut = async () => {
    setOpen(false)
    stopLive()
    await signOut()
    navigate('/login', { replace: true })
  }
  const initials = (user.name || user.email).slice(0, 1).toUpperCase()
  const role = membership.value?.role
  return (
    <div class="menu" ref={ref}>
      <button
        type="button"
        class="menu__button"
        aria-expanded={open}
        aria-controls="account-menu"
        aria-label={t.app.accountMenu}
        onClick={() => setOpen(!open)}
      >
        <span class="avatar" aria-hidden="true">
          {initials}
        </span>
        <ChevronDown size={16} aria-hidden="true" />
      </button>
      {open && (
        <div class="menu__list" id="account-menu">
          <div class="menu__who">
            <strong>{user.name || user.email}</strong>
            <span>{fill(t.app.signedInAs, { email: user.email })}</span>
            {role && <span>{fill(t.app.role, { role: t.roles[role as keyof typeof t.roles] ?? role })}</span>}
          </div>
          {'Notification' in window && (
            <button
              type="button"
              aria-pressed={notificationsWanted.value}
              class="menu__item"
              onClick={() => void setNotificationsWanted(!notificationsWanted.value)}
            >
              {notificationsWanted.value ? (
                <Bell size={16} aria-hidden="true" />
              ) : (
                <BellOff size={16} aria-hidden="true" />
              )}
              <span>{t.notify.toggle}</span>
            </button>
          )}
          {'Notification' in window && notificationsWanted.value && Notification.permission === 'denied' && (
            <p class="menu__note">{t.notify.denied}</p>
          )}
          <a class="menu__item" href="/docs" target="_blank" rel="noopener">
            <BookOpen size={16} aria-hidden="true" />
            <span>{t.app.apiDocs}</span>
          </a>
          <button type="button" class="menu__item" onClick={doSignOut}>
            <LogOut size={16} aria-hidden="true" />
            <span>{t.app.signOut}</span>
          </button>
        </div>
      )}
    </div>
  )
}

/** Says when live updates are interrupted, and when they are back (the stream resumes by itself). */
function ConnectionBanner() {
  const [offline, setOffline] = useState(!navigator.onLine)
  const [recovered, setRecovered] = useState(false)
  const wasDown = useRef(false)
  useEffect(() => {
    const update = () => setOffline(!navigator.onLine)
    window.addEventListener('online', update)
    window.addEventListener('offline', update)
    return () => {
      window.removeEventListener('online', update)
      window.removeEventListener('offline', update)
    }
  }, [])
  const state = liveState.value
  useEffect(() => {
    if (state === 'down') wasDown.current = true
    if (state === 'open' && wasDown.current) {
      wasDown.current = false
      setRecovered(true)
      const timer = setTimeout(() => setRecovered(false), 3000)
      return () => clearTimeout(timer)
    }
  }, [state])
  const text = offline ? t.app.offline : state === 'down' ? t.app.reconnecting : recovered ? t.app.reconnected : ''
  return (
    <div
      class={`banner${text ? ' banner--shown' : ''}${recovered && !offline && state === 'open' ? ' banner--ok' : ''}`}
      role="status"
      aria-live="polite"
    >
      {text}
    </div>
  )
}
