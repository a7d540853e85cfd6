/**
 * Response schemas the routes of every domain share. Elysia validates a route's answer against its `response`
 * schema for the status it sends, and docs.ts documents the same schema, so even an empty answer is declared.
 */
import { z } from 'zod'

/** The `response` of a 204: the handler returns nothing (docs.ts lists the 204 without a body). */
export const noContent = z.void().describe('No content')

/**
 * A text answer in another media type than JSON (e.g. a CSV export), as one alternative of a union response:
 * `contentMediaType` is how docs.ts files it under that media type instead of application/json.
 */
export const textAs = (mediaType: string, description: string) =>
  z.string().meta({ contentMediaType: mediaType, description })

/**
 * A file answer (`Bun.file`, a Blob) of any media type: Elysia checks it is one, docs.ts lists it as binary under
 * `mediaType` (the real type is the file's own, sent in Content-Type).
 */
export const fileAs = (mediaType: string, description: string) =>
  z.custom<Blob>((v) => v instanceof Blob, 'must be a file').meta({ contentMediaType: mediaType, description })
