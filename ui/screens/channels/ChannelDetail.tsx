/**
 * One channel: its state and details; for a QR phone the linking panel and the sending pace; for a Cloud
 * number its send rate and credential rotation; disconnecting (or unlinking) after typing its name.
 */
import { useEffect, useState } from 'preact/hooks'
import { Link, useLocation } from 'wouter-preact'
import { ArrowLeft } from 'lucide-preact'
import { type ApiError, unwrap, ws } from '../../api/client.ts'
import { onLive } from '../../api/live.ts'
import { fill, format, messages } from '../../i18n/index.ts'
import { Alert, Button, CopyValue, Facts, Field, Loading, LoadError, useAction } from '../../components/ui.tsx'
import { StateBadge, type ChannelView } from './Channels.tsx'
import { QrLink } from './QrLink.tsx'
import { NotFound } from '../errors/ErrorPages.tsx'

const t = messages.channels

export function ChannelDetail({
  wid,
  channelId,
  onChanged,
}: {
  wid: string
  channelId: string
  onChanged: () => void
}) {
  const [channel, setChannel] = useState<ChannelView | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const load = () =>
    unwrap(ws(wid).channels({ channelId }).get())
      .then((c) => {
        setChannel(c as ChannelView)
        setError(null)
      })
      .catch((err: ApiError) => setError(err))
  useEffect(() => {
    void load()
    return onLive((e) => {
      if ((e.type === 'channel.status' || e.type === 'channel.connection') && e.data.channelId === channelId)
        void load()
    })
  }, [wid, channelId])

  if (error?.status === 404) return <NotFound wid={wid} />
  if (error)
    return (
      <main class="page">
        <LoadError reason={error.message} retry={() => void load()} />
      </main>
    )
  if (!channel)
    return (
      <main class="page">
        <Loading />
      </main>
    )

  const isQr = channel.provider === 'qr'
  const gone = channel.status === 'disconnected'
  return (
    <main class="page" aria-labelledby="channel-title">
      <Link href={`/w/${wid}/channels`} class="back">
        <ArrowLeft size={16} aria-hidden="true" /> {t.title}
      </Link>
      <header class="page__head">
        <div>
          <h1 id="channel-title">{channel.name}</h1>
          <p class="muted">
            {isQr ? t.kindQr : t.kindCloud}
            {channel.displayPhoneNumber && <> · {channel.displayPhoneNumber}</>}
          </p>
        </div>
        <StateBadge channel={channel} />
      </header>
      {isQr && !gone && (
        <QrLink
          // A new connection state from elsewhere (the phone logged out after linking) starts the panel afresh.
          key={channel.connection?.state ?? 'none'}
          wid={wid}
          channelId={channel.id}
          initialState={channel.connection?.state ?? null}
          onState={(state) => {
            if (state !== channel.connection?.state) {
              void load()
              onChanged()
            }
          }}
        />
      )}
      <section class="card" aria-labelledby="details-title">
        <h2 id="details-title">{t.details}</h2>
        <Facts
          items={[
            [t.number, channel.displayPhoneNumber],
            [t.verifiedName, channel.verifiedName],
            [t.quality, channel.qualityRating],
            [t.limit, channel.messagingLimit],
            [t.linkedAt, channel.connection?.linkedAt ? format.dateTime(channel.connection.linkedAt) : null],
            [t.reconnects, isQr ? format.number(channel.connection?.reconnectCount ?? 0) : null],
          ]}
        />
        {channel.webhookUrl && !gone && <CopyValue label={t.webhookUrl} value={channel.webhookUrl} />}
      </section>
      {!gone &&
        (isQr ? (
          <PacingForm wid={wid} channel={channel} onSaved={setChannel} />
        ) : (
          <CloudSettings wid={wid} channel={channel} onSaved={setChannel} />
        ))}
      {!gone && <Disconnect wid={wid} channel={channel} onDone={onChanged} />}
    </main>
  )
}

function PacingForm({
  wid,
  channel,
  onSaved,
}: {
  wid: string
  channel: ChannelView
  onSaved: (c: ChannelView) => void
}) {
  const pacing = (channel.qr?.pacing ?? {}) as Record<string, number | boolean>
  const { busy, error, run } = useAction()
  const [saved, setSaved] = useState(false)
  const submit = (e: Event) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    // A field left empty keeps its current value (it is not sent) instead of becoming 0.
    const num = (k: string) => (String(form.get(k) ?? '').trim() === '' ? undefined : Number(form.get(k)))
    setSaved(false)
    void run(async () => {
      const updated = await unwrap(
        ws(wid)
          .channels({ channelId: channel.id })
          .patch({
            qr: {
              pacing: {
                minDelayMs: num('minDelayMs'),
                maxDelayMs: num('maxDelayMs'),
                perMinute: num('perMinute'),
                perHour: num('perHour'),
                perDay: num('perDay'),
                warmup: form.get('warmup') === 'on',
                typing: form.get('typing') === 'on',
              },
              includeGroups: form.get('includeGroups') === 'on',
            },
          }),
      )
      onSaved(updated as ChannelView)
      setSaved(true)
    })
  }
  const field = (k: 'minDelayMs' | 'maxDelayMs' | 'perMinute' | 'perHour' | 'perDay') => (
    <Field
      label={t[k]}
      name={k}
      type="number"
      min={0}
      defaultValue={String(pacing[k] ?? '')}
      error={error?.fieldError(k)}
    />
  )
  return (
    <section class="card" aria-labelledby="pacing-title">
      <h2 id="pacing-title">{t.pacing}</h2>
      <p class="muted">{t.pacingHint}</p>
      <form onSubmit={submit} noValidate>
        {error && <Alert>{error.message}</Alert>}
        {saved && <Alert tone="success">{messages.app.saved}</Alert>}
        <div class="grid">
          {field('minDelayMs')}
          {field('maxDelayMs')}
          {field('perMinute')}
          {field('perHour')}
          {field('perDay')}
        </div>
        <label class="check">
          <input type="checkbox" name="warmup" defaultChecked={pacing.warmup !== false} /> {t.warmup}
        </label>
        <label class="check">
          <input type="checkbox" name="typing" defaultChecked={pacing.typing !== false} /> {t.typing}
        </label>
        <label class="check">
          <input type="checkbox" name="includeGroups" defaultChecked={channel.qr?.includeGroups ?? false} />{' '}
          {t.includeGroups}
        </label>
        <Button type="submit" busy={busy}>
          {messages.app.save}
        </Button>
      </form>
    </section>
  )
}

function CloudSettings({
  wid,
  channel,
  onSaved,
}: {
  wid: string
  channel: ChannelView
  onSaved: (c: ChannelView) => void
}) {
  const { busy, error, run } = useAction()
  const [notice, setNotice] = useState('')
  const [newVerifyToken, setNewVerifyToken] = useState<string | null>(null)
  const saveRate = (e: Event) => {
    e.preventDefault()
    const sendRate = Number(new FormData(e.currentTarget as HTMLFormElement).get('sendRate'))
    setNotice('')
    void run(async () => {
      onSaved((await unwrap(ws(wid).channels({ channelId: channel.id }).patch({ sendRate }))) as ChannelView)
      setNotice(messages.app.saved)
    })
  }
  const rotate = (e: Event) => {
    e.preventDefault()
    const formEl = e.currentTarget as HTMLFormElement
    const form = new FormData(formEl)
    const value = (k: string) => String(form.get(k) ?? '').trim() || undefined
    setNotice('')
    void run(async () => {
      const result = await unwrap(
        ws(wid)
          .channels({ channelId: channel.id })
          .credentials.post({
            accessToken: value('accessToken'),
            appSecret: value('appSecret'),
            regenerateVerifyToken: form.get('regenerateVerifyToken') === 'on' || undefined,
          }),
      )
      onSaved((result as { channel: ChannelView }).channel)
      const token = (result as { webhook?: { verifyToken?: string } }).webhook?.verifyToken
      setNewVerifyToken(token ?? null)
      setNotice(t.rotated)
      formEl.reset()
    })
  }
  return (
    <section class="card" aria-labelledby="cloud-settings-title">
      <h2 id="cloud-settings-title">{t.credentials}</h2>
      {error && <Alert>{error.message}</Alert>}
      {notice && <Alert tone="success">{notice}</Alert>}
      {newVerifyToken && <CopyValue label={t.verifyTokenValue} value={newVerifyToken} />}
      <form onSubmit={saveRate} class="inline-form" noValidate>
        <Field
          label={t.sendRate}
          name="sendRate"
          type="number"
          min={1}
          max={1000}
          defaultValue={String(channel.sendRate)}
          error={error?.fieldError('sendRate')}
        />
        <Button type="submit" variant="secondary" busy={busy}>
          {messages.app.save}
        </Button>
      </form>
      <form onSubmit={rotate} noValidate>
        <h3>{t.rotate}</h3>
        <p class="muted small">{t.rotateHint}</p>
        <Field
          label={t.accessToken}
          name="accessToken"
          type="password"
          autoComplete="off"
          placeholder={channel.credentials.accessToken ?? ''}
          error={error?.fieldError('accessToken')}
        />
        <Field
          label={t.appSecret}
          name="appSecret"
          type="password"
          autoComplete="off"
          placeholder={channel.credentials.appSecret ?? ''}
          error={error?.fieldError('appSecret')}
        />
        <label class="check">
          <input type="checkbox" name="regenerateVerifyToken" /> {t.regenerateVerifyToken}
        </label>
        <Button type="submit" variant="secondary" busy={busy}>
          {t.rotate}
        </Button>
      </form>
    </section>
  )
}

function Disconnect({ wid, channel, onDone }: { wid: string; channel: ChannelView; onDone: () => void }) {
  const [, navigate] = useLocation()
  const [confirming, setConfirming] = useState(false)
  const [typed, setTyped] = useState('')
  const { busy, error, run } = useAction()
  const isQr = channel.provider === 'qr'
  const go = () =>
    run(async () => {
      await unwrap(ws(wid).channels({ channelId: channel.id }).delete())
      onDone()
      navigate(`/w/${wid}/channels`)
    })
  return (
    <section class="card card--danger" aria-labelledby="disconnect-title">
      <h2 id="disconnect-title">{isQr ? t.unlink : t.disconnect}</h2>
      <p>{fill(isQr ? t.unlinkConfirm : t.disconnectConfirm, { name: channel.name })}</p>
      {error && <Alert>{error.message}</Alert>}
      {!confirming ? (
        <Button variant="danger" onClick={() => setConfirming(true)}>
          {isQr ? t.unlink : t.disconnect}
        </Button>
      ) : (
        <div class="inline-form">
          <Field
            label={t.typeName}
            name="confirmName"
            autoFocus
            value={typed}
            onInput={(e) => setTyped((e.currentTarget as HTMLInputElement).value)}
          />
          <Button variant="danger" busy={busy} disabled={typed.trim() !== channel.name} onClick={() => void go()}>
            {isQr ? t.unlink : t.disconnect}
          </Button>
          <Button variant="ghost" onClick={() => setConfirming(false)}>
            {messages.app.cancel}
          </Button>
        </div>
      )}
    </section>
  )
}
