// Shared by the standalone pages (setup, sign-in, invite): post a form as JSON and show the problem detail.
export async function postJson(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' })
  const data = res.status === 204 ? null : await res.json().catch(() => null)
  if (!res.ok) {
    const fields = (data?.errors ?? []).map((e) => `${e.field}: ${e.message}`).join('; ')
    throw new Error([data?.detail ?? `Request failed (${res.status})`, fields].filter(Boolean).join(' — '))
  }
  return data
}

export function bindForm(form, handler) {
  const status = form.querySelector('.status')
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    status.textContent = 'Working…'
    status.className = 'status'
    try {
      status.textContent = (await handler(Object.fromEntries(new FormData(form)))) ?? 'Done.'
      status.className = 'status ok'
    } catch (err) {
      status.textContent = err.message
      status.className = 'status error'
    }
  })
}

export const tokenFromUrl = () => new URLSearchParams(location.search).get('token') ?? ''
