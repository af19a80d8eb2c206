package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const bootstrapToken = "crash-test-token-0123456789abcdef"

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// roster builds the roster binary once per test run.
func roster(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "roster-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "roster")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binary
}

// server is a running `roster serve` process.
type server struct {
	cmd       *exec.Cmd
	tenantURL string
	banner    []string
	done      chan error
}

// start runs `roster serve` on db, with extra flags, and waits for its banner.
func start(t *testing.T, db string, flags ...string) *server {
	t.Helper()
	cmd := exec.Command(roster(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, flags...)...)
	cmd.Env = append(os.Environ(), "ROSTER_BOOTSTRAP_TOKEN="+bootstrapToken)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	s := &server{cmd: cmd, done: make(chan error, 1)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		s.done <- cmd.Wait()
	}()
	deadline := time.After(30 * time.Second)
	for s.tenantURL == "" || !strings.HasPrefix(s.banner[len(s.banner)-1], "Secret Token:") && !strings.HasPrefix(s.banner[len(s.banner)-1], "(") {
		select {
		case l, ok := <-lines:
			require.True(t, ok, "roster exited before printing its Tenant URL: %v", s.banner)
			s.banner = append(s.banner, l)
			if u, ok := strings.CutPrefix(l, "Tenant URL: "); ok {
				s.tenantURL = u
			}
		case <-deadline:
			t.Fatal("roster did not start in 30s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s
}

func do(ctx context.Context, client *http.Client, method, url, body string) (int, map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bootstrapToken)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var m map[string]any
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, err
	}
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m, nil
}

// TestServeBanner checks the two lines an admin pastes into Entra.
func TestServeBanner(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "roster.db")
	s := start(t, db)
	require.Contains(t, s.banner, "Secret Token: "+bootstrapToken)
	require.True(t, strings.HasSuffix(s.tenantURL, "/scim/v2/default"), s.tenantURL)
	st, m, err := do(context.Background(), http.DefaultClient, "GET", s.tenantURL+"/Users?filter="+
		"userName%20eq%20%22x%22", "")
	require.NoError(t, err)
	require.Equal(t, 200, st)
	require.EqualValues(t, 0, m["totalResults"])
	res, err := http.Get(strings.TrimSuffix(s.tenantURL, "/scim/v2/default") + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)

	// A graceful stop finishes and exits 0; the next start prints no token.
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-s.done)
	s.done <- nil
	s2 := start(t, db)
	for _, l := range s2.banner {
		require.NotContains(t, l, bootstrapToken, "the token is printed only on first start")
	}
}

// TestCrashKeepsAcknowledgedWrites kills `roster serve` with SIGKILL in the
// middle of concurrent writes, restarts it, and requires every write that had
// been answered 2xx to be there.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "roster.db")
	s := start(t, db)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	var mu sync.Mutex
	acked := map[string]string{} // id → userName
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-u%d@example.com", w, i)
				st, m, err := do(ctx, client, "POST", s.tenantURL+"/Users", `{"userName":"`+name+`","active":true}`)
				if err == nil && st == http.StatusCreated {
					mu.Lock()
					acked[m["id"].(string)] = name
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
	<-s.done
	s.done <- nil
	cancel()
	wg.Wait()
	require.Greater(t, len(acked), 100, "the load should have created users before the kill")

	s2 := start(t, db)
	missing := 0
	for id, name := range acked {
		st, m, err := do(context.Background(), client, "GET", s2.tenantURL+"/Users/"+id, "")
		require.NoError(t, err)
		if st != http.StatusOK || m["userName"] != name {
			missing++
		}
	}
	require.Zero(t, missing, "of %d acknowledged creates, %d were lost", len(acked), missing)
	t.Logf("%d acknowledged creates all survived SIGKILL", len(acked))
}
