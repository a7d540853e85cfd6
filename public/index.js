// Shows the running version (no inline script: the CSP forbids it).
fetch('/healthz')
  .then((r) => r.json())
  .then((h) => { document.getElementById('version').textContent = h.version })
  .catch(() => { document.getElementById('version').textContent = 'unknown' })
