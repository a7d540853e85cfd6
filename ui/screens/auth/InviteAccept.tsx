/** An invite link: see what it offers, then join (creating the account, or with an existing one's password). */
import { useEffect, useState } from 'preact/hooks'
import { useLocation, useSearch } from 'wouter-preact'
import { api, unwrap } from '../../api/client.ts'
import { fill, messages } from '../../i18n/index.ts'
import { refreshMe } from '../../state/session.ts'
import { Alert, Button, Field, Loading, useAction } from '../../components/ui.tsx'
import { AuthFrame } from './AuthFrame.tsx'

const t = messages.auth

export function InviteAccept() {
  const token = new URLSearchParams(useSearch()).get('token') ?? ''
  const [, navigate] = useLocation()
  const [preview, setPreview] = useState<{ workspaceName: string; email: string; role: string } | null>(null)
  const [invalid, setInvalid] = useState(false)
  const { busy, error, run } = useAction()
  useEffect(() => {
    if (!token) return setInvalid(true)
    unwrap(api.api.v1.invites.preview.get({ query: { token } }), { quiet401: true })
      .then(setPreview)
      .catch(() => setInvalid(true))
  }, [token])

  const submit = (e: Event) => {
    e.preventDefault()
    if (!preview) return
    const form = new FormData(e.currentTarget as HTMLFormElement)
    void run(async () => {
      const result = await unwrap(
        api.api.v1.invites.accept.post({
          token,
          email: preview.email,
          password: String(form.get('password')),
          name: String(form.get('name') ?? ''),
        }),
        { quiet401: true },
      )
      await refreshMe()
      navigate(`/w/${result.workspaceId}/inbox`, { replace: true })
    })
  }

  if (invalid)
    return (
      <AuthFrame title={t.acceptInvite} lead={t.inviteInvalid}>
        {null}
      </AuthFrame>
    )
  if (!preview)
    return (
      <AuthFrame title={t.acceptInvite}>
        <Loading />
      </AuthFrame>
    )
  const role = messages.roles[preview.role as keyof typeof messages.roles] ?? preview.role
  return (
    <AuthFrame
      title={fill(t.inviteTitle, { workspace: preview.workspaceName })}
      lead={fill(t.inviteLead, { role, email: preview.email })}
    >
      <form onSubmit={submit} noValidate>
        {error && <Alert>{error.message}</Alert>}
        <p class="muted">
          {t.inviteNew} {t.inviteExisting}
        </p>
        <Field label={t.yourName} name="name" autoComplete="name" error={error?.fieldError('name')} />
        <Field
          label={t.password}
          name="password"
          type="password"
          autoComplete="new-password"
          required
          hint={t.passwordHint}
          error={error?.fieldError('password')}
        />
        <Button type="submit" busy={busy} class="btn--block">
          {t.acceptInvite}
        </Button>
      </form>
    </AuthFrame>
  )
}
