/**
 * The message catalogue in use, and formatting in the browser's own locale (dates, times, numbers).
 * Only English ships today; a translation is one file like en.ts plus its line in `catalogues`, chosen by the
 * browser's language.
 */
import { en, type Messages } from './en.ts'

const catalogues: Record<string, Messages> = { en }
const language = typeof navigator === 'undefined' ? 'en' : navigator.language.split('-')[0]!
export const messages: Messages = catalogues[language] ?? en

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
const minutes_ = new Intl.NumberFormat(locale, { style: 'unit', unit: 'minute', unitDisplay: 'long' })
const hours_ = new Intl.NumberFormat(locale, { style: 'unit', unit: 'hour', unitDisplay: 'long' })

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
  /** A length of time, e.g. "3 hours" or "12 minutes" (the 24-hour window's time left). */
  duration(ms: number): string {
    const minutes = Math.max(Math.round(ms / 60_000), 1)
    return minutes < 60 ? minutes_.format(minutes) : hours_.format(Math.round(minutes / 60))
  },
  sameDay: (a: string, b: string) => startOfDay(new Date(a)) === startOfDay(new Date(b)),
}
