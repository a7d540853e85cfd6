/**
 * The workspace's numbers: the list with live state, connecting a Cloud API number, linking a phone by QR,
 * and one channel's page. Only offered to roles with channels.manage (the server checks it too).
 */
import { useEffect, useState } from 'preact/hooks'
import { Link, useLocation } from 'wouter-preact'
import { Cloud, QrCode, Smartphone } from 'lucide-preact'
import type { Treaty } from '@elysiajs/eden'
import { reasonOf, unwrap, ws } from '../../api/client.ts'
import { onLive } from '../../api/live.ts'
import { fill, format, messages } from '../../i18n/index.ts'
import { Empty, Loading, LoadError } from '../../components/ui.tsx'
import { ConnectCloud } from './ConnectCloud.tsx'
import { CreateQr } from './CreateQr.tsx'
import { ChannelDetail } from './ChannelDetail.tsx'

const t = messages.channels

const listOf = (wid: string) => ws(wid).channels.get()
export type ChannelView = Treaty.Data<ReturnType<typeof listOf>>['items'][number]

/** The state a person should read first: a QR device's connection, else the channel's status. */
export function stateOf(c: ChannelView): { key: string; label: string; tone: 'ok' | 'warn' | 'bad' | 'idle' } {
  if (c.provider === 'qr' && c.status !== 'disconnected') {
    const s = c.connection?.state ?? 'linking'
    const tone =
      s === 'connected' ? 'ok' : s === 'reconnecting' || s === 'connecting' || s === 'linking' ? 'warn' : 'bad'
    return { key: s, label: t.state[s] ?? s, tone }
  }
  const tone = c.status === 'active' ? 'ok' : c.status === 'disconnected' ? 'idle' : 'bad'
  return { key: c.status, label: t.status[c.status] ?? c.status, tone }
}

export function StateBadge({ channel }: { channel: ChannelView }) {
  const s = stateOf(channel)
  return (
    <span class={`state state--${s.tone}`} data-state={s.key}>
      <span class="state__dot" aria-hidden="true" />
      {s.label}
    </span>
  )
}

export function Channels({ wid, channelId }: { wid: string; channelId?: string }) {
  const [, navigate] = useLocation()
  const [channels, setChannels] = useState<ChannelView[] | null>(null)
  const [error, setError] = useState('')
  const [mode, setMode] = useState<'list' | 'cloud' | 'qr'>('list')

  const load = () =>
    unwrap(ws(wid).channels.get())
      .then((list) => {
        setChannels(list.items)
        setError('')
      })
      .catch((err) => setError(reasonOf(err)))
  useEffect(() => {
    void load()
    return onLive((e) => {
      if (e.type === 'channel.status' || e.type === 'channel.connection') void load()
    })
  }, [wid])

  if (channelId) return <ChannelDetail wid={wid} channelId={channelId} onChanged={load} />
  if (mode === 'cloud')
    return (
      <ConnectCloud
        wid={wid}
        onDone={() => {
          setMode('list')
          void load()
        }}
        onCancel={() => setMode('list')}
      />
    )
  if (mode === 'qr')
    return (
      <CreateQr
        wid={wid}
        onCreated={(id) => {
          setMode('list')
          navigate(`/w/${wid}/channels/${id}`)
        }}
        onCancel={() => setMode('list')}
      />
    )

  const live = channels?.filter((c) => c.status !== 'disconnected') ?? []
  const gone = channels?.filter((c) => c.status === 'disconnected') ?? []
  return (
    <main class="page" aria-labelledby="channels-title">
      <header class="page__head">
        <div>
          <h1 id="channels-title">{t.title}</h1>
          <p class="muted">{t.lead}</p>
        </div>
        <div class="page__actions">
          <button type="button" class="btn btn--primary" onClick={() => setMode('cloud')}>
            <Cloud size={16} aria-hidden="true" />
            <span>{t.connectCloud}</span>
          </button>
          <button type="button" class="btn btn--secondary" onClick={() => setMode('qr')}>
            <QrCode size={16} aria-hidden="true" />
            <span>{t.linkQr}</span>
          </button>
        </div>
      </header>
      {error && <LoadError reason={fill(messages.app.loadFailed, { reason: error })} retry={() => void load()} />}
      {!channels && !error && <Loading />}
      {channels && live.length === 0 && (
        <Empty title={t.empty}>
          <p>{t.emptyHint}</p>
        </Empty>
      )}
      {channels && channels.length > 0 && (
        <ul class="cards" aria-label={t.title}>
          {[...live, ...gone].map((c) => (
            <li key={c.id} class={`card channel${c.status === 'disconnected' ? ' channel--gone' : ''}`}>
              <Link href={`/w/${wid}/channels/${c.id}`} class="channel__link">
                <span class="channel__icon" aria-hidden="true">
                  {c.provider === 'qr' ? <Smartphone size={20} /> : <Cloud size={20} />}
                </span>
                <span class="channel__main">
                  <strong>{c.name}</strong>
                  <span class="muted">
                    {c.provider === 'qr' ? t.kindQr : t.kindCloud}
                    {c.displayPhoneNumber && <> · {c.displayPhoneNumber}</>}
                  </span>
                </span>
                <span class="channel__state">
                  <StateBadge channel={c} />
                  {c.connection?.since && (
                    <span class="muted small">{fill(t.since, { time: format.dateTime(c.connection.since) })}</span>
                  )}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </main>
  )
}
