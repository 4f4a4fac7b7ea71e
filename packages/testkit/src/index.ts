/**
 * @leadstate/testkit: shared test utilities for leadstate packages (arbitraries for property
 * tests; conformance suites).
 *
 * @since 0.1.0
 */
export * from "./arbitraries.js"
