/** One message in a thread, whatever its type, with its quote, reactions and delivery status. */
import type { ComponentChildren } from 'preact'
import { memo } from 'preact/compat'
import { AlertCircle, Check, CheckCheck, Clock, FileText, MapPin, Reply, SmilePlus, User } from 'lucide-preact'
import { fill, format, messages } from '../../i18n/index.ts'
import type { PendingMessage } from './store.ts'

const t = messages.thread

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g

/** Text with its links clickable (opened outside the app, without a referrer). */
export function Linkified({ text }: { text: string }) {
  const parts: ComponentChildren[] = []
  let last = 0
  for (const match of text.matchAll(URL_PATTERN)) {
    const at = match.index ?? 0
    if (at > last) parts.push(text.slice(last, at))
    parts.push(
      <a href={match[0]} target="_blank" rel="noopener noreferrer nofollow">
        {match[0]}
      </a>,
    )
    last = at + match[0].length
  }
  if (last < text.length) parts.push(text.slice(last))
  return <>{parts}</>
}

function StatusTick({ status }: { status: string | null }) {
  if (!status) return null
  const label = t.status[status] ?? status
  const icon =
    status === 'queued' || status === 'sending' ? (
      <Clock size={14} aria-hidden="true" />
    ) : status === 'sent' ? (
      <Check size={14} aria-hidden="true" />
    ) : status === 'failed' ? (
      <AlertCircle size={14} aria-hidden="true" />
    ) : (
      <CheckCheck size={14} aria-hidden="true" />
    )
  return (
    <span class={`tick tick--${status}`} role="img" aria-label={label} title={label}>
      {icon}
    </span>
  )
}

const mediaUrl = (wid: string, id: string) =>
  `/api/v1/workspaces/${encodeURIComponent(wid)}/messages/${encodeURIComponent(id)}/media`

function Media({ wid, m }: { wid: string; m: PendingMessage }) {
  const media = m.media
  const content = m.content as Record<string, unknown>
  const link = typeof content.link === 'string' ? content.link : null
  // What the team sent by upload: the file went to WhatsApp, wabox keeps its name and kind.
  if (!media && !link && typeof content.mediaId === 'string') {
    const name = typeof content.filename === 'string' ? content.filename : (t[m.type as 'image'] ?? t.document)
    return (
      <p class="media media--doc">
        <FileText size={18} aria-hidden="true" /> <span>{fill(t.sentAttachment, { name })}</span>
      </p>
    )
  }
  if (!media && !link) return null
  const state = media?.state ?? 'stored'
  if (media && state === 'failed') return <p class="media media--missing">{t.mediaFailed}</p>
  if (media && state !== 'stored') return <p class="media media--missing">{t.mediaPending}</p>
  // Inbound media comes from wabox's store; outbound by link is shown from the link itself only as a link.
  const src = media ? mediaUrl(wid, m.id) : null
  const name = media?.filename ?? (typeof content.filename === 'string' ? content.filename : null)
  if (!src) {
    return (
      <p class="media">
        <FileText size={16} aria-hidden="true" /> {t[m.type as 'image'] ?? t.document}: {link}
      </p>
    )
  }
  switch (m.type) {
    case 'image':
      return (
        <a href={src} class="media media--image" target="_blank" rel="noopener">
          <img src={src} alt={m.text ?? t.image} loading="lazy" />
        </a>
      )
    case 'sticker':
      return <img class="media media--sticker" src={src} alt={t.sticker} loading="lazy" />
    case 'video':
      return <video class="media media--video" src={src} controls preload="metadata" aria-label={t.video} />
    case 'audio':
      return <audio class="media media--audio" src={src} controls preload="none" aria-label={t.audio} />
    default:
      return (
        <a class="media media--doc" href={src} download={name ?? undefined}>
          <FileText size={20} aria-hidden="true" />
          <span>{name ?? t.document}</span>
          <span class="muted">{t.download}</span>
        </a>
      )
  }
}

function Body({ wid, m }: { wid: string; m: PendingMessage }) {
  const c = m.content as Record<string, unknown>
  switch (m.type) {
    case 'text':
      return <p class="bubble__text">{m.text ? <Linkified text={m.text} /> : null}</p>
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker':
      return (
        <>
          <Media wid={wid} m={m} />
          {m.text && m.type !== 'sticker' && (
            <p class="bubble__text">
              <Linkified text={m.text} />
            </p>
          )}
        </>
      )
    case 'location': {
      const lat = Number(c.latitude)
      const lon = Number(c.longitude)
      const href = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`
      return (
        <div class="bubble__location">
          <MapPin size={18} aria-hidden="true" />
          <div>
            <strong>{typeof c.name === 'string' ? c.name : t.location}</strong>
            {typeof c.address === 'string' && <div>{c.address}</div>}
            <a href={href} target="_blank" rel="noopener noreferrer">
              {t.openMap}
            </a>
          </div>
        </div>
      )
    }
    case 'contacts': {
      const cards = Array.isArray(c.contacts)
        ? (c.contacts as { name?: { formatted_name?: string }; phones?: { phone?: string; wa_id?: string }[] }[])
        : []
      return (
        <ul class="bubble__cards" aria-label={t.contacts}>
          {cards.map((card, i) => (
            <li key={i}>
              <User size={16} aria-hidden="true" />
              <span>
                <strong>{card.name?.formatted_name ?? t.contacts}</strong>
                {(card.phones ?? []).map((p) => (
                  <span class="muted"> {p.phone ?? p.wa_id}</span>
                ))}
              </span>
            </li>
          ))}
        </ul>
      )
    }
    case 'interactive': {
      const i = (c.interactive ?? {}) as { type?: string; title?: string }
      if (m.direction === 'in' && (i.type === 'button_reply' || i.type === 'list_reply'))
        return (
          <p class="bubble__text bubble__choice">
            {fill(i.type === 'button_reply' ? t.buttonReply : t.listReply, { title: i.title ?? m.text ?? '' })}
          </p>
        )
      const body = (c.body as { text?: string } | undefined)?.text ?? m.text
      return <p class="bubble__text">{body ?? t.interactive}</p>
    }
    case 'button':
      return (
        <p class="bubble__text bubble__choice">
          {fill(t.buttonReply, { title: (c.buttonText as string) ?? m.text ?? '' })}
        </p>
      )
    case 'template':
      return (
        <p class="bubble__text">
          <span class="muted">{fill(t.template, { name: String(c.name ?? '') })}</span>
          {m.text && <span> {m.text}</span>}
        </p>
      )
    case 'system':
      return <p class="bubble__text muted">{m.text ?? t.system}</p>
    case 'reaction':
      return <p class="bubble__text">{c.emoji ? fill(t.reaction, { emoji: String(c.emoji) }) : t.reactionRemoved}</p>
    default:
      if (m.text) return <p class="bubble__text">{m.text}</p>
      return <p class="bubble__text muted">{fill(t.unsupported, { type: String(c.unsupportedType ?? m.type) })}</p>
  }
}

/**
 * Memoised: its props are stable between renders (the same message object, the handlers from useCallback,
 * reactions as a string), so a new message in a long thread renders one bubble, not all of them.
 */
export const MessageBubble = memo(function MessageBubble(props: {
  wid: string
  m: PendingMessage
  quoted: { text: string | null; type: string; direction: string } | null
  /** The reactions shown on it, separated by spaces. */
  reactions: string
  canReply: boolean
  onReply: (m: PendingMessage) => void
  onReact: (m: PendingMessage, emoji: string) => void
}) {
  const { m } = props
  const out = m.direction === 'out'
  const failed = m.status === 'failed'
  return (
    <article
      class={`bubble bubble--${out ? 'out' : 'in'}${failed ? ' bubble--failed' : ''}${m.pending ? ' bubble--pending' : ''}`}
      data-direction={out ? 'out' : 'in'}
      data-status={out ? (m.status ?? undefined) : undefined}
      data-id={m.id}
      aria-label={fill(out ? t.outbound : t.inbound, {
        time: format.time(m.sentAt),
        status: t.status[m.status ?? ''] ?? '',
      })}
      tabIndex={-1}
    >
      {m.replyTo && (
        <blockquote class="bubble__quote">
          {props.quoted ? (props.quoted.text ?? t[props.quoted.type as 'image'] ?? props.quoted.type) : t.quotedMissing}
        </blockquote>
      )}
      <Body wid={props.wid} m={m} />
      {failed && m.error && (
        <p class="bubble__error">
          <AlertCircle size={14} aria-hidden="true" />{' '}
          {fill(t.failedReason, {
            reason: `${m.error.title ?? ''}${m.error.code ? ` (${m.error.code})` : ''}${m.error.details ? ` — ${m.error.details}` : ''}`,
          })}
        </p>
      )}
      <footer class="bubble__meta">
        {(m.content as { automated?: boolean }).automated && <span class="chip chip--muted">{t.automated}</span>}
        <time dateTime={m.sentAt}>{format.time(m.sentAt)}</time>
        {out && <StatusTick status={m.status} />}
      </footer>
      {props.reactions && (
        <div class="bubble__reactions" role="img" aria-label={props.reactions}>
          {props.reactions.replaceAll(' ', '')}
        </div>
      )}
      {props.canReply && !m.pending && m.type !== 'reaction' && (
        <div class="bubble__actions">
          <button type="button" class="icon-btn" aria-label={t.reply} title={t.reply} onClick={() => props.onReply(m)}>
            <Reply size={16} aria-hidden="true" />
          </button>
          {m.wamid && (
            <details class="react">
              <summary class="icon-btn" aria-label={t.react} title={t.react}>
                <SmilePlus size={16} aria-hidden="true" />
              </summary>
              <div class="react__menu">
                {['👍', '❤️', '😂', '😮', '🙏'].map((emoji) => (
                  <button
                    type="button"
                    aria-label={fill(t.reactWith, { emoji })}
                    onClick={(e) => {
                      ;(e.currentTarget as HTMLElement).closest('details')?.removeAttribute('open')
                      props.onReact(m, emoji)
                    }}
                  >
                    {emoji}
                  </button>
                ))}
              </div>
            </details>
          )}
        </div>
      )}
    </article>
  )
})
