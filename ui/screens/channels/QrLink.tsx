/**
 * Linking a phone: the QR code refreshing live from …/qr/stream, the pairing-code alternative, and the
 * connection state in words. The stream ends by itself once the phone is linked (or linking stopped).
 */
import { useEffect, useState } from 'preact/hooks'
import { type ApiError, reasonOf, unwrap, ws } from '../../api/client.ts'
import { fill, messages } from '../../i18n/index.ts'
import { Alert, Button, Field } from '../../components/ui.tsx'

const t = messages.channels
const FINAL = new Set(['connected', 'logged_out', 'qr_expired', 'replaced', 'needs_attention', 'outdated_version'])

export function QrLink({
  wid,
  channelId,
  initialState,
  onState,
}: {
  wid: string
  channelId: string
  initialState: string | null
  onState: (state: string) => void
}) {
  const [state, setState] = useState(initialState ?? 'linking')
  const [lastError, setLastError] = useState<string | null>(null)
  const [svg, setSvg] = useState<string | null>(null)
  const [generation, setGeneration] = useState(0)
  const [pairing, setPairing] = useState<{ code: string } | null>(null)
  const [pairingError, setPairingError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState('')

  useEffect(() => {
    const es = new EventSource(
      `/api/v1/workspaces/${encodeURIComponent(wid)}/channels/${encodeURIComponent(channelId)}/qr/stream`,
      { withCredentials: true },
    )
    es.addEventListener('qr', (e) => {
      try {
        setSvg((JSON.parse((e as MessageEvent<string>).data) as { svg: string }).svg)
      } catch {
        // a malformed frame: wait for the next code
      }
    })
    es.addEventListener('state', (e) => {
      try {
        const update = JSON.parse((e as MessageEvent<string>).data) as {
          state: string | null
          lastError: string | null
        }
        const next = update.state ?? 'linking'
        setState(next)
        setLastError(update.lastError)
        // Still linking with an error: the pairing code was not confirmed in time, so it is no use any more.
        if (next === 'linking' && update.lastError) setPairing(null)
        onState(next)
        // Final states end the server's stream; stop the browser from reopening it.
        if (FINAL.has(next)) {
          es.close()
          if (next !== 'linking') setSvg(null)
        }
      } catch {
        // ignore
      }
    })
    return () => es.close()
  }, [wid, channelId, generation])

  const relink = async () => {
    setBusy(true)
    setError('')
    setPairing(null)
    try {
      await unwrap(ws(wid).channels({ channelId }).link.post())
      setState('linking')
      setGeneration((g) => g + 1)
    } catch (err) {
      setError(reasonOf(err))
    } finally {
      setBusy(false)
    }
  }
  const requestCode = async (e: Event) => {
    e.preventDefault()
    const phoneNumber = String(new FormData(e.currentTarget as HTMLFormElement).get('phoneNumber') ?? '').replace(
      /\D/g,
      '',
    )
    setPairingError(null)
    setBusy(true)
    try {
      setPairing(await unwrap(ws(wid).channels({ channelId })['pairing-code'].post({ phoneNumber })))
    } catch (err) {
      setPairingError(err as ApiError)
    } finally {
      setBusy(false)
    }
  }

  const linking = state === 'linking'
  return (
    <section class="qr" aria-labelledby="qr-state">
      <div class="qr__status" role="status" aria-live="polite">
        <h2 id="qr-state">{t.state[state] ?? state}</h2>
        <p class="muted">{t.stateHelp[state] ?? ''}</p>
        {lastError && state !== 'connected' && <p class="muted small">{fill(t.lastError, { error: lastError })}</p>}
      </div>
      {error && <Alert>{error}</Alert>}
      {linking && (
        <div class="qr__body">
          <div class="qr__code">
            {svg ? (
              <img
                src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`}
                alt={t.qrAlt}
                width={264}
                height={264}
              />
            ) : (
              <p class="muted">{t.qrWaiting}</p>
            )}
            <p class="qr__steps">{t.qrSteps}</p>
          </div>
          <form class="qr__pairing" onSubmit={requestCode} noValidate>
            <h3>{t.pairingTitle}</h3>
            <p class="muted small">{t.pairingSteps}</p>
            <Field
              label={t.pairingPhone}
              name="phoneNumber"
              inputMode="numeric"
              autoComplete="tel"
              error={
                pairingError?.fieldError('phoneNumber') ??
                (pairingError && !pairingError.fieldError('phoneNumber') ? pairingError.message : undefined)
              }
            />
            <Button type="submit" variant="secondary" busy={busy}>
              {t.pairingRequest}
            </Button>
            {pairing && (
              <p class="qr__pairing-code" role="status">
                {t.pairingCode}
                <strong class="mono">{pairing.code}</strong>
              </p>
            )}
          </form>
        </div>
      )}
      {(state === 'logged_out' || state === 'qr_expired' || state === 'replaced') && (
        <Button onClick={() => void relink()} busy={busy}>
          {t.relink}
        </Button>
      )}
      {(state === 'reconnecting' || state === 'needs_attention' || state === 'outdated_version') && (
        <Button variant="secondary" onClick={() => void relink()} busy={busy}>
          {t.reconnectNow}
        </Button>
      )}
    </section>
  )
}
