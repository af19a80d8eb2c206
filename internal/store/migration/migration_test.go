package migration

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestLoad(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"migrations/0002_more.up.sql": {Data: []byte("B")},
		"migrations/0001_init.up.sql": {Data: []byte("A")},
		"migrations/README":           {Data: []byte("ignored")},
	})
	require.NoError(t, err)
	require.Equal(t, []Migration{{1, "init", "A"}, {2, "more", "B"}}, ms)

	for name, fsys := range map[string]fstest.MapFS{
		"no name":      {"migrations/0001.up.sql": {}},
		"short number": {"migrations/001_x.up.sql": {}},
		"not a number": {"migrations/abcd_x.up.sql": {}},
		"duplicate":    {"migrations/0001_a.up.sql": {}, "migrations/0001_b.up.sql": {}},
	} {
		_, err := Load(fsys)
		require.Error(t, err, name)
	}
	require.Equal(t, 2, Latest(fstest.MapFS{"migrations/0002_b.up.sql": {}, "migrations/0001_a.up.sql": {}}))
	require.Equal(t, 0, Latest(fstest.MapFS{}))
}
