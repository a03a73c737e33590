// vitest settings for validate.test.mjs: the checkpointer suite against a real database.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ["validate.test.mjs"],
    // The suite calls describe/it/beforeAll as globals.
    globals: true,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
