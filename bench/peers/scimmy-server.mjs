// A SCIM server on scimmy + scimmy-routers (express), its store an in-memory
// Map. Environment: PORT, SCIM_TOKEN. Base URL: http://127.0.0.1:$PORT/scim/v2
import { randomUUID } from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const port = Number(process.env.PORT || 8093);
const token = process.env.SCIM_TOKEN;
if (!token) throw new Error("SCIM_TOKEN is required");

// A store of one resource type: id -> resource, plus lowercase indexes that
// narrow a filter's candidates; scimmy's own Filter.match decides.
class Store {
  constructor(keys) {
    this.byId = new Map();
    this.keys = keys; // attribute -> function(resource) => values to index
    this.idx = Object.fromEntries(Object.keys(keys).map((k) => [k, new Map()]));
  }
  #index(r, add) {
    for (const [k, values] of Object.entries(this.keys)) {
      for (const v of values(r)) {
        if (typeof v !== "string") continue;
        const key = v.toLowerCase();
        let set = this.idx[k].get(key);
        if (add) { if (!set) this.idx[k].set(key, (set = new Set())); set.add(r.id); }
        else if (set) { set.delete(r.id); if (!set.size) this.idx[k].delete(key); }
      }
    }
  }
  put(r) { const old = this.byId.get(r.id); if (old) this.#index(old, false); this.byId.set(r.id, r); this.#index(r, true); }
  delete(id) { const old = this.byId.get(id); if (!old) return false; this.#index(old, false); this.byId.delete(id); return true; }
  // candidates: the resources an eq term on an indexed attribute allows, or all.
  candidates(filter) {
    if (filter?.length === 1) {
      const expr = filter[0];
      for (const [attr, cond] of Object.entries(expr)) {
        if (Array.isArray(cond) && cond[0] === "eq" && typeof cond[1] === "string" && this.idx[attr]) return this.#lookup(attr, cond[1]);
        if (attr === "emails" && cond?.value?.[0] === "eq" && this.idx.emails) return this.#lookup("emails", cond.value[1]);
      }
    }
    return [...this.byId.values()];
  }
  #lookup(attr, value) {
    return [...(this.idx[attr].get(value.toLowerCase()) ?? [])].map((id) => this.byId.get(id));
  }
  // list applies the filter with scimmy's matching and returns what egress
  // should: all matches, or for a page that scimmy would not re-slice only
  // that page (a sparse array of the full length, so totalResults is right).
  list(resource) {
    const all = this.candidates(resource.filter);
    const matches = resource.filter ? resource.filter.match(all) : all;
    const { startIndex = 1, count } = resource.constraints ?? {};
    if (count === undefined || (startIndex > 1 && startIndex <= count)) return matches;
    const page = new Array(matches.length);
    for (let i = startIndex - 1; i < Math.min(matches.length, startIndex - 1 + count); i++) page[i] = matches[i];
    return page;
  }
}

const users = new Store({
  userName: (u) => [u.userName],
  externalId: (u) => [u.externalId],
  emails: (u) => (u.emails ?? []).map((e) => e.value),
});
const groups = new Store({ displayName: (g) => [g.displayName], externalId: (g) => [g.externalId] });

const plain = (instance) => JSON.parse(JSON.stringify(instance));
const meta = (type, old) => {
  const now = new Date().toISOString();
  return { resourceType: type, created: old?.meta?.created ?? now, lastModified: now };
};
const notFound = (id) => new SCIMMY.Types.Error(404, null, `Resource ${id} not found`);

function handlers(store, type, unique) {
  return {
    ingress: (resource, instance) => {
      const data = plain(instance);
      const old = resource.id ? store.byId.get(resource.id) : undefined;
      if (resource.id && !old) throw notFound(resource.id);
      const id = resource.id ?? randomUUID();
      if (unique && data[unique] !== undefined) {
        for (const other of store.candidates([{ [unique]: ["eq", String(data[unique])] }]))
          if (other.id !== id) throw new SCIMMY.Types.Error(409, "uniqueness", `${unique} is already in use`);
      }
      const r = { ...data, id, meta: meta(type, old) };
      store.put(r);
      return r;
    },
    egress: (resource) => {
      if (resource.id) {
        const r = store.byId.get(resource.id);
        if (!r) throw notFound(resource.id);
        return r;
      }
      return store.list(resource);
    },
    degress: (resource) => {
      if (!store.delete(resource.id)) throw notFound(resource.id);
    },
  };
}

function declare(Resource, h) {
  SCIMMY.Resources.declare(Resource).ingress(h.ingress).egress(h.egress).degress(h.degress);
}
// The enterprise extension is not part of scimmy's User by default; declaring
// it is the documented one-liner.
SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);
declare(SCIMMY.Resources.User, handlers(users, "User", "userName"));
declare(SCIMMY.Resources.Group, handlers(groups, "Group", "displayName"));

const app = express();
app.use("/scim/v2", new SCIMMYRouters({
  type: "bearer",
  handler: (req) => {
    if (req.header("Authorization") !== `Bearer ${token}`) throw new Error("Authorization failed");
    return "bench";
  },
}));
app.listen(port, "127.0.0.1", () => console.log(`scimmy SCIM listening on http://127.0.0.1:${port}/scim/v2`));
