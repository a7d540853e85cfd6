/** The centred card the sign-in, setup and invite pages share. */
import type { ComponentChildren } from 'preact'

export function AuthFrame({ title, lead, children }: { title: string; lead?: string; children: ComponentChildren }) {
  return (
    <main class="auth">
      <div class="auth__card">
        <p class="auth__brand" aria-hidden="true">
          wabox
        </p>
        <h1>{title}</h1>
        {lead && <p class="auth__lead">{lead}</p>}
        {children}
      </div>
    </main>
  )
}
