import { bindForm, postJson, tokenFromUrl } from '/forms.js'

bindForm(document.getElementById('setup'), async (fields) => {
  const result = await postJson('/api/v1/setup', { ...fields, token: tokenFromUrl() })
  return `Welcome, ${result.user.email}. Workspace "${result.workspace.name}" is ready. You are signed in.`
})
