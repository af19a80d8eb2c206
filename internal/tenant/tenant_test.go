package tenant

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"acme", true},
		{"a", true},
		{"acme-corp-2", true},
		{"0day", true},
		{"", false},
		{"Acme", false},      // lower case only: names are URL paths
		{"acme_corp", false}, // no underscores
		{"-acme", false},     // no leading hyphen
		{"acme-", false},     // no trailing hyphen
		{"acme corp", false}, // no spaces
		{"acme/corp", false}, // no slashes
		{"users", false},     // SCIM endpoints, for the shared URL
		{"groups", false},    //
		{".search", false},   //
		{"bulk", false},      //
		{"me", false},        //
		{"schemas", false},   //
		{"resourcetypes", false},
		{"serviceproviderconfig", false},
		{string(make([]byte, 64)), false},
		{"a" + strings.Repeat("b", 63), false}, // 64 characters
		{"a" + strings.Repeat("b", 62), true},  // 63 characters
	}
	for _, tc := range tests {
		err := ValidName(tc.name)
		if tc.ok {
			require.NoError(t, err, "%q", tc.name)
		} else {
			require.ErrorIs(t, err, ErrInvalid, "%q", tc.name)
		}
	}
}

func TestIsEndpoint(t *testing.T) {
	for seg, want := range map[string]bool{
		"Users": true, "users": true, "GROUPS": true, ".search": true, "Bulk": true,
		"ServiceProviderConfig": true, "Schemas": true, "ResourceTypes": true, "Me": true,
		"acme": false, "default": false, "": false, "oauth": false,
	} {
		require.Equal(t, want, IsEndpoint(seg), seg)
	}
}
