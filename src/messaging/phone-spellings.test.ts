import { describe, expect, test } from 'bun:test'
import { phoneSpellings } from './phone-spellings.ts'

describe('phone spellings', () => {
  test('a Brazilian mobile has its form with and without the ninth digit; other numbers only their own', () => {
    expect(phoneSpellings('5511987654321')).toEqual(['5511987654321', '551187654321'])
    expect(phoneSpellings('551187654321')).toEqual(['551187654321', '5511987654321'])
    // A landline (eight digits starting 2–5) and numbers elsewhere have one spelling.
    expect(phoneSpellings('551133334444')).toEqual(['551133334444'])
    expect(phoneSpellings('4915112345678')).toEqual(['4915112345678'])
    expect(phoneSpellings('15511987654321')).toEqual(['15511987654321'])
  })
})
