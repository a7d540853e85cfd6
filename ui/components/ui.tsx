/** Small building blocks every screen uses: form fields, buttons with busy states, alerts, copy, empty states. */
import type { ComponentChildren, JSX } from 'preact'
import { useCallback, useId, useState } from 'preact/hooks'
import { Check, Copy } from 'lucide-preact'
import { ApiError } from '../api/client.ts'
import { messages } from '../i18n/index.ts'

type FieldProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'label'> & {
  label: string
  hint?: string
  error?: string
  name: string
  multiline?: boolean
}

/** A labelled input with its hint and its error (the error is announced and linked to the input). */
export function Field({ label, hint, error, multiline, ...input }: FieldProps) {
  const id = useId()
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined
  const common = { id, 'aria-describedby': described, 'aria-invalid': error ? true : undefined }
  return (
    <div class={`field${error ? ' field--error' : ''}`}>
      <label for={id}>{label}</label>
      {multiline ? (
        <textarea {...(input as JSX.TextareaHTMLAttributes<HTMLTextAreaElement>)} {...common} />
      ) : (
        <input {...input} {...common} />
      )}
      {hint && (
        <p class="field__hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field__error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  )
}

export function Alert({
  children,
  tone = 'error',
}: {
  children: ComponentChildren
  tone?: 'error' | 'info' | 'success' | 'warning'
}) {
  return (
    <div class={`alert alert--${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  )
}

export function Button({
  busy,
  busyLabel,
  children,
  variant = 'primary',
  ...rest
}: JSX.ButtonHTMLAttributes<HTMLButtonElement> & {
  busy?: boolean
  busyLabel?: string
  variant?: 'primary' | 'secondary' | 'danger' | 'ghost'
}) {
  return (
    <button
      type="button"
      {...rest}
      class={`btn btn--${variant} ${rest.class ?? ''}`}
      disabled={busy || rest.disabled}
      aria-busy={busy || undefined}
    >
      {busy && busyLabel ? busyLabel : children}
    </button>
  )
}

/** A value shown once (webhook URL, verify token) with a copy button that says it worked. */
export function CopyValue({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false)
  const id = useId()
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value)
    } catch {
      // Clipboard refused (insecure origin): select the text so Ctrl+C works.
      const el = document.getElementById(id) as HTMLInputElement | null
      el?.select()
    }
    setCopied(true)
    setTimeout(() => setCopied(false), 2000)
  }
  return (
    <div class="copy">
      <label for={id}>{label}</label>
      <div class="copy__row">
        <input id={id} readOnly value={value} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        <button
          type="button"
          class="btn btn--secondary"
          onClick={copy}
          aria-label={`${copied ? messages.app.copied : messages.app.copy} ${label}`}
        >
          {copied ? <Check size={16} aria-hidden="true" /> : <Copy size={16} aria-hidden="true" />}
          <span>{copied ? messages.app.copied : messages.app.copy}</span>
        </button>
      </div>
    </div>
  )
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty__title">{title}</p>
      {children && <div class="empty__body">{children}</div>}
    </div>
  )
}

export function Loading({ label = messages.app.loading }: { label?: string }) {
  return (
    <div class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  )
}

/** A page-level failure with a retry. */
export function LoadError({ reason, retry }: { reason: string; retry?: () => void }) {
  return (
    <Alert>
      <p>{reason}</p>
      {retry && (
        <Button variant="secondary" onClick={retry}>
          {messages.app.retry}
        </Button>
      )}
    </Alert>
  )
}

/**
 * One user action against the API: `busy` while it runs, its failure as an ApiError (so a form can show the
 * problem's detail and each field's message), cleared on the next try. `run` resolves to the action's value,
 * or undefined when it failed.
 */
export function useAction() {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true)
    setError(null)
    try {
      return await action()
    } catch (err) {
      setError(
        err instanceof ApiError
          ? err
          : new ApiError(0, { status: 0, detail: err instanceof Error ? err.message : String(err) }),
      )
      return undefined
    } finally {
      setBusy(false)
    }
  }, [])
  return { busy, error, run, clearError: () => setError(null) }
}

/** A form's submit button and, where the form can be left, Cancel. */
export function FormActions({
  label,
  busy,
  busyLabel,
  onCancel,
}: {
  label: string
  busy: boolean
  busyLabel?: string
  onCancel?: () => void
}) {
  return (
    <div class="form__actions">
      <Button type="submit" busy={busy} busyLabel={busyLabel}>
        {label}
      </Button>
      {onCancel && (
        <Button variant="ghost" onClick={onCancel}>
          {messages.app.cancel}
        </Button>
      )}
    </div>
  )
}

/** Label → value pairs; pairs without a value are left out. */
export function Facts({
  items,
  class: className = 'facts',
}: {
  items: [label: string, value: ComponentChildren][]
  class?: string
}) {
  return (
    <dl class={className}>
      {items
        .filter(([, value]) => value !== null && value !== undefined && value !== '')
        .map(([label, value]) => (
          <div class="facts__row" key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
    </dl>
  )
}
