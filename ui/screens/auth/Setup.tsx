/** First run: the one-time setup link creates the operator, the first workspace, and lands in its inbox. */
import { useEffect, useState } from 'preact/hooks'
import { Link, useLocation, useSearch } from 'wouter-preact'
import { api, type ApiError, unwrap } from '../../api/client.ts'
import { messages } from '../../i18n/index.ts'
import { refreshMe } from '../../state/session.ts'
import { Alert, Button, Field, Loading, useAction } from '../../components/ui.tsx'
import { AuthFrame } from './AuthFrame.tsx'

const t = messages.auth

export function Setup() {
  const token = new URLSearchParams(useSearch()).get('token') ?? ''
  const [, navigate] = useLocation()
  const [required, setRequired] = useState<boolean | null>(null)
  const [loadError, setLoadError] = useState<ApiError | null>(null)
  const { busy, error: submitError, run } = useAction()
  const error = submitError ?? loadError
  useEffect(() => {
    unwrap(api.api.v1.setup.get())
      .then((r) => setRequired(r.required))
      .catch((err: ApiError) => setLoadError(err))
  }, [])

  const submit = (e: Event) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    void run(async () => {
      const result = await unwrap(
        api.api.v1.setup.post({
          token,
          name: String(form.get('name') ?? ''),
          email: String(form.get('email')),
          password: String(form.get('password')),
          workspaceName: String(form.get('workspaceName')),
        }),
        { quiet401: true },
      )
      await refreshMe()
      navigate(`/w/${result.workspace.id}/inbox`, { replace: true })
    })
  }

  if (required === null && !error)
    return (
      <AuthFrame title={t.setupTitle}>
        <Loading />
      </AuthFrame>
    )
  if (required === false)
    return (
      <AuthFrame title={t.setupTitle} lead={t.setupDone}>
        <Link href="/login" class="btn btn--primary btn--block">
          {t.signIn}
        </Link>
      </AuthFrame>
    )
  return (
    <AuthFrame title={t.setupTitle} lead={token ? t.setupLead : t.setupNoToken}>
      {token && (
        <form onSubmit={submit} noValidate>
          {error && <Alert>{error.message}</Alert>}
          <Field label={t.yourName} name="name" autoComplete="name" error={error?.fieldError('name')} />
          <Field
            label={t.email}
            name="email"
            type="email"
            autoComplete="username"
            required
            error={error?.fieldError('email')}
          />
          <Field
            label={t.password}
            name="password"
            type="password"
            autoComplete="new-password"
            required
            minLength={12}
            hint={t.passwordHint}
            error={error?.fieldError('password')}
          />
          <Field label={t.workspaceName} name="workspaceName" required error={error?.fieldError('workspaceName')} />
          <Button type="submit" busy={busy} busyLabel={t.creating} class="btn--block">
            {t.createAccount}
          </Button>
        </form>
      )}
    </AuthFrame>
  )
}
