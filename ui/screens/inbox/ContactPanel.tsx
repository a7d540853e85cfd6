/** Who the customer is: name, number, WhatsApp ids, labels, notes and the opt-out switch (contacts.write). */
import { useEffect, useRef, useState } from 'preact/hooks'
import { X } from 'lucide-preact'
import { unwrap } from '../../api/client.ts'
import { format, messages } from '../../i18n/index.ts'
import { can } from '../../state/session.ts'
import { Alert, Button, Facts, Field, useAction } from '../../components/ui.tsx'
import type { InboxStore } from './store.ts'

const t = messages.contact

export function ContactPanel({ store, onClose }: { store: InboxStore; onClose: () => void }) {
  const conversation = store.open.value!
  const contact = conversation.contact
  const editable = can('contacts.write')
  const { busy, error, run, clearError } = useAction()
  // Where the panel covers the thread (narrow windows) it is a dialog: the focus goes in, and back to the
  // "Contact details" button when it closes.
  const overlay = window.matchMedia('(max-width: 1100px)').matches
  const title = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    if (!overlay) return
    title.current?.focus()
    return () => document.querySelector<HTMLElement>('.thread__actions [aria-pressed]')?.focus()
  }, [])
  const [saved, setSaved] = useState(false)
  // The form shows what was saved after our own save; another agent's edit does not wipe what is being typed.
  const [formVersion, setFormVersion] = useState(0)
  useEffect(() => {
    clearError()
    setSaved(false)
  }, [contact.id])

  function save(patch: { name?: string | null; labels?: string[]; notes?: string; optedOut?: boolean }) {
    setSaved(false)
    void run(async () => {
      await unwrap(store.api.contacts({ contactId: contact.id }).patch(patch))
      store.setOpen(await unwrap(store.api.conversations({ conversationId: conversation.id }).get()))
      setFormVersion((v) => v + 1)
      setSaved(true)
    })
  }
  const submit = (e: Event) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    save({
      name: String(form.get('name') ?? '').trim() || null,
      labels: String(form.get('labels') ?? '')
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
      notes: String(form.get('notes') ?? ''),
    })
  }

  return (
    // biome-ignore lint/a11y/useAriaPropsSupportedByRole: the role is dialog whenever aria-modal is set (the overlay on narrow screens)
    <aside
      class="contact"
      aria-labelledby="contact-title"
      role={overlay ? 'dialog' : undefined}
      aria-modal={overlay ? true : undefined}
    >
      <header class="contact__head">
        <h2 id="contact-title" ref={title} tabIndex={-1}>
          {t.title}
        </h2>
        <button type="button" class="icon-btn" aria-label={messages.app.close} onClick={onClose}>
          <X size={18} aria-hidden="true" />
        </button>
      </header>
      <Facts
        class="facts contact__facts"
        items={[
          [t.phone, contact.phone],
          [t.profileName, contact.profileName],
          [t.username, contact.username ? `@${contact.username}` : null],
          [t.bsuid, contact.bsuid ? <span class="mono">{contact.bsuid}</span> : null],
          [t.since, format.dateTime(contact.createdAt)],
        ]}
      />
      {error && <Alert>{error.message}</Alert>}
      {saved && <Alert tone="success">{messages.app.saved}</Alert>}
      <form key={`${contact.id}:${formVersion}`} onSubmit={submit}>
        <fieldset disabled={!editable || busy}>
          <Field
            label={t.name}
            name="name"
            defaultValue={contact.name ?? ''}
            placeholder={t.namePlaceholder}
            maxLength={100}
          />
          <Field label={t.labels} name="labels" defaultValue={contact.labels.join(', ')} hint={t.labelsHint} />
          <Field label={t.notes} name="notes" multiline defaultValue={contact.notes ?? ''} maxLength={5000} />
          {editable && (
            <Button type="submit" busy={busy} variant="secondary">
              {messages.app.save}
            </Button>
          )}
        </fieldset>
      </form>
      <div class="contact__optout">
        <label class="switch">
          <input
            type="checkbox"
            role="switch"
            aria-checked={contact.optedOut}
            checked={contact.optedOut}
            disabled={!editable || busy}
            onChange={(e) => save({ optedOut: (e.currentTarget as HTMLInputElement).checked })}
          />
          <span>{t.optedOut}</span>
        </label>
        <p class="muted">{t.optedOutHint}</p>
      </div>
    </aside>
  )
}
