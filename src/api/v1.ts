// The JSON API under /api/v1, one Elysia instance per resource. Each route validates its
// input's shape, calls one domain function and returns its result; errors are AppErrors,
// mapped to HTTP once, in app.ts.
import { Elysia } from "elysia";
import type { Core } from "../core.ts";
import { accountRoutes } from "./accounts.ts";
import { threadRoutes } from "./threads.ts";
import { streamRoutes } from "./streams.ts";
import { peopleRoutes } from "./people.ts";

export function apiRoutes(core: Core) {
  return new Elysia({ prefix: "/api/v1" }).use(accountRoutes(core)).use(threadRoutes(core)).use(streamRoutes(core)).use(peopleRoutes(core));
}
