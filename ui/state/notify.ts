/**
 * Browser notifications and a short sound for new messages in conversations that are the agent's to answer
 * (assigned to them, or to nobody), and the unread count in the tab title. Opt-in per browser.
 */
import { effect, signal } from '@preact/signals'
import { fill, messages } from '../i18n/index.ts'

const KEY = 'wabox.notifications'

export const notificationsWanted = signal(typeof localStorage !== 'undefined' && localStorage.getItem(KEY) === 'on')
/** Unread conversations that are mine or unassigned (kept by the inbox). */
export const unreadTotal = signal(0)

effect(() => {
  if (typeof document === 'undefined') return
  const n = unreadTotal.value
  document.title = n > 0 ? fill(messages.app.titleUnread, { count: n }) : 'wabox'
})

export async function setNotificationsWanted(on: boolean): Promise<void> {
  if (on && 'Notification' in window && Notification.permission === 'default') await Notification.requestPermission()
  notificationsWanted.value = on
  localStorage.setItem(KEY, on ? 'on' : 'off')
}

let audio: AudioContext | null = null

/** Two soft tones: noticeable, not alarming. No file to load. */
function chime(): void {
  try {
    audio ??= new AudioContext()
    const now = audio.currentTime
    for (const [i, freq] of [660, 880].entries()) {
      const osc = audio.createOscillator()
      const gain = audio.createGain()
      osc.frequency.value = freq
      gain.gain.setValueAtTime(0.0001, now + i * 0.12)
      gain.gain.exponentialRampToValueAtTime(0.08, now + i * 0.12 + 0.02)
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.12 + 0.25)
      osc.connect(gain).connect(audio.destination)
      osc.start(now + i * 0.12)
      osc.stop(now + i * 0.12 + 0.3)
    }
  } catch {
    // No audio in this browser: the notification alone will do.
  }
}

/** Tells the agent about a new message unless they are looking at it right now. */
export function notifyNewMessage(opts: {
  title: string
  body: string
  tag: string
  visible: boolean
  onClick: () => void
}): void {
  if (!notificationsWanted.value || (opts.visible && !document.hidden)) return
  chime()
  if (!('Notification' in window) || Notification.permission !== 'granted') return
  const n = new Notification(opts.title, { body: opts.body, tag: opts.tag })
  n.onclick = () => {
    window.focus()
    opts.onClick()
    n.close()
  }
}
