// Command employees is a tiny SaaS app that embeds Roster: Entra ID or
// Okta provisions its users and groups over SCIM, and the app keeps its own
// "employees" and "roles" tables in step by subscribing to the changes.
// Roster's tables live in the app's own SQLite file.
//
//	go run ./examples/employees
//
// prints a Tenant URL and Secret Token to paste into the identity provider;
// GET /employees shows the app's table.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the app's own driver for its tables

	"github.com/rosterhq/roster"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	dbPath := flag.String("db", "employees.db", "the app's SQLite database")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *dbPath); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, addr, dbPath string) error {
	a, err := Open(ctx, dbPath, "http://"+addr)
	if err != nil {
		return err
	}
	defer a.Close()
	t, token, err := a.Setup(ctx, "acme")
	if err != nil {
		return err
	}
	fmt.Printf("Tenant URL:   %s\n", t.TenantURL)
	if token != "" {
		fmt.Printf("Secret Token: %s\n", token)
	}
	fmt.Printf("Employees:    http://%s/employees\n", addr)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := a.Sync(ctx); err != nil {
			log.Printf("sync stopped: %v", err)
			cancel()
		}
	}()
	srv := &http.Server{Addr: addr, Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// App is the example app: its database and the embedded Roster.
type App struct {
	db     *sql.DB
	roster *roster.Roster
}

// Open opens the app's database, creating its tables, and Roster in the
// same file.
func Open(ctx context.Context, dbPath, baseURL string) (*App, error) {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create the app's tables: %w", err)
	}
	r, err := roster.Open(ctx, roster.Options{Database: dbPath, Prefix: "/scim/v2", BaseURL: baseURL})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &App{db: db, roster: r}, nil
}

const schema = `
CREATE TABLE IF NOT EXISTS employees (
    scim_id      TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    active       INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS roles (
    scim_id TEXT PRIMARY KEY,
    name    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS role_members (
    role_id     TEXT NOT NULL REFERENCES roles (scim_id) ON DELETE CASCADE,
    employee_id TEXT NOT NULL,
    PRIMARY KEY (role_id, employee_id)
);`

// Close closes Roster and the app's database.
func (a *App) Close() error {
	return errors.Join(a.roster.Close(), a.db.Close())
}

// Setup creates the tenant and its token on the first run; later runs
// return the tenant and no token (Roster keeps only its hash).
func (a *App) Setup(ctx context.Context, name string) (roster.Tenant, string, error) {
	t, err := a.roster.Tenant(ctx, name)
	if err == nil || !errors.Is(err, roster.ErrNotFound) {
		return t, "", err
	}
	if t, err = a.roster.CreateTenant(ctx, name); err != nil {
		return t, "", err
	}
	token, err := a.roster.IssueToken(ctx, name, "identity provider")
	return t, token, err
}

// Handler serves SCIM under /scim/v2/ and the app's own pages.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", a.roster.Handler())
	mux.HandleFunc("GET /employees", a.listEmployees)
	return mux
}

// Sync keeps the app's tables in step with SCIM until ctx ends.
func (a *App) Sync(ctx context.Context) error {
	return a.roster.Subscribe(ctx, "employees-app", a.apply)
}

// apply makes one change to the app's tables. Every statement is an upsert
// or a delete, so an event handed twice after a crash changes nothing.
func (a *App) apply(ctx context.Context, e roster.Event) error {
	var err error
	switch e.Type {
	case roster.UserCreated, roster.UserUpdated, roster.UserDeactivated, roster.UserReactivated:
		u := e.Resource
		active, ok := u["active"].(bool)
		_, err = a.db.ExecContext(ctx, `INSERT INTO employees (scim_id, user_name, display_name, email, active)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (scim_id) DO UPDATE SET user_name = excluded.user_name,
				display_name = excluded.display_name, email = excluded.email, active = excluded.active`,
			e.ResourceID, str(u["userName"]), displayName(u), workEmail(u), !ok || active)
	case roster.UserDeleted:
		_, err = a.db.ExecContext(ctx, `DELETE FROM employees WHERE scim_id = ?;
			DELETE FROM role_members WHERE employee_id = ?`, e.ResourceID, e.ResourceID)
	case roster.GroupCreated, roster.GroupUpdated:
		_, err = a.db.ExecContext(ctx, `INSERT INTO roles (scim_id, name) VALUES (?, ?)
			ON CONFLICT (scim_id) DO UPDATE SET name = excluded.name`, e.ResourceID, str(e.Resource["displayName"]))
	case roster.GroupDeleted:
		_, err = a.db.ExecContext(ctx, `DELETE FROM roles WHERE scim_id = ?`, e.ResourceID)
	case roster.GroupMembersAdded:
		for _, m := range e.Members {
			if _, err = a.db.ExecContext(ctx, `INSERT INTO role_members (role_id, employee_id) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, e.ResourceID, m); err != nil {
				break
			}
		}
	case roster.GroupMembersRemoved:
		for _, m := range e.Members {
			if _, err = a.db.ExecContext(ctx, `DELETE FROM role_members WHERE role_id = ? AND employee_id = ?`, e.ResourceID, m); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("apply %s of %s: %w", e.Type, e.ResourceID, err)
	}
	return nil
}

// Employee is a row of the app's table, with its roles.
type Employee struct {
	ID          string   `json:"id"`
	UserName    string   `json:"userName"`
	DisplayName string   `json:"displayName"`
	Email       string   `json:"email"`
	Active      bool     `json:"active"`
	Roles       []string `json:"roles"`
}

// Employees reads the app's table.
func (a *App) Employees(ctx context.Context) ([]Employee, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT e.scim_id, e.user_name, e.display_name, e.email, e.active,
			coalesce((SELECT group_concat(r.name, ',') FROM (SELECT r.name FROM role_members m
				JOIN roles r ON r.scim_id = m.role_id WHERE m.employee_id = e.scim_id ORDER BY r.name) r), '')
		FROM employees e ORDER BY e.user_name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Employee{}
	for rows.Next() {
		var e Employee
		var roles string
		if err := rows.Scan(&e.ID, &e.UserName, &e.DisplayName, &e.Email, &e.Active, &roles); err != nil {
			return nil, err
		}
		e.Roles = []string{}
		if roles != "" {
			e.Roles = strings.Split(roles, ",")
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (a *App) listEmployees(w http.ResponseWriter, r *http.Request) {
	es, err := a.Employees(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(es)
}

func str(v any) string { s, _ := v.(string); return s }

func displayName(u map[string]any) string {
	if s := str(u["displayName"]); s != "" {
		return s
	}
	if n, ok := u["name"].(map[string]any); ok {
		return strings.TrimSpace(str(n["givenName"]) + " " + str(n["familyName"]))
	}
	return ""
}

// workEmail is the primary e-mail, else the first.
func workEmail(u map[string]any) string {
	list, _ := u["emails"].([]any)
	first := ""
	for _, e := range list {
		m, _ := e.(map[string]any)
		if p, _ := m["primary"].(bool); p {
			return str(m["value"])
		}
		if first == "" {
			first = str(m["value"])
		}
	}
	return first
}
