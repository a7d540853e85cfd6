/** A QR channel's options, stored as JSON on the channel: its pacing and whether group messages come in. */
import { z } from 'zod'
import { AppError } from '../../lib/errors.ts'
import { DEFAULT_QR_PACING, mergePacing, qrPacingInput, type QrPacing } from './pacing.ts'

export type QrSettings = { pacing: QrPacing; includeGroups: boolean }

export const qrSettingsInput = z
  .object({
    pacing: qrPacingInput
      .optional()
      .describe('delays between sends, caps per minute/hour/day, warm-up, typing indicator'),
    includeGroups: z
      .boolean()
      .optional()
      .describe('record group messages (off by default: a business inbox is about 1:1 chats)'),
  })
  .strict()

export type QrSettingsInput = z.infer<typeof qrSettingsInput>

export function qrSettingsOf(stored: string | null): QrSettings {
  const parsed = stored ? (JSON.parse(stored) as Partial<{ pacing: Partial<QrPacing>; includeGroups: boolean }>) : {}
  return { pacing: mergePacing(DEFAULT_QR_PACING, parsed.pacing ?? {}), includeGroups: parsed.includeGroups ?? false }
}

/** Applies a change; throws an Error naming the problem when the result is inconsistent (max delay < min). */
export function updatedQrSettings(current: QrSettings, input: QrSettingsInput): QrSettings {
  return {
    pacing: mergePacing(current.pacing, input.pacing ?? {}),
    includeGroups: input.includeGroups ?? current.includeGroups,
  }
}

/** A settings change as a 422 naming the field, when min and max delays end up the wrong way round. */
export function mergedSettingsOr422(current: string | null, input: QrSettingsInput): string {
  try {
    return JSON.stringify(updatedQrSettings(qrSettingsOf(current), input))
  } catch (err) {
    throw new AppError(
      422,
      'validation_failed',
      `Invalid request body: qr.pacing.maxDelayMs — ${(err as Error).message}`,
      [{ field: 'qr.pacing.maxDelayMs', message: (err as Error).message }],
    )
  }
}
