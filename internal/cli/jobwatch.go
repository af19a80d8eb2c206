package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/rosterhq/roster/internal/provision/report"
)

// watchEvery is how often `roster job show --watch` reads the job's
// state: the engine writes a running cycle's progress once a second.
const watchEvery = time.Second

// staleProgress is how old a running cycle's progress may be before the
// watch says its process may have stopped.
const staleProgress = 30 * time.Second

// watchJob follows the job's running cycle, or, if none runs, waits for
// the next one to start, and returns once that cycle has ended (or ctx
// ends, as Ctrl-C does). On a terminal it redraws one progress bar;
// otherwise it prints one line a second (one JSON state a line with -o
// json).
func watchJob(ctx context.Context, e *env, name string, tty bool) error {
	reader := report.New(e.store)
	watched, waiting := "", false
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		st, err := reader.State(ctx, name)
		if err != nil {
			return err
		}
		c := st.LastCycle
		running := c != nil && c.Status == "Running"
		switch {
		case watched == "" && running:
			watched = c.ID
		case watched != "" && (c == nil || c.ID != watched || !running):
			// The watched cycle ended (a newer one means it ended too).
			if tty {
				fmt.Fprintln(e.out)
			}
			if e.json {
				return json.NewEncoder(e.out).Encode(st)
			}
			if c != nil && c.ID == watched {
				fmt.Fprintf(e.out, "Cycle %s ended: %s\n", c.ID, c.Status)
			} else {
				fmt.Fprintf(e.out, "Cycle %s ended\n", watched)
			}
			printTotals(e.out, st)
			return nil
		case watched == "" && !waiting:
			waiting = true
			if !e.json {
				fmt.Fprintln(e.out, "No cycle is running; waiting for the next one (Ctrl-C to stop).")
			}
		}
		if watched != "" {
			switch {
			case e.json:
				if err := json.NewEncoder(e.out).Encode(st); err != nil {
					return err
				}
			case tty:
				fmt.Fprintf(e.out, "\r%s\x1b[K", progressLine(c, st.Progress, 30))
			default:
				fmt.Fprintln(e.out, progressLine(c, st.Progress, 0))
			}
		}
		select {
		case <-ctx.Done():
			if tty && watched != "" {
				fmt.Fprintln(e.out)
			}
			return nil
		case <-t.C:
		}
	}
}

// isTerminal reports whether w is a terminal, where the watch redraws.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressLine renders a running cycle's progress: a bar of width
// characters (none if 0), the percentage, processed of total, rate,
// elapsed time and ETA.
func progressLine(c *report.Cycle, p *report.Progress, width int) string {
	if p == nil {
		return fmt.Sprintf("%s cycle %s: starting", c.Kind, c.ID)
	}
	var b strings.Builder
	if pc := p.Percent(); pc >= 0 {
		if width > 0 {
			full := int(pc / 100 * float64(width))
			b.WriteString("[" + strings.Repeat("=", full) + strings.Repeat(" ", width-full) + "] ")
		}
		fmt.Fprintf(&b, "%3.0f%% %d/%d", pc, p.Processed, p.Total)
	} else {
		fmt.Fprintf(&b, "%d/?", p.Processed)
	}
	fmt.Fprintf(&b, " %s, %s cycle, %.1f/s, elapsed %s", p.Phase, c.Kind, p.RatePerSecond,
		(time.Duration(p.ElapsedSeconds) * time.Second).String())
	if p.ETASeconds != nil {
		fmt.Fprintf(&b, ", ETA %s", (time.Duration(*p.ETASeconds) * time.Second).String())
	}
	if age := time.Since(p.Updated); age > staleProgress {
		fmt.Fprintf(&b, " (no update for %s: the process running it may have stopped)", age.Round(time.Second))
	}
	return b.String()
}

// printProgress shows a running cycle's progress, the statistics to date
// and the steady state under `roster job show`.
func printProgress(w io.Writer, st report.State) {
	if st.Progress != nil && st.LastCycle != nil {
		fmt.Fprintf(w, "Progress:\t%s\n", progressLine(st.LastCycle, st.Progress, 0))
	}
	printTotals(w, st)
}

// printTotals shows the statistics to date and the steady state.
func printTotals(w io.Writer, st report.State) {
	t := st.Totals
	fmt.Fprintf(w, "Steady state:\t%s\n", yesNo(st.SteadyState))
	fmt.Fprintf(w, "To date:\t%d cycles (%d succeeded, %d failed); created %d, updated %d, disabled %d, deleted %d, skipped %d, failed %d\n",
		t.Cycles, t.Succeeded, t.FailedCycles, t.Created, t.Updated, t.Disabled, t.Deleted, t.Skipped, t.Failed)
	if !t.LastSucceeded.IsZero() {
		fmt.Fprintf(w, "  Last success:\t%s, took %s\n", t.LastSucceeded.Local().Format(time.DateTime),
			time.Duration(t.LastDurationMS*float64(time.Millisecond)).Round(time.Millisecond))
	}
}
