/** Small building blocks every screen uses: form fields, buttons with busy states, alerts, copy, empty states. */
import type { ComponentChildren, JSX } from 'preact'
import { useId, useState } from 'preact/hooks'
import { Check, Copy } from 'lucide-preact'
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
      {multiline ? <textarea {...(input as JSX.TextareaHTMLAttributes<HTMLTextAreaElement>)} {...common} /> : <input {...input} {...common} />}
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

export function Alert({ children, tone = 'error' }: { children: ComponentChildren; tone?: 'error' | 'info' | 'success' | 'warning' }) {
  return (
    <div class={`alert alert--${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  )
}

export function Button({ busy, busyLabel, children, variant = 'primary', ...rest }: JSX.ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean; busyLabel?: string; variant?: 'primary' | 'secondary' | 'danger' | 'ghost' }) {
  return (
    <button type="button" {...rest} class={`btn btn--${variant} ${rest.class ?? ''}`} disabled={busy || rest.disabled} aria-busy={busy || undefined}>
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
        <button type="button" class="btn btn--secondary" onClick={copy} aria-label={`${copied ? messages.app.copied : messages.app.copy} ${label}`}>
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
