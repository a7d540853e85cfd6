/** Start linking a phone by QR: name it, then its page shows the code to scan. */
import { useState } from 'preact/hooks'
import { ApiError, unwrap, ws } from '../../api/client.ts'
import { messages } from '../../i18n/index.ts'
import { Alert, Button, Field } from '../../components/ui.tsx'

const t = messages.channels

export function CreateQr({ wid, onCreated, onCancel }: { wid: string; onCreated: (id: string) => void; onCancel: () => void }) {
  const [error, setError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event) => {
    e.preventDefault()
    const name = String(new FormData(e.currentTarget as HTMLFormElement).get('name') ?? '').trim()
    setBusy(true)
    setError(null)
    try {
      const created = await unwrap(ws(wid).channels.post({ kind: 'qr', name }))
      onCreated(created.channel.id)
    } catch (err) {
      setError(err as ApiError)
      setBusy(false)
    }
  }
  return (
    <main class="page page--narrow" aria-labelledby="qr-title">
      <h1 id="qr-title">{t.linkQr}</h1>
      <p class="muted">{t.pacingHint}</p>
      <form onSubmit={submit} noValidate>
        {error && <Alert>{error.message}</Alert>}
        <Field label={t.name} name="name" required autoFocus placeholder={t.namePlaceholder} maxLength={100} error={error?.fieldError('name')} />
        <div class="form__actions">
          <Button type="submit" busy={busy}>
            {t.startLinking}
          </Button>
          <Button variant="ghost" onClick={onCancel}>
            {messages.app.cancel}
          </Button>
        </div>
      </form>
    </main>
  )
}
