/** What a person sees for a page their role may not open (403) or one that does not exist for them (404). */
import { Link } from 'wouter-preact'
import { messages } from '../../i18n/index.ts'

const t = messages.errors

function ErrorPage({ title, body, wid }: { title: string; body: string; wid?: string }) {
  return (
    <main class="error-page" aria-labelledby="error-title">
      <h1 id="error-title">{title}</h1>
      <p>{body}</p>
      {wid && (
        <Link href={`/w/${wid}/inbox`} class="btn btn--primary">
          {t.goToInbox}
        </Link>
      )}
    </main>
  )
}

export const Forbidden = ({ wid }: { wid?: string }) => (
  <ErrorPage title={t.forbiddenTitle} body={t.forbiddenBody} wid={wid} />
)
export const NotFound = ({ wid }: { wid?: string }) => (
  <ErrorPage title={t.notFoundTitle} body={t.notFoundBody} wid={wid} />
)
