import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    // One PostgreSQL server per run (LEADSTATE_PG_URL, or a throwaway one): inject("pgUrl").
    globalSetup: ["test/postgres.globalSetup.ts"],
    testTimeout: 30_000,
    pool: "threads",
    // In CI, also write a JSON report so .ci/run can print a plain "N passed, N failed" line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".ci/test-results.json" }]] : ["default"],
  },
})
