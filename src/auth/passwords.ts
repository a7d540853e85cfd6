/** Password policy and hashing: argon2id through Bun.password (no native addon, so it embeds in the binary). */
import { z } from 'zod'

export const MIN_PASSWORD_LENGTH = 12

export const passwordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(256, 'must be at most 256 characters')

// OWASP's argon2id baseline: 19 MiB, 2 iterations.
const ARGON2 = { algorithm: 'argon2id', memoryCost: 19456, timeCost: 2 } as const

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, ARGON2)
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await Bun.password.verify(password, hash)
  } catch {
    return false
  }
}

let dummyHash: Promise<string> | undefined
/**
 * Verifies against a throwaway hash: used when the email is unknown so the answer takes as long as for a
 * real account, and timing does not tell which emails exist.
 */
export async function burnVerification(password: string): Promise<false> {
  dummyHash ??= hashPassword('wabox-timing-equaliser-not-a-real-password')
  await verifyPassword(password, await dummyHash)
  return false
}
