package respond_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/server/respond"
)

func TestWriter(t *testing.T) {
	t.Parallel()

	t.Run("StatusWithFirstBytes", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		w := respond.NewWriter(rec, http.StatusCreated, "application/scim+json")
		require.False(t, w.Started())
		// Before the first bytes the handler may still answer otherwise.
		rec.Header().Set("X-Before", "1")
		_, err := io.WriteString(w, `{"id":`)
		require.NoError(t, err)
		_, err = io.WriteString(w, `"1"}`)
		require.NoError(t, err)
		require.True(t, w.Started())
		res := rec.Result()
		require.Equal(t, http.StatusCreated, res.StatusCode)
		require.Equal(t, "application/scim+json", res.Header.Get("Content-Type"))
		require.Equal(t, "1", res.Header.Get("X-Before"))
		require.JSONEq(t, `{"id":"1"}`, rec.Body.String())
	})

	t.Run("NothingWrittenSendsNothing", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		w := respond.NewWriter(rec, http.StatusOK, "application/json")
		require.False(t, w.Started())
		// An error answer in its place gets its own status.
		rec.WriteHeader(http.StatusServiceUnavailable)
		require.Equal(t, http.StatusServiceUnavailable, rec.Result().StatusCode)
		require.Empty(t, rec.Header().Get("Content-Type"))
	})

	t.Run("StartSendsStatusAtOnce", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		w := respond.NewWriter(rec, http.StatusCreated, "application/scim+json")
		w.Start()
		w.Start() // a second Start sends nothing more
		require.True(t, w.Started())
		require.Equal(t, http.StatusCreated, rec.Code, "sent before any body")
		_, err := io.WriteString(w, "{}")
		require.NoError(t, err)
		res := rec.Result()
		require.Equal(t, http.StatusCreated, res.StatusCode)
		require.Equal(t, "application/scim+json", res.Header.Get("Content-Type"))
		require.Equal(t, "{}", rec.Body.String())
	})
}
