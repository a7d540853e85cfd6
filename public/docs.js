// Renders /docs/json as a list of operations, offline and without inline script.
const root = document.getElementById('ops')
const text = (tag, value, cls) => {
  const el = document.createElement(tag)
  el.textContent = value
  if (cls) el.className = cls
  return el
}
fetch('/docs/json')
  .then((r) => r.json())
  .then((spec) => {
    root.textContent = ''
    for (const [path, ops] of Object.entries(spec.paths ?? {})) {
      for (const [method, op] of Object.entries(ops)) {
        const box = document.createElement('div')
        box.className = 'op'
        box.append(text('span', method, 'method'), text('code', path))
        if (op.summary) box.append(text('div', op.summary))
        if (op['x-permission']) box.append(text('div', 'permission: ' + op['x-permission'], 'perm'))
        root.append(box)
      }
    }
  })
  .catch(() => { root.textContent = 'Could not load /docs/json.' })
