import { z } from 'zod'

/** A dead letter: an intake event that failed every retry (the dead-letter routes list and replay them). */
export const deadLetterView = z.object({
  id: z.number().int().describe('Increasing: the id to replay it by'),
  channelId: z.string(),
  kind: z
    .enum(['message', 'status', 'error', 'field', 'unknown'])
    .describe('unknown: a signed notice in a shape wabox does not know, kept here as it came (bounded), never retried'),
  attempts: z.number().int().describe('How many times processing it was tried'),
  lastError: z.string().nullable().describe('Why the last attempt failed'),
  receivedAt: z.string().describe('When it arrived (ISO 8601)'),
  event: z.record(z.string(), z.unknown()).describe('The inbound event as stored; its shape depends on `kind`'),
})

export const replayResult = z.object({
  requeued: z.number().int().describe('How many dead events are back in the queue'),
})
