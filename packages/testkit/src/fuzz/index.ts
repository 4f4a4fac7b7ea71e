/**
 * Fuzz targets (`pnpm fuzz`, and `test/fuzz.test.ts` at fewer runs): the definition, snapshot
 * and event decoders of `@leadstate/core` ({@link coreTargets}), and, given the adapters, their
 * webhook decoders ({@link Webhooks.make}) and vendor answer decoding ({@link VendorResponses.make}).
 * Every target holds to one rule: hostile input gives a value or a typed error; zero throws,
 * zero defects.
 *
 * @since 0.1.0
 */
import { definition } from "./definition.js"
import type { FuzzTarget } from "./FuzzTarget.js"
import { snapshot } from "./snapshot.js"
import { transition } from "./transition.js"

export * as FuzzTarget from "./FuzzTarget.js"
export * as Hostile from "./Hostile.js"
export * as VendorResponses from "./vendorResponses.js"
export * as Webhooks from "./webhooks.js"

/** The core decoders' targets: definition, snapshot, transition events. */
export const coreTargets: ReadonlyArray<FuzzTarget> = [definition, snapshot, transition]
