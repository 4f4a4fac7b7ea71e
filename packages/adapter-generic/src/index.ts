/**
 * @leadstate/adapter-generic. The adapter itself arrives with its own issue; for now the package
 * only reserves its name and builds with the workspace.
 *
 * @since 0.1.0
 */
export const vendor = "generic" as const
