// Verifies webhook deliveries signed by hooksim with each sender's own library (or, for Shopify and Hook0,
// which publish none for Node, with the formula their documentation gives), for
// tests/signature_libraries_test.cpp. scripts/test.sh installs the libraries (package.json, npm ci).
//
//   node verify.mjs CASES.json
//
// CASES.json: [{"scheme": "...", "secret": "...", "headers": {"lower-case-name": "value", ...}, "body": "..."}]
// Prints one JSON array on stdout, one {"ok": true} or {"ok": false, "error": "why"} per case, in order.
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

import { verify as githubVerify } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { Webhook as SvixWebhook } from "svix";

const stripe = new Stripe("sk_test_unused"); // constructEvent needs no API key; the constructor wants one

function sameBytes(a, b) {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const verifiers = {
  // standardwebhooks: the reference library of the Standard Webhooks specification (svix's dependency).
  "standard-webhooks": (c) => new StandardWebhook(c.secret.replace(/^whsec_/, "")).verify(c.body, c.headers),
  svix: (c) => new SvixWebhook(c.secret).verify(c.body, c.headers),
  stripe: (c) => stripe.webhooks.constructEvent(c.body, c.headers["stripe-signature"], c.secret),
  github: async (c) => {
    if (!(await githubVerify(c.secret, c.body, c.headers["x-hub-signature-256"] ?? "")))
      throw new Error("@octokit/webhooks-methods verify() returned false");
  },
  // https://shopify.dev/docs/apps/build/webhooks/verify-deliveries: the base64 HMAC-SHA256 of the raw body
  // under the secret, compared with x-shopify-hmac-sha256.
  shopify: (c) => {
    const expected = createHmac("sha256", c.secret).update(c.body).digest("base64");
    if (!sameBytes(expected, c.headers["x-shopify-hmac-sha256"] ?? "")) throw new Error("HMAC mismatch");
  },
  // Hook0's documentation (documentation/tutorials/webhook-authentication.md, "Signature Computation (v1)"):
  // HMAC-SHA256(secret, t + "." + h + "." + the values of the headers h names joined by "." + "." + body),
  // hex, compared with v1; the timestamp within 300 s.
  hook0: (c) => {
    const parts = Object.fromEntries((c.headers["x-hook0-signature"] ?? "").split(",").map((p) => p.split("=")));
    const names = parts.h ? parts.h.split(" ") : [];
    const values = names.map((h) => c.headers[h] ?? "").join(".");
    const signed = parts.h ? `${parts.t}.${parts.h}.${values}.${c.body}` : `${parts.t}.${c.body}`;
    const expected = createHmac("sha256", c.secret).update(signed).digest("hex");
    if (!parts.v1 || !sameBytes(expected, parts.v1)) throw new Error("v1 mismatch");
    if (Math.abs(Date.now() / 1000 - Number(parts.t)) > 300) throw new Error("timestamp outside 300 s");
  },
};

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = [];
for (const c of cases) {
  try {
    const verifier = verifiers[c.scheme];
    if (!verifier) throw new Error(`no verifier for scheme ${c.scheme}`);
    await verifier(c);
    results.push({ ok: true });
  } catch (e) {
    results.push({ ok: false, error: String(e && e.message ? e.message : e) });
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
