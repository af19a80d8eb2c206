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

func TestLoadDir(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/sqlite/0001_a.up.sql":   {Data: []byte("S1")},
		"migrations/sqlite/0002_b.up.sql":   {Data: []byte("S2")},
		"migrations/postgres/0001_a.up.sql": {Data: []byte("P1")},
		"migrations/0009_top.up.sql":        {Data: []byte("ignored by the sub-directories")},
	}
	ms, err := LoadDir(fsys, "migrations/sqlite")
	require.NoError(t, err)
	require.Equal(t, []Migration{{1, "a", "S1"}, {2, "b", "S2"}}, ms)
	ms, err = LoadDir(fsys, "migrations/postgres")
	require.NoError(t, err)
	require.Equal(t, []Migration{{1, "a", "P1"}}, ms)
	_, err = LoadDir(fstest.MapFS{"m/x/01_a.up.sql": {}}, "m/x")
	require.Error(t, err)
}
