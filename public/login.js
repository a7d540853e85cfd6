import { bindForm, postJson } from '/forms.js'

bindForm(document.getElementById('login'), async (fields) => {
  const { user } = await postJson('/api/v1/auth/login', fields)
  return `Signed in as ${user.email}.`
})
