// Better Auth test issuer: a real `better-auth` server (in-memory database,
// email/password, jwt plugin) that the taskapi test suite starts as a
// subprocess to prove the API accepts the tokens Better Auth really issues.
//
// Environment: PORT (0 or unset = any free port), BETTER_AUTH_SECRET (random
// if unset), JWT_ALG (EdDSA by default; ES256, ES512, PS256 or RS256).
// Prints one line `READY http://127.0.0.1:<port>` once it accepts requests.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";

import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins/jwt";

const server = createServer();
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
await once(server, "listening");
const baseURL = `http://127.0.0.1:${server.address().port}`;

const jwtOptions = process.env.JWT_ALG
  ? { jwks: { keyPairConfig: { alg: process.env.JWT_ALG } } }
  : {};

const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET || randomBytes(32).toString("hex"),
  trustedOrigins: [baseURL],
  database: memoryAdapter({ user: [], session: [], account: [], verification: [], jwks: [] }),
  emailAndPassword: { enabled: true },
  plugins: [jwt(jwtOptions)],
  // Tests sign up many users from one address; the limiter would answer 429.
  rateLimit: { enabled: false },
  // The test machine has no internet access.
  telemetry: { enabled: false },
});

// Mint the signing key up front so a bad JWT_ALG fails before READY.
await auth.api.getJwks();
server.on("request", toNodeHandler(auth));
process.stdout.write(`READY ${baseURL}\n`);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
