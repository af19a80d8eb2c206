package admin

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

func TestAllowed(t *testing.T) {
	all := []Permission{ReadTenants, ReadDirectory, ReadHistory, ManageTenants, ManageCredentials, ManageAdmins, ReadJobs, ManageJobs}
	want := map[string][]Permission{
		store.RoleSuperAdmin: all,
		store.RoleAdmin:      {ReadTenants, ReadDirectory, ReadHistory, ReadJobs},
		store.RoleReadOnly:   {ReadTenants, ReadDirectory, ReadJobs},
		"":                   nil,
		"root":               nil,
	}
	for role, granted := range want {
		for _, p := range all {
			require.Equal(t, contains(granted, p), Allowed(role, p), "role %q permission %d", role, p)
		}
	}
}

func contains(ps []Permission, p Permission) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func TestValidRole(t *testing.T) {
	for _, r := range []string{store.RoleSuperAdmin, store.RoleAdmin, store.RoleReadOnly} {
		require.NoError(t, ValidRole(r))
	}
	for _, r := range []string{"", "Admin", "superadmin", "owner"} {
		require.ErrorIs(t, ValidRole(r), ErrInvalid, r)
	}
}
