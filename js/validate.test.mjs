// LangGraph.js's own checkpointer conformance suite (@langchain/langgraph-checkpoint-validation),
// run under vitest with the stock PostgresSaver on the tables of the database SDM_VALIDATE_URL
// names (one `sdm migrate` made, used for nothing else: the checks empty its checkpoint tables
// between sets, as the suite expects of a checkpointer's clean-up). The package's CLI does not start in release 1.1.1, so its
// validate() runs here, as the package documents for a test runner.
//
// Usage: SDM_VALIDATE_URL=postgresql://... node js/node_modules/vitest/vitest.mjs run --config js/vitest.config.mjs

import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { validate } from "@langchain/langgraph-checkpoint-validation";
import pg from "pg";

import { connectionConfig } from "./interop.mjs";

const url = process.env.SDM_VALIDATE_URL;
if (!url) throw new Error("set SDM_VALIDATE_URL to the database to validate against (one sdm migrate made)");

/** Empties the checkpoint tables: each set of checks counts what it wrote, as on a new database. */
async function emptyTables(pool) {
  await pool.query("TRUNCATE checkpoints, checkpoint_blobs, checkpoint_writes");
}

validate({
  checkpointerName: "PostgresSaver on tables sdm migrate made",
  // No setup(): the tables are our migrations' (js_setup_changes_nothing_on_a_migrated_database
  // proves setup() would add nothing).
  createCheckpointer: async () => {
    const pool = new pg.Pool(connectionConfig(url));
    await emptyTables(pool);
    return new PostgresSaver(pool);
  },
  destroyCheckpointer: async (saver) => {
    await emptyTables(saver.pool);
    await saver.end();
  },
});
