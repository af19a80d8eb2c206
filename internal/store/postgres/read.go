package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// Columns of a resource as scanResource reads them.
const resourceCols = "r.id, r.attrs::text, r.created, r.modified, r.version"

// tenantKeySQL is the key of tenant $1, as a subquery: reads that need no
// key in Go resolve the tenant in the statement itself, which also makes
// them see a deleted tenant as gone at once.
const tenantKeySQL = "(SELECT key FROM tenants WHERE id = $1)"

// scanResource reads the columns of resourceCols.
func scanResource(row sqlfilter.Row, tenant, typ string) (store.Resource, error) {
	return sqlfilter.ScanResource(row, tenant, typ)
}

// reader implements store.ResourceReader on the pool.
type reader struct{ s *Store }

func (r reader) check(ctx context.Context) error {
	if r.s.closed.Load() {
		return store.ErrUnavailable
	}
	return ctx.Err()
}

// Get returns one resource, or store.ErrNotFound.
func (r reader) Get(ctx context.Context, tenant, typ, id string) (store.Resource, error) {
	op := opName("get", typ)
	if err := r.check(ctx); err != nil {
		return store.Resource{}, err
	}
	res, err := scanResource(r.s.pool.QueryRow(ctx, "SELECT "+resourceCols+" FROM resources r WHERE r.tenant = "+tenantKeySQL+
		" AND r.id = $2 AND r.type = $3", tenant, id, typ), tenant, typ)
	if err != nil {
		return store.Resource{}, r.s.notFound(op, id, err)
	}
	return res, nil
}

// querySQL returns the statement that answers a query for tenant key k and
// its arguments. It is one statement, so that the total and the page come
// from one snapshot, and its one-row result shape is: live (whether tenant
// key k still exists), total, then the page's resources, if any, one per
// row in order:
//
//	WITH p AS MATERIALIZED (SELECT ... WHERE <filter> ORDER BY ... LIMIT ... OFFSET ...)
//	SELECT t.live, t.total, p.* FROM (SELECT <live>, <total>) t LEFT JOIN p ON TRUE
//
// The total of an unfiltered query is the sum of resource_counts; that of a
// filtered one the page's size if it is the first page and not full, else a
// count over the same WHERE. The CASE evaluates only the subquery it needs
// (PostgreSQL runs an uncorrelated subquery when first used).
func querySQL(k int64, rt *schema.ResourceType, q store.Query) (string, []any, error) {
	a := sqlfilter.NewArgs(sqlfilter.Postgres{})
	key, typ := a.Add(k), a.Add(rt.Name)
	where := "r.tenant = " + key + " AND r.type = " + typ
	if q.Filter != nil {
		f, err := sqlfilter.Where(a, q.Filter, rt, k)
		if err != nil {
			return "", nil, err
		}
		where += " AND " + f
	}
	order, err := sqlfilter.OrderBy(a, q.SortBy, q.Descending, rt)
	if err != nil {
		return "", nil, err
	}
	start, count := max(q.StartIndex, 1), max(q.Count, 0)
	live := "EXISTS (SELECT 1 FROM tenants WHERE key = " + key + ")"
	total := "(SELECT count(*) FROM resources r WHERE " + where + ")"
	if q.Filter == nil {
		total = "(SELECT coalesce(sum(n), 0)::bigint FROM resource_counts WHERE tenant = " + key + " AND type = " + typ + ")"
	}
	if count == 0 {
		return "SELECT " + live + ", " + total, a.Values(), nil
	}
	limit := a.Add(count)
	page := "SELECT r.seq, " + resourceCols + " FROM resources r WHERE " + where + " ORDER BY " + order +
		" LIMIT " + limit + " OFFSET " + a.Add(start-1)
	if q.Filter != nil && start == 1 {
		total = "CASE WHEN (SELECT count(*) FROM p) < " + limit + " THEN (SELECT count(*) FROM p) ELSE " + total + " END"
	}
	return "WITH p AS MATERIALIZED (" + page + ")\nSELECT t.live, t.total, p.id, p.attrs, p.created, p.modified, p.version\n" +
		"FROM (SELECT " + live + " AS live, " + total + " AS total) t LEFT JOIN p ON TRUE", a.Values(), nil
}

// Query answers a filter, sort and page with querySQL. The tenant's key
// comes from a cache; should the tenant have been deleted since (on any
// node), the statement says so and Query looks the key up afresh.
func (r reader) Query(ctx context.Context, tenant string, rt *schema.ResourceType, q store.Query) (store.Page, error) {
	if rt == nil {
		return store.Page{}, errors.New("query: no resource type")
	}
	op := "query " + strings.ToLower(rt.Name) + "s"
	if err := r.check(ctx); err != nil {
		return store.Page{}, err
	}
	for range 2 {
		k, ok, err := r.s.tenantKey(ctx, tenant)
		if err != nil {
			return store.Page{}, r.s.fail(op, err)
		}
		if !ok {
			return store.Page{}, nil
		}
		sql, args, err := querySQL(k, rt, q)
		if err != nil {
			return store.Page{}, fmt.Errorf("%s: %w", op, err)
		}
		page, live, err := r.page(ctx, sql, args, tenant, rt.Name, q.Count)
		if err != nil {
			return store.Page{}, r.s.fail(op, err)
		}
		if live {
			return page, nil
		}
		r.s.forgetKey(tenant)
	}
	return store.Page{}, nil
}

func (r reader) page(ctx context.Context, sql string, args []any, tenant, typ string, count int) (store.Page, bool, error) {
	rows, err := r.s.pool.Query(ctx, sql, args...)
	if err != nil {
		return store.Page{}, false, err
	}
	defer rows.Close()
	var (
		page store.Page
		live bool
	)
	if count > 0 {
		page.Resources = make([]store.Resource, 0, min(count, 128))
	}
	for rows.Next() {
		var (
			total                    int64
			id                       *string
			res                      = store.Resource{Tenant: tenant, Type: typ}
			attrs, created, modified *string
			version                  *int64
		)
		dest := []any{&live, &total}
		if len(rows.FieldDescriptions()) > 2 {
			dest = append(dest, &id, &attrs, &created, &modified, &version)
		}
		if err := rows.Scan(dest...); err != nil {
			return store.Page{}, false, err
		}
		page.Total = int(total)
		if id == nil {
			continue // an empty page
		}
		res.ID, res.Version = *id, *version
		if res.Attrs, err = sqlfilter.DecodeAttrs(*attrs); err != nil {
			return store.Page{}, false, err
		}
		if res.Created, err = parseTime(*created); err != nil {
			return store.Page{}, false, err
		}
		if res.Modified, err = parseTime(*modified); err != nil {
			return store.Page{}, false, err
		}
		page.Resources = append(page.Resources, res)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, false, err
	}
	return page, live, nil
}

// Members streams the members of a group in the order of their creation
// (their seq), as pgx reads the rows from the connection: a million-member
// group is never held in memory. Display is the member's displayName, or
// for a user without one its userName. A group that does not exist is
// store.ErrNotFound.
func (r reader) Members(ctx context.Context, tenant, groupID string, fn func(store.Member) error) error {
	const op = "list members"
	if err := r.check(ctx); err != nil {
		return err
	}
	var seq int64
	err := r.s.pool.QueryRow(ctx, "SELECT seq FROM resources WHERE tenant = "+tenantKeySQL+
		" AND id = $2 AND type = '"+schema.GroupResource+"'", tenant, groupID).Scan(&seq)
	if err != nil {
		return r.s.notFound(op, groupID, err)
	}
	rows, err := r.s.pool.Query(ctx, membersSQL, seq)
	if err != nil {
		return r.s.fail(op, err)
	}
	return streamMembers(rows, fn, func(err error) error { return r.s.fail(op, err) })
}

// membersSQL lists the members of group seq $1 in the order of their
// creation.
const membersSQL = `SELECT x.id, x.type, x.display FROM memberships m JOIN resources x ON x.seq = m.member_seq
	WHERE m.group_seq = $1 ORDER BY m.member_seq`

// streamMembers calls fn for each row of membersSQL and closes rows;
// fail wraps a database error.
func streamMembers(rows pgx.Rows, fn func(store.Member) error, fail func(error) error) error {
	defer rows.Close()
	for rows.Next() {
		var m store.Member
		if err := rows.Scan(&m.Value, &m.Type, &m.Display); err != nil {
			return fail(err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return nil
}

// Groups returns the groups the resource is a direct member of, in the
// order of their creation, with each group's displayName as Display. A
// resource that does not exist belongs to no group.
func (r reader) Groups(ctx context.Context, tenant, memberID string) ([]store.Member, error) {
	const op = "list groups"
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	rows, err := r.s.pool.Query(ctx, `SELECT x.id, x.display FROM resources me
		JOIN memberships m ON m.member_seq = me.seq
		JOIN resources x ON x.seq = m.group_seq
		WHERE me.tenant = `+tenantKeySQL+` AND me.id = $2 ORDER BY m.group_seq`, tenant, memberID)
	if err != nil {
		return nil, r.s.fail(op, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Member, error) {
		m := store.Member{Type: schema.GroupResource}
		err := row.Scan(&m.Value, &m.Display)
		return m, err
	})
	if err != nil {
		return nil, r.s.fail(op, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// GroupsOf returns the groups of several resources with one query.
func (r reader) GroupsOf(ctx context.Context, tenant string, memberIDs []string) (map[string][]store.Member, error) {
	const op = "list groups of resources"
	out := map[string][]store.Member{}
	if len(memberIDs) == 0 {
		return out, nil
	}
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	rows, err := r.s.pool.Query(ctx, `SELECT me.id, x.id, x.display FROM resources me
		JOIN memberships m ON m.member_seq = me.seq
		JOIN resources x ON x.seq = m.group_seq
		WHERE me.tenant = `+tenantKeySQL+` AND me.id = ANY($2::text[]) ORDER BY me.seq, m.group_seq`, tenant, memberIDs)
	if err != nil {
		return nil, r.s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var member string
		m := store.Member{Type: schema.GroupResource}
		if err := rows.Scan(&member, &m.Value, &m.Display); err != nil {
			return nil, r.s.fail(op, err)
		}
		out[member] = append(out[member], m)
	}
	if err := rows.Err(); err != nil {
		return nil, r.s.fail(op, err)
	}
	return out, nil
}
