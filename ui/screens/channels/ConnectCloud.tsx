/**
 * Connect a Cloud API number: the form (Meta's refusal shown next to the field at fault), then the webhook URL
 * and verify token — shown once — with copy buttons and the steps in Meta's dashboard.
 */
import { useState } from 'preact/hooks'
import { unwrap, ws } from '../../api/client.ts'
import { messages } from '../../i18n/index.ts'
import { Alert, Button, CopyValue, Field, FormActions, useAction } from '../../components/ui.tsx'

const t = messages.channels

export function ConnectCloud({ wid, onDone, onCancel }: { wid: string; onDone: () => void; onCancel: () => void }) {
  const { busy, error, run } = useAction()
  const [result, setResult] = useState<{ url: string; verifyToken: string; name: string } | null>(null)

  const submit = (e: Event) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    const value = (k: string) => String(form.get(k) ?? '').trim()
    void run(async () => {
      const created = await unwrap(
        ws(wid).channels.post({
          kind: 'cloud',
          name: value('name'),
          accessToken: value('accessToken'),
          phoneNumberId: value('phoneNumberId'),
          wabaId: value('wabaId'),
          appSecret: value('appSecret'),
          ...(value('verifyToken') ? { verifyToken: value('verifyToken') } : {}),
        }),
      )
      // The answer to a Cloud connection carries the webhook settings (a QR link's does not).
      const webhook = (created as { webhook?: { url: string; verifyToken: string } }).webhook
      if (!webhook) throw new Error(messages.app.unexpectedAnswer)
      setResult({ url: webhook.url, verifyToken: webhook.verifyToken, name: created.channel.name })
    })
  }

  if (result)
    return (
      <main class="page page--narrow" aria-labelledby="connected-title">
        <h1 id="connected-title">{t.connectedTitle}</h1>
        <Alert tone="warning">{t.connectedShownOnce}</Alert>
        <CopyValue label={t.webhookUrl} value={result.url} />
        <CopyValue label={t.verifyTokenValue} value={result.verifyToken} />
        <ol class="steps">
          {t.metaSteps.map((step) => (
            <li key={step}>{step}</li>
          ))}
        </ol>
        <Button onClick={onDone}>{t.done}</Button>
      </main>
    )

  const err = (field: string) => error?.fieldError(field)
  return (
    <main class="page page--narrow" aria-labelledby="connect-title">
      <h1 id="connect-title">{t.connectCloud}</h1>
      <form onSubmit={submit} noValidate>
        {error && <Alert>{error.message}</Alert>}
        <Field
          label={t.name}
          name="name"
          required
          placeholder={t.namePlaceholder}
          maxLength={100}
          error={err('name')}
        />
        <Field
          label={t.accessToken}
          name="accessToken"
          type="password"
          autoComplete="off"
          required
          hint={t.accessTokenHint}
          error={err('accessToken')}
        />
        <Field
          label={t.phoneNumberId}
          name="phoneNumberId"
          inputMode="numeric"
          required
          hint={t.phoneNumberIdHint}
          error={err('phoneNumberId')}
        />
        <Field label={t.wabaId} name="wabaId" inputMode="numeric" required error={err('wabaId')} />
        <Field
          label={t.appSecret}
          name="appSecret"
          type="password"
          autoComplete="off"
          required
          hint={t.appSecretHint}
          error={err('appSecret')}
        />
        <Field
          label={t.verifyToken}
          name="verifyToken"
          autoComplete="off"
          hint={t.verifyTokenHint}
          error={err('verifyToken')}
        />
        <FormActions label={t.connect} busy={busy} busyLabel={t.connecting} onCancel={onCancel} />
      </form>
    </main>
  )
}
