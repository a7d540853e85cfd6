/** Sign in; afterwards back to where the person was going (`?next=`), else their workspace's inbox. */
import { Redirect, useLocation, useSearch } from 'wouter-preact'
import { api, unwrap } from '../../api/client.ts'
import { messages } from '../../i18n/index.ts'
import { me, refreshMe } from '../../state/session.ts'
import { Alert, Button, Field, useAction } from '../../components/ui.tsx'
import { AuthFrame } from './AuthFrame.tsx'

const t = messages.auth

/** Only paths of this app: an open redirect through ?next= would help phishing. */
export function safeNext(next: string | null): string {
  if (!next) return '/'
  try {
    const url = new URL(next, window.location.origin)
    return url.origin === window.location.origin ? url.pathname + url.search : '/'
  } catch {
    return '/'
  }
}

export function SignIn() {
  const search = new URLSearchParams(useSearch())
  const [, navigate] = useLocation()
  const next = safeNext(search.get('next'))
  const { busy, error, run } = useAction()
  if (me.value) return <Redirect to={next} replace />

  const submit = (e: Event) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    void run(async () => {
      await unwrap(
        api.api.v1.auth.login.post({ email: String(form.get('email')), password: String(form.get('password')) }),
        { quiet401: true },
      )
      await refreshMe()
      navigate(next, { replace: true })
    })
  }
  return (
    <AuthFrame title={t.signInTitle} lead={search.get('next') ? t.sessionExpired : t.signInLead}>
      <form onSubmit={submit} noValidate>
        {error && <Alert>{error.message}</Alert>}
        <Field
          label={t.email}
          name="email"
          type="email"
          autoComplete="username"
          required
          autoFocus
          error={error?.fieldError('email')}
        />
        <Field
          label={t.password}
          name="password"
          type="password"
          autoComplete="current-password"
          required
          error={error?.fieldError('password')}
        />
        <Button type="submit" busy={busy} busyLabel={t.signingIn} class="btn--block">
          {t.signIn}
        </Button>
      </form>
    </AuthFrame>
  )
}
