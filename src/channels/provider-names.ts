/**
 * The registry's list of provider names, each from its provider's own name.ts. A leaf module apart from
 * registry.ts (which builds and composes the providers), so that the channels table type, the view schema and the
 * repos can name the type without importing every provider: this file and registry.ts are the two that know which
 * providers exist.
 */
import { name as cloud } from './cloud/name.ts'
import { name as qr } from './qr/name.ts'

/** Every provider's name; the first is the kind a connect body without `kind` means. */
export const PROVIDER_NAMES = [cloud, qr] as const
export type ProviderName = (typeof PROVIDER_NAMES)[number]
