// A two-user session through a client generated from taskapi's OpenAPI document (openapi-typescript
// types, openapi-fetch calls), written the way a frontend would: no casts. Run by
// tasks/tests/test_generated_clients.py against a live server; exits non-zero on the first surprise.
import assert from "node:assert/strict";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Task = components["schemas"]["Task"];

const API = requiredEnv("TASKAPI_URL");
const alice = createClient<paths>({ baseUrl: API, headers: { Authorization: `Bearer ${requiredEnv("TASKAPI_TOKEN_A")}` } });
const bob = createClient<paths>({ baseUrl: API, headers: { Authorization: `Bearer ${requiredEnv("TASKAPI_TOKEN_B")}` } });
const anonymous = createClient<paths>({ baseUrl: API });
const aliceId = requiredEnv("TASKAPI_USER_A");

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function expectError(error: { detail: string; code: string } | undefined, status: number, actual: number, code: string): void {
  assert.equal(actual, status);
  assert.ok(error, `a ${status} has a body`);
  assert.equal(error.code, code);
  assert.ok(error.detail.length > 0);
}

// Create with only a title and an Idempotency-Key; the retry replays the same answer.
const key = `create-${Date.now()}`;
const created = await alice.POST("/api/tasks/", { params: { header: { "Idempotency-Key": key } }, body: { title: "Buy milk" } });
assert.equal(created.response.status, 201);
const milk: Task = created.data!;
assert.equal(milk.tags.length, 0);
assert.equal(milk.description, "");
assert.equal(created.response.headers.get("ETag"), `"${milk.version}"`);
assert.ok(created.response.headers.get("Location")?.endsWith(`/api/tasks/${milk.id}`));

const replayed = await alice.POST("/api/tasks/", { params: { header: { "Idempotency-Key": key } }, body: { title: "Buy milk" } });
assert.equal(replayed.response.status, 201);
assert.equal(replayed.response.headers.get("Idempotent-Replayed"), "true");
assert.equal(JSON.stringify(replayed.data), JSON.stringify(milk), "a replay has the same fields in the same order");

const reused = await alice.POST("/api/tasks/", { params: { header: { "Idempotency-Key": key } }, body: { title: "Other" } });
expectError(reused.error, 422, reused.response.status, "idempotency_key_reused");

const full = await alice.POST("/api/tasks/", {
  body: { title: "  Plan trip  ", description: null, priority: "high", due_at: "2026-12-01", tags: ["Travel", "travel", "home"] },
});
assert.equal(full.response.status, 201);
const trip: Task = full.data!;
assert.equal(trip.title, "Plan trip");
assert.deepEqual(trip.tags, ["Travel", "home"]);
assert.equal(trip.due_at, "2026-12-01T23:59:59Z");

const invalid = await alice.POST("/api/tasks/", { body: { title: "   " } });
expectError(invalid.error, 400, invalid.response.status, "blank");
assert.ok(invalid.error && "title" in invalid.error);

// List, filter and page.
const listed = await alice.GET("/api/tasks/", { params: { query: { completed: false, ordering: "title", limit: 1 } } });
assert.equal(listed.response.status, 200);
assert.deepEqual(listed.data!.map((task) => task.id), [milk.id]);
const next = listed.response.headers.get("Link")?.match(/<([^>]+)>; rel="next"/)?.[1];
assert.ok(next, "a Link to the next page");
const cursor = new URL(next).searchParams.get("cursor") ?? "";
const second = await alice.GET("/api/tasks/", { params: { query: { completed: false, ordering: "title", limit: 1, cursor } } });
assert.deepEqual(second.data!.map((task) => task.id), [trip.id]);
const byTag = await alice.GET("/api/tasks/", { params: { query: { tag: ["HOME"], priority: ["high"], due_before: "2026-12-02" } } });
assert.deepEqual(byTag.data!.map((task) => task.id), [trip.id]);
const badOrdering = await alice.GET("/api/tasks/", { params: { query: { ordering: "owner" } } });
expectError(badOrdering.error, 400, badOrdering.response.status, "invalid");

// Read, conditionally.
const fetched = await alice.GET("/api/tasks/{id}/", { params: { path: { id: milk.id } } });
assert.equal(fetched.data!.title, "Buy milk");
const etag = fetched.response.headers.get("ETag") ?? "";
const unchanged = await alice.GET("/api/tasks/{id}/", { params: { path: { id: milk.id }, header: { "If-None-Match": etag } } });
assert.equal(unchanged.response.status, 304);

// Write, conditionally: the first If-Match wins, the stale one gets the current task.
const replaced = await alice.PUT("/api/tasks/{id}/", {
  params: { path: { id: milk.id }, header: { "If-Match": etag } },
  body: { title: "Buy oat milk", tags: ["shop"] },
});
assert.equal(replaced.response.status, 200);
assert.equal(replaced.data!.version, milk.version + 1);
const stale = await alice.PATCH("/api/tasks/{id}/", { params: { path: { id: milk.id }, header: { "If-Match": etag } }, body: { title: "Lost" } });
expectError(stale.error, 412, stale.response.status, "precondition_failed");
assert.equal(stale.response.headers.get("ETag"), `"${replaced.data!.version}"`);
const patched = await alice.PATCH("/api/tasks/{id}/", { params: { path: { id: milk.id } }, body: { priority: "low" } });
assert.equal(patched.data!.title, "Buy oat milk");
assert.equal(patched.data!.priority, "low");
const toggled = await alice.PATCH("/api/tasks/{id}/complete/", { params: { path: { id: milk.id } } });
assert.equal(toggled.data!.completed, true);
const staleToggle = await alice.PATCH("/api/tasks/{id}/complete/", { params: { path: { id: milk.id }, header: { "If-Match": etag } } });
expectError(staleToggle.error, 412, staleToggle.response.status, "precondition_failed");

const stats = await alice.GET("/api/tasks/stats/");
assert.equal(stats.data!.total, 2);
assert.equal(stats.data!.completed, 1);

// The other user sees none of it, on any operation.
const bobsView = await bob.GET("/api/tasks/{id}/", { params: { path: { id: milk.id } } });
expectError(bobsView.error, 404, bobsView.response.status, "not_found");
const bobsEdit = await bob.PATCH("/api/tasks/{id}/", { params: { path: { id: milk.id } }, body: { title: "mine" } });
expectError(bobsEdit.error, 404, bobsEdit.response.status, "not_found");
const bobsToggle = await bob.PATCH("/api/tasks/{id}/complete/", { params: { path: { id: milk.id } } });
expectError(bobsToggle.error, 404, bobsToggle.response.status, "not_found");
const bobsDelete = await bob.DELETE("/api/tasks/{id}/", { params: { path: { id: milk.id } } });
expectError(bobsDelete.error, 404, bobsDelete.response.status, "not_found");
const bobsBulk = await bob.POST("/api/tasks/bulk/", { body: { delete: [milk.id] } });
expectError(bobsBulk.error, 404, bobsBulk.response.status, "not_found");
const bobsList = await bob.GET("/api/tasks/");
assert.deepEqual(bobsList.data, []);
const bobAsAlice = await bob.GET("/api/{user_id}/tasks/", { params: { path: { user_id: aliceId } } });
expectError(bobAsAlice.error, 403, bobAsAlice.response.status, "user_mismatch");

// The original /api/{user_id}/ shape is the same API.
const aliasList = await alice.GET("/api/{user_id}/tasks/", { params: { path: { user_id: aliceId }, query: { completed: true } } });
assert.deepEqual(aliasList.data!.map((task) => task.id), [milk.id]);

// Requests the server refuses before reading them.
const noToken = await anonymous.GET("/api/tasks/");
expectError(noToken.error, 401, noToken.response.status, "not_authenticated");
assert.match(noToken.response.headers.get("WWW-Authenticate") ?? "", /^Bearer/);
const notJson = await alice.POST("/api/tasks/", {
  body: { title: "x" },
  bodySerializer: () => "title=x",
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
});
expectError(notJson.error, 415, notJson.response.status, "unsupported_media_type");
// The test's server takes bodies of at most 8 KB.
const tooLarge = await alice.POST("/api/tasks/", { body: { title: "x", description: "d".repeat(20 * 1024) } });
expectError(tooLarge.error, 413, tooLarge.response.status, "request_too_large");
const html = await alice.GET("/api/tasks/stats/", { headers: { Accept: "text/html" } });
expectError(html.error, 406, html.response.status, "not_acceptable");
const badBulk = await alice.POST("/api/tasks/bulk/", { body: { complete: [] } });
expectError(badBulk.error, 400, badBulk.response.status, "min_length");

// Bulk, then delete.
const reopened = await alice.POST("/api/tasks/bulk/", { body: { reopen: [milk.id, trip.id] } });
assert.deepEqual(reopened.data, { action: "reopen", count: 2 });
const staleDelete = await alice.DELETE("/api/tasks/{id}/", { params: { path: { id: trip.id }, header: { "If-Match": '"999"' } } });
expectError(staleDelete.error, 412, staleDelete.response.status, "precondition_failed");
const deleted = await alice.DELETE("/api/tasks/{id}/", { params: { path: { id: trip.id } } });
assert.equal(deleted.response.status, 204);
const gone = await alice.GET("/api/tasks/{id}/", { params: { path: { id: trip.id } } });
expectError(gone.error, 404, gone.response.status, "not_found");

console.log("typescript client session: ok");
