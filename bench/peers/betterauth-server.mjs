// Better Auth with its SCIM plugin on PostgreSQL, served by node:http.
// Environment: PORT, DATABASE_URL, SCIM_TOKEN. The SCIM base URL is
// http://127.0.0.1:$PORT/api/auth/scim/v2 .
import http from "node:http";
import pg from "pg";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";
import { scim } from "@better-auth/scim";

const port = Number(process.env.PORT || 8092);
const token = process.env.SCIM_TOKEN;
if (!token || !process.env.DATABASE_URL) throw new Error("SCIM_TOKEN and DATABASE_URL are required");

const options = {
  baseURL: `http://127.0.0.1:${port}`,
  secret: "bench-secret-bench-secret-bench-secret-0123456789",
  database: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 }),
  telemetry: { enabled: false },
  // Provisioning load comes from one address; the rate limiter would turn it into 429s.
  rateLimit: { enabled: false },
  plugins: [
    scim({
      // A code-defined connection with one static bearer credential (the
      // plugin's documented setup for a single directory).
      connections: [{ id: "bench", credentials: [{ type: "bearer", id: "bench-token", token }] }],
      // The documented Entra compatibility switch: accept the ADSCIM Group schema marker.
      compatibility: { microsoftEntra: { acceptLegacyGroupSchema: true } },
    }),
  ],
};

const auth = betterAuth(options);
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handler = toNodeHandler(auth);
http.createServer(handler).listen(port, "127.0.0.1", () => {
  console.log(`better-auth SCIM listening on http://127.0.0.1:${port}/api/auth/scim/v2`);
});
