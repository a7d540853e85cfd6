import { bindForm, postJson, tokenFromUrl } from '/forms.js'

const offer = document.getElementById('offer')
const form = document.getElementById('accept')
fetch('/api/v1/invites/preview?token=' + encodeURIComponent(tokenFromUrl()))
  .then(async (res) => {
    const data = await res.json()
    if (!res.ok) throw new Error(data.detail)
    offer.textContent = `You are invited to "${data.workspaceName}" as ${data.role}.`
    form.elements.email.value = data.email
  })
  .catch((err) => { offer.textContent = err.message })

bindForm(form, async (fields) => {
  const result = await postJson('/api/v1/invites/accept', { ...fields, token: tokenFromUrl() })
  return `Joined as ${result.role}. You are signed in as ${result.user.email}.`
})
