/** The QR-linked channel's bodies: creating one (linking starts), its settings, the pairing-code alternative. */
import { z } from 'zod'
import { channelName } from '../channels.schema.ts'
import { qrSettingsInput } from './settings.ts'

export const createQrFields = {
  name: channelName(),
  qr: qrSettingsInput.optional(),
}

/** The QR part of a channel update. */
export const qrSettingsFields = {
  qr: qrSettingsInput.optional().describe('QR-linked channels: pacing and options'),
}

export const pairingCodeBody = z
  .object({
    phoneNumber: z
      .string()
      .regex(/^\d{8,15}$/, 'must be the number in international format, digits only (e.g. 4915112345678)'),
  })
  .strict()
