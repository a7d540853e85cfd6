/**
 * Writing back: text (Ctrl+Enter sends), an attachment (uploaded, then sent), a quoted reply; the 24-hour
 * window of Cloud API numbers with its time left, and a template by name outside it. The message shows at once
 * and is reconciled with the server's answer: replaced by the real one, or taken back with the reason.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { Paperclip, Send, X } from 'lucide-preact'
import { ApiError, reasonOf, unwrap } from '../../api/client.ts'
import { fill, format, messages } from '../../i18n/index.ts'
import { Alert } from '../../components/ui.tsx'
import type { Channel, ConversationDetail, InboxStore, PendingMessage } from './store.ts'

const t = messages.composer
const WINDOW_MS = 24 * 60 * 60 * 1000

type SendBody = Parameters<InboxStore['api']['messages']['post']>[0]

const mediaTypeOf = (mime: string): 'image' | 'video' | 'audio' | 'document' =>
  mime.startsWith('image/') && mime !== 'image/svg+xml'
    ? 'image'
    : mime.startsWith('video/')
      ? 'video'
      : mime.startsWith('audio/')
        ? 'audio'
        : 'document'

/** Time left in the customer-service window, or null when it is closed (Cloud API numbers only). */
function windowLeft(conversation: ConversationDetail, now: number): number | null {
  if (!conversation.lastInboundAt) return null
  const left = Date.parse(conversation.lastInboundAt) + WINDOW_MS - now
  return left > 0 ? left : null
}

let pendingSeq = 0

/** One Idempotency-Key per message the agent means to send: a retry of the same body after a lost answer reuses it. */
function keyFor(last: { body: string; key: string } | null, body: string) {
  return last && last.body === body ? last : { body, key: crypto.randomUUID() }
}

export function Composer(props: {
  store: InboxStore
  conversation: ConversationDetail
  channel: Channel | undefined
  replyTo: PendingMessage | null
  clearReply: () => void
  onSent: () => void
}) {
  const { store, conversation, channel, replyTo } = props
  const [text, setText] = useState('')
  const [file, setFile] = useState<File | null>(null)
  const [error, setError] = useState('')
  const [notice, setNotice] = useState('')
  const [busy, setBusy] = useState(false)
  const [now, setNow] = useState(Date.now())
  const fileInput = useRef<HTMLInputElement>(null)
  const lastAttempt = useRef<{ body: string; key: string } | null>(null)

  // The window's time left is shown in minutes: refresh it once a minute (a clock, not a poll of the server).
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 60_000)
    return () => clearInterval(timer)
  }, [])

  const isCloud = channel?.provider === 'cloud'
  const left = isCloud ? windowLeft(conversation, now) : Infinity
  const windowOpen = left !== null
  const channelGone = channel?.status === 'disconnected'
  const optedOut = conversation.contact.optedOut

  /** Shows the message now; the server's answer replaces or removes it. */
  async function send(body: SendBody, preview: { type: string; text: string | null }) {
    const tempId = `pending-${++pendingSeq}`
    const optimistic = {
      id: tempId,
      conversationId: conversation.id,
      channelId: conversation.channelId,
      wamid: null,
      direction: 'out',
      type: preview.type,
      text: preview.text,
      content: {},
      replyTo: replyTo?.wamid ?? null,
      status: 'queued',
      statusAt: null,
      error: null,
      pricing: null,
      media: null,
      sentAt: new Date().toISOString(),
      pending: true,
    } as unknown as PendingMessage
    store.placeMessage(optimistic)
    props.onSent()
    const attempt = keyFor(lastAttempt.current, JSON.stringify(body))
    lastAttempt.current = attempt
    try {
      const result = await unwrap(store.api.messages.post(body, { headers: { 'idempotency-key': attempt.key } }))
      lastAttempt.current = null
      // The bubble becomes the real message in place; live events and this fetch bring its status along.
      store.confirmPending(tempId, result)
      const real = await unwrap(store.api.messages({ messageId: result.id }).get()).catch(() => null)
      if (real) store.placeMessage(real)
      const deferred = result.deferred
      setNotice(
        deferred
          ? deferred.until
            ? fill(t.deferred, { reason: deferred.reason, until: format.dateTime(deferred.until) })
            : fill(t.deferredNoTime, { reason: deferred.reason })
          : '',
      )
      props.clearReply()
      return true
    } catch (err) {
      store.removeMessage(tempId)
      // Refused (4xx): a new attempt is a new message. Unanswered: a retry of the same body reuses the key.
      if (err instanceof ApiError && err.status !== 0) lastAttempt.current = null
      setError(err instanceof ApiError ? err.message : reasonOf(err))
      return false
    }
  }

  async function sendText() {
    const body = text.trim()
    if ((!body && !file) || busy) return
    setBusy(true)
    setError('')
    const replyRef = replyTo ? { replyTo: replyTo.id } : {}
    try {
      if (file) {
        const upload = await unwrap(store.api.media.post({ channelId: conversation.channelId, file }))
        const kind = mediaTypeOf(file.type)
        const part =
          kind === 'document'
            ? { mediaId: upload.mediaId, filename: file.name, ...(body ? { caption: body } : {}) }
            : kind === 'audio'
              ? { mediaId: upload.mediaId }
              : { mediaId: upload.mediaId, ...(body ? { caption: body } : {}) }
        const ok = await send({ conversationId: conversation.id, type: kind, [kind]: part, ...replyRef } as SendBody, {
          type: kind,
          text: body || file.name,
        })
        if (ok) {
          setFile(null)
          setText('')
        }
      } else {
        setText('')
        const ok = await send(
          { conversationId: conversation.id, type: 'text', text: { body }, ...replyRef },
          { type: 'text', text: body },
        )
        if (!ok) setText(body)
      }
    } catch (err) {
      setError(reasonOf(err))
    } finally {
      setBusy(false)
    }
  }

  async function sendTemplate(e: Event) {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    const name = String(form.get('template') ?? '').trim()
    const language = String(form.get('language') ?? '').trim() || 'en_US'
    const params = String(form.get('params') ?? '')
      .split('\n')
      .map((p) => p.trim())
      .filter(Boolean)
    if (!name) return
    setBusy(true)
    setError('')
    const components =
      params.length > 0
        ? [{ type: 'body' as const, parameters: params.map((p) => ({ type: 'text' as const, text: p })) }]
        : []
    const ok = await send(
      { conversationId: conversation.id, type: 'template', template: { name, language, components } } as SendBody,
      { type: 'template', text: params.join(' · ') || name },
    )
    if (ok) (e.currentTarget as HTMLFormElement | null)?.reset()
    setBusy(false)
  }

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault()
      void sendText()
    }
  }

  if (channelGone) return <p class="thread__note">{t.channelGone}</p>
  if (optedOut) return <p class="thread__note">{t.optedOut}</p>

  return (
    <div class="composer">
      {error && <Alert>{error}</Alert>}
      {notice && <Alert tone="info">{notice}</Alert>}
      {!windowOpen ? (
        <form class="composer__template" onSubmit={sendTemplate}>
          <p class="composer__window composer__window--closed">
            {conversation.lastInboundAt ? t.windowClosed : t.windowNever}
          </p>
          <div class="composer__row">
            <label>
              <span>{t.templateName}</span>
              <input name="template" required autoComplete="off" />
            </label>
            <label class="composer__lang">
              <span>{t.templateLanguage}</span>
              <input name="language" placeholder="en_US" autoComplete="off" />
            </label>
          </div>
          <label>
            <span>{t.templateParams}</span>
            <textarea name="params" rows={2} />
          </label>
          <button type="submit" class="btn btn--primary" disabled={busy}>
            {t.sendTemplate}
          </button>
        </form>
      ) : (
        <>
          {isCloud && left !== null && left !== Infinity && (
            <p class="composer__window">{fill(t.windowOpen, { time: format.duration(left) })}</p>
          )}
          {replyTo && (
            <div class="composer__reply">
              <span class="muted">{messages.thread.replyingTo}</span>{' '}
              <span class="composer__reply-text">{replyTo.text ?? replyTo.type}</span>
              <button
                type="button"
                class="icon-btn"
                aria-label={messages.thread.cancelReply}
                onClick={props.clearReply}
              >
                <X size={14} aria-hidden="true" />
              </button>
            </div>
          )}
          {file && (
            <div class="composer__file">
              <Paperclip size={14} aria-hidden="true" /> <span>{file.name}</span>
              <button type="button" class="icon-btn" aria-label={t.removeAttachment} onClick={() => setFile(null)}>
                <X size={14} aria-hidden="true" />
              </button>
            </div>
          )}
          <div class="composer__row">
            {isCloud && (
              <>
                <button
                  type="button"
                  class="icon-btn"
                  aria-label={t.attach}
                  title={t.attach}
                  onClick={() => fileInput.current?.click()}
                >
                  <Paperclip size={18} aria-hidden="true" />
                </button>
                <input
                  ref={fileInput}
                  type="file"
                  hidden
                  aria-hidden="true"
                  tabIndex={-1}
                  onChange={(e) => setFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null)}
                />
              </>
            )}
            <label class="visually-hidden" for="composer-text">
              {t.label}
            </label>
            <textarea
              id="composer-text"
              class="composer__text"
              rows={2}
              placeholder={file ? t.caption : t.placeholder}
              value={text}
              onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
              onKeyDown={onKeyDown}
              maxLength={4096}
            />
            <button
              type="button"
              class="btn btn--primary composer__send"
              disabled={busy || (!text.trim() && !file)}
              onClick={() => void sendText()}
            >
              <Send size={16} aria-hidden="true" />
              <span>{busy && file ? fill(t.uploading, { name: file.name }) : t.send}</span>
            </button>
          </div>
        </>
      )}
    </div>
  )
}
