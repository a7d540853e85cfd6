/** Entry point of the admin UI bundle (scripts/build.ts): styles, then the app into #app. */
import { render } from 'preact'
import { App } from './app.tsx'
import './styles/app.css'

// The page's "Loading…" placeholder goes: render appends, it does not replace.
const root = document.getElementById('app')!
root.textContent = ''
render(<App />, root)
