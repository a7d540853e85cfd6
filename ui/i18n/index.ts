/**
 * The message catalogue in use, and formatting in the browser's own locale (dates, times, numbers).
 * Only English ships today; a translation is one file like en.ts, picked here by `navigator.language`.
 */
import { en, type Messages } from './en.ts'

export const messages: Messages = en

/** Fills `{name}` placeholders: fill('{count} unread', { count: 3 }). */
export function fill(template: string, values: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole))
}

const locale = typeof navigator === 'undefined' ? 'en' : navigator.language
const time = new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit' })
const day = new Intl.DateTimeFormat(locale, { weekday: 'long', day: 'numeric', month: 'long' })
const dayWithYear = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric' })
const shortDate = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short' })
const full = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' })
const number = new Intl.NumberFormat(locale)
const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })

const startOfDay = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()

export const format = {
  number: (n: number) => number.format(n),
  time: (iso: string) => time.format(new Date(iso)),
  dateTime: (iso: string) => full.format(new Date(iso)),
  /** In the conversation list: the time today, else a short date. */
  listTime(iso: string, now = new Date()): string {
    const d = new Date(iso)
    return startOfDay(d) === startOfDay(now) ? time.format(d) : shortDate.format(d)
  },
  /** Day separators in a thread: Today, Yesterday, a weekday and date, with the year when it is not this one. */
  day(iso: string, now = new Date()): string {
    const d = new Date(iso)
    const days = Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000)
    if (days === 0) return messages.thread.today
    if (days === 1) return messages.thread.yesterday
    return d.getFullYear() === now.getFullYear() ? day.format(d) : dayWithYear.format(d)
  },
  /** A duration from now, e.g. "in 3 hours" (the 24-hour window's time left). */
  untilFrom(ms: number): string {
    const minutes = Math.round(ms / 60_000)
    if (minutes < 60) return relative.format(Math.max(minutes, 1), 'minute')
    return relative.format(Math.round(minutes / 60), 'hour')
  },
  sameDay: (a: string, b: string) => startOfDay(new Date(a)) === startOfDay(new Date(b)),
}
