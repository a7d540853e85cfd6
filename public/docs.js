// The interactive API reference: Swagger UI (bundled with wabox, no CDN: appliances run offline) over /docs/json.
// A separate file, not an inline script, so the page keeps the same strict Content-Security-Policy as the app.
;(() => {
  const root = document.getElementById('reference')
  if (typeof window.SwaggerUIBundle !== 'function') {
    root.textContent = 'The reference could not be loaded; the OpenAPI document is at /docs/json.'
    return
  }
  window.SwaggerUIBundle({
    url: '/docs/json',
    domNode: root,
    deepLinking: true,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    filter: true,
    // "Try it out" sends the browser's own session cookie (same origin) or the API key given under Authorize.
    withCredentials: true,
    // Never kept in localStorage: an API key typed here is forgotten with the tab.
    persistAuthorization: false,
    onComplete: () => root.removeAttribute('aria-busy'),
  })
})()
