/** Start linking a phone by QR: name it, then its page shows the code to scan. */
import { unwrap, ws } from '../../api/client.ts'
import { messages } from '../../i18n/index.ts'
import { Alert, Field, FormActions, useAction } from '../../components/ui.tsx'

const t = messages.channels

export function CreateQr({
  wid,
  onCreated,
  onCancel,
}: {
  wid: string
  onCreated: (id: string) => void
  onCancel: () => void
}) {
  const { busy, error, run } = useAction()
  const submit = (e: Event) => {
    e.preventDefault()
    const name = String(new FormData(e.currentTarget as HTMLFormElement).get('name') ?? '').trim()
    void run(async () => onCreated((await unwrap(ws(wid).channels.post({ kind: 'qr', name }))).channel.id))
  }
  return (
    <main class="page page--narrow" aria-labelledby="qr-title">
      <h1 id="qr-title">{t.linkQr}</h1>
      <p class="muted">{t.pacingHint}</p>
      <form onSubmit={submit} noValidate>
        {error && <Alert>{error.message}</Alert>}
        <Field
          label={t.name}
          name="name"
          required
          autoFocus
          placeholder={t.namePlaceholder}
          maxLength={100}
          error={error?.fieldError('name')}
        />
        <FormActions label={t.startLinking} busy={busy} onCancel={onCancel} />
      </form>
    </main>
  )
}
