package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/rosterhq/roster/internal/scim/password"
	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/store"
)

// passwordAttr is the User attribute that holds a password, per RFC 7643
// §4.1.1: writeOnly, returned never, and stored only as password.Hash makes
// it (or not at all, as the tenant's settings say).
const passwordAttr = "password"

// hasPassword reports whether resources of type rt have a password.
func hasPassword(rt *schema.ResourceType) bool { return rt.Schema.Attr(passwordAttr) != nil }

// keepsPasswords reports whether the tenant keeps a hash of the passwords
// its clients send (store.StorePasswordsHash, the default) or none. It is
// read only for a write that carries a password, so other writes cost
// nothing extra.
func (s *Service) keepsPasswords(ctx context.Context, tenant string) (bool, error) {
	t, err := s.store.Tenants().Get(ctx, tenant)
	if err != nil {
		return false, fmt.Errorf("read the password setting of tenant %s: %w", tenant, err)
	}
	return t.Settings.StorePasswords != store.StorePasswordsNone, nil
}

// sealPassword replaces the clear-text password in attrs, a normalized body
// of a create or replace, by its hash, or removes it if the tenant keeps no
// passwords. It runs before the write's transaction, so that the hash
// (tens of milliseconds) does not hold the database writer.
func (s *Service) sealPassword(ctx context.Context, tenant string, rt *schema.ResourceType, attrs map[string]any) error {
	v, ok := attrs[passwordAttr]
	if !ok || !hasPassword(rt) {
		return nil
	}
	keep, err := s.keepsPasswords(ctx, tenant)
	if err != nil {
		return err
	}
	if !keep {
		delete(attrs, passwordAttr)
		return nil
	}
	h, err := hashPassword(ctx, v)
	if err != nil {
		return err
	}
	attrs[passwordAttr] = h
	return nil
}

// hashPassword hashes a password value a client sent.
func hashPassword(ctx context.Context, v any) (string, error) {
	clear, ok := v.(string)
	switch {
	case !ok || clear == "":
		return "", scimerr.InvalidValue("password must be a non-empty string")
	case len(clear) > password.MaxBytes:
		return "", scimerr.InvalidValue("password must be at most %d bytes long", password.MaxBytes)
	}
	h, err := password.Hash(ctx, clear)
	if err != nil {
		return "", fmt.Errorf("store password: %w", err)
	}
	return h, nil
}

// prehashed are the hashes of the passwords a PATCH may set, computed
// before its transaction; keep is the tenant's setting, read only if the
// PATCH carries a password.
type prehashed struct {
	hashes map[string]string // clear text → hash
	keep   *bool
}

// prehashPatch hashes the passwords that the operations of a PATCH set,
// before its transaction. Finding them here is an optimisation only:
// sealPatched hashes any password it was not given a hash for.
func (s *Service) prehashPatch(ctx context.Context, tenant string, rt *schema.ResourceType, ops []patch.Operation) (prehashed, error) {
	var pre prehashed
	if !hasPassword(rt) {
		return pre, nil
	}
	clears := patchPasswords(rt, ops)
	if len(clears) == 0 {
		return pre, nil
	}
	keep, err := s.keepsPasswords(ctx, tenant)
	if err != nil {
		return pre, err
	}
	pre.keep = &keep
	if !keep {
		return pre, nil
	}
	pre.hashes = make(map[string]string, len(clears))
	for _, c := range clears {
		if _, done := pre.hashes[c]; done || c == "" || len(c) > password.MaxBytes {
			continue // sealPatched reports what is wrong, if the value is kept
		}
		if pre.hashes[c], err = password.Hash(ctx, c); err != nil {
			return pre, fmt.Errorf("store password: %w", err)
		}
	}
	return pre, nil
}

// patchPasswords returns the clear-text passwords the operations of a
// PATCH carry: with the path "password" (in any case, with or without the
// core schema URN, as RFC 7644 §3.10 and Entra's legacy form spell it), or
// as a "password" member of a path-less operation's value.
func patchPasswords(rt *schema.ResourceType, ops []patch.Operation) []string {
	core := strings.ToLower(rt.Schema.ID)
	var out []string
	str := func(raw json.RawMessage) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
		}
	}
	obj := func(raw json.RawMessage) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		return m
	}
	for _, op := range ops {
		if strings.EqualFold(op.Op, "remove") {
			continue
		}
		switch p := strings.ToLower(strings.TrimSpace(op.Path)); p {
		case passwordAttr, core + ":" + passwordAttr, core + "." + passwordAttr:
			str(op.Value)
		case "", core:
			for k, v := range obj(op.Value) {
				switch {
				case strings.EqualFold(k, passwordAttr):
					str(v)
				case strings.EqualFold(k, core):
					for k2, v2 := range obj(v) {
						if strings.EqualFold(k2, passwordAttr) {
							str(v2)
						}
					}
				}
			}
		}
	}
	return out
}

// sealPatched hashes the password a PATCH set in after, or removes it if
// the tenant keeps no passwords; a password the PATCH left alone stays as
// stored.
func (s *Service) sealPatched(ctx context.Context, tenant string, rt *schema.ResourceType, pre prehashed, before, after map[string]any) error {
	v, ok := after[passwordAttr]
	if !ok || !hasPassword(rt) || reflect.DeepEqual(v, before[passwordAttr]) {
		return nil
	}
	if pre.keep == nil {
		keep, err := s.keepsPasswords(ctx, tenant)
		if err != nil {
			return err
		}
		pre.keep = &keep
	}
	if !*pre.keep {
		delete(after, passwordAttr)
		return nil
	}
	if c, ok := v.(string); ok && pre.hashes[c] != "" {
		after[passwordAttr] = pre.hashes[c]
		return nil
	}
	h, err := hashPassword(ctx, v)
	if err != nil {
		return err
	}
	after[passwordAttr] = h
	return nil
}
