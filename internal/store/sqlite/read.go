package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// tenantKey returns the tenants.key of a tenant id, from a cache filled on
// first use. ok is false if the tenant does not exist. Keys are never reused
// (AUTOINCREMENT), so a key cached by another process that has since seen its
// tenant deleted finds no rows rather than another tenant's.
func (s *Store) tenantKey(id string, st *sql.Stmt) (key int64, ok bool, err error) {
	s.tenantMu.RLock()
	key, ok = s.tenantKeys[id]
	gen := s.tenantGen
	s.tenantMu.RUnlock()
	if ok {
		return key, true, nil
	}
	if err := st.QueryRow(id).Scan(&key); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, nil
		}
		return 0, false, err
	}
	s.cacheTenant(id, key, gen)
	return key, true, nil
}

// cacheTenant caches a key read when the cache was at generation gen, unless
// a tenant has been deleted since: the read may predate the delete.
func (s *Store) cacheTenant(id string, key int64, gen uint64) {
	s.tenantMu.Lock()
	if s.tenantGen == gen {
		s.tenantKeys[id] = key
	}
	s.tenantMu.Unlock()
}

// forgetTenant drops a deleted tenant's key and outdates reads in flight.
func (s *Store) forgetTenant(id string) {
	s.tenantMu.Lock()
	delete(s.tenantKeys, id)
	s.tenantGen++
	s.tenantMu.Unlock()
}

type rowScanner interface{ Scan(dest ...any) error }

// scanResource reads the columns of resourceCols.
func scanResource(row sqlfilter.Row, tenant, typ string) (store.Resource, error) {
	return sqlfilter.ScanResource(row, tenant, typ)
}

// reader implements store.ResourceReader on the read pool.
type reader struct{ s *Store }

// key returns the tenant key for a read; ok is false if the tenant does
// not exist, which readers report like a missing resource.
func (r reader) key(ctx context.Context, op, tenant string) (int64, bool, error) {
	if r.s.closed.Load() {
		return 0, false, store.ErrUnavailable
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	k, ok, err := r.s.tenantKey(tenant, r.s.rs.tenantKey)
	if err != nil {
		return 0, false, r.s.fail(op, err)
	}
	return k, ok, nil
}

// Get returns one resource, or store.ErrNotFound.
func (r reader) Get(ctx context.Context, tenant, typ, id string) (store.Resource, error) {
	op := opName("get", typ)
	k, ok, err := r.key(ctx, op, tenant)
	if err != nil {
		return store.Resource{}, err
	}
	if !ok {
		return store.Resource{}, fmt.Errorf("%s %s: %w", op, id, store.ErrNotFound)
	}
	res, err := scanResource(r.s.rs.getResource.QueryRowContext(ctx, k, id, typ), tenant, typ)
	if err != nil {
		return store.Resource{}, r.s.notFound(op, id, err)
	}
	return res, nil
}

// Query answers a filter, sort and page with SQL built by package
// sqlfilter, inside one read transaction so that the total and the page
// agree. The total of an unfiltered query comes from resource_counts; that
// of a filtered one from the page itself when it is the first and not full,
// else from a COUNT over the same WHERE.
//
// A first page filtered by an eq comparison (an eq lookup: userName,
// externalId, an email) is read first by itself, as one statement, which
// SQLite answers from one snapshot: when it is not full its length is the
// total, and the explicit transaction (its BEGIN and ROLLBACK, each prepared
// and stepped) is not needed. A full one is read again in the transaction
// beside its COUNT, as any other page.
func (r reader) Query(ctx context.Context, tenant string, rt *schema.ResourceType, q store.Query) (store.Page, error) {
	if rt == nil {
		return store.Page{}, errors.New("query: no resource type")
	}
	op := "query " + strings.ToLower(rt.Name) + "s"
	k, ok, err := r.key(ctx, op, tenant)
	if err != nil || !ok {
		return store.Page{}, err
	}
	a := sqlfilter.NewArgs(sqlfilter.SQLite{})
	where := "r.tenant = " + a.Add(k) + " AND r.type = " + a.Add(rt.Name)
	if q.Filter != nil {
		f, err := sqlfilter.Where(a, q.Filter, rt, k)
		if err != nil {
			return store.Page{}, fmt.Errorf("%s: %w", op, err)
		}
		where += " AND " + f
	}
	nWhere := len(a.Values())
	order, err := sqlfilter.OrderBy(a, q.SortBy, q.Descending, rt)
	if err != nil {
		return store.Page{}, fmt.Errorf("%s: %w", op, err)
	}
	start, count := max(q.StartIndex, 1), max(q.Count, 0)
	query := "SELECT " + resourceCols + " FROM resources r WHERE " + where + " ORDER BY " + order +
		" LIMIT " + a.Add(count) + " OFFSET " + a.Add(start-1)

	if q.Filter != nil && start == 1 && count > 0 && selective(q.Filter) {
		res, err := r.page(ctx, nil, query, a.Values(), tenant, rt.Name, count)
		if err != nil {
			return store.Page{}, r.s.fail(op, err)
		}
		if len(res) < count {
			return store.Page{Total: len(res), Resources: res}, nil
		}
	}

	tx, err := r.s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.Page{}, r.s.fail(op, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only

	var page store.Page
	if q.Filter == nil {
		err := tx.StmtContext(ctx, r.s.rs.count).QueryRowContext(ctx, k, rt.Name).Scan(&page.Total)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return store.Page{}, r.s.fail(op, err)
		}
		if start > page.Total {
			return page, nil
		}
	}
	if count > 0 {
		if page.Resources, err = r.page(ctx, tx, query, a.Values(), tenant, rt.Name, count); err != nil {
			return store.Page{}, r.s.fail(op, err)
		}
	}
	if q.Filter != nil {
		if start == 1 && len(page.Resources) < count {
			page.Total = len(page.Resources)
		} else {
			st, err := r.txStmt(ctx, tx, "SELECT count(*) FROM resources r WHERE "+where)
			if err != nil {
				return store.Page{}, r.s.fail(op, err)
			}
			if err := st.QueryRowContext(ctx, a.Values()[:nWhere]...).Scan(&page.Total); err != nil {
				return store.Page{}, r.s.fail(op, err)
			}
		}
	}
	return page, nil
}

// selective reports whether a filter holds an eq comparison that every
// match must meet (not under "or" or "not"), so that its first page is
// expected not to be full.
func selective(e filter.Expr) bool {
	switch e := e.(type) {
	case *filter.Compare:
		return e.Op == filter.Eq
	case *filter.And:
		return selective(e.Left) || selective(e.Right)
	case *filter.ValuePath:
		return selective(e.Filter)
	}
	return false
}

// txStmt returns the cached statement for query, bound to tx.
func (r reader) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, err := r.s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return tx.PrepareContext(ctx, query)
	}
	return tx.StmtContext(ctx, st), nil
}

// page reads a page in tx, or with a nil tx as one statement on the read
// pool (its own snapshot).
func (r reader) page(ctx context.Context, tx *sql.Tx, query string, args []any, tenant, typ string, count int) ([]store.Resource, error) {
	var rows *sql.Rows
	if tx == nil {
		st, err := r.s.stmt(ctx, query)
		if err != nil {
			return nil, err
		}
		if st != nil {
			rows, err = st.QueryContext(ctx, args...)
		} else {
			rows, err = r.s.rdb.QueryContext(ctx, query, args...)
		}
		if err != nil {
			return nil, err
		}
	} else {
		st, err := r.txStmt(ctx, tx, query)
		if err != nil {
			return nil, err
		}
		if rows, err = st.QueryContext(ctx, args...); err != nil {
			return nil, err
		}
	}
	defer rows.Close()
	// A selective first page (read without tx) is expected to hold a
	// resource or two: a hundred empty slots would cost each eq lookup
	// 12 KB. A list page is sized for what it asks.
	size := min(count, 128)
	if tx == nil {
		size = min(count, 4)
	}
	out := make([]store.Resource, 0, size)
	for rows.Next() {
		res, err := scanResource(rows, tenant, typ)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, rows.Err()
}

// Members streams the members of a group in the order of their creation
// (their seq), reading them as a cursor: a million-member group is never held
// in memory. Display is the member's displayName, or for a user without one
// its userName. A group that does not exist is store.ErrNotFound.
func (r reader) Members(ctx context.Context, tenant, groupID string, fn func(store.Member) error) error {
	const op = "list members"
	k, ok, err := r.key(ctx, op, tenant)
	if err != nil {
		return err
	}
	var (
		seq int64
		typ string
	)
	if ok {
		err = r.s.rs.lookup.QueryRowContext(ctx, k, groupID).Scan(&seq, &typ)
	}
	if !ok || err == nil && typ != schema.GroupResource {
		err = sql.ErrNoRows
	}
	if err != nil {
		return r.s.notFound(op, groupID, err)
	}
	rows, err := r.s.rs.members.QueryContext(ctx, seq)
	if err != nil {
		return r.s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m store.Member
		if err := rows.Scan(&m.Value, &m.Type, &m.Display); err != nil {
			return r.s.fail(op, err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return r.s.fail(op, err)
	}
	return nil
}

// Groups returns the groups the resource is a direct member of, in the
// order of their creation, with each group's displayName as Display. A
// resource that does not exist belongs to no group.
// GroupsOf returns the groups of several resources with one query.
func (r reader) GroupsOf(ctx context.Context, tenant string, memberIDs []string) (map[string][]store.Member, error) {
	const op = "list groups of resources"
	out := map[string][]store.Member{}
	if len(memberIDs) == 0 {
		return out, nil
	}
	k, ok, err := r.key(ctx, op, tenant)
	if err != nil || !ok {
		return out, err
	}
	ids, err := json.Marshal(memberIDs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	rows, err := r.s.rs.groupsOf.QueryContext(ctx, k, string(ids))
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

func (r reader) Groups(ctx context.Context, tenant, memberID string) ([]store.Member, error) {
	const op = "list groups"
	k, ok, err := r.key(ctx, op, tenant)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := r.s.rs.groups.QueryContext(ctx, k, memberID)
	if err != nil {
		return nil, r.s.fail(op, err)
	}
	defer rows.Close()
	var out []store.Member
	for rows.Next() {
		m := store.Member{Type: schema.GroupResource}
		if err := rows.Scan(&m.Value, &m.Display); err != nil {
			return nil, r.s.fail(op, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, r.s.fail(op, err)
	}
	return out, nil
}
