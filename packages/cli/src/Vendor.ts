/**
 * The vendors the CLI has adapters (and fake servers) for.
 *
 * @since 0.1.0
 */

export const vendors = ["generic", "uservox", "voxys"] as const
export type Vendor = (typeof vendors)[number]
